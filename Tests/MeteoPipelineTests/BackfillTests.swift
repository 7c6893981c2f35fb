import Foundation
import Logging
import MeteoCore
import MeteoEmbedded
import MeteoPipeline
import MeteoSources
import MeteoStub
import Synchronization
import Testing

/// The backfill service against the weather-API stub in process, over the real embedded log
/// and store, and on a virtual clock shared by the stub and the quota ledger where quotas
/// matter.
@Suite("Backfill: history through the pipeline, inside the quota")
struct BackfillTests {
    let logger = Logger(label: "backfill-test")
    let topic = "weather.observations"

    func tempDir() -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("meteo-backfill-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    func places(_ n: Int) throws -> [Place] {
        Array(try PlaceCatalogue.bundled().places(in: Region.builtin).prefix(n))
    }

    func configuration(_ stub: WeatherAPIStub) -> MeteoConfiguration {
        var c = MeteoConfiguration()
        c.archiveURL = stub.archiveURL
        c.openMeteoURL = stub.forecastURL
        c.httpTimeout = .seconds(60)
        return c
    }

    /// Counts what it is given and acknowledges at once: for the tests of quotas, where the
    /// bus is beside the point.
    final class CountingPublisher: EventPublisher {
        let count = Mutex(0)
        func publish(_ messages: [OutgoingMessage], to topic: String) async throws { count.withLock { $0 += messages.count } }
        func close() async throws {}
    }

    func checkpoint(_ dir: URL, _ places: [Place], first: Int64, last: Int64) throws -> BackfillCheckpoint {
        try BackfillCheckpoint(directory: dir.appendingPathComponent("backfill"),
                               request: .init(since: BackfillPlanner.date(first), until: BackfillPlanner.date(last), places: places.count, fillGaps: false),
                               placeIDs: places.map(\.id))
    }

    func byID(_ places: [Place]) -> [String: Place] { Dictionary(uniqueKeysWithValues: places.map { ($0.id, $0) }) }

    func runSink(_ log: EmbeddedLog, _ store: SQLiteStore) async throws -> Sink.Stats {
        let sink = Sink(consumer: try log.consumer(group: "g", topic: topic), writer: store,
                        configuration: .init(batchSize: 5000, pollTimeout: .milliseconds(20), stopWhenIdle: { true }), logger: logger)
        try await sink.run()
        return sink.stats
    }

