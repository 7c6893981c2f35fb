

/// A place the source could not report on, and why. Reported, never silently dropped.
public struct SourceFailure: Sendable, Hashable {
    public var placeID: String?
    public var reason: String

    public init(placeID: String?, reason: String) {
        self.placeID = placeID
        self.reason = reason
    }
}

/// What one poll of a source produced.
public struct SourceBatch: Sendable {
    public var observations: [Observation]
    public var failures: [SourceFailure]
    /// Places whose observation had not changed since the last poll (Open-Meteo's `current`
    /// block moves every 15 minutes), so were not reported again.
    public var repeated: Int

    public init(observations: [Observation] = [], failures: [SourceFailure] = [], repeated: Int = 0) {
        self.observations = observations
        self.failures = failures
        self.repeated = repeated
    }
}

/// Where weather comes from: a live API, a recording, or a deterministic generator.
public protocol WeatherSource: Sendable {
    /// The label written in each observation's `source` field.
    var name: String { get }
    /// The current weather of `places`. The synthetic source moves its clock one tick per call;
    /// the replay source returns its recording (and nothing more once it is exhausted).
    /// Throws only when the whole poll failed (after its retries); a bad place is a ``SourceFailure``.
    func poll(_ places: [Place]) async throws -> SourceBatch
}
