#if Kafka
import CRdKafka
import MeteoCore

/// librdkafka's built-in mock cluster: in-process brokers on localhost ports, for fast tests
/// of the producer and the consumer group without a server. Not a Kafka broker for real use.
public final class KafkaMockCluster: @unchecked Sendable {
    private let owner: OpaquePointer
    private let cluster: OpaquePointer
    /// The `bootstrap.servers` of the mock brokers.
    public let bootstrapServers: String

    private init(owner: OpaquePointer, cluster: OpaquePointer, bootstrapServers: String) {
        self.owner = owner
        self.cluster = cluster
        self.bootstrapServers = bootstrapServers
    }

    deinit {
        rd_kafka_mock_cluster_destroy(cluster)
        rd_kafka_destroy(owner)
    }

    /// Starts `brokers` mock brokers.
    public static func start(brokers: Int = 1) throws(MeteoError) -> KafkaMockCluster {
        guard let conf = rd_kafka_conf_new() else { throw MeteoError(code: .internal, "librdkafka could not allocate a configuration") }
        var errstr = [CChar](repeating: 0, count: 512)
        // The owner handle only hosts the mock brokers' threads; silence its own logging.
        _ = rd_kafka_conf_set(conf, "log_level", "0", &errstr, errstr.count)
        guard let owner = rd_kafka_new(RD_KAFKA_PRODUCER, conf, &errstr, errstr.count) else {
            rd_kafka_conf_destroy(conf)
            throw MeteoError(code: .internal, "librdkafka could not start the mock cluster's handle: \(String(errorBuffer: errstr))")
        }
        guard let cluster = rd_kafka_mock_cluster_new(owner, Int32(brokers)) else {
            rd_kafka_destroy(owner)
            throw MeteoError(code: .internal, "librdkafka could not start a mock cluster")
        }
        return KafkaMockCluster(owner: owner, cluster: cluster, bootstrapServers: String(cString: rd_kafka_mock_cluster_bootstraps(cluster)))
    }

    /// Kafka protocol requests, by API key, whose answers ``failRequests(_:count:with:)`` can fail.
    public enum Request: Int16, Sendable {
        case produce = 0
        case fetch = 1
        case listOffsets = 2
        case metadata = 3
        case offsetCommit = 8
        case joinGroup = 11
        case heartbeat = 12
    }

    /// Broker error codes (Kafka's numbers) the mock brokers can answer with.
    public enum BrokerError: Int32, Sendable {
        /// What an idempotent producer hears from a broker that lost its sequence numbers
        /// (restarted without its data): librdkafka declares the producer failed for good.
        case outOfOrderSequenceNumber = 45
        case notLeaderForPartition = 6
        case requestTimedOut = 7
    }

    /// The next `count` requests of this kind, from any client, are answered with `error`: a
    /// broker-side fault, as a real broker would report it.
    public func failRequests(_ request: Request, count: Int = 1, with error: BrokerError) {
        let errors = [rd_kafka_resp_err_t](repeating: rd_kafka_resp_err_t(rawValue: error.rawValue), count: count)
        rd_kafka_mock_push_request_errors_array(cluster, request.rawValue, count, errors)
    }

    /// Creates a topic on the mock brokers.
    public func createTopic(_ name: String, partitions: Int, replicationFactor: Int = 1) throws(MeteoError) {
        let err = rd_kafka_mock_topic_create(cluster, name, Int32(partitions), Int32(replicationFactor))
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaClient.error(err, "the mock cluster could not create topic \(name)") }
    }
}
#endif
