import Logging
import MeteoCore
import Metrics
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
    private let skipped = Mutex<Int64>(0)
    private let closed = ClosedFlag()

    /// Records this consumer never saw: retention deleted them before it read them.
    public var skippedRecords: Int64 { skipped.withLock { $0 } }

    init(log: EmbeddedLog, group: String, topic: String) {
        self.log = log
        self.group = group
        self.topic = topic
    }

    public func poll(maxMessages: Int, timeout: Duration) async throws -> [BusMessage] {
        try closed.check("the embedded log consumer of group \(group) is closed: make a new one to read \(topic) again")
        let deadline = ContinuousClock.now + timeout
        var from: Int64
        // Whether `from` is a position the group reached (a commit, or this consumer's last
        // read): records missing after it were deleted unread. A group that never committed
        // starts at the earliest record held, as Kafka's auto.offset.reset=earliest.
        var reached = true
        if let p = position.withLock({ $0 }) {
            from = p
        } else {
            let committed = try await log.committed(group: group, topic: topic)
            reached = committed != nil
            from = committed ?? 0
            position.withLock { $0 = from }
        }
        while true {
            let messages = try await log.read(topic: topic, from: from, limit: max(1, maxMessages))
            if let first = messages.first, let last = messages.last {
                if reached, first.offset > from { noteSkipped(from: from, to: first.offset) }
                position.withLock { $0 = last.offset + 1 }
                return messages
            }
            let now = ContinuousClock.now
            if now >= deadline { return [] }
            try await Task.sleep(for: min(.milliseconds(25), deadline - now))
            from = position.withLock { $0 } ?? from
        }
    }

    /// The records from `from` up to `to` were deleted by retention before this consumer
    /// read them: said loudly, with the count, and counted (`meteo_consumer_skipped_records_total`).
    private func noteSkipped(from: Int64, to: Int64) {
        let count = to - from
        skipped.withLock { $0 += count }
        log.skippedCounter.increment(by: Int(count))
        log.logger.warning("records deleted by retention before this consumer read them were skipped: the group lost them", metadata: [
            LoggingKeys.topic: "\(topic)", LoggingKeys.group: "\(group)", LoggingKeys.count: "\(count)",
            LoggingKeys.offset: "\(from)..<\(to)",
        ])
    }

    public func commit(_ positions: [CommitPosition]) async throws {
        try closed.check("the embedded log consumer of group \(group) is closed: its positions can no longer be committed")
        guard !positions.isEmpty else { return }
        try await log.commit(group: group, positions: positions)
    }

    /// Stops this consumer: later polls and commits are refused. What it committed stays; a
    /// new consumer of the group starts there.
    public func close() async throws {
        closed.close()
    }
}
