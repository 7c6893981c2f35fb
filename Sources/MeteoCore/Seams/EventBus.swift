import Foundation

/// A message to publish on the bus. The key is the place id, so that a partitioned bus keeps
/// the events of one place in order.
public struct OutgoingMessage: Sendable, Hashable {
    public var key: String?
    public var value: [UInt8]
    public var headers: [String: String]

    public init(key: String?, value: [UInt8], headers: [String: String] = [:]) {
        self.key = key
        self.value = value
        self.headers = headers
    }
}

/// A message read from the bus, with where it came from.
public struct BusMessage: Sendable, Hashable {
    public var topic: String
    public var partition: Int
    public var offset: Int64
    public var key: String?
    public var value: [UInt8]
    public var headers: [String: String]
    /// When the bus accepted the message.
    public var timestamp: Date

    public init(topic: String, partition: Int = 0, offset: Int64, key: String?, value: [UInt8],
                headers: [String: String] = [:], timestamp: Date) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.key = key
        self.value = value
        self.headers = headers
        self.timestamp = timestamp
    }
}

/// Publishes messages. `publish` returns only when the bus holds the messages durably
/// (the embedded log's transaction committed, Kafka's delivery reports arrived): only then
/// does the ingestor count them as published.
public protocol EventPublisher: Sendable {
    func publish(_ messages: [OutgoingMessage], to topic: String) async throws
    /// Hands the messages to the bus in order and returns as soon as they are queued, with the
    /// wait for their acknowledgement: a caller can queue its next batch while the bus
    /// acknowledges this one, and count the messages published only once `delivered()`
    /// returns. Messages sent by one caller keep their order. The default publishes, so its
    /// `delivered()` has nothing left to wait for.
    func send(_ messages: [OutgoingMessage], to topic: String) async throws -> PendingDelivery
    /// Flushes whatever is buffered and releases resources.
    func close() async throws
}

extension EventPublisher {
    public func send(_ messages: [OutgoingMessage], to topic: String) async throws -> PendingDelivery {
        try await publish(messages, to: topic)
        return PendingDelivery(count: messages.count) {}
    }
}

/// Messages handed to the bus, whose acknowledgement may still be on its way.
public struct PendingDelivery: Sendable {
    /// How many messages it covers.
    public let count: Int
    private let wait: @Sendable () async throws -> Void

    public init(count: Int, wait: @escaping @Sendable () async throws -> Void) {
        self.count = count
        self.wait = wait
    }

    /// Returns once the bus has acknowledged every message, or throws why it did not.
    public func delivered() async throws { try await wait() }
}

/// Where a consumer group has read up to: the next offset to read, per partition.
public struct CommitPosition: Sendable, Hashable {
    public var topic: String
    public var partition: Int
    /// The offset of the next message to read (last processed + 1).
    public var nextOffset: Int64

    public init(topic: String, partition: Int, nextOffset: Int64) {
        self.topic = topic
        self.partition = partition
        self.nextOffset = nextOffset
    }
}

/// Reads one topic as a member of a consumer group. Delivery is at least once: messages
/// after the last committed position are delivered again after a crash.
public protocol EventConsumer: Sendable {
    /// The next messages, waiting up to `timeout` when none are there; empty when none came.
    func poll(maxMessages: Int, timeout: Duration) async throws -> [BusMessage]
    /// Records that every message up to `positions` has been processed. Call only after the store write.
    func commit(_ positions: [CommitPosition]) async throws
    /// Commits nothing more and leaves the group.
    func close() async throws
    /// Whether this member has read everything there is in its share of the topic, for
    /// `--until-idle`. A bus whose empty poll already means that (the embedded log) says yes;
    /// Kafka checks that the group has given it partitions and that it is at their end.
    func caughtUp() async throws -> Bool
    /// Stops fetching this member's partitions without leaving the group, while the sink waits
    /// for its store; ``keepAlive()`` then keeps the membership, and ``resume()`` fetches again.
    func pause() async throws
    /// Serves the group while paused: Kafka polls (so that `max.poll.interval.ms` does not
    /// expire and rebalances are answered) and keeps any message that comes for the next poll.
    func keepAlive() async throws
    /// Fetches again after ``pause()``.
    func resume() async throws
}

extension EventConsumer {
    public func caughtUp() async throws -> Bool { true }
    /// Nothing to do for a bus without group membership to lose (the embedded log).
    public func pause() async throws {}
    public func keepAlive() async throws {}
    public func resume() async throws {}
}

extension Sequence where Element == BusMessage {
    /// The commit positions just past the highest offset of each partition.
    @inlinable
    public var commitPositions: [CommitPosition] {
        // One topic and partition (the embedded log's every poll): no dictionaries.
        var single: (topic: String, partition: Int, offset: Int64)?
        var mixed = false
        for m in self {
            guard let s = single else {
                single = (m.topic, m.partition, m.offset)
                continue
            }
            guard m.partition == s.partition, m.topic == s.topic else {
                mixed = true
                break
            }
            if m.offset > s.offset { single = (s.topic, s.partition, m.offset) }
        }
        if !mixed {
            return single.map { [CommitPosition(topic: $0.topic, partition: $0.partition, nextOffset: $0.offset + 1)] } ?? []
        }
        var best: [String: [Int: Int64]] = [:]
        for m in self { best[m.topic, default: [:]][m.partition] = Swift.max(best[m.topic]?[m.partition] ?? -1, m.offset) }
        return best.flatMap { topic, parts in
            parts.map { CommitPosition(topic: topic, partition: $0.key, nextOffset: $0.value + 1) }
        }.sorted { ($0.topic, $0.partition) < ($1.topic, $1.partition) }
    }
}
