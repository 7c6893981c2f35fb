import Foundation
import MeteoCore

/// Sends a batch's dead letters to a dead-letter topic on the bus (Kafka's `<topic>.dlq`), then
/// lets the store write the batch. The sink commits the batch's offsets only after both, so a
/// bad message is never skipped without a trace: it is on the dead-letter topic, with why it
/// failed and where it came from in its headers, and in the store's dead-letter table.
public struct DeadLetterTopicWriter: SinkWriter {
    /// The header names of a message on the dead-letter topic.
    public enum Headers {
        public static let reason = "meteo.dlq.reason"
        public static let sourceTopic = "meteo.dlq.source.topic"
        public static let sourcePartition = "meteo.dlq.source.partition"
        public static let sourceOffset = "meteo.dlq.source.offset"
        public static let failedAt = "meteo.dlq.failed.at"
    }

    private let inner: any SinkWriter
    private let publisher: any EventPublisher
    private let topic: String

    public init(writing inner: any SinkWriter, deadLettersTo topic: String, on publisher: any EventPublisher) {
        self.inner = inner
        self.publisher = publisher
        self.topic = topic
    }

    public func write(_ observations: [Observation], deadLetters: [DeadLetter]) async throws -> UpsertSummary {
        if !deadLetters.isEmpty {
            try await publisher.publish(deadLetters.map(Self.message), to: topic)
        }
        return try await inner.write(observations, deadLetters: deadLetters)
    }

    /// The dead letter as it goes on the topic: the original bytes and key, and headers that say why and whence.
    public static func message(_ letter: DeadLetter) -> OutgoingMessage {
        // Header values must stay one line and bounded, whatever the reason quotes.
        let reason = String(letter.reason.map { $0.isNewline ? " " : $0 }.prefix(2000))
        return OutgoingMessage(key: letter.key, value: letter.payload, headers: [
            Headers.reason: reason,
            Headers.sourceTopic: letter.topic,
            Headers.sourcePartition: String(letter.partition),
            Headers.sourceOffset: String(letter.offset),
            Headers.failedAt: ISO8601.string(from: letter.failedAt),
        ])
    }
}
