#if Kafka
import CRdKafka
import MeteoCore

/// Blocking admin and metadata requests. Call them in a lane of the ``BlockingExecutor``, never
/// on the cooperative pool.
enum KafkaAdmin {
    /// Creates a topic; returns false when it exists already.
    static func createTopic(_ client: KafkaClient, name: String, partitions: Int, replicationFactor: Int,
                            timeout: Duration) throws(MeteoError) -> Bool {
        var errstr = [CChar](repeating: 0, count: 512)
        guard let newTopic = rd_kafka_NewTopic_new(name, Int32(partitions), Int32(replicationFactor), &errstr, errstr.count) else {
            throw MeteoError(code: .invalidConfiguration,
                             "cannot create Kafka topic \(name) with \(partitions) partitions and replication factor \(replicationFactor): \(String(errorBuffer: errstr))")
        }
        defer { rd_kafka_NewTopic_destroy(newTopic) }
        let what = "create Kafka topic \(name) (\(partitions) partitions, replication factor \(replicationFactor))"
        let err = try topicRequest(client, RD_KAFKA_ADMIN_OP_CREATETOPICS, what: what, timeout: timeout) { options, queue in
            var topics: [OpaquePointer?] = [newTopic]
            rd_kafka_CreateTopics(client.handle, &topics, 1, options, queue)
        } result: { event, count in
            rd_kafka_event_CreateTopics_result(event).flatMap { rd_kafka_CreateTopics_result_topics($0, &count) }
        }
        return err != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS
    }

    /// Grows a topic to `partitions` partitions (Kafka cannot shrink one).
    static func createPartitions(_ client: KafkaClient, name: String, partitions: Int, timeout: Duration) throws(MeteoError) {
        var errstr = [CChar](repeating: 0, count: 512)
        guard let newPartitions = rd_kafka_NewPartitions_new(name, partitions, &errstr, errstr.count) else {
            throw MeteoError(code: .invalidConfiguration, "cannot grow Kafka topic \(name) to \(partitions) partitions: \(String(errorBuffer: errstr))")
        }
        defer { rd_kafka_NewPartitions_destroy(newPartitions) }
        _ = try topicRequest(client, RD_KAFKA_ADMIN_OP_CREATEPARTITIONS, what: "grow Kafka topic \(name) to \(partitions) partitions",
                             timeout: timeout) { options, queue in
            var list: [OpaquePointer?] = [newPartitions]
            rd_kafka_CreatePartitions(client.handle, &list, 1, options, queue)
        } result: { event, count in
            rd_kafka_event_CreatePartitions_result(event).flatMap { rd_kafka_CreatePartitions_result_topics($0, &count) }
        }
    }

    /// Deletes a topic (the tests' way to pull a topic from under a consumer).
    static func deleteTopic(_ client: KafkaClient, name: String, timeout: Duration) throws(MeteoError) {
        guard let deleteTopic = rd_kafka_DeleteTopic_new(name) else { throw MeteoError(code: .internal, "librdkafka could not allocate a request") }
        defer { rd_kafka_DeleteTopic_destroy(deleteTopic) }
        _ = try topicRequest(client, RD_KAFKA_ADMIN_OP_DELETETOPICS, what: "delete Kafka topic \(name)", timeout: timeout) { options, queue in
            var list: [OpaquePointer?] = [deleteTopic]
            rd_kafka_DeleteTopics(client.handle, &list, 1, options, queue)
        } result: { event, count in
            rd_kafka_event_DeleteTopics_result(event).flatMap { rd_kafka_DeleteTopics_result_topics($0, &count) }
        }
    }

    /// What ``ensureTopic(_:name:partitions:replicationFactor:timeout:)`` found and did.
    enum TopicRepair: Equatable {
        /// The topic was missing and is created.
        case created
        /// The topic had fewer partitions than configured and is grown.
        case grown(from: Int)
        /// The topic has this many partitions (at least the configured count): nothing to do.
        case unchanged(Int)
        /// The topic exists but its partitions are not known yet (it is being created): ask again later.
        case notReady
    }

