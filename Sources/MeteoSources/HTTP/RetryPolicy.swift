import Foundation
import MeteoCore

/// How the HTTP sources retry a failed request: exponential backoff with full jitter.
///
/// The delay before retry *n* (1-based) is a uniformly random duration in
/// `0...min(maxDelay, baseDelay × 2^(n-1))` ("full jitter"). When the server says how long to
/// wait (`Retry-After` on a 429 or 503), that wait is used instead, capped at ``maxDelay``.
///
/// Only transient failures are retried: HTTP 429, HTTP 5xx, time-outs, connection errors and
/// (for Open-Meteo) a response body that is not complete JSON. Other 4xx statuses fail at once.
public struct RetryPolicy: Sendable, Hashable {
    /// Attempts per request, the first one included. At least 1.
    public var maxAttempts: Int
    /// The backoff of the first retry before jitter. Default 0.5 s.
    public var baseDelay: Duration
    /// The longest wait between two attempts, whatever the server asks for. Default 60 s.
    public var maxDelay: Duration

    public init(maxAttempts: Int = 6, baseDelay: Duration = .milliseconds(500), maxDelay: Duration = .seconds(60)) {
        self.maxAttempts = max(1, maxAttempts)
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
    }

    /// The wait before retry number `retry` (1 for the first retry).
    ///
    /// - Parameters:
    ///   - retryAfter: the server's `Retry-After`, if any; it wins over the backoff (capped).
    ///   - random: a number in `0..<1` drawn for the jitter.
    public func delay(beforeRetry retry: Int, retryAfter: Duration? = nil, random: Double) -> Duration {
        if let retryAfter { return min(max(retryAfter, .zero), maxDelay) }
        let exponent = min(max(retry - 1, 0), 40)
        let ceiling = min(baseDelay.seconds * pow(2, Double(exponent)), maxDelay.seconds)
        return .nanoseconds(Int64((ceiling * min(max(random, 0), 1) * 1e9).rounded(.down)))
    }

    /// Parses a `Retry-After` header: delay-seconds (`120`) or an HTTP date
    /// (`Wed, 21 Oct 2015 07:28:00 GMT`), relative to `now`. `nil` when it is neither.
    public static func parseRetryAfter(_ value: String, now: Date = Date()) -> Duration? {
        let text = value.trimmingCharacters(in: .whitespaces)
        if let seconds = Double(text), seconds.isFinite, seconds >= 0 { return .milliseconds(Int64(seconds * 1000)) }
        guard let date = httpDate(text) else { return nil }
        return .milliseconds(Int64(max(0, date.timeIntervalSince(now)) * 1000))
    }

    /// IMF-fixdate (RFC 9110 §5.6.7): `Sun, 06 Nov 1994 08:49:37 GMT`.
    static func httpDate(_ text: String) -> Date? {
        let parts = text.split(separator: " ")
        guard parts.count == 6, parts[5] == "GMT", let day = Int64(parts[1]), let year = Int64(parts[3]) else { return nil }
        let months = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
        guard let m = months.firstIndex(of: parts[2].lowercased()) else { return nil }
        let hms = parts[4].split(separator: ":").compactMap { Int($0) }
        guard hms.count == 3 else { return nil }
        let iso = String(format: "%04lld-%02d-%02lldT%02d:%02d:%02dZ", year, m + 1, day, hms[0], hms[1], hms[2])
        return ISO8601.date(from: iso)
    }
}
