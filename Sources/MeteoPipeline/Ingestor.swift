import Foundation
import Logging
import MeteoCore
import Metrics
import ServiceLifecycle
import Synchronization

/// Polls a source on a schedule and publishes each observation as a keyed event on the bus.
///
/// An event counts as published only once the bus has acknowledged it. Polls are handed to
/// the bus in tick order; while one poll's acknowledgements are on their way the next polls
/// may be handed over too (up to ``Configuration/inFlightPolls``), and their counts and
/// progress lines follow, in order, as the acknowledgements arrive.
/// A poll that fails after the source's own retries is logged and counted, and the next tick
/// tries again; with a fixed number of ticks (`--once`) the failure ends the run.
public final class Ingestor: Service {
    public struct Configuration: Sendable {
        public var topic: String
        public var places: [Place]
        /// Pause between the start of two polls.
        public var interval: Duration
        /// How many polls to make; `nil` polls until shutdown.
        public var ticks: Int?
        /// Events per publish call.
        public var publishBatch: Int
        /// Polls handed to the bus whose acknowledgements may still be outstanding. 1 waits
        /// for each poll's acknowledgements before the next poll is published.
        public var inFlightPolls: Int
        /// Skip an observation whose (place, observed time) is the last one acknowledged for its
        /// place: Open-Meteo's `current` block moves every 15 minutes, so a poll within the same
        /// step repeats the last one. Counted in ``Progress/repeatedThisTick``.
        public var skipRepeats: Bool
        /// The clock of the schedule (a virtual one in tests).
        public var clock: any MeteoClock

        public init(topic: String, places: [Place], interval: Duration, ticks: Int? = nil, publishBatch: Int = 5000,
                    inFlightPolls: Int = 8, skipRepeats: Bool = false, clock: any MeteoClock = SystemClock()) {
            self.topic = topic
            self.places = places
            self.interval = interval
            self.ticks = ticks
            self.publishBatch = publishBatch
            self.inFlightPolls = max(1, inFlightPolls)
            self.skipRepeats = skipRepeats
            self.clock = clock
        }
    }

    /// Counts since start, for summaries and tests.
    public struct Stats: Sendable, Hashable {
        public var ticks = 0
        public var polled = 0
        public var published = 0
        public var sourceFailures = 0
        public var failedPolls = 0
        /// Observations skipped as repeats of the last one of their place (``Configuration/skipRepeats``).
        public var repeated = 0
    }

    /// One line of progress, after each tick.
    public struct Progress: Sendable {
        public var tick: Int
        public var ticks: Int?
        public var publishedThisTick: Int
        public var failuresThisTick: Int
        public var repeatedThisTick: Int
        public var stats: Stats
    }

    private let source: any WeatherSource
    private let publisher: any EventPublisher
    private let configuration: Configuration
    private let logger: Logger
    private let onProgress: (@Sendable (Progress) -> Void)?
    private let onAcknowledged: (@Sendable (ArraySlice<Observation>) -> Void)?
    private let state = Mutex(Stats())
    /// The observed time of the last acknowledged observation of each place (``Configuration/skipRepeats``).
    private let acknowledgedTimes = Mutex<[String: Date]>([:])
    private let publishedCounter: Counter
    private let failureCounter: Counter

    public init(source: any WeatherSource, publisher: any EventPublisher, configuration: Configuration,
                logger: Logger, onProgress: (@Sendable (Progress) -> Void)? = nil,
                onAcknowledged: (@Sendable (ArraySlice<Observation>) -> Void)? = nil) {
        self.source = source
        self.publisher = publisher
        self.configuration = configuration
        self.logger = logger
        self.onProgress = onProgress
        self.onAcknowledged = onAcknowledged
        self.publishedCounter = Counter(label: "meteo_ingest_events_published_total", dimensions: [("source", source.name)])
        self.failureCounter = Counter(label: "meteo_ingest_poll_failures_total", dimensions: [("source", source.name)])
    }

    public var stats: Stats { state.withLock { $0 } }

