import MeteoCore

/// One partition of one topic.
public struct KafkaPartition: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var topic: String
    public var partition: Int

    public init(topic: String, partition: Int) {
        self.topic = topic
        self.partition = partition
    }

    public static func < (a: KafkaPartition, b: KafkaPartition) -> Bool { (a.topic, a.partition) < (b.topic, b.partition) }
    public var description: String { "\(topic)[\(partition)]" }
}

/// What the broker said about one produced event.
public struct KafkaDeliveryReport: Sendable {
    public var topic: String
    public var partition: Int
    /// The offset the event got, or a negative number when it was not delivered.
    public var offset: Int64
    public var key: String?
    /// Why the event was not delivered; nil when it was.
    public var error: MeteoError?

    public init(topic: String, partition: Int, offset: Int64, key: String?, error: MeteoError?) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.key = key
        self.error = error
    }
}

/// A change of a consumer's partitions, as the group decided.
public enum KafkaRebalance: Sendable, Hashable {
    case assigned([KafkaPartition])
    case revoked([KafkaPartition])
}
