import MeteoCore

/// Publishes to the embedded log. `publish` returns once the messages are committed to disk.
public struct EmbeddedLogPublisher: EventPublisher {
    let log: EmbeddedLog

    public func publish(_ messages: [OutgoingMessage], to topic: String) async throws {
        guard !messages.isEmpty else { return }
        _ = try await log.append(messages, to: topic)
    }

    public func close() async throws {}
}
