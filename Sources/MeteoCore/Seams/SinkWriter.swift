/// Where the sink writes: observations and dead letters of one batch, durably, before the
/// sink commits the bus offsets of that batch. The embedded SQLite store writes both in one
/// transaction.
public protocol SinkWriter: Sendable {
    func write(_ observations: [Observation], deadLetters: [DeadLetter]) async throws -> UpsertSummary
}
