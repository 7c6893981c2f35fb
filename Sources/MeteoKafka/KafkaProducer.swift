#if Kafka
import CRdKafka
import Dispatch
import Foundation
import Logging
import MeteoCore
import Synchronization

/// Publishes keyed events to Kafka through librdkafka's idempotent producer.
///
/// `publish` enqueues a batch and returns only when every event of it has its delivery report,
/// so the ingestor counts an event as published only once the brokers hold it (`acks=all`).
/// When librdkafka's local queue is full, `publish` waits while the poll thread serves delivery
/// reports, and tries again: back-pressure, never a dropped event. A dedicated thread serves
/// librdkafka's callbacks; flush and admin requests run in lanes of their own of the process's
/// ``BlockingExecutor``, never on the cooperative pool.
public final class KafkaProducer: EventPublisher {
    private let client: KafkaClient
    private let configuration: KafkaConfiguration
    private let logger: Logger
    private let state: Mutex<State>
    private let poller: PollThread
    private let blocking = BlockingExecutor.shared.lane("meteo.kafka.producer")
    private let admin = BlockingExecutor.shared.lane("meteo.kafka.producer.admin")

    struct Batch {
        var outstanding: Int
        var total: Int
        var failed = 0
        var firstError: MeteoError?
        var waiter: CheckedContinuation<Result<Void, any Error>, Never>?
    }

    struct State {
        var nextBatch: UInt = 1
        var batches: [UInt: Batch] = [:]
        var observers: [Int: AsyncStream<KafkaDeliveryReport>.Continuation] = [:]
        var nextObserver = 0
        var closed = false
    }

    private init(client: KafkaClient, configuration: KafkaConfiguration, logger: Logger) {
        self.client = client
        self.configuration = configuration
        self.logger = logger
        self.state = Mutex(State())
        self.poller = PollThread(client: client)
    }

    deinit {
        poller.stop()
    }

    /// Connects a producer; the connection itself is made lazily by librdkafka.
    public static func make(configuration: KafkaConfiguration, logger: Logger) throws(MeteoError) -> KafkaProducer {
        // The delivery callback needs the state; the state lives in a box both can reach.
        let box = StateBox()
        let callbacks = KafkaCallbacks(logger: logger, onDelivery: { batch, report in box.deliver(batch, report) })
        let client = try KafkaClient.make(kind: .producer, properties: configuration.producerProperties(), callbacks: callbacks)
        let producer = KafkaProducer(client: client, configuration: configuration, logger: logger)
        box.producer.withLock { $0 = WeakProducer(producer) }
        producer.poller.start()
        logger.debug("Kafka producer ready", metadata: ["kafka.properties": "\(KafkaConfiguration.redacted(configuration.producerProperties()))"])
        return producer
    }

    /// Every delivery report from now on, for observers; `publish` does not need it.
    public func deliveryReports(bufferingNewest limit: Int = 100_000) -> AsyncStream<KafkaDeliveryReport> {
        let (stream, continuation) = AsyncStream.makeStream(of: KafkaDeliveryReport.self, bufferingPolicy: .bufferingNewest(limit))
        let id = state.withLock { s -> Int in
            s.nextObserver += 1
            s.observers[s.nextObserver] = continuation
            return s.nextObserver
        }
        continuation.onTermination = { [weak self] _ in self?.state.withLock { _ = $0.observers.removeValue(forKey: id) } }
        return stream
    }

    public func publish(_ messages: [OutgoingMessage], to topic: String) async throws {
        try await send(messages, to: topic).delivered()
    }

