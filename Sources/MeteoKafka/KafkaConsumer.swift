#if Kafka
import CRdKafka
import Dispatch
import Foundation
import Logging
import MeteoCore
import Metrics
import Synchronization

/// Reads topics as a member of a Kafka consumer group, through librdkafka's high-level consumer.
///
/// Offsets are never committed by librdkafka on its own (`enable.auto.commit=false`,
/// `enable.auto.offset.store=false`): ``commit(_:)`` stores the offsets of what the sink has
/// written, then commits them synchronously. When the group takes partitions away, the
/// rebalance callback first commits what was stored, so the next owner starts right after
/// the last written event. Every librdkafka call that can block runs in this consumer's own
/// lane of the process's ``BlockingExecutor`` (one call at a time, in order).
public final class KafkaConsumer: EventConsumer {
    private let client: KafkaClient
    private let queue: UncheckedQueue
    private let blocking = BlockingExecutor.shared.lane("meteo.kafka.consumer")
    /// Commits have a lane of their own: behind a poll that waits for messages, a commit would
    /// wait too (up to the poll's time-out), holding back the sink's next write.
    private let committing = BlockingExecutor.shared.lane("meteo.kafka.consumer.commit")
    private let logger: Logger
    private let group: String
    private let assignment: AssignmentBox
    private let resets: OffsetResets
    private let closed = Atomic<Bool>(false)

    private init(client: KafkaClient, queue: UncheckedQueue, logger: Logger, group: String, assignment: AssignmentBox, resets: OffsetResets) {
        self.client = client
        self.queue = queue
        self.logger = logger
        self.group = group
        self.assignment = assignment
        self.resets = resets
    }

    deinit {
        rd_kafka_queue_destroy(queue.queue)
    }

    /// Joins `group` and subscribes to `topics`. `onRebalance` hears of each change of partitions.
    /// `metrics` receives `meteo_consumer_skipped_records_total` and
    /// `meteo_consumer_offset_resets_total` (label `bus="kafka"`); the default is the process's.
    public static func make(configuration: KafkaConfiguration, group: String, topics: [String], logger: Logger,
                            metrics: (any MetricsFactory)? = nil,
                            onRebalance: (@Sendable (KafkaRebalance) -> Void)? = nil) throws(MeteoError) -> KafkaConsumer {
        let assignment = AssignmentBox()
        let properties = try configuration.consumerProperties(group: group)
        let reset = startPosition(autoOffsetReset: properties["auto.offset.reset"])
        let resets = OffsetResets(logger: logger, reset: reset, factory: metrics ?? MetricsSystem.factory)
        let callbacks = KafkaCallbacks(logger: logger, onRebalance: { rk, err, list in
            KafkaConsumer.rebalance(rk, err, list, reset: reset, logger: logger, assignment: assignment, resets: resets, notify: onRebalance)
        }, offsetResets: resets)
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
        return KafkaConsumer(client: client, queue: UncheckedQueue(queue: queue), logger: logger, group: group, assignment: assignment,
                             resets: resets)
    }

    /// The partitions this member owns now.
    public var assignedPartitions: [KafkaPartition] { assignment.partitions.withLock { $0.sorted() } }

