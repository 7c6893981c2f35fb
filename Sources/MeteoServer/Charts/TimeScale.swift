import Foundation

/// A time scale from Unix seconds to SVG positions, with ticks on round UTC times.
///
/// The step is the smallest of 1, 5, 10, 15, 30 s; 1, 2, 5, 10, 15, 30 min; 1, 2, 3, 6, 12 h;
/// 1, 2 days; 1, 2 weeks (from Monday); 1, 2, 3, 6 months and whole years that gives at most
/// `maxTickCount` ticks inside the domain. The domain itself is the data's, not widened
/// (a single instant is widened to an hour). Labels are UTC: `08:30` within a day, the date
/// (`29 Nov`) at midnight and for steps of a day or more; for months the month (`Nov`, the first
/// tick `Nov 2026`) and the year in January (`2027`); for years the year.
public struct TimeScale: Sendable, Hashable {
    /// The domain, Unix seconds.
    public let start: Double
    public let end: Double
    /// The step of the ticks in seconds (months and years: their average length).
    public let step: Double
    public let ticks: [AxisTick]
    public var rangeStart: Double
    public var rangeEnd: Double

    enum Step: Hashable {
        case seconds(Int)
        case months(Int)
    }

    static let steps: [Step] = [1, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10_800,
                                21_600, 43_200, 86_400, 172_800, 604_800, 1_209_600].map { .seconds($0) }
        + [1, 2, 3, 6, 12, 24, 60, 120].map { .months($0) }

    public init(start: Double, end: Double, rangeStart: Double = 0, rangeEnd: Double = 1, maxTickCount: Int = 8) {
        var lo = min(start, end), hi = max(start, end)
        if !lo.isFinite || !hi.isFinite { (lo, hi) = (0, 3600) }
        if lo == hi { (lo, hi) = (lo - 1800, hi + 1800) }
        self.start = lo
        self.end = hi
        self.rangeStart = rangeStart
        self.rangeEnd = rangeEnd
        let maxTicks = max(2, maxTickCount)
        var chosen = Self.steps[Self.steps.count - 1]
        var times: [Double] = []
        for step in Self.steps {
            let candidate = Self.tickTimes(from: lo, to: hi, step: step, limit: maxTicks + 1)
            if candidate.count <= maxTicks {
                chosen = step
                times = candidate
                break
            }
        }
        if times.isEmpty { times = Self.tickTimes(from: lo, to: hi, step: chosen, limit: 1000) }
        switch chosen {
        case .seconds(let s): self.step = Double(s)
        case .months(let m): self.step = Double(m) * 2_629_746
        }
        self.ticks = times.enumerated().map { i, t in
            AxisTick(value: t, label: Self.label(for: t, step: chosen, isFirst: i == 0))
        }
    }

    /// The scale of the finite times among `times` (the last hour before the epoch's first when none).
    public init(covering times: some Sequence<Double>, rangeStart: Double = 0, rangeEnd: Double = 1, maxTickCount: Int = 8) {
        var lo = Double.infinity, hi = -Double.infinity
        for t in times where t.isFinite {
            lo = min(lo, t)
            hi = max(hi, t)
        }
        if lo > hi { (lo, hi) = (0, 3600) }
        self.init(start: lo, end: hi, rangeStart: rangeStart, rangeEnd: rangeEnd, maxTickCount: maxTickCount)
    }

    public func position(of time: Double) -> Double {
        rangeStart + (time - start) / (end - start) * (rangeEnd - rangeStart)
    }

    /// A UTC time for tooltips: `29 Nov 2026 08:30 UTC`.
    public static func tooltipLabel(_ time: Double) -> String {
        guard time.isFinite else { return "–" }
        let d = UTCDateTime(time)
        return "\(d.day) \(UTCDateTime.monthNames[d.month - 1]) \(d.year) \(d.hhmm) UTC"
    }

    static func tickTimes(from lo: Double, to hi: Double, step: Step, limit: Int) -> [Double] {
        var out: [Double] = []
        switch step {
        case .seconds(let s):
            // Weeks start on Monday: the epoch (1970-01-01) was a Thursday, 1970-01-05 a Monday.
            let offset = s % 604_800 == 0 ? 4 * 86_400 : 0
            let size = Double(s)
            var t = (ceil((lo - Double(offset)) / size) * size) + Double(offset)
            while t <= hi, out.count < limit {
                out.append(t)
                t += size
            }
        case .months(let m):
            let first = UTCDateTime(lo)
            var month = first.year * 12 + (first.month - 1)
            month = (month / m) * m
            while out.count < limit {
                let t = UTCDateTime.unixTime(year: month / 12, month: month % 12 + 1, day: 1)
                if t > hi { break }
                if t >= lo { out.append(t) }
                month += m
            }
        }
        return out
    }

    static func label(for time: Double, step: Step, isFirst: Bool = false) -> String {
        let d = UTCDateTime(time)
        let month = UTCDateTime.monthNames[d.month - 1]
        switch step {
        case .seconds(let s) where s < 60:
            return d.hhmm + ":" + UTCDateTime.twoDigits(d.second)
        case .seconds(let s) where s < 86_400:
            return d.isMidnight ? "\(d.day) \(month)" : d.hhmm
        case .seconds:
            return "\(d.day) \(month)"
        case .months(let m) where m < 12:
            return d.month == 1 ? String(d.year) : isFirst ? "\(month) \(d.year)" : month
        case .months:
            return String(d.year)
        }
    }
}

/// A Unix time's UTC calendar date and time of day, by the civil-from-days algorithm
/// (Howard Hinnant's), so that labels need neither a locale nor a `Calendar`.
struct UTCDateTime {
    static let monthNames = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    let year: Int, month: Int, day: Int
    let hour: Int, minute: Int, second: Int

    init(_ time: Double) {
        let seconds = Int(floor(time.isFinite ? min(max(time, -1e13), 1e13) : 0))
        let days = Int(floor(Double(seconds) / 86_400))
        let secondOfDay = seconds - days * 86_400
        hour = secondOfDay / 3600
        minute = secondOfDay % 3600 / 60
        second = secondOfDay % 60
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        day = doy - (153 * mp + 2) / 5 + 1
        month = mp < 10 ? mp + 3 : mp - 9
        year = yoe + era * 400 + (month <= 2 ? 1 : 0)
    }

    var isMidnight: Bool { hour == 0 && minute == 0 && second == 0 }
    var hhmm: String { Self.twoDigits(hour) + ":" + Self.twoDigits(minute) }

    static func twoDigits(_ n: Int) -> String { n < 10 ? "0\(n)" : String(n) }

    /// Unix seconds of 00:00 UTC on a calendar day (days-from-civil).
    static func unixTime(year: Int, month: Int, day: Int) -> Double {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = month > 2 ? month - 3 : month + 9
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return Double(era * 146_097 + doe - 719_468) * 86_400
    }
}
