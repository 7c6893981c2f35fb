import Foundation
import Logging
import MeteoCore
@testable import MeteoEmbedded
import MeteoStub
import MeteoTestSupport
import Testing

/// `meteo backfill`, `meteo gaps` and `meteo plan` as processes, against the weather-API stub
/// running in the test process.
// Serialized: each test runs meteo processes that keep the CPU and the disk busy for seconds;
// run side by side they slowed the rest of the test run past its time-outs.
@Suite("meteo backfill and gaps, as processes", .meteoBinary, .serialized)
struct BackfillCommandTests {
    let logger = Logger(label: "backfill-cli-test")

    /// Days the archive holds (older than its lag), from `age` days ago, `days` days.
    func archiveDays(age: Int64, days: Int64) -> (first: Int64, last: Int64, since: String, until: String) {
        let today = BackfillPlanner.day(Date())
        let first = today - age
        let last = first + days - 1
        return (first, last, BackfillPlanner.date(first), BackfillPlanner.date(last))
    }

    func stubOptions(quota: Bool) -> WeatherAPIStub.Options {
        var options = WeatherAPIStub.Options()
        if !quota { options.openMeteoLimits = [:] }
        return options
    }

    func storeCount(_ dir: URL) async throws -> Int {
        let store = try SQLiteStore.open(dataDir: dir, logger: logger)
        defer { Task { try? await store.close() } }
        return try await store.count()
    }