    /// Runs on the consumer's thread, inside poll(): commits what is done before partitions go.
    private static func rebalance(_ rk: OpaquePointer, _ err: rd_kafka_resp_err_t, _ list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?,
                                  reset: Int64?, logger: Logger, assignment: AssignmentBox, resets: OffsetResets,
                                  notify: (@Sendable (KafkaRebalance) -> Void)?) {
        let partitions = partitionsOf(list)
        let cooperative = String(cString: rd_kafka_rebalance_protocol(rk)) == "COOPERATIVE"
        if err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS {
            if let list, let reset { resolveStartOffsets(rk, list, reset: reset, logger: logger, resets: resets) }
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
        let resets = self.resets
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
            resets.report(client)
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
            if KafkaConsumer.vanished.contains(err.rawValue) {
                // The topic was deleted (or deleted and re-created) under this member: there is
                // nothing left to commit to, and retrying cannot change that. The events are
                // stored; the group follows the topic as it is now (a re-created topic starts
                // at its first offset, see OffsetResets).
                logger.warning("commit skipped: the topic's partitions no longer exist on the broker (deleted or re-created); the events of this batch are stored",
                               metadata: [LoggingKeys.error: "\(KafkaClient.text(err)) (\(KafkaClient.name(err)))",
                                          "kafka.partitions": "\(positions.map { "\($0.topic)[\($0.partition)]@\($0.nextOffset)" }.joined(separator: ","))"])
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
    /// 100 ms later, which is most of a short run's start-up. A committed offset outside the
    /// partition (past its end after a re-creation, before its start after retention) is reset
    /// here too, loudly and counted (``OffsetResets``), instead of by librdkafka's first fetch.
    /// If any lookup fails, the list is left as it was and librdkafka resolves the offsets itself.
    static func resolveStartOffsets(_ rk: OpaquePointer, _ list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>,
                                    reset: Int64, logger: Logger, resets: OffsetResets) {
        let count = Int(list.pointee.cnt)
        guard count > 0, let committed = rd_kafka_topic_partition_list_copy(list) else { return }
        defer { rd_kafka_topic_partition_list_destroy(committed) }
        guard rd_kafka_committed(rk, committed, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR else { return }
        var starts = [Int64](repeating: -1, count: count)
        for i in 0..<count {
            let e = committed.pointee.elems[i]
            if e.err != RD_KAFKA_RESP_ERR_NO_ERROR { return }
            starts[i] = e.offset
        }
        // Timestamps -2 and -1 ask ListOffsets for the starts and the ends, all partitions at once.
        guard let low = watermarks(rk, list, at: Int64(RD_KAFKA_OFFSET_BEGINNING)),
              let high = watermarks(rk, list, at: Int64(RD_KAFKA_OFFSET_END)) else { return }
        var uncommitted = 0
        for i in 0..<count {
            let resetTo = reset == Int64(RD_KAFKA_OFFSET_BEGINNING) ? low[i] : high[i]
            if starts[i] < 0 {
                uncommitted += 1
                starts[i] = resetTo
            } else if starts[i] < low[i] || starts[i] > high[i] {
                let e = list.pointee.elems[i]
                resets.record(KafkaPartition(topic: String(cString: e.topic), partition: Int(e.partition)),
                              committed: starts[i], low: low[i], high: high[i], resetTo: resetTo)
                starts[i] = resetTo
            }
        }
        for i in 0..<count { list.pointee.elems[i].offset = starts[i] }
        logger.debug("Kafka start offsets resolved", metadata: ["kafka.partitions": "\(count)", "kafka.uncommitted": "\(uncommitted)"])
    }

    /// The offsets of the list's partitions at `position` (beginning or end), in the list's
    /// order; nil if the broker did not answer for each.
    private static func watermarks(_ rk: OpaquePointer, _ list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>, at position: Int64) -> [Int64]? {
        guard let query = rd_kafka_topic_partition_list_copy(list) else { return nil }
        defer { rd_kafka_topic_partition_list_destroy(query) }
        let count = Int(query.pointee.cnt)
        for i in 0..<count { query.pointee.elems[i].offset = position }
        guard rd_kafka_offsets_for_times(rk, query, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR, Int(query.pointee.cnt) == count else { return nil }
        var out: [Int64] = []
        for i in 0..<count {
            let e = query.pointee.elems[i]
            guard e.err == RD_KAFKA_RESP_ERR_NO_ERROR, e.offset >= 0, e.partition == list.pointee.elems[i].partition else { return nil }
            out.append(e.offset)
        }
        return out
    }

    /// Commit errors that mean the partitions are gone with their topic.
    static let vanished: Set<Int32> = Set([
        RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART, RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION, RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC,
    ].map(\.rawValue))

    /// Commit errors that mean the partitions changed hands.
    static let rebalanced: Set<Int32> = Set([
        RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION, RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID, RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS,
        RD_KAFKA_RESP_ERR__ASSIGNMENT_LOST, RD_KAFKA_RESP_ERR__STATE, RD_KAFKA_RESP_ERR_FENCED_INSTANCE_ID,
    ].map(\.rawValue))

    /// Leaves the group: the rebalance callback commits what is stored, then the handle closes.
    public func close() async throws {
        guard !closed.exchange(true, ordering: .relaxed) else { return }
        let client = self.client
        let err = await blocking.run { rd_kafka_consumer_close(client.handle) }
        if err != RD_KAFKA_RESP_ERR_NO_ERROR {
            throw KafkaClient.error(err, "the Kafka consumer did not close cleanly")
        }
        logger.debug("Kafka consumer left the group", metadata: [LoggingKeys.group: "\(group)"])
    }

    private func onBlockingQueue<T: Sendable>(_ lane: BlockingExecutor.Lane? = nil, _ body: @escaping @Sendable () throws(MeteoError) -> T) async throws -> T {
        try await (lane ?? blocking).run(body)
    }
}

/// Offsets that no longer exist: a partition re-created (shorter) or truncated by retention
/// leaves the group's committed offset past its end or before its start. The consumer then
/// starts where auto.offset.reset says; each such reset is one warning with the counts, and
/// counted in `meteo_consumer_offset_resets_total` and, for the records it passes over that
/// are known, `meteo_consumer_skipped_records_total` (both with `bus="kafka"`).
///
/// Records passed over: before the start, those retention deleted unread (low - committed);
/// with a reset to the end, also those of the partition not read (high - start). The records
/// of a deleted partition that were never read went with it and cannot be counted: the warning
/// says so.
final class OffsetResets: Sendable {
    private let logger: Logger
    private let reset: Int64?
    private let skippedRecords: Counter
    private let resets: Counter

    init(logger: Logger, reset: Int64?, factory: any MetricsFactory) {
        self.logger = logger
        self.reset = reset
        skippedRecords = Counter(label: "meteo_consumer_skipped_records_total", dimensions: [("bus", "kafka")], factory: factory)
        resets = Counter(label: "meteo_consumer_offset_resets_total", dimensions: [("bus", "kafka")], factory: factory)
    }

    /// The records a reset from `committed` (the group's committed offset when the partition is
    /// assigned, the read position when librdkafka resets while fetching) to `resetTo` passes
    /// over, of a partition that now holds `low..<high`.
    static func skipped(committed: Int64, low: Int64, resetTo: Int64) -> Int64 {
        max(0, resetTo - min(committed, low))
    }

    func record(_ partition: KafkaPartition, committed: Int64, low: Int64, high: Int64, resetTo: Int64) {
        let skipped = Self.skipped(committed: committed, low: low, resetTo: resetTo)
        let past = committed > high
        logger.warning(
            past
                ? "Kafka consumer offset is past the end of the partition (re-created?): reset by auto.offset.reset; what the old partition held beyond it is gone and cannot be counted"
                : "Kafka consumer offset is before the start of the partition (deleted by retention?): reset by auto.offset.reset; the records in between were never read",
            metadata: ["kafka.partition": "\(partition)", "kafka.offset": "\(committed)", "kafka.low": "\(low)", "kafka.high": "\(high)",
                       "kafka.reset.to": "\(resetTo)", "kafka.skipped": "\(skipped)"])
        resets.increment()
        skippedRecords.increment(by: Int(skipped))
    }

    /// A reset librdkafka made by itself while fetching (the partition was re-created or
    /// truncated under an assigned consumer), which librdkafka 2.0.2 reports only in a log
    /// line: its log callback hands the line here, and the next poll reports it.
    struct Pending {
        var partition: KafkaPartition
        var at: Int64
        /// The offset reading resumes at, or nil for the start or end (resolved when reported).
        var to: Int64?
    }

    private let pending = Mutex<[Pending]>([])

    /// librdkafka's "offset reset" log line: `[thrd:main]: <topic> [<p>]: offset reset (at offset
    /// <n>, broker <b>) to [cached BEGINNING offset |cached END offset ]<m|BEGINNING|END>: <why>`.
    nonisolated(unsafe) private static let resetLine = try! Regex(
        #"\]: (\S+) \[(\d+)\]: offset reset \(at offset (-?\d+), broker -?\d+\) to (?:cached (?:BEGINNING|END) offset )?(-?\d+|BEGINNING|END):"#)

    /// Takes a librdkafka log line if it says librdkafka reset an offset; false otherwise. Runs
    /// on a librdkafka thread that may hold the partition's lock: it only parses and queues.
    func librdkafkaLogged(_ text: String) -> Bool {
        guard let match = try? Self.resetLine.firstMatch(in: text),
              let topic = match.output[1].substring, let p = match.output[2].substring.flatMap({ Int($0) }),
              let at = match.output[3].substring.flatMap({ Int64($0) }), let to = match.output[4].substring else { return false }
        pending.withLock { $0.append(Pending(partition: KafkaPartition(topic: String(topic), partition: p), at: at, to: Int64(to))) }
        return true
    }

    /// Reports the resets librdkafka made since the last call, with the partitions' watermarks.
    /// On the consumer's own queue (the watermark query may wait for the broker).
    func report(_ client: KafkaClient) {
        let found = pending.withLock { p in
            defer { p.removeAll() }
            return p
        }
        for r in found {
            var low: Int64 = -1, high: Int64 = -1
            let err = rd_kafka_query_watermark_offsets(client.handle, r.partition.topic, Int32(r.partition.partition), &low, &high, 5000)
            guard err == RD_KAFKA_RESP_ERR_NO_ERROR, let reset else {
                logger.warning("Kafka offset out of range: librdkafka reset it by auto.offset.reset; the records passed over are not known",
                               metadata: ["kafka.partition": "\(r.partition)", "kafka.offset": "\(r.at)", LoggingKeys.error: "\(KafkaClient.text(err))"])
                resets.increment()
                continue
            }
            record(r.partition, committed: r.at, low: low, high: high, resetTo: r.to ?? (reset == Int64(RD_KAFKA_OFFSET_BEGINNING) ? low : high))
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
