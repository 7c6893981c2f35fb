#if Kafka
import CRdKafka
import Dispatch
import Foundation
import Logging
import MeteoCore
import Synchronization

/// Reads topics as a member of a Kafka consumer group, through librdkafka's high-level consumer.
///
/// Offsets are never committed by librdkafka on its own (`enable.auto.commit=false`,
/// `enable.auto.offset.store=false`): ``commit(_:)`` stores the offsets of what the sink has
/// written, then commits them synchronously. When the group takes partitions away, the
/// rebalance callback first commits what was stored, so the next owner starts right after
/// the last written event. Every librdkafka call that can block runs on this consumer's own
/// serial dispatch queue.
public final class KafkaConsumer: EventConsumer {
    private let client: KafkaClient
    private let queue: UncheckedQueue
    private let blocking = DispatchQueue(label: "meteo.kafka.consumer")
    /// Commits have a queue of their own: behind a poll that waits for messages, a commit would
    /// wait too (up to the poll's time-out), holding back the sink's next write.
    private let committing = DispatchQueue(label: "meteo.kafka.consumer.commit")
    private let logger: Logger
    private let group: String
    private let assignment: AssignmentBox
    private let closed = Atomic<Bool>(false)

    private init(client: KafkaClient, queue: UncheckedQueue, logger: Logger, group: String, assignment: AssignmentBox) {
        self.client = client
        self.queue = queue
        self.logger = logger
        self.group = group
        self.assignment = assignment
    }

    deinit {
        rd_kafka_queue_destroy(queue.queue)
    }

