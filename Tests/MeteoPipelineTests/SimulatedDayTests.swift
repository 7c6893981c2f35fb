import Foundation
import Logging
import MeteoCore
import MeteoEmbedded
import MeteoPipeline
import MeteoSources
import MeteoStub
import Testing

/// Meteo's default configuration polling the Open-Meteo stub, which enforces the free plan's
/// weighted quota, for simulated days on a virtual clock that the ingestor's schedule, the quota
/// ledger and the stub share: what would break against the real service breaks here.
@Suite("Simulated days against the quota-enforcing Open-Meteo stub")
struct SimulatedDayTests {
    let logger = Logger(label: "simulated-day")
    let topic = "weather.observations"

    func tempDir() -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("meteo-day-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    struct Run {
        var ingestor: Ingestor.Stats
        var stored: Int
        var stub: StubQuota.Stats
        var requests: Int
        var elapsed: TimeInterval
    }

    /// Polls the ten regions `ticks` times at `interval` (nil: `--interval auto`), then sinks.
    func run(ticks: Int, interval: Duration?, start: Date) async throws -> Run {
        let dir = tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let clock = VirtualClock(start: start)
        var options = WeatherAPIStub.Options()
        options.clock = clock
        return try await WeatherAPIStub.with(options) { stub in
            let config = try MeteoConfiguration.resolve(ConfigLayers(flags: [
                "open-meteo-url": stub.forecastURL, "data-dir": dir.path, "http-timeout": "20s",
            ]))
            let plan = try #require(config.providerPlan)
            #expect(plan == .openMeteoFree)
            let places = try config.selectedPlaces(in: PlaceCatalogue.bundled())
            #expect(places.count == 1_630)
            let auto = try #require(OpenMeteoSource.planner(plan).shortestInterval(places: places.count))
            #expect(auto == 6 * 3_600)
            let chosen = interval ?? .seconds(auto)
            let ledger = try #require(try SourceFactory.quotaLedger(config: config, clock: clock, logger: logger))
            let source = try SourceFactory.make(config: config, quota: ledger, logger: logger)
            let log = try EmbeddedLog.open(dataDir: dir, logger: logger)
            let ingestor = Ingestor(source: source, publisher: try log.publisher(),
                                    configuration: .init(topic: topic, places: places, interval: chosen, ticks: ticks,
                                                         skipRepeats: true, clock: clock),
                                    logger: logger)
            try await ingestor.run()
            let elapsed = clock.now().timeIntervalSince(start)
            let store = try SQLiteStore.open(dataDir: dir, logger: logger)
            let sink = Sink(consumer: try log.consumer(group: "g", topic: topic), writer: store,
                            configuration: .init(batchSize: 20_000, pollTimeout: .milliseconds(20), stopWhenIdle: { true }),
                            logger: logger)
            try await sink.run()
            let stored = try await store.count()
            try await store.close()
            try await log.close()
            return Run(ingestor: ingestor.stats, stored: stored, stub: stub.openMeteoQuota.stats,
                       requests: stub.stats.requests["/v1/forecast"] ?? 0, elapsed: elapsed)
        }
    }

    func expectNeverOver(_ stats: StubQuota.Stats) {
        for (window, limit) in ProviderPlan.openMeteoFree.limits {
            #expect((stats.peak[window] ?? 0) <= limit, "the \(window) window held \(stats.peak[window] ?? 0) calls, over \(limit)")
        }
    }

    @Test func theDefaultConfigurationForADay() async throws {
        // --interval auto: 6 h for 1,630 places, so four polls make the day.
        let start = ISO8601.date(from: "2026-12-07T00:07:13Z")!
        let run = try await run(ticks: 4, interval: nil, start: start)
        #expect(run.stub.totalRefused == 0, "429s: \(run.stub.refused)")
        expectNeverOver(run.stub)
        #expect(run.elapsed < 86_400 && run.elapsed >= 18 * 3600)
        // Four polls of four requests, 2,119 calls each: 8,476 calls in the day.
        #expect(run.requests == 16 && run.stub.accepted == 16)
        #expect(abs(run.stub.weight - 4 * 2_119) < 1e-6)
        #expect(abs((run.stub.peak[.day] ?? 0) - 8_476) < 1e-6)
        // Every poll is a new 15-minute step: 4 × 1,630 observations, each stored once.
        #expect(run.ingestor.published == 4 * 1_630)
        #expect(run.ingestor.repeated == 0)
        #expect(run.stored == 4 * 1_630)
        #expect(run.ingestor.failedPolls == 0)
    }

    @Test func forcingTenMinutesIsHeldBackByTheQuotaNotRefused() async throws {
        // --over-quota --interval 10m: ten polls ask for 21,190 calls, which the free plan's
        // 10,000 a day spreads over three UTC days. Nothing is refused and no window overflows.
        let start = ISO8601.date(from: "2026-12-07T22:50:00Z")!
        let run = try await run(ticks: 10, interval: .seconds(600), start: start)
        #expect(run.stub.totalRefused == 0, "429s: \(run.stub.refused)")
        expectNeverOver(run.stub)
        #expect(run.stub.accepted == 40)
        #expect(abs(run.stub.weight - 10 * 2_119) < 1e-6)
        // The days: 7 Dec from 22:50 (two hours of 5,000), 8 Dec (10,000), 9 Dec (the rest).
        #expect(run.elapsed > 86_400 + 3_600)
        #expect(run.elapsed < 3 * 86_400)
        // Each observation is published once; polls inside one 15-minute step repeat the last
        // one, and those repeats are counted, not published again.
        #expect(run.ingestor.published + run.ingestor.repeated == 10 * 1_630)
        #expect(run.stored == run.ingestor.published)
        #expect(run.ingestor.failedPolls == 0)
    }
}