    func json(_ text: String) throws -> JSONValue {
        try JSONValue.parse(text.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    func number(_ value: JSONValue?) -> Double? {
        if case .number(let n)? = value { return n }
        return nil
    }

    @Test func strasbourgForThreeDaysThenARunThatAddsNothing() async throws {
        try await WeatherAPIStub.with(stubOptions(quota: true)) { stub in
            let dir = MeteoProcess.temporaryDataDir()
            defer { try? FileManager.default.removeItem(at: dir) }
            let days = archiveDays(age: 20, days: 3)
            let arguments = ["backfill", "--archive-url", stub.archiveURL, "--since", days.since, "--until", days.until,
                             "--places", "Strasbourg", "--data-dir", dir.path]
            let first = try await MeteoProcess.run(arguments)
            #expect(first.status == 0, "\(first.stderr)")
            #expect(first.stdout.contains("published 72 events"), "\(first.stdout)")
            #expect(first.stderr.contains("3/3 place-days"), "\(first.stderr)")
            let sink = try await MeteoProcess.run(["sink", "--until-idle", "--data-dir", dir.path])
            #expect(sink.status == 0, "\(sink.stderr)")
            #expect(try await storeCount(dir) == 24 * 3)

            let again = try await MeteoProcess.run(arguments)
            #expect(again.status == 0, "\(again.stderr)")
            #expect(again.stdout.contains("nothing to backfill"), "\(again.stdout)")
            #expect(again.stdout.contains("published 0 events"))
            #expect(stub.stats.requests["/v1/archive"] == 1, "the second run asked for nothing")
            let sinkAgain = try await MeteoProcess.run(["sink", "--until-idle", "--data-dir", dir.path])
            #expect(sinkAgain.status == 0)
            #expect(SinkSummary(sinkAgain.stdout).consumed == 0)
            #expect(try await storeCount(dir) == 24 * 3)

            // The stored hours are Strasbourg's, on the hour, labelled as the archive's.
            let query = try await MeteoProcess.run(["query", "--place", "Strasbourg", "--data-dir", dir.path, "--format", "json"])
            let answer = try json(query.stdout)
            #expect(answer["source"] == .string("open-meteo-archive"))
            #expect(answer["visibility_m"] == .null)
        }
    }

    /// The ten regions' 1,630 places over 30 days, killed with SIGKILL once the checkpoint
    /// holds some of its requests, then resumed.
    @Test(.timeLimit(.minutes(20)))
    func theTenRegionsForThirtyDaysSurviveKillNineAndResume() async throws {
        try await WeatherAPIStub.with(stubOptions(quota: false)) { stub in
            let dir = MeteoProcess.temporaryDataDir()
            defer { try? FileManager.default.removeItem(at: dir) }
            let (days, arguments, (process, _, _), checkpoints) = try await startTenRegions(stub, dir, untilRecorded: 3)
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            #expect(process.terminationReason == .uncaughtSignal, "the backfill had finished before the kill")
            let recorded = Self.recordedChunks(in: checkpoints)
            #expect(recorded >= 3 && recorded < 12, "killed with \(recorded) of 12 requests recorded")

            let resumed = try await MeteoProcess.run(arguments)
            #expect(resumed.status == 0, "\(resumed.stderr)")
            let summary = try json(resumed.stdout)
            #expect(summary["status"] == .string("done"))
            #expect(number(summary["requests_done_before"]) == Double(recorded))
            #expect(number(summary["requests"]) == Double(12 - recorded))
            #expect(number(summary["planned"]?["observations"]) == Double(1_630 * 720))

            let sink = try await MeteoProcess.run(["sink", "--until-idle", "--data-dir", dir.path])
            #expect(sink.status == 0, "\(sink.stderr)")
            let store = try SQLiteStore.open(dataDir: dir, logger: logger)
            #expect(try await store.count() == 1_630 * 720)
            // Each key once: every place has exactly the 720 hours, in one run.
            let hours = try await store.observedHours(ObservationQuery())
            #expect(hours.count == 1_630)
            #expect(hours.values.allSatisfy { $0 == [days.first * 24..<(days.last + 1) * 24] })
            try await store.close()

            let gaps = try await MeteoProcess.run(["gaps", "--since", days.since, "--until", days.until, "--data-dir", dir.path, "--format", "json"])
            #expect(gaps.status == 0, "\(gaps.stderr)")
            let report = try json(gaps.stdout)
            #expect(number(report["missing_hours"]) == 0)
            #expect(number(report["places"]) == 1_630)
            #expect(report["gaps"] == .array([]))
        }
    }

    /// SIGTERM: the request on its way is abandoned, what the bus was given is acknowledged and
    /// recorded, and the process exits normally; what it published is exactly what it recorded.
    @Test(.timeLimit(.minutes(10)))
    func sigtermStopsWithEverythingPublishedRecorded() async throws {
        try await WeatherAPIStub.with(stubOptions(quota: false)) { stub in
            let dir = MeteoProcess.temporaryDataDir()
            defer { try? FileManager.default.removeItem(at: dir) }
            // 10 days: four requests of up to 416 places (100,000 rows each).
            let (_, _, (process, out, err), checkpoints) = try await startTenRegions(stub, dir, days: 10, untilRecorded: 2)
            kill(process.processIdentifier, SIGTERM)
            let stdout = try await Self.readToEnd(out)
            let stderr = try await Self.readToEnd(err)
            process.waitUntilExit()
            #expect(process.terminationReason == .exit && process.terminationStatus == 0, "\(stderr)")
            let summary = try json(stdout)
            #expect(summary["status"] == .string("stopped"), "\(stdout)")
            let recorded = Self.recordedObservations(in: checkpoints)
            #expect(recorded > 0)
            #expect(number(summary["published"]) == Double(recorded), "published \(stdout), recorded \(recorded)")
            let log = try EmbeddedLog.open(dataDir: dir, logger: logger)
            let stats = try await log.stats(group: "meteo-sink", topic: "weather.observations")
            try await log.close()
            #expect(stats.messages == recorded)
        }
    }

    /// Starts a backfill of the ten regions over `days` archive days with no quota, and returns once
    /// its checkpoint records `untilRecorded` requests (or it has ended).
    func startTenRegions(_ stub: WeatherAPIStub, _ dir: URL, days count: Int64 = 30, untilRecorded: Int) async throws
        -> (days: (first: Int64, last: Int64, since: String, until: String), arguments: [String], process: (Process, Pipe, Pipe), checkpoints: URL) {
        let days = archiveDays(age: 45, days: count)
        let arguments = ["backfill", "--archive-url", stub.archiveURL, "--since", days.since, "--until", days.until,
                         "--quota", "none", "--data-dir", dir.path, "--format", "json"]
        let started = try MeteoProcess.start(arguments)
        let checkpoints = dir.appendingPathComponent("backfill")
        let deadline = Date().addingTimeInterval(600)
        while Date() < deadline, started.0.isRunning, Self.recordedChunks(in: checkpoints) < untilRecorded {
            try await Task.sleep(for: .milliseconds(20))
        }
        return (days, arguments, started, checkpoints)
    }

    static func readToEnd(_ pipe: Pipe) async throws -> String {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(returning: String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
            }
        }
    }

    static func checkpointDone(in folder: URL) -> [String: JSONValue] {
        guard let file = try? FileManager.default.contentsOfDirectory(atPath: folder.path).first(where: { $0.hasSuffix(".json") && !$0.hasPrefix(".") }),
              let data = try? Data(contentsOf: folder.appendingPathComponent(file)),
              case .object(let done)? = (try? JSONValue.parse(Array(data)))?["done"] else { return [:] }
        return done
    }

    static func recordedObservations(in folder: URL) -> Int {
        checkpointDone(in: folder).values.reduce(0) { sum, entry in
            if case .number(let n)? = entry["observations"] { return sum + Int(n) }
            return sum
        }
    }

    static func recordedChunks(in folder: URL) -> Int {
        checkpointDone(in: folder).count
    }

    @Test func gapsListExactlyTheMissingHoursAndFillGapsAsksOnlyForTheirDays() async throws {
        try await WeatherAPIStub.with(stubOptions(quota: true)) { stub in
            let dir = MeteoProcess.temporaryDataDir()
            defer { try? FileManager.default.removeItem(at: dir) }
            let days = archiveDays(age: 30, days: 3)
            let places = "Strasbourg;Paris,FR;Berlin"
            let base = ["--since", days.since, "--until", days.until, "--places", places, "--data-dir", dir.path]
            let first = try await MeteoProcess.run(["backfill", "--archive-url", stub.archiveURL] + base)
            #expect(first.status == 0, "\(first.stderr)")
            _ = try await MeteoProcess.run(["sink", "--until-idle", "--data-dir", dir.path])
            #expect(try await storeCount(dir) == 3 * 72)
            let none = try await MeteoProcess.run(["gaps"] + base)
            #expect(none.status == 0 && none.stdout.hasPrefix("No gaps"), "\(none.stdout)\(none.stderr)")

            // Take out Strasbourg's 05:00…09:00 of the first day and Paris's whole second day.
            let catalogue = try PlaceCatalogue.bundled()
            let strasbourg = try catalogue.resolve("Strasbourg"), paris = try catalogue.resolve("Paris,FR")
            let store = try SQLiteStore.open(dataDir: dir, logger: logger)
            let d1 = days.first * 86_400, d2 = (days.first + 1) * 86_400
            try await store.connection.perform { db in
                try db.execute("DELETE FROM observations WHERE place_id = '\(strasbourg.id)' AND observed_at >= \(d1 + 5 * 3600) AND observed_at < \(d1 + 10 * 3600)")
                try db.execute("DELETE FROM observations WHERE place_id = '\(paris.id)' AND observed_at >= \(d2) AND observed_at < \(d2 + 86_400)")
            }
            #expect(try await store.count() == 3 * 72 - 5 - 24)
            try await store.close()

            let listed = try await MeteoProcess.run(["gaps", "--format", "json"] + base)
            #expect(listed.status == 0, "\(listed.stderr)")
            let report = try json(listed.stdout)
            #expect(number(report["missing_hours"]) == 29)
            #expect(number(report["places_with_gaps"]) == 2)
            guard case .array(let gaps)? = report["gaps"] else { Issue.record("no gaps array: \(listed.stdout)"); return }
            let ranges = gaps.map { gap -> (String, String, String) in
                guard case .array(let r)? = gap["ranges"], r.count == 1, case .string(let id)? = gap["place_id"],
                      case .string(let from)? = r[0]["from"], case .string(let until)? = r[0]["until"] else { return ("?", "?", "?") }
                return (id, from, until)
            }
            let iso = { (t: Int64) in ISO8601.string(from: Date(timeIntervalSince1970: Double(t))) }
            #expect(ranges.contains { $0 == (strasbourg.id, iso(d1 + 5 * 3600), iso(d1 + 10 * 3600)) }, "\(ranges)")
            #expect(ranges.contains { $0 == (paris.id, iso(d2), iso(d2 + 86_400)) }, "\(ranges)")
            let table = try await MeteoProcess.run(["gaps"] + base)
            #expect(table.stdout.contains("Strasbourg") && table.stdout.contains("Paris") && !table.stdout.contains("Berlin"))

            // --fill-gaps asks for Strasbourg's first day and Paris's second day, nothing else.
            let before = stub.stats.hourly.count
            let fill = try await MeteoProcess.run(["backfill", "--archive-url", stub.archiveURL, "--fill-gaps"] + base)
            #expect(fill.status == 0, "\(fill.stderr)")
            let asked = stub.stats.hourly.dropFirst(before)
            #expect(asked.reduce(0) { $0 + $1.points.count * $1.days } == 2, "\(asked)")
            // Coordinates as Meteo sends them: 4 decimals.
            func sent(_ v: Double) -> Double { (v * 10_000).rounded() / 10_000 }
            let pairs = Set(asked.flatMap { r in r.points.map { "\($0.latitude),\($0.longitude)@\(r.firstDay)…\(r.lastDay)" } })
            #expect(pairs == ["\(sent(strasbourg.latitude)),\(sent(strasbourg.longitude))@\(days.first)…\(days.first)",
                              "\(sent(paris.latitude)),\(sent(paris.longitude))@\(days.first + 1)…\(days.first + 1)"], "\(pairs)")
            _ = try await MeteoProcess.run(["sink", "--until-idle", "--data-dir", dir.path])
            #expect(try await storeCount(dir) == 3 * 72)
            let after = try await MeteoProcess.run(["gaps", "--format", "json"] + base)
            #expect(number(try json(after.stdout)["missing_hours"]) == 0)
            // With no gap left, --fill-gaps asks for nothing and says so.
            let requestsBefore = stub.stats.requests["/v1/archive"]
            let nothing = try await MeteoProcess.run(["backfill", "--archive-url", stub.archiveURL, "--fill-gaps"] + base)
            #expect(nothing.status == 0 && nothing.stdout.hasPrefix("nothing to backfill"), "\(nothing.stdout)\(nothing.stderr)")
            #expect(stub.stats.requests["/v1/archive"] == requestsBefore)
        }
    }

    @Test func planAndBackfillAgreeOnRequestsAndCalls() async throws {
        try await WeatherAPIStub.with(stubOptions(quota: true)) { stub in
            let dir = MeteoProcess.temporaryDataDir()
            defer { try? FileManager.default.removeItem(at: dir) }
            // Archive days and recent days (past_days), for 2 regions.
            let today = BackfillPlanner.day(Date())
            let since = BackfillPlanner.date(today - 12), until = BackfillPlanner.date(today - 1)
            let selection = ["--regions", "EuropeW,AfriqueN", "--since", since, "--until", until, "--data-dir", dir.path, "--format", "json"]
            let plan = try await MeteoProcess.run(["plan"] + selection)
            #expect(plan.status == 0, "\(plan.stderr)")
            let estimate = try #require(try json(plan.stdout)["backfill"])
            let backfill = try await MeteoProcess.run(["backfill", "--archive-url", stub.archiveURL, "--open-meteo-url", stub.forecastURL] + selection)
            #expect(backfill.status == 0, "\(backfill.stderr)")
            let summary = try json(backfill.stdout)
            let requests = try #require(number(estimate["requests"]))
            let calls = try #require(number(estimate["calls"]))
            #expect(requests >= 2)
            #expect(number(summary["planned"]?["requests"]) == requests)
            #expect(number(summary["requests"]) == requests)
            #expect(abs((number(summary["planned"]?["calls"]) ?? 0) - calls) < 0.01)
            #expect(abs((number(summary["calls"]) ?? 0) - calls) < 0.01)
            // And Open-Meteo (the stub) counted the same.
            #expect(abs(stub.openMeteoQuota.stats.weight - calls) < 0.01)
            #expect(stub.openMeteoQuota.stats.accepted == Int(requests))
            #expect(number(summary["published"]) == number(estimate["observations"]))
        }
    }
}
