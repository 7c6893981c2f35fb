import Foundation

/// An sRGB colour as the charts write it (`#rrggbb`), with the qualitative palette of the
/// line charts and the contrast rule that picks white or dark text on a coloured cell.
public struct ChartColor: Sendable, Hashable, CustomStringConvertible {
    public var red: UInt8
    public var green: UInt8
    public var blue: UInt8

    public init(red: UInt8, green: UInt8, blue: UInt8) {
        self.red = red
        self.green = green
        self.blue = blue
    }

    /// Parses `#rrggbb` or `rrggbb`.
    public init?(hex: String) {
        let digits = hex.hasPrefix("#") ? hex.dropFirst() : Substring(hex)
        guard digits.count == 6, let value = UInt32(digits, radix: 16) else { return nil }
        self.init(red: UInt8(value >> 16), green: UInt8((value >> 8) & 0xFF), blue: UInt8(value & 0xFF))
    }

    /// `#rrggbb`, lower case.
    public var hex: String {
        let digits = Array("0123456789abcdef")
        var out = "#"
        for byte in [red, green, blue] {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return out
    }

    public var description: String { hex }

    /// The WCAG 2 relative luminance, 0 (black) to 1 (white).
    public var relativeLuminance: Double {
        func linear(_ c: UInt8) -> Double {
            let s = Double(c) / 255
            return s <= 0.04045 ? s / 12.92 : pow((s + 0.055) / 1.055, 2.4)
        }
        return 0.2126 * linear(red) + 0.7152 * linear(green) + 0.0722 * linear(blue)
    }

    /// True when white text contrasts more with this colour than near-black text does.
    /// (The two contrast ratios are equal at a luminance of about 0.18.)
    public var prefersLightText: Bool { relativeLuminance < 0.18 }

    /// The colour of text drawn on this colour: white on dark colours, near-black otherwise.
    public var textColor: ChartColor { prefersLightText ? .white : ChartColor(red: 0x11, green: 0x18, blue: 0x27) }

    /// The straight sRGB mix of `self` (fraction 0) and `other` (fraction 1).
    public func mixed(with other: ChartColor, fraction: Double) -> ChartColor {
        let t = fraction.isFinite ? min(1, max(0, fraction)) : 0
        func mix(_ a: UInt8, _ b: UInt8) -> UInt8 {
            UInt8((Double(a) + (Double(b) - Double(a)) * t).rounded())
        }
        return ChartColor(red: mix(red, other.red), green: mix(green, other.green), blue: mix(blue, other.blue))
    }

    public static let white = ChartColor(red: 255, green: 255, blue: 255)
    /// The fill of a missing value: a cell without a correlation, a place without a temperature.
    public static let noData = ChartColor(red: 0xc8, green: 0xcc, blue: 0xd2)

    /// Ten qualitative colours (Tableau 10) for series that have no order.
    public static let palette: [ChartColor] = [
        0x4e79a7, 0xf28e2b, 0xe15759, 0x76b7b2, 0x59a14f, 0xedc948, 0xb07aa1, 0xff9da7, 0x9c755f, 0xbab0ac,
    ].map { ChartColor(red: UInt8($0 >> 16), green: UInt8(($0 >> 8) & 0xFF), blue: UInt8($0 & 0xFF)) }

    /// The palette colour of the series at `index`, repeating after ten.
    public static func palette(_ index: Int) -> ChartColor {
        palette[((index % palette.count) + palette.count) % palette.count]
    }
}
