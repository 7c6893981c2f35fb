import Foundation

/// Where hourly history comes from (`meteo backfill`): one request of a backfill, a
/// ``BackfillChunk``, at a time. Open-Meteo's archive and forecast APIs stand behind it in
/// `MeteoSources`; the backfill service in `MeteoPipeline` sees only this protocol.
public protocol HistorySource: Sendable {
    /// The hourly observations of `places` (the chunk's places, in its order) over the chunk's
    /// whole UTC days, up to `now`. Hours after `now` or outside the chunk's days are dropped,
    /// and an hour whose values are all null (the provider does not hold it yet) is counted,
    /// never turned into an observation.
    ///
    /// Throws only when the whole request failed (after its retries); a bad place or hour is a
    /// ``SourceFailure``.
    func fetch(_ chunk: BackfillChunk, places: [Place], now: Date) async throws -> HistoryBatch
}

/// What one history request brought.
public struct HistoryBatch: Sendable {
    public var observations: [Observation]
    /// Place-hours of the asked days, up to now, with no observation: every value null (the
    /// provider does not hold that hour yet) or the hour absent from the answer.
    public var missingHours: Int
    /// Place-hours of the answer outside the asked days or after now (the forecast part of a
    /// `past_days` answer), dropped.
    public var droppedHours: Int
    /// Places or hours the answer could not give (impossible values, say), with the reason.
    public var failures: [SourceFailure]
    /// What the request weighed in the provider's quota.
    public var weight: Double
    /// Where the request's time went.
    public var timing: HistoryTiming

    public init(observations: [Observation] = [], missingHours: Int = 0, droppedHours: Int = 0, failures: [SourceFailure] = [],
                weight: Double = 0, timing: HistoryTiming = HistoryTiming()) {
        self.observations = observations
        self.missingHours = missingHours
        self.droppedHours = droppedHours
        self.failures = failures
        self.weight = weight
        self.timing = timing
    }
}

/// The time one request spent in each step, in seconds of wall time.
public struct HistoryTiming: Sendable, Hashable {
    /// Waiting for room in the provider's quota (including a window the provider refused).
    public var quotaWaitSeconds: Double
    /// Waiting for HTTP answers (and their retries), the quota waits aside.
    public var httpSeconds: Double
    /// Decoding the answers into observations.
    public var decodeSeconds: Double

    public init(quotaWaitSeconds: Double = 0, httpSeconds: Double = 0, decodeSeconds: Double = 0) {
        self.quotaWaitSeconds = quotaWaitSeconds
        self.httpSeconds = httpSeconds
        self.decodeSeconds = decodeSeconds
    }

    public static func + (a: HistoryTiming, b: HistoryTiming) -> HistoryTiming {
        HistoryTiming(quotaWaitSeconds: a.quotaWaitSeconds + b.quotaWaitSeconds, httpSeconds: a.httpSeconds + b.httpSeconds,
                      decodeSeconds: a.decodeSeconds + b.decodeSeconds)
    }
}
