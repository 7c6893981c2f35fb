import Foundation
import Logging
import MeteoCore
import Metrics
import ServiceLifecycle
import Synchronization

/// Fills the bus with hourly history: asks a ``HistorySource`` for each ``BackfillChunk`` of a
/// plan (``BackfillPlanner``), publishes every observation as the same keyed event as live
/// ingestion (``EventCodec``, keyed by place id), and records each chunk in the
/// ``BackfillCheckpoint`` once the bus has acknowledged all its events.
///
/// - Chunks done by an earlier run are skipped; the rest are asked for in plan order.
/// - While one chunk's events are published, the next request is sent and its answer decoded
///   and encoded (one request ahead), so the network and the CPU work overlap.
/// - Up to ``Configuration/inFlightChunks`` chunks may be handed to the bus before their
///   acknowledgements are in; they are counted and recorded in order as the acknowledgements
///   arrive.
/// - A graceful shutdown (SIGTERM, Ctrl-C) abandons the request on its way, waits for the
///   acknowledgements of what was handed to the bus, records those chunks, and returns.
/// - A request that fails after its retries ends the run the same way, then throws: the next
///   run goes on from the checkpoint.
public final class Backfill: Service {
    public struct Configuration: Sendable {
        public var topic: String
        /// The plan, in order.
        public var chunks: [BackfillChunk]
        /// The places of the chunks, by id.
        public var places: [String: Place]
        /// Events per publish call.
        public var publishBatch: Int
        /// Chunks handed to the bus whose acknowledgements may still be outstanding.
        public var inFlightChunks: Int
        /// The clock of "now" (hours after it are not asked for) and of the checkpoint's times.
        public var clock: any MeteoClock

        public init(topic: String, chunks: [BackfillChunk], places: [String: Place], publishBatch: Int = 10_000,
                    inFlightChunks: Int = 2, clock: any MeteoClock = SystemClock()) {
            self.topic = topic
            self.chunks = chunks
            self.places = places
            self.publishBatch = max(1, publishBatch)
            self.inFlightChunks = max(1, inFlightChunks)
            self.clock = clock
        }
    }

    /// Counts since start.
    public struct Stats: Sendable, Hashable {
        /// Requests of the plan.
        public var chunks = 0
        /// Of them, done by an earlier run (the checkpoint).
        public var skipped = 0
        /// Done and recorded by this run.
        public var done = 0
        /// Done by this run but not recorded, to be asked again by the next one: their days
        /// were not over (today) or some hours were missing.
        public var incomplete = 0
        /// Place-days of the plan, and of the chunks done (skipped ones included).
        public var placeDays = 0
        public var placeDaysDone = 0
        /// Requests sent by this run and the calls they weighed.
        public var requests = 0
        public var calls = 0.0
        /// Events acknowledged by the bus.
        public var published = 0
        /// Place-hours with no observation (all values null, or absent), dropped (outside the
        /// days or after now), and refused (impossible values).
        public var missingHours = 0
        public var droppedHours = 0
        public var failedHours = 0
        /// Where the time went (seconds): the requests' quota waits, HTTP and decoding; encoding
        /// the events; handing them to the bus and waiting for its acknowledgements.
        public var timing = HistoryTiming()
        public var encodeSeconds = 0.0
        public var publishSeconds = 0.0

        /// Observations the plan asks for, for progress lines.
        public var observationsPlanned = 0
    }

    /// A chunk finished (or a run's start): for progress lines.
    public struct Progress: Sendable {
        public var stats: Stats
        /// The chunk just finished, or nil for the first line.
        public var chunk: BackfillChunk?
        /// Seconds since the run started.
        public var elapsed: Double
    }

    private let source: any HistorySource
    private let publisher: any EventPublisher
    private let checkpoint: BackfillCheckpoint
    private let configuration: Configuration
    private let logger: Logger
    private let onProgress: (@Sendable (Progress) -> Void)?
    private let state: Mutex<Stats>
    private let publishedCounter = Counter(label: "meteo_backfill_events_published_total")
    private let started = ContinuousClock.now

