import Foundation
import MeteoCore
import Synchronization

/// The stub's own count of weighted calls, as a provider keeps it: fixed UTC windows (minute,
/// hour, day, month), each reset at its boundary, and a request refused with a 429 when it would
/// take a window over its limit.
///
/// Stricter than Open-Meteo's server, which refuses only once a window is already at its limit
/// (and so lets one request take it over): what fits here fits there.
public final class StubQuota: Sendable {
    public struct Stats: Sendable {
        /// Requests accepted, and their total weight.
        public var accepted = 0
        public var weight = 0.0
        /// Requests refused, by the window that refused them.
        public var refused: [QuotaWindow: Int] = [:]
        /// The most calls any one window of each kind held.
        public var peak: [QuotaWindow: Double] = [:]
        /// When each accepted request arrived and what it weighed.
        public var log: [(Date, Double)] = []

        public var totalRefused: Int { refused.values.reduce(0, +) }
    }

    private struct State {
        var windows: [QuotaWindow: (start: Date, used: Double)] = [:]
        var stats = Stats()
    }

    public let limits: [QuotaWindow: Double]
    private let state = Mutex(State())

    public init(limits: [QuotaWindow: Double]) {
        self.limits = limits
    }

    /// Counts a request of `weight` at `now`, or names the window that refuses it.
    public func take(_ weight: Double, at now: Date) -> QuotaWindow? {
        state.withLock { s in
            for window in QuotaWindow.allCases {
                let start = window.start(of: now)
                if s.windows[window]?.start != start { s.windows[window] = (start, 0) }
            }
            for window in QuotaWindow.allCases {
                guard let limit = limits[window] else { continue }
                if s.windows[window]!.used + weight > limit + 1e-6 {
                    s.stats.refused[window, default: 0] += 1
                    return window
                }
            }
            for window in QuotaWindow.allCases {
                s.windows[window]!.used += weight
                s.stats.peak[window] = max(s.stats.peak[window] ?? 0, s.windows[window]!.used)
            }
            s.stats.accepted += 1
            s.stats.weight += weight
            s.stats.log.append((now, weight))
            return nil
        }
    }

    /// Spends calls as another client of the same IP address would (for tests of a provider
    /// that refuses before Meteo's own count is full).
    public func spend(_ calls: Double, in window: QuotaWindow, at now: Date) {
        state.withLock { s in
            let start = window.start(of: now)
            if s.windows[window]?.start != start { s.windows[window] = (start, 0) }
            s.windows[window]!.used += calls
        }
    }

    public var stats: Stats { state.withLock { $0.stats } }

    /// What a provider answers when a window is spent: Open-Meteo's own reasons (its server has no
    /// monthly counter; the stub words the monthly one the same way).
    public static func openMeteoReason(_ window: QuotaWindow) -> String {
        switch window {
        case .minute: "Minutely API request limit exceeded. Please try again in one minute."
        case .hour: "Hourly API request limit exceeded. Please try again in the next hour."
        case .day: "Daily API request limit exceeded. Please try again tomorrow."
        case .month: "Monthly API request limit exceeded. Please try again next month."
        }
    }

    /// OpenWeatherMap's 429 message.
    public static let openWeatherMapMessage =
        "Your account is temporary blocked due to exceeding of requests limitation of your subscription type. Please choose the proper subscription https://openweathermap.org/price"
}
