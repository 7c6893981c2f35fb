import MeteoCore
import Synchronization

/// Publishes to the embedded log. `publish` returns once the messages are committed to disk.
/// After `close()` it refuses to publish (the log itself stays open for its other users).
public struct EmbeddedLogPublisher: EventPublisher {
    let log: EmbeddedLog
    let closed = ClosedFlag()

    public func publish(_ messages: [OutgoingMessage], to topic: String) async throws {
        try closed.check("the embedded log publisher is closed: no more messages can be published through it")
        guard !messages.isEmpty else { return }
        _ = try await log.append(messages, to: topic)
    }

    public func close() async throws {
        closed.close()
    }
}

/// Whether a view of the embedded log (a publisher, a consumer) was closed.
final class ClosedFlag: Sendable {
    private let value = Atomic<Bool>(false)

    func close() { value.store(true, ordering: .releasing) }

    func check(_ message: @autoclosure () -> String) throws(MeteoError) {
        if value.load(ordering: .acquiring) { throw MeteoError(code: .bus, message()) }
    }
}