    public init(source: any HistorySource, publisher: any EventPublisher, checkpoint: BackfillCheckpoint,
                configuration: Configuration, logger: Logger, onProgress: (@Sendable (Progress) -> Void)? = nil) {
        self.source = source
        self.publisher = publisher
        self.checkpoint = checkpoint
        self.configuration = configuration
        self.logger = logger
        self.onProgress = onProgress
        var stats = Stats()
        stats.chunks = configuration.chunks.count
        for chunk in configuration.chunks {
            let placeDays = chunk.placeIDs.count * chunk.days
            stats.placeDays += placeDays
            stats.observationsPlanned += chunk.hours
            if checkpoint.isDone(chunk) {
                stats.skipped += 1
                stats.placeDaysDone += placeDays
            }
        }
        state = Mutex(stats)
    }

    public var stats: Stats { state.withLock { $0 } }

    /// The chunks this run asks for: those the checkpoint does not hold.
    public var remaining: [BackfillChunk] { configuration.chunks.filter { !checkpoint.isDone($0) } }

    /// One chunk's answer, with its events encoded in publish batches.
    struct Prepared: Sendable {
        var chunk: BackfillChunk
        var batch: HistoryBatch
        var messages: [[OutgoingMessage]]
        var encodeSeconds: Double
    }

    /// A chunk handed to the bus: what is left to count once it is acknowledged (its events
    /// and observations are let go as soon as the bus has them).
    struct Sent {
        var chunk: BackfillChunk
        /// The answer without its observations.
        var summary: HistoryBatch
        var observations: Int
        var encodeSeconds: Double
        var deliveries: [PendingDelivery]
        var failure: (any Error)?
    }

    public func run() async throws {
        let todo = remaining
        report(nil)
        var sent: [Sent] = []
        var failure: (any Error)?
        await withTaskGroup(of: Result<Prepared, any Error>.self) { group in
            defer { group.cancelAll() }
            var next = 0
            func fetchNext() {
                guard next < todo.count else { return }
                let chunk = todo[next]
                next += 1
                group.addTask { [self] in
                    do {
                        return .success(try await cancelWhenGracefulShutdown { try await self.prepare(chunk) })
                    } catch {
                        return .failure(error)
                    }
                }
            }
            fetchNext()
            while let result = await group.next() {
                let prepared: Prepared
                switch result {
                case .success(let p): prepared = p
                case .failure(let error):
                    if !(Task.isShuttingDownGracefully || Task.isCancelled || error is CancellationError) { failure = error }
                    return
                }
                if Task.isShuttingDownGracefully || Task.isCancelled { return }
                // The next request goes out while this one's events are published.
                fetchNext()
                sent.append(await send(consume prepared))
                do {
                    try await settle(&sent, keeping: configuration.inFlightChunks - 1)
                } catch {
                    failure = error
                    return
                }
            }
        }
        if Task.isShuttingDownGracefully {
            logger.notice("backfill stopping: waiting for the bus to acknowledge what it was given")
        }
        do {
            try await settle(&sent, keeping: 0)
        } catch {
            if failure == nil { failure = error }
        }
        try await publisher.close()
        if let failure { throw failure }
    }

    /// Asks for one chunk and encodes its events.
    func prepare(_ chunk: BackfillChunk) async throws -> Prepared {
        let places = try chunk.placeIDs.map { id throws(MeteoError) -> Place in
            guard let place = configuration.places[id] else {
                throw MeteoError(code: .internal, "the backfill plan names place \(id), which is not in its selection")
            }
            return place
        }
        let batch = try await source.fetch(chunk, places: places, now: configuration.clock.now())
        let clock = ContinuousClock()
        let began = clock.now
        let size = configuration.publishBatch
        var messages: [[OutgoingMessage]] = []
        messages.reserveCapacity((batch.observations.count + size - 1) / size)
        // A chunk's observations come place by place: the encoder writes each place's fields once.
        var encoder = EventEncoder()
        var start = 0
        while start < batch.observations.count {
            let end = min(start + size, batch.observations.count)
            messages.append(batch.observations[start..<end].map { OutgoingMessage(key: $0.placeID, value: encoder.encode($0)) })
            start = end
        }
        return Prepared(chunk: chunk, batch: batch, messages: messages, encodeSeconds: (clock.now - began).seconds)
    }

