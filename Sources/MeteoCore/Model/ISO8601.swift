import Foundation

/// ISO 8601 formatting and parsing of instants in UTC, as used in every JSON Meteo writes.
///
/// Hand-written because it sits on the hot path of the event codec (hundreds of thousands
/// of events a second), where Foundation's format styles are too slow.
public enum ISO8601 {
    /// `2026-11-29T03:40:00Z`, with `.250` milliseconds only when the instant has them.
    public static func string(from date: Date) -> String {
        var out = [UInt8]()
        out.reserveCapacity(24)
        write(date, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends ``string(from:)``'s text to `out`.
    public static func write(_ date: Date, into out: inout [UInt8]) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: maxLength) { buffer in
            let n = write(date, to: buffer.baseAddress!)
            out.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[..<n]))
        }
    }

    /// The longest text ``write(_:to:)`` writes: `2026-11-29T03:40:00.250Z`.
    public static let maxLength = 24

    /// Writes ``string(from:)``'s text at `p` (the event encoder's hot path, without a String)
    /// and returns its length, at most ``maxLength``.
    @inline(__always)
    public static func write(_ date: Date, to p: UnsafeMutablePointer<UInt8>) -> Int {
        // Clamped to years 0001...9999, the range the format can write: a hostile time (1e300
        // seconds, NaN) must not trap converting to Int64; validation refuses such times with
        // a reason, and this only formats the message that says so.
        var t = date.timeIntervalSince1970
        if !t.isFinite { t = 0 }
        t = min(max(t, -62_135_596_800), 253_402_300_799.999)
        var seconds = Int64(t.rounded(.down))
        var millis = Int(((t - Double(seconds)) * 1000).rounded())
        if millis >= 1000 {  // 59.9996 s rounds up to the next second, not down to .000 of this one
            seconds += 1
            millis -= 1000
        }
        var (days, secOfDay) = seconds.quotientAndRemainder(dividingBy: 86_400)
        if secOfDay < 0 { secOfDay += 86_400; days -= 1 }
        let (y, m, d) = civil(fromDays: days)
        var i = 0
        func put(_ v: Int64, _ width: Int) {
            var v = v
            for k in stride(from: i + width - 1, through: i, by: -1) {
                p[k] = UInt8(ascii: "0") + UInt8(truncatingIfNeeded: v % 10)
                v /= 10
            }
            i += width
        }
        func char(_ c: UInt8) {
            p[i] = c
            i += 1
        }
        put(y, 4); char(UInt8(ascii: "-")); put(m, 2); char(UInt8(ascii: "-")); put(d, 2)
        char(UInt8(ascii: "T"))
        put(secOfDay / 3600, 2); char(UInt8(ascii: ":")); put(secOfDay / 60 % 60, 2); char(UInt8(ascii: ":")); put(secOfDay % 60, 2)
        if millis > 0 && millis < 1000 { char(UInt8(ascii: ".")); put(Int64(millis), 3) }
        char(UInt8(ascii: "Z"))
        return i
    }

    /// Parses `2026-11-29T03:40:00Z`, `2026-11-29T03:40:00.250Z`, `2026-11-29T03:40:00+01:00`,
    /// `2026-11-29T03:40` (UTC, as Open-Meteo writes it with `timezone=GMT`), `2026-11-29 03:40:00`, or `2026-11-29`.
    public static func date(from text: String) -> Date? {
        var text = text
        return text.withUTF8 { date(utf8: $0) }
    }

    /// ``date(from:)`` of UTF-8 bytes (the event decoder's hot path, without a String).
    public static func date(utf8 bytes: UnsafeBufferPointer<UInt8>) -> Date? {
        // Trimmed by index: removing the spaces one by one from the front took quadratic time
        // on a hostile 200 kB of them.
        var lo = 0
        var hi = bytes.count
        while lo < hi, bytes[lo] == 32 { lo += 1 }
        while hi > lo, bytes[hi - 1] == 32 { hi -= 1 }
        guard hi - lo <= 64 else { return nil }  // no valid time is longer
        let s = UnsafeBufferPointer(rebasing: bytes[lo..<hi])
        var i = 0
        func num(_ width: Int) -> Int64? {
            guard i + width <= s.count else { return nil }
            var v: Int64 = 0
            for k in i..<(i + width) {
                let c = s[k]
                guard c >= 48, c <= 57 else { return nil }
                v = v * 10 + Int64(c - 48)
            }
            i += width
            return v
        }
        func expect(_ c: UInt8) -> Bool {
            guard i < s.count, s[i] == c else { return false }
            i += 1
            return true
        }
        guard let y = num(4), expect(UInt8(ascii: "-")), let mo = num(2), expect(UInt8(ascii: "-")), let d = num(2),
              (1...12).contains(mo), (1...31).contains(d)
        else { return nil }
        let days = Self.days(fromCivil: y, mo, d)
        guard d <= daysInMonth(y, mo) else { return nil }
        if i == s.count { return Date(timeIntervalSince1970: Double(days * 86_400)) }
        guard expect(UInt8(ascii: "T")) || expect(UInt8(ascii: " ")),
              let hh = num(2), expect(UInt8(ascii: ":")), let mm = num(2), hh < 24, mm < 60
        else { return nil }
        var ss: Int64 = 0
        var fraction = 0.0
        if expect(UInt8(ascii: ":")) {
            guard let v = num(2), v < 61 else { return nil }
            ss = v
            if expect(UInt8(ascii: ".")) {
                var scale = 0.1
                var any = false
                while i < s.count, s[i] >= 48, s[i] <= 57 {
                    fraction += Double(s[i] - 48) * scale
                    scale /= 10
                    i += 1
                    any = true
                }
                guard any else { return nil }
            }
        }
        var offset: Int64 = 0
        if i < s.count {
            if expect(UInt8(ascii: "Z")) {
            } else if s[i] == UInt8(ascii: "+") || s[i] == UInt8(ascii: "-") {
                let sign: Int64 = s[i] == UInt8(ascii: "+") ? 1 : -1
                i += 1
                guard let oh = num(2) else { return nil }
                _ = expect(UInt8(ascii: ":"))
                guard let om = num(2), oh < 24, om < 60 else { return nil }
                offset = sign * (oh * 3600 + om * 60)
            } else {
                return nil
            }
        }
        guard i == s.count else { return nil }
        let total = days * 86_400 + hh * 3600 + mm * 60 + ss - offset
        return Date(timeIntervalSince1970: Double(total) + fraction)
    }

    private static func daysInMonth(_ y: Int64, _ m: Int64) -> Int64 {
        switch m {
        case 2: return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
    static func days(fromCivil y0: Int64, _ m: Int64, _ d: Int64) -> Int64 {
        let y = m <= 2 ? y0 - 1 : y0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func civil(fromDays z0: Int64) -> (Int64, Int64, Int64) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (m <= 2 ? y + 1 : y, m, d)
    }
}
