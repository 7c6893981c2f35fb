/// Where the sink writes: observations and dead letters of one batch, durably, before the
/// sink commits the bus offsets of that batch. The embedded SQLite store writes both in one
/// transaction.
public protocol SinkWriter: Sendable {
    func write(_ observations: [Observation], deadLetters: [DeadLetter]) async throws -> UpsertSummary
}

/// A store the whole pipeline can use: observations, dead letters, and the sink's writes.
/// SQLite (embedded) and MongoDB both are one.
public typealias MeteoStore = ObservationStore & DeadLetterStore & SinkWriter