    /// Joins `group` and subscribes to `topics`. `onRebalance` hears of each change of partitions.
    public static func make(configuration: KafkaConfiguration, group: String, topics: [String], logger: Logger,
                            onRebalance: (@Sendable (KafkaRebalance) -> Void)? = nil) throws(MeteoError) -> KafkaConsumer {
        let assignment = AssignmentBox()
        let properties = try configuration.consumerProperties(group: group)
        let reset = startPosition(autoOffsetReset: properties["auto.offset.reset"])
        let callbacks = KafkaCallbacks(logger: logger, onRebalance: { rk, err, list in
            KafkaConsumer.rebalance(rk, err, list, reset: reset, logger: logger, assignment: assignment, notify: onRebalance)
        })
        let client = try KafkaClient.make(kind: .consumer, properties: properties, callbacks: callbacks)
        // Serve the group's callbacks from the consumer queue, which poll() reads.
        var err = rd_kafka_poll_set_consumer(client.handle)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaClient.error(err, "cannot start the Kafka consumer") }
        guard let list = rd_kafka_topic_partition_list_new(Int32(topics.count)) else { throw MeteoError(code: .internal, "librdkafka could not allocate a list") }
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for t in topics { _ = rd_kafka_topic_partition_list_add(list, t, RD_KAFKA_PARTITION_UA) }
        err = rd_kafka_subscribe(client.handle, list)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaClient.error(err, "cannot subscribe to Kafka topics \(topics.joined(separator: ", "))") }
        guard let queue = rd_kafka_queue_get_consumer(client.handle) else { throw MeteoError(code: .internal, "librdkafka has no consumer queue") }
        logger.debug("Kafka consumer subscribed", metadata: [LoggingKeys.group: "\(group)", LoggingKeys.topic: "\(topics.joined(separator: ","))"])
        return KafkaConsumer(client: client, queue: UncheckedQueue(queue: queue), logger: logger, group: group, assignment: assignment)
    }

    /// The partitions this member owns now.
    public var assignedPartitions: [KafkaPartition] { assignment.partitions.withLock { $0.sorted() } }

    /// Runs on the consumer's thread, inside poll(): commits what is done before partitions go.
    private static func rebalance(_ rk: OpaquePointer, _ err: rd_kafka_resp_err_t, _ list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?,
                                  reset: Int64?, logger: Logger, assignment: AssignmentBox, notify: (@Sendable (KafkaRebalance) -> Void)?) {
        let partitions = partitionsOf(list)
        let cooperative = String(cString: rd_kafka_rebalance_protocol(rk)) == "COOPERATIVE"
        if err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS {
            if let list, let reset { resolveStartOffsets(rk, list, reset: reset, logger: logger) }
            if cooperative {
                if let e = rd_kafka_incremental_assign(rk, list) { logger.error("Kafka incremental assign failed", metadata: [LoggingKeys.error: "\(String(cString: rd_kafka_error_string(e)))"]); rd_kafka_error_destroy(e) }
            } else {
                _ = rd_kafka_assign(rk, list)
            }
            assignment.partitions.withLock { s in
                if !cooperative { s.removeAll() }
                s.formUnion(partitions)
            }
            logger.notice("Kafka partitions assigned", metadata: ["kafka.partitions": "\(partitions.map(\.description).joined(separator: ","))"])
            notify?(.assigned(partitions))
        } else {
            // Revoked (or lost): commit the offsets stored for written events while we still own them.
            let c = rd_kafka_commit(rk, nil, 0)
            if c != RD_KAFKA_RESP_ERR_NO_ERROR && c != RD_KAFKA_RESP_ERR__NO_OFFSET {
                logger.warning("commit before losing partitions failed; their last events will be read again", metadata: [LoggingKeys.error: "\(KafkaClient.text(c))"])
            }
            if cooperative {
                if let e = rd_kafka_incremental_unassign(rk, list) { rd_kafka_error_destroy(e) }
            } else {
                _ = rd_kafka_assign(rk, nil)
            }
            assignment.partitions.withLock { s in
                if cooperative { s.subtract(partitions) } else { s.removeAll() }
            }
            logger.notice("Kafka partitions revoked", metadata: ["kafka.partitions": "\(partitions.map(\.description).joined(separator: ","))"])
            notify?(.revoked(partitions))
        }
    }

    /// Messages a ``keepAlive()`` poll received while paused (fetched before the pause, or from
    /// partitions assigned during it), handed out first by the next ``poll(maxMessages:timeout:)``.
    private let held = Mutex<[BusMessage]>([])
    private let paused = Atomic<Bool>(false)

    /// Pauses fetching of the assigned partitions; the member stays in its group as long as
    /// ``keepAlive()`` is called within `max.poll.interval.ms`.
    public func pause() async throws {
        paused.store(true, ordering: .relaxed)
        try await setPaused(true)
    }

    /// Polls without waiting, to stay in the group while paused: the call counts for
    /// `max.poll.interval.ms` and serves rebalance callbacks. What it receives is held for the
    /// next poll, and partitions assigned meanwhile are paused too.
    public func keepAlive() async throws {
        let messages = try await pollQueue(maxMessages: 500, timeout: .zero)
        if !messages.isEmpty { held.withLock { $0 += messages } }
        if paused.load(ordering: .relaxed) { try await setPaused(true) }
    }

    /// Fetches the assigned partitions again.
    public func resume() async throws {
        paused.store(false, ordering: .relaxed)
        try await setPaused(false)
    }

    private func setPaused(_ pause: Bool) async throws {
        let owned = assignedPartitions
        guard !owned.isEmpty else { return }
        let client = self.client
        try await onBlockingQueue { () throws(MeteoError) in
            guard let list = rd_kafka_topic_partition_list_new(Int32(owned.count)) else { throw MeteoError(code: .internal, "librdkafka could not allocate a list") }
            defer { rd_kafka_topic_partition_list_destroy(list) }
            for p in owned { _ = rd_kafka_topic_partition_list_add(list, p.topic, Int32(p.partition)) }
            let err = pause ? rd_kafka_pause_partitions(client.handle, list) : rd_kafka_resume_partitions(client.handle, list)
            guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaClient.error(err, "cannot \(pause ? "pause" : "resume") the Kafka partitions") }
        }
    }

    public func poll(maxMessages: Int, timeout: Duration) async throws -> [BusMessage] {
        let kept = held.withLock { h -> [BusMessage] in
            let n = min(h.count, max(1, maxMessages))
            defer { h.removeFirst(n) }
            return Array(h.prefix(n))
        }
        if !kept.isEmpty { return kept }
        return try await pollQueue(maxMessages: maxMessages, timeout: timeout)
    }

    private func pollQueue(maxMessages: Int, timeout: Duration) async throws -> [BusMessage] {
        guard !closed.load(ordering: .relaxed) else { return [] }
        let client = self.client
        let queue = self.queue
        let logger = self.logger
        let ms = KafkaClient.milliseconds(timeout)
        let size = max(1, maxMessages)
        return try await onBlockingQueue { () throws(MeteoError) -> [BusMessage] in
            var raw = [UnsafeMutablePointer<rd_kafka_message_t>?](repeating: nil, count: size)
            // rd_kafka_consume_batch_queue waits until the batch is full or the time is up, so:
            // wait up to `timeout` for the first message only, then take what else is already
            // fetched (librdkafka prefetches up to queued.min.messages), without waiting. A
            // consumer that is behind gets a full batch at once; one that is caught up gets what
            // there is, instead of waiting out the time-out for a batch that will not fill.
            // The wait is taken in slices of at most activeWaitMilliseconds: a call that serves a
            // rebalance callback can otherwise sit out its whole time-out although the newly
            // assigned partitions' first messages have arrived meanwhile.
            //
            // Fetching is never paused here. An earlier version paused the partitions for the
            // rest of an empty wait and resumed them before returning (noida-db answers empty
            // fetches at once, so an idle consumer asks again and again); under a steady flow
            // librdkafka 2.0.2 then sometimes kept fetching with the version from before the
            // pause and dropped every answer: the sink stopped reading without an error
            // (found by scripts/chaos). An idle consumer on noida-db costs CPU; none is lost.
            let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(max(0, ms)) * 1_000_000
            var first: Int = 0
            while true {
                let left = Int64(deadline) - Int64(DispatchTime.now().uptimeNanoseconds)
                let slice = Int32(clamping: min(Int64(KafkaConsumer.activeWaitMilliseconds), max(0, left / 1_000_000)))
                first = rd_kafka_consume_batch_queue(queue.queue, slice, &raw, 1)
                if first != 0 || left <= Int64(slice) * 1_000_000 { break }
            }
            if first < 0 {
                throw KafkaClient.error(rd_kafka_last_error(), "cannot read from Kafka")
            }
            var n = first
            if first == 1 && size > 1 {
                let more = raw.withUnsafeMutableBufferPointer { buffer in
                    rd_kafka_consume_batch_queue(queue.queue, 0, buffer.baseAddress! + 1, size - 1)
                }
                if more > 0 { n += more }
            }
            var out: [BusMessage] = []
            out.reserveCapacity(n)
            var failure: MeteoError?
            for i in 0..<n {
                guard let m = raw[i] else { continue }
                defer { rd_kafka_message_destroy(m) }
                let msg = m.pointee
                if msg.err != RD_KAFKA_RESP_ERR_NO_ERROR {
                    if msg.err == RD_KAFKA_RESP_ERR__PARTITION_EOF { continue }
                    let text = rd_kafka_message_errstr(m).map { String(cString: $0) } ?? KafkaClient.text(msg.err)
                    logger.warning("Kafka consumer error (librdkafka retries)", metadata: [LoggingKeys.error: "\(text) (\(KafkaClient.name(msg.err)))"])
                    if KafkaClient.permanent.contains(msg.err.rawValue), failure == nil {
                        failure = KafkaClient.error(msg.err, "cannot read from Kafka")
                    }
                    continue
                }
                out.append(Self.busMessage(m))
            }
            if let fatal = client.fatalError() { throw fatal }
            if out.isEmpty, let failure { throw failure }
            return out
        }
    }

    static func busMessage(_ m: UnsafeMutablePointer<rd_kafka_message_t>) -> BusMessage {
        let msg = m.pointee
        let topic = msg.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? ""
        let key: String? = msg.key.map { String(decoding: UnsafeRawBufferPointer(start: $0, count: msg.key_len), as: UTF8.self) }
        let value: [UInt8] = msg.payload.map { Array(UnsafeRawBufferPointer(start: $0, count: msg.len)) } ?? []
        var type = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
        let ms = rd_kafka_message_timestamp(m, &type)
        var headers: [String: String] = [:]
        var hdrs: OpaquePointer?
        if rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR, let hdrs {
            var index = 0
            var name: UnsafePointer<CChar>?
            var hv: UnsafeRawPointer?
            var size = 0
            while rd_kafka_header_get_all(hdrs, index, &name, &hv, &size) == RD_KAFKA_RESP_ERR_NO_ERROR {
                if let name {
                    headers[String(cString: name)] = hv.map { String(decoding: UnsafeRawBufferPointer(start: $0, count: size), as: UTF8.self) } ?? ""
                }
                index += 1
            }
        }
        return BusMessage(topic: topic, partition: Int(msg.partition), offset: msg.offset, key: key, value: value, headers: headers,
                          timestamp: ms >= 0 ? Date(timeIntervalSince1970: Double(ms) / 1000) : Date())
    }

    /// Stores the offsets of written events, then commits them synchronously. Partitions this
    /// member lost meanwhile are skipped: their new owner reads those events again, and the
    /// store's upsert makes that harmless.
    public func commit(_ positions: [CommitPosition]) async throws {
        guard !positions.isEmpty else { return }
        let client = self.client
        let logger = self.logger
        try await onBlockingQueue(committing) { () throws(MeteoError) in
            guard let list = rd_kafka_topic_partition_list_new(Int32(positions.count)) else { throw MeteoError(code: .internal, "librdkafka could not allocate a list") }
            defer { rd_kafka_topic_partition_list_destroy(list) }
            for p in positions {
                let tp = rd_kafka_topic_partition_list_add(list, p.topic, Int32(p.partition))
                tp?.pointee.offset = p.nextOffset
            }
            let stored = rd_kafka_offsets_store(client.handle, list)
            if stored != RD_KAFKA_RESP_ERR_NO_ERROR {
                for p in partitionErrors(list) {
                    logger.info("offset not stored: partition no longer ours; its new owner reads it again", metadata: ["kafka.partition": "\(p.0)", LoggingKeys.error: "\(p.1)"])
                }
            }
            let err = rd_kafka_commit(client.handle, nil, 0)
            if err == RD_KAFKA_RESP_ERR_NO_ERROR || err == RD_KAFKA_RESP_ERR__NO_OFFSET { return }
            if KafkaConsumer.rebalanced.contains(err.rawValue) {
                // The group moved on (a member joined or left) before this commit: the partitions
                // belong to a new generation, whose owner reads these events again. The next poll
                // serves the rebalance. Not an error: the store's upsert absorbs the repeat.
                logger.notice("commit skipped: the group rebalanced; the new owner of the partitions reads their last events again",
                              metadata: [LoggingKeys.error: "\(KafkaClient.text(err)) (\(KafkaClient.name(err)))"])
                return
            }
            throw KafkaClient.error(err, "cannot commit Kafka offsets for group")
        }
    }

    /// True once the group has given this member partitions and has committed each of them
    /// to its end (the high watermark). Committed, not just read: a sink that stops on this
    /// leaves nothing for the group to read again.
    public func caughtUp() async throws -> Bool {
        let owned = assignedPartitions
        guard !owned.isEmpty else { return false }
        let client = self.client
        return try await onBlockingQueue { () throws(MeteoError) -> Bool in
            // Nothing committed on a partition: caught up only if there is nothing to read.
            try KafkaAdmin.progress(client, of: owned, timeout: .seconds(10)).allSatisfy { ($0.committed ?? $0.low) >= $0.high }
        }
    }

    /// The longest slice of a poll's wait: between slices, rebalance callbacks are served.
    static let activeWaitMilliseconds: Int32 = 25

    /// Where a partition without a committed offset starts, by `auto.offset.reset`: the
    /// partition's start or end, or nil ("error", or a value librdkafka will judge) to leave it
    /// to librdkafka.
    static func startPosition(autoOffsetReset: String?) -> Int64? {
        switch autoOffsetReset?.lowercased() ?? "largest" {
        case "smallest", "earliest", "beginning": Int64(RD_KAFKA_OFFSET_BEGINNING)
        case "largest", "latest", "end": Int64(RD_KAFKA_OFFSET_END)
        default: nil
        }
    }

    /// Writes into a new assignment the offset each partition starts at: the group's committed
    /// offset, else the partition's start or end (`reset`). librdkafka would find the same, but
    /// for a partition without a committed offset it resets through a timer that first fires
    /// 100 ms later, which is most of a short run's start-up. If any lookup fails, the list is
    /// left as it was and librdkafka resolves the offsets itself.
    static func resolveStartOffsets(_ rk: OpaquePointer, _ list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>,
                                    reset: Int64, logger: Logger) {
        let count = Int(list.pointee.cnt)
        guard count > 0, let committed = rd_kafka_topic_partition_list_copy(list) else { return }
        defer { rd_kafka_topic_partition_list_destroy(committed) }
        guard rd_kafka_committed(rk, committed, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR else { return }
        var starts = [Int64](repeating: -1, count: count)
        var missing: [Int] = []
        for i in 0..<count {
            let e = committed.pointee.elems[i]
            if e.err != RD_KAFKA_RESP_ERR_NO_ERROR { return }
            if e.offset >= 0 { starts[i] = e.offset } else { missing.append(i) }
        }
        if !missing.isEmpty {
            guard let query = rd_kafka_topic_partition_list_new(Int32(missing.count)) else { return }
            defer { rd_kafka_topic_partition_list_destroy(query) }
            for i in missing {
                let e = list.pointee.elems[i]
                rd_kafka_topic_partition_list_add(query, e.topic, e.partition)?.pointee.offset = reset
            }
            // Timestamps -2 and -1 ask ListOffsets for the start and the end, all partitions at once.
            guard rd_kafka_offsets_for_times(rk, query, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR,
                  Int(query.pointee.cnt) == missing.count else { return }
            for (k, i) in missing.enumerated() {
                let e = query.pointee.elems[k]
                guard e.err == RD_KAFKA_RESP_ERR_NO_ERROR, e.offset >= 0, e.partition == list.pointee.elems[i].partition else { return }
                starts[i] = e.offset
            }
        }
        for i in 0..<count { list.pointee.elems[i].offset = starts[i] }
        logger.debug("Kafka start offsets resolved", metadata: ["kafka.partitions": "\(count)", "kafka.uncommitted": "\(missing.count)"])
    }

    /// Commit errors that mean the partitions changed hands.
    static let rebalanced: Set<Int32> = Set([
        RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION, RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID, RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS,
        RD_KAFKA_RESP_ERR__ASSIGNMENT_LOST, RD_KAFKA_RESP_ERR__STATE, RD_KAFKA_RESP_ERR_FENCED_INSTANCE_ID,
    ].map(\.rawValue))

    /// Leaves the group: the rebalance callback commits what is stored, then the handle closes.
    public func close() async throws {
        guard !closed.exchange(true, ordering: .relaxed) else { return }
        let client = self.client
        let err = await withCheckedContinuation { c in blocking.async { c.resume(returning: rd_kafka_consumer_close(client.handle)) } }
        if err != RD_KAFKA_RESP_ERR_NO_ERROR {
            throw KafkaClient.error(err, "the Kafka consumer did not close cleanly")
        }
        logger.debug("Kafka consumer left the group", metadata: [LoggingKeys.group: "\(group)"])
    }

    private func onBlockingQueue<T: Sendable>(_ queue: DispatchQueue? = nil, _ body: @escaping @Sendable () throws(MeteoError) -> T) async throws -> T {
        try await withCheckedThrowingContinuation { c in
            (queue ?? blocking).async {
                do { c.resume(returning: try body()) } catch { c.resume(throwing: error) }
            }
        }
    }
}

private final class AssignmentBox: Sendable {
    let partitions = Mutex<Set<KafkaPartition>>([])
}

/// The consumer queue handle, owned by the consumer, used only on its dispatch queue.
private struct UncheckedQueue: @unchecked Sendable {
    let queue: OpaquePointer
}

/// The partitions of a list whose `err` is set, with the error's text.
func partitionErrors(_ list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) -> [(String, String)] {
    guard let elems = list.pointee.elems else { return [] }
    return (0..<Int(list.pointee.cnt)).compactMap { i in
        let e = elems[i]
        guard e.err != RD_KAFKA_RESP_ERR_NO_ERROR else { return nil }
        return ("\(String(cString: e.topic))[\(e.partition)]", KafkaClient.text(e.err))
    }
}
#endif
