import Foundation

/// Number formatting for the charts: labels people read (a true minus sign, a fixed number of
/// decimals, no float noise such as 0.30000000000000004) and the compact coordinates of SVG
/// markup (one decimal, ASCII minus, no trailing `.0`).
enum ChartFormat {
    /// U+2212 MINUS SIGN, the width of a digit's plus sign, for labels.
    static let minus = "\u{2212}"
    /// U+202F NARROW NO-BREAK SPACE, the thousands separator of SI style (`20 000`).
    static let thousandsSeparator = "\u{202F}"

    /// `value` with exactly `decimals` decimals, a true minus sign and never `−0`.
    /// With `grouping`, integer parts of five digits or more are grouped by thousands.
    static func fixed(_ value: Double, decimals: Int, grouping: Bool = false) -> String {
        guard value.isFinite else { return "–" }
        let decimals = max(0, min(decimals, 9))
        let factor = powerOfTen(decimals)
        let scaled = (abs(value) * factor).rounded()
        guard scaled < 9e15 else {
            let text = String(format: "%.\(decimals)f", abs(value))
            return value < 0 ? minus + text : text
        }
        let n = UInt64(scaled)
        let unit = UInt64(factor)
        let integer = n / unit, fraction = n % unit
        var text = String(integer)
        if grouping, integer >= 10_000 { text = grouped(text) }
        if decimals > 0 {
            let digits = String(fraction)
            text += "." + String(repeating: "0", count: decimals - digits.count) + digits
        }
        return n != 0 && value < 0 ? minus + text : text
    }

    /// `value` rounded to `digits` significant digits, without trailing zeros (`0.523`, `1013`, `−12.5`).
    static func significant(_ value: Double, digits: Int = 3) -> String {
        guard value.isFinite else { return "–" }
        guard value != 0 else { return "0" }
        let magnitude = Int(floor(log10(abs(value))))
        let decimals = max(0, digits - 1 - magnitude)
        var text = fixed(value, decimals: decimals)
        if text.contains(".") {
            while text.hasSuffix("0") { text.removeLast() }
            if text.hasSuffix(".") { text.removeLast() }
        }
        return text == minus + "0" ? "0" : text
    }

    /// An SVG coordinate or length: rounded to `decimals` decimals (one by default), `-` for
    /// negatives, no trailing zeros, never `-0`.
    static func coordinate(_ value: Double, decimals: Int = 1) -> String {
        guard value.isFinite else { return "0" }
        let decimals = max(0, min(decimals, 6))
        let factor = powerOfTen(decimals)
        let scaled = (value * factor).rounded()
        guard abs(scaled) < 9e15 else { return String(Int(value.rounded())) }
        let n = Int(scaled)
        let unit = UInt(factor)
        let whole = n.magnitude / unit, fraction = n.magnitude % unit
        var text = n < 0 ? "-" : ""
        text += String(whole)
        if fraction != 0 {
            var digits = String(fraction)
            digits = String(repeating: "0", count: decimals - digits.count) + digits
            while digits.hasSuffix("0") { digits.removeLast() }
            text += "." + digits
        }
        return text
    }

    /// A number of tenths as SVG text: `123` is `12.3`, `-5` is `-0.5`, `30` is `3`.
    static func tenths(_ tenths: Int) -> String {
        let magnitude = tenths.magnitude
        let whole = magnitude / 10, digit = magnitude % 10
        var text = tenths < 0 ? "-" : ""
        text += String(whole)
        if digit != 0 { text += "." + String(digit) }
        return text
    }

    static func powerOfTen(_ exponent: Int) -> Double {
        var result = 1.0
        for _ in 0..<abs(exponent) { result *= 10 }
        return exponent < 0 ? 1 / result : result
    }

    private static func grouped(_ digits: String) -> String {
        var out = ""
        for (i, c) in digits.enumerated() {
            if i > 0, (digits.count - i) % 3 == 0 { out += thousandsSeparator }
            out.append(c)
        }
        return out
    }
}