    public func run() async throws {
        var tick = 0
        let clock = configuration.clock
        let source = self.source
        let places = configuration.places
        let chunkSize = configuration.publishBatch
        // With no pause between polls (`--interval 0`: a replay or a backfill as fast as it
        // goes), the next poll runs and its events are encoded while this one's events wait for
        // their acknowledgements. Publishing itself stays in tick order, so a place's events
        // stay in order on the bus.
        var sent: [Sent] = []
        try await withThrowingTaskGroup(of: Prepared.self) { prefetch in
            var prefetched = false
            defer { prefetch.cancelAll() }
            while !Task.isCancelled && !Task.isShuttingDownGracefully {
                if let ticks = configuration.ticks, tick >= ticks { break }
                tick += 1
                let started = clock.now()
                do {
                    let batch: Prepared
                    if prefetched {
                        // Takes the pending poll, its result or its error, out of the group.
                        prefetched = false
                        if let next = try await prefetch.next() {
                            batch = next
                        } else {
                            batch = Self.prepare(withoutRepeats(try await Self.poll(source, places)), chunkSize: chunkSize)
                        }
                    } else {
                        batch = Self.prepare(withoutRepeats(try await Self.poll(source, places)), chunkSize: chunkSize)
                    }
                    let another = configuration.ticks.map { tick < $0 } ?? true
                    if another && configuration.interval == .zero && !configuration.skipRepeats {
                        prefetch.addTask { Self.prepare(self.withoutRepeats(try await Self.poll(source, places)), chunkSize: chunkSize) }
                        prefetched = true
                    }
                    sent.append(try await send(batch, tick: tick))
                } catch {
                    // SIGTERM during a poll (a slow or failing API, retrying with backoff) ends
                    // the poll at once; nothing of it was handed to the bus.
                    if Task.isShuttingDownGracefully || Task.isCancelled {
                        logger.notice("poll abandoned: shutting down", metadata: [LoggingKeys.source: "\(source.name)"])
                        break
                    }
                    // A poll prefetched for the next tick stays pending: it is that tick's poll.
                    pollFailed(error)
                    if configuration.ticks != nil {
                        try await settle(&sent, keeping: 0)
                        throw error
                    }
                }
                // Repeats are told by the acknowledged times, so with skipRepeats each poll is
                // acknowledged before the next is prepared.
                try await settle(&sent, keeping: configuration.skipRepeats ? 0 : configuration.inFlightPolls - 1)
                if let ticks = configuration.ticks, tick >= ticks { break }
                let next = started.addingTimeInterval(configuration.interval.seconds)
                if next > clock.now() {
                    // Waiting for the next tick: settle what is in flight first.
                    try await settle(&sent, keeping: 0)
                    do {
                        try await cancelWhenGracefulShutdown { try await clock.sleep(until: next) }
                    } catch {
                        break  // shutdown requested while waiting: nothing is in flight
                    }
                }
            }
        }
        // Shutdown or the last tick: every poll handed over is acknowledged before closing.
        try await settle(&sent, keeping: 0)
        try await publisher.close()
    }

    /// A poll handed to the bus, with the acknowledgements still to wait for.
    struct Sent {
        var prepared: Prepared
        var tick: Int
        var deliveries: [PendingDelivery]
        /// An error of handing it over, reported when it is settled.
        var failure: (any Error)?
    }

    /// One poll of the source, given up when a graceful shutdown starts.
    static func poll(_ source: any WeatherSource, _ places: [Place]) async throws -> SourceBatch {
        try await cancelWhenGracefulShutdown { try await source.poll(places) }
    }

    private func pollFailed(_ error: any Error) {
        failureCounter.increment()
        state.withLock { $0.failedPolls += 1 }
        logger.error("poll failed", metadata: [LoggingKeys.source: "\(source.name)", LoggingKeys.error: "\(error)"])
    }

    /// Waits, oldest first, for the acknowledgements of all but the last `keeping` polls in
    /// flight, counting and reporting each. A poll that was not acknowledged counts as failed;
    /// with a fixed number of ticks that ends the run, once the polls after it are settled too.
    private func settle(_ sent: inout [Sent], keeping: Int) async throws {
        var firstError: (any Error)?
        // After a failure that ends the run, the polls after it are settled too, so that
        // nothing handed to the bus is left unacknowledged.
        while sent.count > max(0, keeping) || (firstError != nil && !sent.isEmpty) {
            let poll = sent.removeFirst()
            do {
                try await finish(poll)
            } catch {
                pollFailed(error)
                if configuration.ticks != nil && firstError == nil { firstError = error }
            }
        }
        if let firstError { throw firstError }
    }

