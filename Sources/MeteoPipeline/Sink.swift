import Foundation
import Logging
import MeteoCore
import Metrics
import ServiceLifecycle
import Synchronization

/// Reads the bus in batches and writes them to the store; commits the bus offsets of a batch
/// only after the store has acknowledged its write.
///
/// A message that cannot be decoded, or whose observation is impossible, goes to the
/// dead-letter store with its reason and its raw bytes, in the same write as the batch's
/// observations. Nothing is committed before its write succeeded, so a crash at any point
/// loses nothing, and the store's idempotent upsert makes the redelivered messages harmless.
///
/// A failing write follows the error's ``MeteoError/isRetriable``:
/// - transient (the server down, a lock, a full disk): retried with backoff for as long as it
///   takes, the consumer paused and kept in its group meanwhile (``EventConsumer/keepAlive()``);
///   counted in `meteo_sink_write_retries_total`, and `meteo_sink_retrying` is 1 meanwhile;
/// - permanent: the batch is split in halves until the records the store refuses are alone;
///   each goes to the dead letters with the store's reason, and the rest is stored and committed;
/// - permanent even for a lone dead letter (a damaged file, credentials refused): the whole
///   store is refusing, and ``run()`` throws the store's error, which says what to fix.
public final class Sink: Service {
    public struct Configuration: Sendable {
        /// Most messages per store write.
        public var batchSize: Int
        /// How long one poll waits for messages.
        public var pollTimeout: Duration
        /// How long a partial batch may wait for more messages before it is written.
        public var flushInterval: Duration
        /// How the message bytes are decoded.
        public var format: PayloadFormat
        /// Called when a poll comes back empty; the sink stops when it returns true (`meteo demo`, `--until-idle`).
        public var stopWhenIdle: (@Sendable () async -> Bool)?
        /// Longest pause between two tries of a failing store write.
        public var maxRetryDelay: Duration
        /// Called after each store write, before its offsets are committed, with the number of
        /// writes so far. The sink itself does nothing there; the CLI's crash tests install a
        /// SIGKILL in it (`METEO_FAULT_CRASH_AFTER_WRITES`), so no fault injection lives in this module.
        public var afterWriteBeforeCommit: (@Sendable (_ writes: Int) -> Void)?

        public init(batchSize: Int = 5000, pollTimeout: Duration = .milliseconds(250), flushInterval: Duration = .zero, format: PayloadFormat = .auto,
                    stopWhenIdle: (@Sendable () async -> Bool)? = nil, maxRetryDelay: Duration = .seconds(5),
                    afterWriteBeforeCommit: (@Sendable (_ writes: Int) -> Void)? = nil) {
            self.batchSize = batchSize
            self.pollTimeout = pollTimeout
            self.flushInterval = flushInterval
            self.format = format
            self.stopWhenIdle = stopWhenIdle
            self.maxRetryDelay = maxRetryDelay
            self.afterWriteBeforeCommit = afterWriteBeforeCommit
        }
    }

    public struct Stats: Sendable, Hashable {
        /// Bus messages read.
        public var consumed = 0
        /// Observations written (new keys + overwritten keys).
        public var stored = 0
        public var inserted = 0
        public var updated = 0
        /// Messages sent to the dead-letter store.
        public var deadLettered = 0
        public var batches = 0
        /// Store writes that failed and were retried.
        public var writeRetries = 0
    }

    private let consumer: any EventConsumer
    private let writer: any SinkWriter
    private let configuration: Configuration
    private let logger: Logger
    private let onBatch: (@Sendable (Stats) -> Void)?
    private let state = Mutex(Stats())
    private let storedCounter: Counter
    private let deadCounter: Counter
    private let retryCounter: Counter
    private let retrying: Gauge