    /// Hands one chunk's events to the bus, in order, without waiting for acknowledgements.
    private func send(_ prepared: consuming Prepared) async -> Sent {
        let clock = ContinuousClock()
        let began = clock.now
        defer {
            let spent = (clock.now - began).seconds
            state.withLock { $0.publishSeconds += spent }
        }
        for failure in prepared.batch.failures.prefix(5) {
            logger.warning("the provider's answer held an impossible value", metadata: [
                LoggingKeys.placeID: "\(failure.placeID ?? "?")", LoggingKeys.reason: "\(failure.reason)",
            ])
        }
        var summary = prepared.batch
        summary.observations = []
        var sent = Sent(chunk: prepared.chunk, summary: summary, observations: prepared.batch.observations.count,
                        encodeSeconds: prepared.encodeSeconds, deliveries: [], failure: nil)
        for messages in prepared.messages {
            do {
                sent.deliveries.append(try await publisher.send(messages, to: configuration.topic))
            } catch {
                sent.failure = error
                break
            }
        }
        return sent
    }

    /// Waits, oldest first, for the acknowledgements of all but the last `keeping` chunks,
    /// then counts and records each. Throws the first failure once every chunk is settled.
    private func settle(_ sent: inout [Sent], keeping: Int) async throws {
        var firstError: (any Error)?
        while sent.count > max(0, keeping) || (firstError != nil && !sent.isEmpty) {
            let chunk = sent.removeFirst()
            do {
                try await finish(chunk)
            } catch {
                if firstError == nil { firstError = error }
            }
        }
        if let firstError { throw firstError }
    }

    /// Waits for one chunk's acknowledgements, counts it and records it in the checkpoint.
    private func finish(_ sent: Sent) async throws {
        let clock = ContinuousClock()
        let began = clock.now
        var acknowledged = 0
        var failure = sent.failure
        for delivery in sent.deliveries {
            do {
                try await delivery.delivered()
                acknowledged += delivery.count
            } catch {
                if failure == nil { failure = error }
            }
        }
        let waited = (clock.now - began).seconds
        publishedCounter.increment(by: acknowledged)
        let batch = sent.summary
        let chunk = sent.chunk
        state.withLock { s in
            s.published += acknowledged
            s.publishSeconds += waited
        }
        if let failure { throw failure }
        // Complete: every asked hour is in, and the days were over when asked for.
        let now = configuration.clock.now()
        let complete = batch.missingHours == 0 && batch.failures.isEmpty
            && Double((chunk.lastDay + 1) * 86_400) <= now.timeIntervalSince1970
        if complete { try checkpoint.record(chunk, observations: sent.observations, at: now) }
        state.withLock { s in
            s.requests += 1
            s.calls += batch.weight
            s.missingHours += batch.missingHours
            s.droppedHours += batch.droppedHours
            s.failedHours += batch.failures.count
            s.timing = s.timing + batch.timing
            s.encodeSeconds += sent.encodeSeconds
            s.placeDaysDone += chunk.placeIDs.count * chunk.days
            if complete { s.done += 1 } else { s.incomplete += 1 }
        }
        logger.info("backfill chunk published", metadata: [
            "meteo.chunk": "\(chunk.key)", LoggingKeys.count: "\(acknowledged)", "meteo.missing": "\(batch.missingHours)",
        ])
        report(chunk)
    }

    private func report(_ chunk: BackfillChunk?) {
        onProgress?(Progress(stats: stats, chunk: chunk, elapsed: (ContinuousClock.now - started).seconds))
    }
}