    /// Polls once and publishes everything it got. Public for `meteo ingest --once` and tests.
    public func pollOnce(tick: Int) async throws {
        try await finish(try await send(Self.prepare(withoutRepeats(try await source.poll(configuration.places)), chunkSize: configuration.publishBatch), tick: tick))
    }

    /// The batch without the observations that repeat the last acknowledged one of their place.
    func withoutRepeats(_ batch: SourceBatch) -> SourceBatch {
        guard configuration.skipRepeats else { return batch }
        var out = batch
        acknowledgedTimes.withLock { last in
            out.observations = batch.observations.filter { o in
                guard let time = last[o.placeID] else { return true }
                return o.observedAt > time
            }
        }
        out.repeated += batch.observations.count - out.observations.count
        return out
    }

    /// A poll's result with its events encoded, in publish chunks.
    struct Prepared: Sendable {
        var batch: SourceBatch
        var chunks: [[OutgoingMessage]]
    }

    static func prepare(_ batch: SourceBatch, chunkSize: Int) -> Prepared {
        let size = max(1, chunkSize)
        var chunks: [[OutgoingMessage]] = []
        chunks.reserveCapacity((batch.observations.count + size - 1) / size)
        var start = 0
        while start < batch.observations.count {
            let end = min(start + size, batch.observations.count)
            chunks.append(batch.observations[start..<end].map { OutgoingMessage(key: $0.placeID, value: EventCodec.encode($0)) })
            start = end
        }
        return Prepared(batch: batch, chunks: chunks)
    }

    /// Hands one poll's events to the bus, in chunks, in order, without waiting for their
    /// acknowledgements. A chunk the bus refuses stops the handing over: the poll fails when
    /// it is settled, after the chunks handed over before it.
    private func send(_ prepared: Prepared, tick: Int) async throws -> Sent {
        for failure in prepared.batch.failures {
            logger.warning("source could not report a place", metadata: [
                LoggingKeys.placeID: "\(failure.placeID ?? "?")", LoggingKeys.reason: "\(failure.reason)",
            ])
        }
        var sent = Sent(prepared: prepared, tick: tick, deliveries: [])
        for chunk in prepared.chunks {
            do {
                sent.deliveries.append(try await publisher.send(chunk, to: configuration.topic))
            } catch {
                sent.failure = error
                break
            }
        }
        return sent
    }

    /// Waits for one poll's acknowledgements, then counts it and reports its progress.
    private func finish(_ sent: Sent) async throws {
        var published = 0
        var failure = sent.failure
        // Delivery i is chunk i: its observations start where the chunks before it end.
        var offset = 0
        let observations = sent.prepared.batch.observations
        for (i, delivery) in sent.deliveries.enumerated() {
            let chunkCount = sent.prepared.chunks[i].count
            defer { offset += chunkCount }
            do {
                try await delivery.delivered()
                published += delivery.count
                state.withLock { $0.published += delivery.count }
                let acknowledged = observations[offset..<(offset + chunkCount)]
                if configuration.skipRepeats {
                    acknowledgedTimes.withLock { last in
                        for o in acknowledged where last[o.placeID].map({ o.observedAt > $0 }) ?? true { last[o.placeID] = o.observedAt }
                    }
                }
                onAcknowledged?(acknowledged)
            } catch {
                if failure == nil { failure = error }
            }
        }
        publishedCounter.increment(by: published)
        if let failure { throw failure }
        let batch = sent.prepared.batch
        let stats = state.withLock { s -> Stats in
            s.ticks += 1
            s.polled += batch.observations.count
            s.sourceFailures += batch.failures.count
            s.repeated += batch.repeated
            return s
        }
        logger.info("published", metadata: [LoggingKeys.count: "\(published)", LoggingKeys.topic: "\(configuration.topic)"])
        onProgress?(Progress(tick: sent.tick, ticks: configuration.ticks, publishedThisTick: published,
                             failuresThisTick: batch.failures.count, repeatedThisTick: batch.repeated, stats: stats))
    }
}