    /// - Parameter metrics: where the sink's metrics go; the process's metrics system by default.
    public init(consumer: any EventConsumer, writer: any SinkWriter, configuration: Configuration,
                logger: Logger, metrics: any MetricsFactory = MetricsSystem.factory, onBatch: (@Sendable (Stats) -> Void)? = nil) {
        self.consumer = consumer
        self.writer = writer
        self.configuration = configuration
        self.logger = logger
        self.onBatch = onBatch
        storedCounter = Counter(label: "meteo_sink_observations_stored_total", dimensions: [], factory: metrics)
        deadCounter = Counter(label: "meteo_sink_dead_letters_total", dimensions: [], factory: metrics)
        retryCounter = Counter(label: "meteo_sink_write_retries_total", dimensions: [], factory: metrics)
        retrying = Gauge(label: "meteo_sink_retrying", dimensions: [], factory: metrics)
    }

    public var stats: Stats { state.withLock { $0 } }

    /// One polled batch, decoded.
    struct Batch: Sendable {
        var messages: [BusMessage]
        var observations: [Observation]
        var deadLetters: [DeadLetter]
    }

    public func run() async throws {
        do {
            try await consume()
        } catch {
            try? await consumer.close()
            throw error
        }
        try await consumer.close()
    }

    private func consume() async throws {
        var writes = 0
        var prefetched: Batch?
        // The first batches are small and grow to batchSize: the first write starts as soon
        // as a few thousand events are decoded instead of waiting for a whole batch, and from
        // then on reading and decoding the next batch overlaps writing this one.
        var limit = min(configuration.batchSize, Self.firstBatchSize)
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            let batch: Batch
            if let p = prefetched { batch = p } else { batch = try await fetch(limit) }
            prefetched = nil
            if !batch.messages.isEmpty { limit = min(configuration.batchSize, limit * 2) }
            if batch.messages.isEmpty {
                if let stop = configuration.stopWhenIdle, await stop() { break }
                continue
            }
            // Read and decode the next batch while this one is written: the store works on its
            // own thread, so the two overlap. The next batch is only committed after its own
            // write, so a crash or a shutdown here just means it is read again.
            let nextLimit = limit
            async let next = fetch(nextLimit)
            guard let summary = try await store(batch) else {
                _ = try? await next
                break  // shutting down with the batch unwritten: it is not committed, so it comes again
            }
            writes += 1
            configuration.afterWriteBeforeCommit?(writes)
            try await commitWithRetry(batch.messages.commitPositions)
            // Observations the store refused for good are dead letters too (it recorded them).
            let stored = batch.observations.count - summary.refused
            let dead = batch.deadLetters.count + summary.refused
            storedCounter.increment(by: stored)
            deadCounter.increment(by: dead)
            let stats = state.withLock { s -> Stats in
                s.consumed += batch.messages.count
                s.stored += stored
                s.inserted += summary.inserted
                s.updated += summary.updated
                s.deadLettered += dead
                s.batches += 1
                return s
            }
            onBatch?(stats)
            prefetched = try await next
        }
    }

    static let firstBatchSize = 2_500

    private func fetch(_ limit: Int) async throws -> Batch {
        var messages = try await consumer.poll(maxMessages: limit, timeout: configuration.pollTimeout)
        if configuration.flushInterval > .zero, !messages.isEmpty {
            // Let a partial batch fill for up to the flush interval (fewer, larger writes).
            let deadline = ContinuousClock.now + configuration.flushInterval
            while messages.count < limit {
                let left = deadline - ContinuousClock.now
                guard left > .zero else { break }
                let more = try await consumer.poll(maxMessages: limit - messages.count, timeout: left)
                if more.isEmpty { break }
                messages += more
            }
        }
        let (observations, deadLetters) = decode(messages)
        return Batch(messages: messages, observations: observations, deadLetters: deadLetters)
    }

    /// Splits a batch into the observations to store and the dead letters to keep.
    func decode(_ messages: [BusMessage], logging: Bool = true) -> ([Observation], [DeadLetter]) {
        var observations: [Observation] = []
        observations.reserveCapacity(messages.count)
        var deadLetters: [DeadLetter] = []
        let now = Date()
        var strings = EventStrings()
        for message in messages {
            // The usual case, a plain valid event, without the array of results.
            if configuration.format == .auto || configuration.format == .event,
               let o = EventCodec.decodeIfPlain(message.value, strings: &strings) {
                observations.append(o)
                continue
            }
            var reasons: [String] = []
            do {
                let results = try configuration.format.decode(message.value, strings: &strings)
                if results.isEmpty { reasons.append("the payload holds no observation") }
                for result in results {
                    switch result {
                    case .success(let o): observations.append(o)
                    case .failure(let e): reasons.append(e.message)
                    }
                }
            } catch {
                reasons.append(error.message)
            }
            if !reasons.isEmpty {
                let reason = reasons.count == 1 ? reasons[0] : "\(reasons.count) entries failed: " + reasons.prefix(20).joined(separator: "; ")
                if logging { logger.warning("dead letter", metadata: [
                    LoggingKeys.topic: "\(message.topic)", LoggingKeys.offset: "\(message.offset)", LoggingKeys.reason: "\(reason)",
                ]) }
                deadLetters.append(DeadLetter(reason: reason, topic: message.topic, partition: message.partition,
                                              offset: message.offset, key: message.key, payload: message.value, failedAt: now,
                                              messageTimestamp: message.timestamp))
            }
        }
        return (observations, deadLetters)
    }

    /// What the sink writes, one by one when the store refuses a batch: an observation with
    /// the message it came from, or a dead letter.
    enum Item: Sendable {
        case observation(Observation, BusMessage)
        case deadLetter(DeadLetter)
    }

    /// The outcome of one write and its transient retries.
    enum Attempt: Sendable {
        case written(UpsertSummary)
        /// Shutting down before it succeeded: nothing is committed.
        case stopped
        /// A permanent error.
        case refused(any Error)
    }

    /// Writes a batch; nil when the sink is shutting down before the write succeeded.
    private func store(_ batch: Batch) async throws -> UpsertSummary? {
        switch await attempt(batch.observations, batch.deadLetters) {
        case .written(let summary): return summary
        case .stopped: return nil
        case .refused(let error):
            logger.error("the store refused the batch for good; splitting it to find the records it refuses", metadata: [
                LoggingKeys.error: "\(error)", LoggingKeys.count: "\(batch.messages.count)",
            ])
            return try await isolate(items(of: batch), refusedWith: error)
        }
    }

    /// The batch as items, each observation with its message (decoded again, one message at a
    /// time: only when the store refused the batch).
    private func items(of batch: Batch) -> [Item] {
        var out = batch.deadLetters.map(Item.deadLetter)
        for message in batch.messages {
            out += decode([message], logging: false).0.map { .observation($0, message) }
        }
        return out
    }

    /// Writes `items`, which the store refused with `error`, in halves, down to the records it
    /// refuses alone; those go to the dead letters with the store's reason.
    private func isolate(_ items: [Item], refusedWith error: any Error) async throws -> UpsertSummary? {
        guard items.count > 1 else {
            guard case .observation(let o, let message)? = items.first else {
                // The store refuses even a dead letter: the whole store is refusing.
                throw Self.storeRefusing(error)
            }
            let reason = "the store refused the observation: \(Self.message(of: error))"
            logger.warning("dead letter", metadata: [
                LoggingKeys.topic: "\(message.topic)", LoggingKeys.offset: "\(message.offset)", LoggingKeys.reason: "\(reason)",
            ])
            let letter = DeadLetter(reason: reason, topic: message.topic, partition: message.partition, offset: message.offset,
                                    key: message.key, payload: EventCodec.encode(o), failedAt: Date(), messageTimestamp: message.timestamp)
            switch await attempt([], [letter]) {
            case .written: return UpsertSummary(refused: 1)
            case .stopped: return nil
            case .refused(let e): throw Self.storeRefusing(e)
            }
        }
        var total = UpsertSummary()
        let middle = items.count / 2
        for half in [Array(items[..<middle]), Array(items[middle...])] {
            var observations: [Observation] = []
            var letters: [DeadLetter] = []
            for item in half {
                switch item {
                case .observation(let o, _): observations.append(o)
                case .deadLetter(let d): letters.append(d)
                }
            }
            switch await attempt(observations, letters) {
            case .written(let summary): total = total + summary
            case .stopped: return nil
            case .refused(let e):
                guard let summary = try await isolate(half, refusedWith: e) else { return nil }
                total = total + summary
            }
        }
        return total
    }

    /// One write, tried again while it fails with transient errors; the consumer is paused and
    /// kept alive meanwhile, and resumed once the write is done.
    private func attempt(_ observations: [Observation], _ deadLetters: [DeadLetter]) async -> Attempt {
        var nextDelay = Duration.milliseconds(100)
        var paused = false
        func finish(_ outcome: Attempt) async -> Attempt {
            if paused {
                retrying.record(0)
                do { try await consumer.resume() } catch {
                    logger.error("cannot resume the bus consumer", metadata: [LoggingKeys.error: "\(error)"])
                }
            }
            return outcome
        }
        while true {
            do {
                return await finish(.written(try await writer.write(observations, deadLetters: deadLetters)))
            } catch {
                guard Self.isTransient(error) else { return await finish(.refused(error)) }
                state.withLock { $0.writeRetries += 1 }
                retryCounter.increment()
                if !paused {
                    paused = true
                    retrying.record(1)
                    do { try await consumer.pause() } catch {
                        logger.error("cannot pause the bus consumer", metadata: [LoggingKeys.error: "\(error)"])
                    }
                }
                let delay = nextDelay
                logger.error("store write failed; retrying without committing", metadata: [
                    LoggingKeys.error: "\(error)", LoggingKeys.delay: "\(delay)",
                ])
                guard await wait(delay) else { return await finish(.stopped) }
                nextDelay = min(delay * 2, configuration.maxRetryDelay)
            }
        }
    }

    /// Waits `delay`, keeping the consumer in its group; false when shutting down.
    private func wait(_ delay: Duration) async -> Bool {
        let end = ContinuousClock.now + delay
        while true {
            if Task.isShuttingDownGracefully || Task.isCancelled { return false }
            do { try await consumer.keepAlive() } catch {
                logger.warning("bus consumer keep-alive failed", metadata: [LoggingKeys.error: "\(error)"])
            }
            let left = end - ContinuousClock.now
            guard left > .zero else { return true }
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: min(left, Self.keepAliveInterval)) }
            } catch { return false }
        }
    }

    /// How often a paused consumer polls while the sink waits for its store.
    static let keepAliveInterval = Duration.milliseconds(500)

    /// Whether trying the same write again may succeed: a ``MeteoError`` says so; any other
    /// error is taken as transient (retrying loses nothing).
    static func isTransient(_ error: any Error) -> Bool {
        (error as? MeteoError)?.isRetriable ?? true
    }

    static func message(of error: any Error) -> String {
        (error as? MeteoError)?.message ?? "\(error)"
    }

    /// The error `run()` throws when the store refuses even one record alone.
    static func storeRefusing(_ error: any Error) -> MeteoError {
        MeteoError(code: (error as? MeteoError)?.code ?? .store,
                   "the store refuses every write, nothing was committed: \(message(of: error))")
    }

    private func commitWithRetry(_ positions: [CommitPosition]) async throws {
        var delay = Duration.milliseconds(100)
        var attempt = 0
        while true {
            do {
                try await consumer.commit(positions)
                return
            } catch {
                attempt += 1
                // The write is done and idempotent: if the commit never lands the batch is
                // redelivered and overwrites itself. Give up only on shutdown.
                logger.error("offset commit failed; retrying", metadata: [LoggingKeys.error: "\(error)", LoggingKeys.attempt: "\(attempt)"])
                if Task.isShuttingDownGracefully || Task.isCancelled { throw error }
                try await Task.sleep(for: delay)
                delay = min(delay * 2, configuration.maxRetryDelay)
            }
        }
    }
}