    @Test func liveIngestAndBackfillOfTheSameHoursNeverDuplicate() async throws {
        let clock = VirtualClock(start: try #require(ISO8601.date(from: "2026-12-07T10:00:00Z")))
        var options = WeatherAPIStub.Options()
        options.clock = clock
        try await WeatherAPIStub.with(options) { stub in
            let dir = tempDir()
            defer { try? FileManager.default.removeItem(at: dir) }
            let log = try EmbeddedLog.open(dataDir: dir, logger: logger)
            let store = try SQLiteStore.open(dataDir: dir, logger: logger)
            let selection = try places(3)
            let quota = try QuotaLedger(plan: .openMeteoFree, directory: dir.appendingPathComponent("quota"), clock: clock, logger: logger)
            let live = OpenMeteoSource(configuration: configuration(stub), quota: quota, logger: logger)
            // Two live polls, at 10:00 and at 11:00 (Open-Meteo's current block is on the hour then).
            for poll in 0..<2 {
                if poll > 0 { clock.advance(by: 3600) }
                let ingestor = Ingestor(source: live, publisher: try log.publisher(),
                                        configuration: .init(topic: topic, places: selection, interval: .zero, ticks: 1, clock: clock), logger: logger)
                try await ingestor.run()
                #expect(ingestor.stats.published == 3)
            }
            let liveStats = try await runSink(log, store)
            #expect(liveStats.inserted == 6)

            // A backfill of today and the day before: hours 00:00 … 11:00 today overlap the live ones.
            let today = BackfillPlanner.day(clock.now())
            let chunks = OpenMeteoHistory.planner(.openMeteoFree).chunks(
                selection.map { .init(placeID: $0.id, firstDay: today - 1, lastDay: today) }, today: today)
            let backfill = Backfill(
                source: OpenMeteoArchiveSource(configuration: configuration(stub), quota: quota, logger: logger),
                publisher: try log.publisher(), checkpoint: try checkpoint(dir, selection, first: today - 1, last: today),
                configuration: .init(topic: topic, chunks: chunks, places: byID(selection), clock: clock), logger: logger)
            try await backfill.run()
            #expect(backfill.stats.published == 3 * (24 + 12))
            let backfilled = try await runSink(log, store)
            #expect(backfilled.inserted == 3 * (24 + 12) - 6)
            #expect(backfilled.updated == 6, "the live hours were overwritten, not duplicated")
            #expect(try await store.count() == 3 * 36)
            let rows = try await store.observations(ObservationQuery(placeIDs: selection.map(\.id)))
            #expect(Set(rows.map(\.key)).count == rows.count)
            let hours = try await store.observedHours(ObservationQuery(placeIDs: selection.map(\.id)))
            #expect(hours.count == 3 && hours.values.allSatisfy { $0 == [(today - 1) * 24..<(today * 24 + 12)] })
            // The last writer's label: the backfilled hours say where they came from.
            #expect(rows.allSatisfy { $0.source == OpenMeteoArchiveSource.recentLabel })
            try await log.close()
            try await store.close()
        }
    }

    @Test func aBackfillBiggerThanAMinuteStaysInsideTheFreePlan() async throws {
        let start = try #require(ISO8601.date(from: "2026-12-07T10:00:20Z"))
        let clock = VirtualClock(start: start)
        var options = WeatherAPIStub.Options()
        options.clock = clock
        try await WeatherAPIStub.with(options) { stub in
            let dir = tempDir()
            defer { try? FileManager.default.removeItem(at: dir) }
            let selection = try places(300)
            let today = BackfillPlanner.day(clock.now())
            let planner = OpenMeteoHistory.planner(.openMeteoFree)
            let chunks = planner.chunks(selection.map { .init(placeID: $0.id, firstDay: today - 60, lastDay: today - 30) }, today: today)
            let calls = planner.estimate(chunks).calls
            #expect(calls > 600, "more than one minute of the free plan: \(calls) calls")
            let quota = try QuotaLedger(plan: .openMeteoFree, directory: nil, clock: clock, logger: logger)
            let publisher = CountingPublisher()
            let backfill = Backfill(
                source: OpenMeteoArchiveSource(configuration: configuration(stub), quota: quota, logger: logger),
                publisher: publisher, checkpoint: try checkpoint(dir, selection, first: today - 60, last: today - 30),
                configuration: .init(topic: topic, chunks: chunks, places: byID(selection), clock: clock), logger: logger)
            try await backfill.run()
            #expect(publisher.count.withLock { $0 } == 300 * 31 * 24)
            let stats = stub.openMeteoQuota.stats
            #expect(stats.totalRefused == 0)
            #expect(stats.accepted == chunks.count)
            #expect(abs(stats.weight - calls) < 1e-6, "the stub counted what the planner planned")
            for (window, limit) in ProviderPlan.openMeteoFree.limits {
                #expect((stats.peak[window] ?? 0) <= limit, "\(window): \(stats.peak[window] ?? 0) > \(limit)")
            }
            // It had to wait for the minute to pass: the virtual clock moved on.
            #expect(clock.now().timeIntervalSince(start) >= 60)
            #expect(abs(backfill.stats.calls - calls) < 1e-6)
        }
    }

    @Test func anotherClientSpentTheDayTheBackfillWaitsForTheUTCDayWithoutARetryStorm() async throws {
        let start = try #require(ISO8601.date(from: "2026-12-07T22:00:00Z"))
        let clock = VirtualClock(start: start)
        var options = WeatherAPIStub.Options()
        options.clock = clock
        try await WeatherAPIStub.with(options) { stub in
            let dir = tempDir()
            defer { try? FileManager.default.removeItem(at: dir) }
            // Another client on the same address has spent nearly all of today's allowance.
            stub.openMeteoQuota.spend(9_900, in: .day, at: start)
            let selection = try places(100)
            let today = BackfillPlanner.day(start)
            let chunks = OpenMeteoHistory.planner(.openMeteoFree).chunks(
                selection.map { .init(placeID: $0.id, firstDay: today - 40, lastDay: today - 10) }, today: today)
            #expect(chunks.count == 1)
            let quota = try QuotaLedger(plan: .openMeteoFree, directory: dir.appendingPathComponent("quota"), clock: clock, logger: logger)
            let publisher = CountingPublisher()
            let backfill = Backfill(
                source: OpenMeteoArchiveSource(configuration: configuration(stub), quota: quota, logger: logger),
                publisher: publisher, checkpoint: try checkpoint(dir, selection, first: today - 40, last: today - 10),
                configuration: .init(topic: topic, chunks: chunks, places: byID(selection), clock: clock), logger: logger)
            try await backfill.run()
            #expect(publisher.count.withLock { $0 } == 100 * 31 * 24)
            // One refusal, then one request after the UTC day turned: no storm.
            #expect(stub.stats.requests["/v1/archive"] == 2)
            #expect(stub.openMeteoQuota.stats.refused[.day] == 1)
            let (refusedAt, _) = try #require(stub.openMeteoQuota.stats.log.last)
            #expect(refusedAt >= QuotaWindow.day.end(of: start))
            #expect(refusedAt < QuotaWindow.day.end(of: start).addingTimeInterval(600))
        }
    }

    @Test func theCheckpointSkipsWhatWasDoneAndKeepsIncompleteChunksForTheNextRun() async throws {
        try await WeatherAPIStub.with { stub in
            let dir = tempDir()
            defer { try? FileManager.default.removeItem(at: dir) }
            let log = try EmbeddedLog.open(dataDir: dir, logger: logger)
            let selection = try places(2)
            let now = Date()
            let today = BackfillPlanner.day(now)
            // Archive days, and the recent days up to today: today is not over, so its chunk
            // is asked again by the next run.
            let chunks = OpenMeteoHistory.planner(.openMeteoFree).chunks(
                selection.map { .init(placeID: $0.id, firstDay: today - 8, lastDay: today) }, today: today)
            #expect(chunks.map(\.endpoint) == [.archive, .recent])
            func run() async throws -> Backfill.Stats {
                let backfill = Backfill(
                    source: OpenMeteoArchiveSource(configuration: configuration(stub), logger: logger),
                    publisher: try log.publisher(), checkpoint: try checkpoint(dir, selection, first: today - 8, last: today),
                    configuration: .init(topic: topic, chunks: chunks, places: byID(selection)), logger: logger)
                try await backfill.run()
                return backfill.stats
            }
            let first = try await run()
            #expect(first.requests == 2 && first.done == 1 && first.incomplete == 1 && first.skipped == 0)
            let second = try await run()
            #expect(second.skipped == 1 && second.requests == 1 && second.done == 0 && second.incomplete == 1)
            #expect(stub.stats.requests["/v1/archive"] == 1)
            #expect(stub.stats.requests["/v1/forecast"] == 2)
            // The file: JSON with the archive chunk's key.
            let file = try checkpoint(dir, selection, first: today - 8, last: today).url
            let json = try JSONValue.parse(Array(try Data(contentsOf: file)))
            guard case .object(let done)? = json["done"] else { Issue.record("no done object in \(file.path)"); return }
            #expect(Array(done.keys) == [chunks[0].key])
            #expect(json["request"]?["places"] == .number(2))
            try await log.close()
        }
    }
}