    /// Enqueues the messages in order and returns; `delivered()` waits for every delivery
    /// report (the per-batch wait of `publish`), so that a caller can enqueue its next batch
    /// meanwhile. An event librdkafka refuses to enqueue ends the enqueueing, and `delivered()`
    /// throws librdkafka's reason once the events enqueued before it are settled.
    public func send(_ messages: [OutgoingMessage], to topic: String) async throws -> PendingDelivery {
        guard !messages.isEmpty else { return PendingDelivery(count: 0) {} }
        let id = try state.withLock { s throws(MeteoError) -> UInt in
            guard !s.closed else { throw MeteoError(code: .internal, "publish on a closed Kafka producer") }
            let id = s.nextBatch
            s.nextBatch += 1
            s.batches[id] = Batch(outstanding: messages.count, total: messages.count)
            return id
        }
        let opaque = UnsafeMutableRawPointer(bitPattern: id)
        var produced = 0
        var enqueueError: (any Error)?
        var waits = 0
        produce: for message in messages {
            while true {
                let err = enqueue(message, topic: topic, opaque: opaque)
                if err == RD_KAFKA_RESP_ERR_NO_ERROR {
                    produced += 1
                    break
                }
                if err == RD_KAFKA_RESP_ERR__QUEUE_FULL {
                    // Back-pressure: the poll thread is serving delivery reports, which frees room.
                    if Task.isCancelled {
                        enqueueError = CancellationError()
                        break produce
                    }
                    waits += 1
                    try? await Task.sleep(for: .milliseconds(2))
                    continue
                }
                enqueueError = KafkaClient.error(err, "Kafka refused an event for topic \(topic)")
                break produce
            }
        }
        if waits > 0 {
            logger.debug("Kafka local queue was full; waited", metadata: ["kafka.waits": "\(waits)", LoggingKeys.topic: "\(topic)"])
        }
        if produced < messages.count {
            let unsent = messages.count - produced
            state.withLock { s in
                s.batches[id]?.outstanding -= unsent
                s.batches[id]?.failed += unsent
            }
        }
        let refused = enqueueError
        return PendingDelivery(count: produced) { [self] in
            // Wait for the delivery report of every event that was enqueued.
            let delivery = await withCheckedContinuation { (continuation: CheckedContinuation<Result<Void, any Error>, Never>) in
                let done = state.withLock { s -> Result<Void, any Error>? in
                    guard var batch = s.batches[id] else { return .success(()) }
                    if batch.outstanding == 0 {
                        s.batches[id] = nil
                        return Self.result(batch, topic: topic)
                    }
                    batch.waiter = continuation
                    s.batches[id] = batch
                    return nil
                }
                if let done { continuation.resume(returning: done) }
            }
            // An event librdkafka refused to enqueue says why more precisely than the batch count.
            if let refused { throw refused }
            try delivery.get()
        }
    }

    static func result(_ batch: Batch, topic: String) -> Result<Void, any Error> {
        guard batch.failed > 0 else { return .success(()) }
        let why = batch.firstError?.message ?? "not enqueued"
        return .failure(MeteoError(code: .bus, "\(batch.failed) of \(batch.total) events were not delivered to topic \(topic): \(why)",
                                   isRetriable: batch.firstError?.isRetriable ?? true))
    }

    /// Called on the poll thread for each delivery report.
    fileprivate func deliver(_ id: UInt, _ report: KafkaDeliveryReport) {
        let (waiter, result, observers) = state.withLock { s -> (CheckedContinuation<Result<Void, any Error>, Never>?, Result<Void, any Error>?, [AsyncStream<KafkaDeliveryReport>.Continuation]) in
            let observers = Array(s.observers.values)
            guard var batch = s.batches[id] else { return (nil, nil, observers) }
            batch.outstanding -= 1
            if let error = report.error {
                batch.failed += 1
                if batch.firstError == nil { batch.firstError = error }
            }
            if batch.outstanding == 0, let waiter = batch.waiter {
                s.batches[id] = nil
                return (waiter, Self.result(batch, topic: report.topic), observers)
            }
            s.batches[id] = batch
            return (nil, nil, observers)
        }
        for o in observers { o.yield(report) }
        if let waiter, let result { waiter.resume(returning: result) }
    }

    private func enqueue(_ message: OutgoingMessage, topic: String, opaque: UnsafeMutableRawPointer?) -> rd_kafka_resp_err_t {
        var headers: OpaquePointer?
        if !message.headers.isEmpty {
            headers = rd_kafka_headers_new(message.headers.count)
            for (name, value) in message.headers.sorted(by: { $0.key < $1.key }) {
                _ = rd_kafka_header_add(headers, name, -1, value, -1)
            }
        }
        var key = message.key
        let err = message.value.withUnsafeBytes { value in
            if key != nil {
                return key!.withUTF8 { k in
                    meteo_rd_kafka_produce(client.handle, topic, k.baseAddress, k.count, value.baseAddress, value.count, headers, opaque)
                }
            }
            return meteo_rd_kafka_produce(client.handle, topic, nil, 0, value.baseAddress, value.count, headers, opaque)
        }
        if err != RD_KAFKA_RESP_ERR_NO_ERROR, let headers { rd_kafka_headers_destroy(headers) }
        return err
    }

    /// The fatal error librdkafka raised, if any: an idempotent producer that lost its
    /// sequence with the broker (a broker that restarted without its data, for example) can
    /// never deliver again, and only a new producer (a new producer id) can.
    public var fatalError: MeteoError? { client.fatalError() }