    /// Makes sure a topic exists with at least `partitions` partitions: creates it when it is
    /// missing, and grows it through CreatePartitions when it has fewer. A broker that lost its
    /// data creates a topic by itself, with its default of one partition, when a client asks
    /// for it (auto-creation); that topic is grown to the configured count here, so that every
    /// member of a sink group owns a partition again.
    static func ensureTopic(_ client: KafkaClient, name: String, partitions: Int, replicationFactor: Int,
                            timeout: Duration) throws(MeteoError) -> TopicRepair {
        var found = try metadata(client, topic: name, timeout: timeout).topics[name]
        if found == nil || found?.error != nil {
            if try createTopic(client, name: name, partitions: partitions, replicationFactor: replicationFactor, timeout: timeout) {
                // Load the topic's partitions into librdkafka's metadata cache now: otherwise the
                // first events wait for its one-second scan of unknown topics.
                _ = try metadata(client, topic: name, timeout: timeout)
                return .created
            }
            found = try metadata(client, topic: name, timeout: timeout).topics[name]
        }
        guard let found, found.error == nil, found.partitions > 0 else { return .notReady }
        guard found.partitions < partitions else { return .unchanged(found.partitions) }
        try createPartitions(client, name: name, partitions: partitions, timeout: timeout)
        _ = try metadata(client, topic: name, timeout: timeout)
        return .grown(from: found.partitions)
    }

    /// One admin request about one topic: sends it with `send`, waits for its answer, and
    /// returns the topic's result code if it is success or TOPIC_ALREADY_EXISTS; throws otherwise.
    private static func topicRequest(_ client: KafkaClient, _ op: rd_kafka_admin_op_t, what: String, timeout: Duration,
                                     send: (OpaquePointer?, OpaquePointer) -> Void,
                                     result: (OpaquePointer, inout Int) -> UnsafeMutablePointer<OpaquePointer?>?)
        throws(MeteoError) -> rd_kafka_resp_err_t {
        var errstr = [CChar](repeating: 0, count: 512)
        guard let queue = rd_kafka_queue_new(client.handle) else { throw MeteoError(code: .internal, "librdkafka could not make a queue") }
        defer { rd_kafka_queue_destroy(queue) }
        let options = rd_kafka_AdminOptions_new(client.handle, op)
        defer { rd_kafka_AdminOptions_destroy(options) }
        let ms = KafkaClient.milliseconds(timeout)
        _ = rd_kafka_AdminOptions_set_request_timeout(options, ms, &errstr, errstr.count)
        _ = rd_kafka_AdminOptions_set_operation_timeout(options, ms, &errstr, errstr.count)
        send(options, queue)
        guard let event = rd_kafka_queue_poll(queue, ms + 1000) else {
            throw MeteoError(code: .timeout, "Kafka did not answer the request to \(what) within \(timeout.seconds) s; is the broker at \(client.properties["bootstrap.servers"] ?? "?") up?",
                             isRetriable: true)
        }
        defer { rd_kafka_event_destroy(event) }
        let eventError = rd_kafka_event_error(event)
        if eventError != RD_KAFKA_RESP_ERR_NO_ERROR {
            throw KafkaClient.error(eventError, "cannot \(what)")
        }
        var count = 0
        guard let results = result(event, &count), count == 1, let topic = results[0] else {
            throw MeteoError(code: .internal, "librdkafka answered the request to \(what) with \(count) results")
        }
        let err = rd_kafka_topic_result_error(topic)
        if err == RD_KAFKA_RESP_ERR_NO_ERROR || err == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS { return err }
        let text = rd_kafka_topic_result_error_string(topic).map { String(cString: $0) } ?? KafkaClient.text(err)
        throw MeteoError(code: .bus, "cannot \(what): \(text) (\(KafkaClient.name(err)))",
                         isRetriable: !KafkaClient.permanent.contains(err.rawValue))
    }

