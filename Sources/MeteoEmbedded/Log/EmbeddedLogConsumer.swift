import MeteoCore
import Synchronization

/// Reads a topic of the embedded log as a member of a consumer group.
///
/// It starts at the group's committed offset and remembers how far it has handed messages
/// out, so that one instance never delivers a message twice; a new instance (after a crash)
/// starts again from the last commit: delivery is at least once.
public final class EmbeddedLogConsumer: EventConsumer {
    let log: EmbeddedLog
    public let group: String
    public let topic: String
    private let position = Mutex<Int64?>(nil)

    init(log: EmbeddedLog, group: String, topic: String) {
        self.log = log
        self.group = group
        self.topic = topic
    }

    public func poll(maxMessages: Int, timeout: Duration) async throws -> [BusMessage] {
        let deadline = ContinuousClock.now + timeout
        var from: Int64
        if let p = position.withLock({ $0 }) {
            from = p
        } else {
            from = try await log.committed(group: group, topic: topic) ?? 0
            position.withLock { $0 = from }
        }
        while true {
            let messages = try await log.read(topic: topic, from: from, limit: max(1, maxMessages))
            if let last = messages.last {
                position.withLock { $0 = last.offset + 1 }
                return messages
            }
            let now = ContinuousClock.now
            if now >= deadline { return [] }
            try await Task.sleep(for: min(.milliseconds(25), deadline - now))
            from = position.withLock { $0 } ?? from
        }
    }

    public func commit(_ positions: [CommitPosition]) async throws {
        guard !positions.isEmpty else { return }
        try await log.commit(group: group, positions: positions)
    }

    public func close() async throws {}
}
