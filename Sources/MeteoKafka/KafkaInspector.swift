#if Kafka
import CRdKafka
import Dispatch
import Logging
import MeteoCore

/// Health of a consumer group on a topic: what the cluster holds and how far the group is.
public struct KafkaGroupLag: Sendable, Hashable {
    public struct Partition: Sendable, Hashable {
        public var partition: Int
        /// Offset after the last event in the partition.
        public var highWatermark: Int64
        /// The group's next offset to read, or nil when it has committed nothing there.
        public var committed: Int64?
        /// Events the group has not processed yet.
        public var lag: Int64 {
            let done = committed ?? 0
            return max(0, highWatermark - done)
        }
    }

    public var topic: String
    public var group: String
    public var partitions: [Partition]
    public var lag: Int64 { partitions.reduce(0) { $0 + $1.lag } }
    public var events: Int64 { partitions.reduce(0) { $0 + $1.highWatermark } }
}

/// Read-only questions to the cluster for `meteo doctor` and the tests.
public enum KafkaInspector {
    /// The brokers and, if given, one topic's partitions.
    public static func cluster(configuration: KafkaConfiguration, topic: String?, logger: Logger) async throws -> KafkaClusterInfo {
        try await lane.run { () throws(MeteoError) in
            let client = try KafkaClient.make(kind: .producer, properties: ["bootstrap.servers": configuration.bootstrapServers, "client.id": "\(configuration.clientID)-doctor",
                                                                              "allow.auto.create.topics": "false"]
                .merging(configuration.properties) { _, user in user }, callbacks: KafkaCallbacks(logger: logger))
            return try KafkaAdmin.metadata(client, topic: topic, timeout: configuration.operationTimeout)
        }
    }

    /// The committed offsets of `group` on `topic` against the partitions' high watermarks.
    public static func lag(configuration: KafkaConfiguration, group: String, topic: String, logger: Logger) async throws -> KafkaGroupLag {
        try await lane.run { () throws(MeteoError) in
            // Asking about a topic must not create it (with the broker's default partitions,
            // before meteo ingest creates it with the configured ones).
            var properties = try configuration.consumerProperties(group: group)
            properties["allow.auto.create.topics"] = "false"
            let client = try KafkaClient.make(kind: .consumer, properties: properties, callbacks: KafkaCallbacks(logger: logger))
            defer { _ = rd_kafka_consumer_close(client.handle) }
            let timeout = configuration.operationTimeout
            let info = try KafkaAdmin.metadata(client, topic: topic, timeout: timeout)
            guard let t = info.topics[topic], t.error == nil else {
                throw MeteoError(code: .bus, "Kafka topic \(topic) does not exist at \(configuration.bootstrapServers): \(info.topics[topic]?.error ?? "unknown")")
            }
            let all = (0..<t.partitions).map { KafkaPartition(topic: topic, partition: $0) }
            let partitions = try KafkaAdmin.progress(client, of: all, timeout: timeout).map {
                KafkaGroupLag.Partition(partition: $0.partition.partition, highWatermark: $0.high, committed: $0.committed)
            }
            return KafkaGroupLag(topic: topic, group: group, partitions: partitions)
        }
    }

    /// The inspector's blocking librdkafka calls (a client made, asked and destroyed per
    /// question) run two at a time at most, whatever the number of questions at once.
    static let lane = BlockingExecutor.shared.lane("meteo.kafka.inspect", width: 2)
}
#endif
