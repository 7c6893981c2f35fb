import Foundation

/// A window over which a weather API counts calls. Open-Meteo counts per minute, hour and UTC
/// day (its own rate limiter resets the minute counter every minute and the hour and day
/// counters in the first minute of the UTC hour and day), and states a monthly allowance in its
/// terms; OpenWeatherMap counts per minute and per month.
public enum QuotaWindow: String, Sendable, Hashable, CaseIterable, Comparable, CustomStringConvertible {
    case minute, hour, day, month

    public var description: String { rawValue }

    /// "minutely", "hourly", "daily", "monthly": the words of Open-Meteo's 429 reasons and of
    /// Meteo's progress lines ("waiting for the hourly quota: 23 min").
    public var adjective: String {
        switch self {
        case .minute: "minutely"
        case .hour: "hourly"
        case .day: "daily"
        case .month: "monthly"
        }
    }

    /// The length a planner assumes: a month is the longest one, 31 days.
    public var plannedSeconds: Int64 {
        switch self {
        case .minute: 60
        case .hour: 3600
        case .day: 86_400
        case .month: 31 * 86_400
        }
    }

    public static func < (a: QuotaWindow, b: QuotaWindow) -> Bool { a.plannedSeconds < b.plannedSeconds }

    /// The start of the UTC calendar window that holds `date` (a minute, hour, day or month).
    public func start(of date: Date) -> Date {
        let t = Int64(date.timeIntervalSince1970.rounded(.down))
        switch self {
        case .minute, .hour, .day:
            return Date(timeIntervalSince1970: Double(Self.floor(t, plannedSeconds)))
        case .month:
            let (y, m, _) = ISO8601.civil(fromDays: Self.floor(t, 86_400) / 86_400)
            return Date(timeIntervalSince1970: Double(ISO8601.days(fromCivil: y, m, 1) * 86_400))
        }
    }

    /// The start of the next window after the one that holds `date`: when its count resets.
    public func end(of date: Date) -> Date {
        switch self {
        case .minute, .hour, .day:
            return start(of: date).addingTimeInterval(Double(plannedSeconds))
        case .month:
            let t = Int64(start(of: date).timeIntervalSince1970)
            let (y, m, _) = ISO8601.civil(fromDays: t / 86_400)
            let (ny, nm) = m == 12 ? (y + 1, Int64(1)) : (y, m + 1)
            return Date(timeIntervalSince1970: Double(ISO8601.days(fromCivil: ny, nm, 1) * 86_400))
        }
    }

    /// Reads `minute`, `hour`, `day`, `month` (or their adjectives, or the first letters m/h/d).
    public init?(name: String) {
        switch name.trimmingCharacters(in: .whitespaces).lowercased() {
        case "minute", "minutely", "min", "per-minute": self = .minute
        case "hour", "hourly", "h", "per-hour": self = .hour
        case "day", "daily", "d", "per-day": self = .day
        case "month", "monthly", "per-month": self = .month
        default: return nil
        }
    }

    private static func floor(_ t: Int64, _ step: Int64) -> Int64 {
        let r = t % step
        return r < 0 ? t - r - step : t - r
    }
}