    /// What a group has committed on each partition, and the partition's low and high
    /// watermarks. `client` must be a consumer of that group.
    static func progress(_ client: KafkaClient, of partitions: [KafkaPartition], timeout: Duration)
        throws(MeteoError) -> [(partition: KafkaPartition, committed: Int64?, low: Int64, high: Int64)] {
        guard let list = rd_kafka_topic_partition_list_new(Int32(partitions.count)) else {
            throw MeteoError(code: .internal, "librdkafka could not allocate a list")
        }
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for p in partitions { _ = rd_kafka_topic_partition_list_add(list, p.topic, Int32(p.partition)) }
        let ms = KafkaClient.milliseconds(timeout)
        let err = rd_kafka_committed(client.handle, list, ms)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaClient.error(err, "cannot read the group's committed offsets") }
        // The start and end offsets of every partition in one ListOffsets request each (the
        // timestamps -2 and -1 mean earliest and latest), instead of two requests a partition.
        let low = try offsets(client, list, at: Int64(RD_KAFKA_OFFSET_BEGINNING), ms: ms)
        let high = try offsets(client, list, at: Int64(RD_KAFKA_OFFSET_END), ms: ms)
        var out: [(partition: KafkaPartition, committed: Int64?, low: Int64, high: Int64)] = []
        for i in 0..<Int(list.pointee.cnt) {
            let e = list.pointee.elems[i]
            let partition = KafkaPartition(topic: String(cString: e.topic), partition: Int(e.partition))
            guard let l = low[partition], let h = high[partition] else {
                throw MeteoError(code: .bus, "cannot read the end offsets of \(partition): the broker did not answer for it")
            }
            out.append((partition, e.offset >= 0 ? e.offset : nil, l, h))
        }
        return out
    }

    /// The offsets of `list`'s partitions at a logical position (beginning or end), by partition.
    private static func offsets(_ client: KafkaClient, _ list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>,
                                at position: Int64, ms: Int32) throws(MeteoError) -> [KafkaPartition: Int64] {
        guard let query = rd_kafka_topic_partition_list_copy(list) else {
            throw MeteoError(code: .internal, "librdkafka could not allocate a list")
        }
        defer { rd_kafka_topic_partition_list_destroy(query) }
        for i in 0..<Int(query.pointee.cnt) { query.pointee.elems[i].offset = position }
        let err = rd_kafka_offsets_for_times(client.handle, query, ms)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaClient.error(err, "cannot read the \(position == Int64(RD_KAFKA_OFFSET_END) ? "end" : "start") offsets of the partitions")
        }
        var out: [KafkaPartition: Int64] = [:]
        for i in 0..<Int(query.pointee.cnt) {
            let e = query.pointee.elems[i]
            let partition = KafkaPartition(topic: String(cString: e.topic), partition: Int(e.partition))
            guard e.err == RD_KAFKA_RESP_ERR_NO_ERROR, e.offset >= 0 else {
                throw KafkaClient.error(e.err == RD_KAFKA_RESP_ERR_NO_ERROR ? RD_KAFKA_RESP_ERR__NO_OFFSET : e.err,
                                        "cannot read the \(position == Int64(RD_KAFKA_OFFSET_END) ? "end" : "start") offset of \(partition)")
            }
            out[partition] = e.offset
        }
        return out
    }

    static func metadata(_ client: KafkaClient, topic: String?, timeout: Duration) throws(MeteoError) -> KafkaClusterInfo {
        var md: UnsafePointer<rd_kafka_metadata>?
        var topicHandle: OpaquePointer?
        if let topic { topicHandle = rd_kafka_topic_new(client.handle, topic, nil) }
        defer { if let topicHandle { rd_kafka_topic_destroy(topicHandle) } }
        let err = rd_kafka_metadata(client.handle, topic == nil ? 1 : 0, topicHandle, &md, KafkaClient.milliseconds(timeout))
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR, let md else {
            throw KafkaClient.error(err, "cannot read the metadata of the Kafka cluster at \(client.properties["bootstrap.servers"] ?? "?")")
        }
        defer { rd_kafka_metadata_destroy(md) }
        let m = md.pointee
        var info = KafkaClusterInfo()
        for i in 0..<Int(m.broker_cnt) {
            let b = m.brokers[i]
            info.brokers.append(.init(id: Int(b.id), host: String(cString: b.host), port: Int(b.port)))
        }
        for i in 0..<Int(m.topic_cnt) {
            let t = m.topics[i]
            let name = String(cString: t.topic)
            if t.err != RD_KAFKA_RESP_ERR_NO_ERROR {
                info.topics[name] = .init(partitions: 0, error: "\(KafkaClient.text(t.err)) (\(KafkaClient.name(t.err)))")
            } else {
                info.topics[name] = .init(partitions: Int(t.partition_cnt), error: nil)
            }
        }
        return info
    }
}

/// What a Kafka cluster reports about itself.
public struct KafkaClusterInfo: Sendable, Hashable {
    public struct Broker: Sendable, Hashable {
        public var id: Int
        public var host: String
        public var port: Int
    }

    public struct Topic: Sendable, Hashable {
        public var partitions: Int
        /// Why the topic can't be described (for instance it does not exist).
        public var error: String?
    }

    public var brokers: [Broker] = []
    public var topics: [String: Topic] = [:]
}
#endif
