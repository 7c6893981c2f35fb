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
/// observations. A failing write is retried with backoff, for as long as it takes; nothing
/// is committed until it succeeds, so a crash at any point loses nothing, and the store's
/// idempotent upsert makes the redelivered messages harmless.
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
    private let storedCounter = Counter(label: "meteo_sink_observations_stored_total")
    private let deadCounter = Counter(label: "meteo_sink_dead_letters_total")

    public init(consumer: any EventConsumer, writer: any SinkWriter, configuration: Configuration,
                logger: Logger, onBatch: (@Sendable (Stats) -> Void)? = nil) {
        self.consumer = consumer
        self.writer = writer
        self.configuration = configuration
        self.logger = logger
        self.onBatch = onBatch
    }

    public var stats: Stats { state.withLock { $0 } }

    /// One polled batch, decoded.
    struct Batch: Sendable {
        var messages: [BusMessage]
        var observations: [Observation]
        var deadLetters: [DeadLetter]
    }

    public func run() async throws {
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
            guard let summary = await writeWithRetry(batch.observations, batch.deadLetters) else {
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
        try await consumer.close()
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
    func decode(_ messages: [BusMessage]) -> ([Observation], [DeadLetter]) {
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
                logger.warning("dead letter", metadata: [
                    LoggingKeys.topic: "\(message.topic)", LoggingKeys.offset: "\(message.offset)", LoggingKeys.reason: "\(reason)",
                ])
                deadLetters.append(DeadLetter(reason: reason, topic: message.topic, partition: message.partition,
                                              offset: message.offset, key: message.key, payload: message.value, failedAt: now,
                                              messageTimestamp: message.timestamp))
            }
        }
        return (observations, deadLetters)
    }

    private func writeWithRetry(_ observations: [Observation], _ deadLetters: [DeadLetter]) async -> UpsertSummary? {
        var nextDelay = Duration.milliseconds(100)
        while true {
            do {
                return try await writer.write(observations, deadLetters: deadLetters)
            } catch {
                state.withLock { $0.writeRetries += 1 }
                let delay = nextDelay
                logger.error("store write failed; retrying without committing", metadata: [
                    LoggingKeys.error: "\(error)", LoggingKeys.delay: "\(delay)",
                ])
                do { try await cancelWhenGracefulShutdown { try await Task.sleep(for: delay) } } catch { return nil }
                if Task.isShuttingDownGracefully || Task.isCancelled { return nil }
                nextDelay = min(delay * 2, configuration.maxRetryDelay)
            }
        }
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
