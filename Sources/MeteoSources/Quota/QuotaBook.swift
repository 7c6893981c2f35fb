import Foundation
import MeteoCore

/// The counts of one provider plan's windows: what has been spent in each, and the pure
/// decisions of the quota ledger (may a request of this weight go now, or until when must it
/// wait). ``QuotaLedger`` keeps it in the data dir and does the waiting.
///
/// How windows are counted, so that no window of the provider's is ever exceeded:
/// - **The minute** is a sliding window of ``minuteSpan`` (61 s): Open-Meteo's server resets
///   its minute counters every minute from whenever it started, so any 60 s span may be one of
///   its minutes.
/// - **The hour, the day and the month** are UTC calendar windows. Open-Meteo resets its hour
///   and day counters in the first minute of the UTC hour and day, at a moment Meteo cannot
///   know; so for ``grace`` (90 s) after a boundary a request must fit both the old and the new
///   window, and is counted in both.
/// - **A window the provider refused** (a 429 naming it) counts as spent until it resets.
public struct QuotaBook: Sendable, Hashable, Codable {
    /// The sliding minute's span.
    public static let minuteSpan: TimeInterval = 61
    /// After a calendar boundary, how long a request also counts in the window before it.
    public static let grace: TimeInterval = 90

    /// Calls of the sliding minute: (unix time, weight), oldest first.
    public var recent: [Call] = []
    /// Calls spent per calendar window: window kind → window start (unix seconds) → calls.
    public var spent: [String: [String: Double]] = [:]
    /// Windows the provider refused, until the unix time they reset (plus the grace).
    public var refusedUntil: [String: Double] = [:]

    public struct Call: Sendable, Hashable, Codable {
        public var t: Double
        public var w: Double
    }

    public init() {}

    /// Why a request must wait, and until when.
    public struct Wait: Sendable, Hashable {
        public var window: QuotaWindow
        public var until: Date
        /// The provider refused this window (a 429), rather than Meteo's own count being full.
        public var refusedByProvider: Bool
    }

    /// The calendar windows a request at `now` counts in: the current one, and during the
    /// grace after a boundary the one before.
    static func starts(_ window: QuotaWindow, at now: Date) -> [Date] {
        let current = window.start(of: now)
        let before = window.start(of: now.addingTimeInterval(-grace))
        return before == current ? [current] : [current, before]
    }

    static func key(_ date: Date) -> String { String(Int64(date.timeIntervalSince1970)) }

    /// Calls spent in the window of `window` kind that holds `date`.
    public func spent(_ window: QuotaWindow, at date: Date) -> Double {
        if window == .minute {
            let from = date.timeIntervalSince1970 - Self.minuteSpan
            return recent.reduce(0) { $1.t > from ? $0 + $1.w : $0 }
        }
        return spent[window.rawValue]?[Self.key(window.start(of: date))] ?? 0
    }

    /// Whether a request of `weight` may go at `now` under `plan`; the longest wait otherwise.
    /// Throws when the weight can never fit a window (a request heavier than its limit).
    public func check(_ weight: Double, at now: Date, plan: ProviderPlan) throws(MeteoError) -> Wait? {
        let t = now.timeIntervalSince1970
        var wait: Wait?
        func consider(_ w: Wait) {
            // The longest wait; on a tie the longer window, which is the one to name.
            if wait == nil || w.until >= wait!.until { wait = w }
        }
        for window in QuotaWindow.allCases {
            if let until = refusedUntil[window.rawValue], until > t {
                consider(Wait(window: window, until: Date(timeIntervalSince1970: until), refusedByProvider: true))
            }
            guard let limit = plan.limits[window] else { continue }
            guard weight <= limit + 1e-9 else {
                throw MeteoError(code: .invalidConfiguration,
                                 "one request of \(formatCalls(weight)) calls is more than \(plan.name) allows in a\(window == .hour ? "n" : "") \(window.rawValue) (\(formatCalls(limit))); ask for fewer places or days per request, or raise --quota")
            }
            if window == .minute {
                var used = spent(.minute, at: now)
                guard used + weight > limit + 1e-9 else { continue }
                // The oldest calls leave the sliding minute first.
                for call in recent where call.t > t - Self.minuteSpan {
                    used -= call.w
                    if used + weight <= limit + 1e-9 {
                        consider(Wait(window: .minute, until: Date(timeIntervalSince1970: call.t + Self.minuteSpan), refusedByProvider: false))
                        break
                    }
                }
                continue
            }
            for start in Self.starts(window, at: now) {
                let used = spent[window.rawValue]?[Self.key(start)] ?? 0
                if used + weight > limit + 1e-9 {
                    // Full until that window has ended and the grace after it has passed.
                    consider(Wait(window: window, until: window.end(of: start).addingTimeInterval(Self.grace), refusedByProvider: false))
                }
            }
        }
        return wait
    }

    /// Counts a request of `weight` sent at `now`.
    public mutating func record(_ weight: Double, at now: Date) {
        let t = now.timeIntervalSince1970
        recent.removeAll { $0.t <= t - Self.minuteSpan }
        recent.append(Call(t: t, w: weight))
        for window in QuotaWindow.allCases where window != .minute {
            var book = spent[window.rawValue] ?? [:]
            // Only the windows that can still matter are kept.
            let keep = Set(Self.starts(window, at: now).map(Self.key))
            book = book.filter { keep.contains($0.key) }
            for start in Self.starts(window, at: now) { book[Self.key(start), default: 0] += weight }
            spent[window.rawValue] = book
        }
    }

    /// The provider said this window is spent (Open-Meteo's 429 "Daily API request limit
    /// exceeded"): nothing goes until it resets, plus the grace.
    public mutating func refuse(_ window: QuotaWindow, at now: Date) {
        let until: Date
        if window == .minute {
            until = now.addingTimeInterval(Self.minuteSpan)
        } else {
            until = window.end(of: now).addingTimeInterval(Self.grace)
        }
        refusedUntil[window.rawValue] = max(refusedUntil[window.rawValue] ?? 0, until.timeIntervalSince1970)
    }
}