    /// Drops every event not yet delivered (each gets a failed delivery report, so its batch
    /// reports it as not delivered) and stops polling. For a producer with a fatal error.
    public func abandon() async {
        state.withLock { $0.closed = true }
        let client = self.client
        await onBlockingQueue {
            _ = rd_kafka_purge(client.handle, Int32(RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT))
            _ = rd_kafka_flush(client.handle, 2000)
        }
        poller.stop()
        finishObservers()
    }

    private func finishObservers() {
        let observers = state.withLock { s in
            defer { s.observers.removeAll() }
            return Array(s.observers.values)
        }
        for o in observers { o.finish() }
    }

    /// Waits until every enqueued event has its delivery report, then stops polling.
    public func close() async throws {
        let first = state.withLock { s -> Bool in
            defer { s.closed = true }
            return !s.closed
        }
        guard first else { return }
        let timeout = KafkaClient.milliseconds(configuration.operationTimeout)
        let client = self.client
        let err = await onBlockingQueue { rd_kafka_flush(client.handle, timeout) }
        poller.stop()
        finishObservers()
        if err != RD_KAFKA_RESP_ERR_NO_ERROR {
            let left = rd_kafka_outq_len(client.handle)
            throw MeteoError(code: .bus, "\(left) Kafka events were still unsent after \(configuration.operationTimeout.seconds) s; is the broker up?",
                             isRetriable: true)
        }
    }

    /// Makes sure the topic exists with the configured partitions and replication factor:
    /// creates it when it is missing, grows it (CreatePartitions) when it has fewer partitions,
    /// for instance when a broker that lost its data created it by itself with its default of
    /// one. Admin requests have a lane of their own: a broker that does not answer holds back
    /// neither `close` nor `abandon`.
    public func ensureTopic(_ name: String, partitions: Int? = nil, replicationFactor: Int? = nil, timeout: Duration? = nil) async throws {
        let client = self.client
        let p = partitions ?? configuration.partitions
        let r = replicationFactor ?? configuration.replicationFactor
        let timeout = timeout ?? configuration.operationTimeout
        let repair = try await admin.run { () throws(MeteoError) in
            try KafkaAdmin.ensureTopic(client, name: name, partitions: p, replicationFactor: r, timeout: timeout)
        }
        switch repair {
        case .created:
            logger.notice("created Kafka topic", metadata: [LoggingKeys.topic: "\(name)", "kafka.partitions": "\(p)", "kafka.replication": "\(r)"])
        case .grown(let from):
            logger.warning("Kafka topic had fewer partitions than configured (created by the broker itself?); grown to the configured count",
                           metadata: [LoggingKeys.topic: "\(name)", "kafka.partitions.found": "\(from)", "kafka.partitions": "\(p)"])
        case .unchanged, .notReady:
            break
        }
    }

    /// The brokers and the topic's partitions, as the cluster reports them.
    public func metadata(topic: String?) async throws -> KafkaClusterInfo {
        let client = self.client
        let timeout = configuration.operationTimeout
        return try await admin.run { () throws(MeteoError) in try KafkaAdmin.metadata(client, topic: topic, timeout: timeout) }
    }

    private func onBlockingQueue<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await blocking.run(body)
    }
}

/// Lets the delivery callback, made before the producer, reach it.
private final class StateBox: Sendable {
    let producer = Mutex<WeakProducer?>(nil)
    func deliver(_ batch: UInt, _ report: KafkaDeliveryReport) {
        producer.withLock { $0?.value }?.deliver(batch, report)
    }
}

private struct WeakProducer: Sendable {
    weak var value: KafkaProducer?
    init(_ value: KafkaProducer) { self.value = value }
}

/// A thread that calls `rd_kafka_poll` until stopped, so that delivery reports and errors are
/// served without anyone asking.
final class PollThread: Sendable {
    private let client: KafkaClient
    private let stopped = Atomic<Bool>(false)
    private let started = Atomic<Bool>(false)

    init(client: KafkaClient) { self.client = client }

    func start() {
        guard !started.exchange(true, ordering: .relaxed) else { return }
        let thread = Thread { [client, self] in
            var purged = false
            while !self.stopped.load(ordering: .relaxed) {
                rd_kafka_poll(client.handle, 100)
                // A producer failed for good keeps its queued events, and their senders would
                // wait for delivery reports forever: fail them all (each gets a report saying
                // it was purged), so that nothing waits and nothing counts as delivered.
                if !purged && rd_kafka_fatal_error(client.handle, nil, 0) != RD_KAFKA_RESP_ERR_NO_ERROR {
                    purged = true
                    _ = rd_kafka_purge(client.handle, Int32(RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT))
                }
            }
        }
        thread.name = "meteo.kafka.poll"
        thread.start()
    }

    func stop() { stopped.store(true, ordering: .relaxed) }
}
#endif
