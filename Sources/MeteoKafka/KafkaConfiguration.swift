import MeteoCore

/// How Meteo talks to a Kafka cluster. librdkafka's own property names pass through as they
/// are (see its CONFIGURATION.md): `properties` win over Meteo's defaults, so SASL and SSL
/// settings such as `security.protocol`, `sasl.mechanism`, `sasl.username`, `sasl.password`
/// or `ssl.ca.location` reach librdkafka untouched.
///
/// Meteo's defaults:
/// - producer: `enable.idempotence=true`, `acks=all`, `linger.ms=0`, `batch.num.messages=10000`,
///   `queue.buffering.max.messages=200000`. `publish` enqueues a whole batch at once and then
///   awaits its delivery reports, so the batches are already full and lingering would only
///   delay every poll's acknowledgement (by 0.2 s over 62 polls of 1,630 events on noida-db);
///   and `allow.auto.create.topics=false`: a broker that restarted without its data would
///   otherwise create the topic again on the producer's first request, with its own default
///   of one partition (Meteo creates it with ``partitions``; see ``ReplacingKafkaProducer``).
/// - consumer: `enable.auto.commit=false`, `enable.auto.offset.store=false` (the sink stores and
///   commits offsets itself, after each store write), `auto.offset.reset=earliest`, and
///   `topic.metadata.refresh.interval.ms=10000`: a subscribed topic that disappears (a broker
///   that restarted without its data) and is created again is noticed within 10 s, not within
///   librdkafka's default of 5 minutes, during which the group had no partition to read.
public struct KafkaConfiguration: Sendable, Hashable, CustomStringConvertible {
    /// `bootstrap.servers`: comma-separated `host:port` list.
    public var bootstrapServers: String
    /// Extra librdkafka properties, by their librdkafka names.
    public var properties: [String: String]
    /// Partitions of the topics Meteo creates.
    public var partitions: Int
    /// Replication factor of the topics Meteo creates; -1 takes the broker's default.
    public var replicationFactor: Int
    /// `client.id` prefix.
    public var clientID: String
    /// Longest wait for admin and metadata requests.
    public var operationTimeout: Duration
    /// How often a long-lived producer (``ReplacingKafkaProducer``) checks its topics: each
    /// missing one is created and each with fewer partitions than ``partitions`` is grown, and a
    /// producer failed for good is replaced even when it has nothing to send.
    public var topicCheckInterval: Duration

    public init(bootstrapServers: String = "127.0.0.1:9092", properties: [String: String] = [:],
                partitions: Int = 6, replicationFactor: Int = 1, clientID: String = "meteo",
                operationTimeout: Duration = .seconds(30), topicCheckInterval: Duration = .seconds(5)) {
        self.bootstrapServers = bootstrapServers
        self.properties = properties
        self.partitions = partitions
        self.replicationFactor = replicationFactor
        self.clientID = clientID
        self.operationTimeout = operationTimeout
        self.topicCheckInterval = topicCheckInterval
    }

    public static let producerDefaults: [String: String] = [
        "enable.idempotence": "true",
        "acks": "all",
        "linger.ms": "0",
        "batch.num.messages": "10000",
        "queue.buffering.max.messages": "200000",
        "allow.auto.create.topics": "false",
    ]

    public static let consumerDefaults: [String: String] = [
        "enable.auto.commit": "false",
        "enable.auto.offset.store": "false",
        "auto.offset.reset": "earliest",
        "enable.partition.eof": "false",
        "topic.metadata.refresh.interval.ms": "10000",
    ]

    /// Consumer settings the sink's at-least-once guarantee depends on; a property that
    /// changes them is refused.
    static let consumerFixed: [String: String] = [
        "enable.auto.commit": "false",
        "enable.auto.offset.store": "false",
    ]

    /// The producer's properties: defaults, then the connection, then the user's.
    public func producerProperties() -> [String: String] {
        var p = Self.producerDefaults
        p["bootstrap.servers"] = bootstrapServers
        p["client.id"] = clientID
        p.merge(properties) { _, user in user }
        return p
    }

    /// The consumer's properties for one group; throws when a user property would make the
    /// consumer commit by itself.
    public func consumerProperties(group: String) throws(MeteoError) -> [String: String] {
        var p = Self.consumerDefaults
        p["bootstrap.servers"] = bootstrapServers
        p["client.id"] = clientID
        p["group.id"] = group
        p.merge(properties) { _, user in user }
        for (name, required) in Self.consumerFixed where p[name]?.lowercased() != required {
            throw MeteoError(code: .invalidConfiguration,
                             "the Kafka property \(name)=\(p[name] ?? "") is not allowed: the sink commits offsets itself, only after the store has the events; remove it")
        }
        return p
    }

    /// Whether a property holds a secret that must never be printed.
    public static func isSecret(_ name: String) -> Bool {
        let n = name.lowercased()
        return n.contains("password") || n.contains("secret") || n.hasSuffix(".pem") || n == "sasl.oauthbearer.config"
            || n == "ssl.key.pem" || n == "ssl_key"
    }

    /// The properties with secrets shown as `<redacted>`.
    public static func redacted(_ properties: [String: String]) -> String {
        properties.keys.sorted().map { "\($0)=\(isSecret($0) ? "<redacted>" : properties[$0]!)" }.joined(separator: " ")
    }

    public var description: String {
        "KafkaConfiguration(bootstrap.servers=\(bootstrapServers), partitions=\(partitions), replication=\(replicationFactor)"
            + (properties.isEmpty ? "" : ", \(Self.redacted(properties))") + ")"
    }
}
