import Foundation
import Logging
import MeteoCore
import Metrics
import ServiceLifecycle
import Synchronization

/// Polls a source on a schedule and publishes each observation as a keyed event on the bus.
///
/// An event counts as published only once the bus has acknowledged it (`publish` returned).
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

        public init(topic: String, places: [Place], interval: Duration, ticks: Int? = nil, publishBatch: Int = 5000) {
            self.topic = topic
            self.places = places
            self.interval = interval
            self.ticks = ticks
            self.publishBatch = publishBatch
        }
    }

    /// Counts since start, for summaries and tests.
    public struct Stats: Sendable, Hashable {
        public var ticks = 0
        public var polled = 0
        public var published = 0
        public var sourceFailures = 0
        public var failedPolls = 0
    }

    /// One line of progress, after each tick.
    public struct Progress: Sendable {
        public var tick: Int
        public var ticks: Int?
        public var publishedThisTick: Int
        public var failuresThisTick: Int
        public var stats: Stats
    }

    private let source: any WeatherSource
    private let publisher: any EventPublisher
    private let configuration: Configuration
    private let logger: Logger
    private let onProgress: (@Sendable (Progress) -> Void)?
    private let state = Mutex(Stats())
    private let publishedCounter: Counter
    private let failureCounter: Counter

    public init(source: any WeatherSource, publisher: any EventPublisher, configuration: Configuration,
                logger: Logger, onProgress: (@Sendable (Progress) -> Void)? = nil) {
        self.source = source
        self.publisher = publisher
        self.configuration = configuration
        self.logger = logger
        self.onProgress = onProgress
        self.publishedCounter = Counter(label: "meteo_ingest_events_published_total", dimensions: [("source", source.name)])
        self.failureCounter = Counter(label: "meteo_ingest_poll_failures_total", dimensions: [("source", source.name)])
    }

    public var stats: Stats { state.withLock { $0 } }

    public func run() async throws {
        var tick = 0
        let clock = ContinuousClock()
        let source = self.source
        let places = configuration.places
        // With no pause between polls (`--interval 0`: a replay or a backfill as fast as it
        // goes), the next poll runs while this one's events wait for their acknowledgements.
        // Publishing itself stays in tick order, so a place's events stay in order on the bus.
        try await withThrowingTaskGroup(of: SourceBatch.self) { prefetch in
            var prefetched = false
            defer { prefetch.cancelAll() }
            while !Task.isCancelled && !Task.isShuttingDownGracefully {
                if let ticks = configuration.ticks, tick >= ticks { break }
                tick += 1
                let started = clock.now
                do {
                    let batch: SourceBatch
                    if prefetched {
                        // Takes the pending poll, its result or its error, out of the group.
                        prefetched = false
                        if let next = try await prefetch.next() { batch = next } else { batch = try await source.poll(places) }
                    } else {
                        batch = try await source.poll(places)
                    }
                    let another = configuration.ticks.map { tick < $0 } ?? true
                    if another && configuration.interval == .zero {
                        prefetch.addTask { try await source.poll(places) }
                        prefetched = true
                    }
                    try await publish(batch, tick: tick)
                } catch {
                    // A poll prefetched for the next tick stays pending: it is that tick's poll.
                    failureCounter.increment()
                    state.withLock { $0.failedPolls += 1 }
                    logger.error("poll failed", metadata: [LoggingKeys.source: "\(source.name)", LoggingKeys.error: "\(error)"])
                    if configuration.ticks != nil { throw error }
                }
                if let ticks = configuration.ticks, tick >= ticks { break }
                let next = started.advanced(by: configuration.interval)
                if next > clock.now {
                    do {
                        try await cancelWhenGracefulShutdown { try await Task.sleep(until: next, clock: clock) }
                    } catch {
                        break  // shutdown requested while waiting: nothing is in flight
                    }
                }
            }
        }
        try await publisher.close()
    }

    /// Polls once and publishes everything it got. Public for `meteo ingest --once` and tests.
    public func pollOnce(tick: Int) async throws {
        try await publish(try await source.poll(configuration.places), tick: tick)
    }

    /// Publishes one poll's observations, in chunks, each acknowledged before the next.
    private func publish(_ batch: SourceBatch, tick: Int) async throws {
        for failure in batch.failures {
            logger.warning("source could not report a place", metadata: [
                LoggingKeys.placeID: "\(failure.placeID ?? "?")", LoggingKeys.reason: "\(failure.reason)",
            ])
        }
        var published = 0
        var chunk: [OutgoingMessage] = []
        chunk.reserveCapacity(min(configuration.publishBatch, batch.observations.count))
        for observation in batch.observations {
            chunk.append(OutgoingMessage(key: observation.placeID, value: EventCodec.encode(observation)))
            if chunk.count == configuration.publishBatch {
                try await publisher.publish(chunk, to: configuration.topic)
                published += chunk.count
                state.withLock { $0.published += chunk.count }
                chunk.removeAll(keepingCapacity: true)
            }
        }
        if !chunk.isEmpty {
            try await publisher.publish(chunk, to: configuration.topic)
            published += chunk.count
            state.withLock { $0.published += chunk.count }
        }
        publishedCounter.increment(by: published)
        let stats = state.withLock { s -> Stats in
            s.ticks += 1
            s.polled += batch.observations.count
            s.sourceFailures += batch.failures.count
            return s
        }
        logger.info("published", metadata: [LoggingKeys.count: "\(published)", LoggingKeys.topic: "\(configuration.topic)"])
        onProgress?(Progress(tick: tick, ticks: configuration.ticks, publishedThisTick: published,
                             failuresThisTick: batch.failures.count, stats: stats))
    }
}
