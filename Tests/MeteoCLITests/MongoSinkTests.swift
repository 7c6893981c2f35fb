#if MongoDB
import Foundation
import Logging
import MeteoCore
import MeteoEmbedded
import MeteoMongo
import MeteoTestSupport
import Testing

/// `meteo sink --store mongodb` as a process, from the embedded log into a real MongoDB-wire
/// server (SecantusDB, started by `scripts/services/mongo`; `scripts/test` sets
/// METEO_TEST_MONGO). Each test writes to a database of its own and drops it.
@Suite("MongoDB: meteo sink on a real server", .serialized,
       .requires(environment: "METEO_TEST_MONGO", "the URI of a running server; scripts/test starts one"),
       .meteoBinary)
struct MongoSinkTests {
    /// A data dir holding the embedded log, and a database of its own.
    struct Run {
        let dir = MeteoProcess.temporaryDataDir()
        let database = "meteo_cli_\(UInt32.random(in: 0...UInt32.max))"
        let uri = ProcessInfo.processInfo.environment["METEO_TEST_MONGO"] ?? ""

        var store: [String] { ["--store", "mongodb", "--mongo-database", database, "--data-dir", dir.path] }
        /// The URI goes in the environment, as a deployment would pass a secret.
        var environment: [String: String] { ["METEO_MONGO_URI": uri] }

        func meteo(_ arguments: [String], environment extra: [String: String] = [:]) async throws -> MeteoProcess.Result {
            try await MeteoProcess.run(arguments, environment: environment.merging(extra) { _, new in new })
        }

        /// `ticks` polls of the 1,630 synthetic places into the embedded log.
        func ingest(ticks: Int) async throws -> Int {
            let result = try await meteo(["ingest", "--source", "synthetic", "--ticks", "\(ticks)", "--interval", "0", "--data-dir", dir.path])
            #expect(result.status == 0, "\(result.stderr)")
            return ticks * 1630
        }

        func openStore() async throws -> MongoStore {
            try await MongoStore.open(configuration: MongoConfiguration(uri: uri, database: database), logger: Logger(label: "count"))
        }

        /// Documents in `observations`, and places in `latest`.
        func counts() async throws -> (observations: Int, places: Int) {
            let s = try await openStore()
            return (try await s.count(), try await s.latest(region: nil).count)
        }

        func cleanUp() async {
            try? await openStore().dropDatabase()
            try? FileManager.default.removeItem(at: dir)
        }
    }

    @Test func aHundredThousandEventsLandOnceByKeyAndAReplayChangesNothing() async throws {
        let run = Run()
        let expected = try await run.ingest(ticks: 62)
        let first = try await run.meteo(["sink", "--until-idle"] + run.store)
        #expect(first.status == 0, "\(first.stderr)")
        let summary = SinkSummary(first.stdout)
        #expect(summary.consumed == expected && summary.new == expected && summary.overwritten == 0, "\(summary)")
        var (stored, places) = try await run.counts()
        #expect(stored == expected)
        #expect(places == 1630)

        // The same events again, read by another consumer group from the start of the log.
        let replay = try await run.meteo(["sink", "--until-idle", "--group", "replay"] + run.store)
        #expect(replay.status == 0, "\(replay.stderr)")
        let again = SinkSummary(replay.stdout)
        #expect(again.consumed == expected && again.new == 0 && again.overwritten == expected, "\(again)")
        (stored, places) = try await run.counts()
        #expect(stored == expected, "the replay changed the count")
        #expect(places == 1630)
        #expect(!(first.stdout + first.stderr + replay.stdout + replay.stderr).contains("example"), "the password never appears")
        await run.cleanUp()
    }

    @Test func killedBetweenTheBulkWriteAndTheCommitRedeliversWithoutDuplicates() async throws {
        let run = Run()
        let expected = try await run.ingest(ticks: 2)
        // The sink writes its second batch to MongoDB, then SIGKILLs itself before committing it.
        let crashed = try await run.meteo(["sink", "--until-idle", "--batch-size", "1000"] + run.store,
                                    environment: ["METEO_FAULT_CRASH_AFTER_WRITES": "2"])
        #expect(crashed.reason == .uncaughtSignal && crashed.status == SIGKILL, "\(crashed.stderr)")
        #expect(try await run.counts().observations == 2000, "two batches were written before the kill")

        let restarted = try await run.meteo(["sink", "--until-idle", "--batch-size", "1000"] + run.store)
        #expect(restarted.status == 0, "\(restarted.stderr)")
        #expect(try await run.counts().observations == expected)
        let summary = SinkSummary(restarted.stdout)
        #expect(summary.overwritten == 1000 && summary.new == expected - 2000,
                "the uncommitted batch came again and overwrote itself: \(summary)")
        await run.cleanUp()
    }

    @Test func sigkillMidStreamThenARestartLosesNothing() async throws {
        let run = Run()
        let expected = try await run.ingest(ticks: 8)
        let (process, _, _) = try MeteoProcess.start(["sink", "--batch-size", "1000"] + run.store, environment: run.environment)
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(120)
        while clock.now < deadline, ((try? await run.counts().observations) ?? 0) < 3000 {
            try await Task.sleep(for: .milliseconds(20))
        }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        #expect(process.terminationReason == .uncaughtSignal)
        let atKill = try await run.counts().observations
        #expect(atKill >= 3000 && atKill < expected, "killed mid-stream at \(atKill) of \(expected)")

        let restarted = try await run.meteo(["sink", "--until-idle", "--batch-size", "1000"] + run.store)
        #expect(restarted.status == 0, "\(restarted.stderr)")
        #expect(try await run.counts() == (expected, 1630), "nothing lost, nothing doubled")
        let summary = SinkSummary(restarted.stdout)
        // What was written but not committed comes again as overwrites; everything else is new.
        #expect(summary.new + summary.overwritten == summary.consumed && summary.new >= expected - atKill - 1000, "\(summary)")
        await run.cleanUp()
    }

    /// `meteo sink --metrics-listen` serves its metrics, and `meteo doctor` reads the sink's
    /// state there: while the MongoDB server is down (events keep arriving) the sink line
    /// fails, saying the sink is retrying a store write; once the server is back, every event
    /// is written (none lost, none doubled) and the line is ok, with the retries counted.
    /// Then SIGTERM, exit 0.
    @Test(.requires("the server of METEO_TEST_MONGO is not the one scripts/services/mongo runs here (METEO_MONGO_PORT)") { MongoServer.managedByScript })
    func doctorSaysTheSinkIsRetryingWhileTheServerIsDownAndCountsTheRetriesAfter() async throws {
        let run = Run()
        defer { Task { await run.cleanUp() } }
        var expected = try await run.ingest(ticks: 1)
        let port = try ServerProcess.freePort()
        let sink = try LoggedProcess.start(MeteoProcess.binary.path, ["sink", "--batch-size", "500", "--metrics-listen", "\(port)"] + run.store,
                                           environment: run.environment, log: run.dir.appendingPathComponent("sink.log"))
        defer { sink.kill9() }
        let elsewhere = MeteoProcess.temporaryDataDir()  // the doctor's own bus and store: only its sink line is about the sink
        defer { try? FileManager.default.removeItem(at: elsewhere) }
        func doctor() async throws -> MeteoProcess.Result {
            try await MeteoProcess.run(["doctor", "--offline", "--metrics-listen", "\(port)", "--data-dir", elsewhere.path])
        }
        func sinkLine(_ r: MeteoProcess.Result) -> String { r.stdout.split(separator: "\n").first { $0.contains(" sink: ") }.map(String.init) ?? "" }
        let clock = ContinuousClock()
        var deadline = clock.now + .seconds(60)
        var line = ""
        while clock.now < deadline {
            line = sinkLine(try await doctor())
            if line.contains("stored 1,630 observations") { break }
            try await Task.sleep(for: .milliseconds(300))
        }
        #expect(line.hasPrefix("ok   sink: at 127.0.0.1:\(port): writing; stored 1,630 observations, 0 dead letters, 0 store write retries"), "\(line)\n\(sink.log)")

        try MongoServer.script("kill")
        var restarted = false
        defer { if !restarted { try? MongoServer.script("start") } }
        expected += try await run.ingest(ticks: 1)
        deadline = clock.now + .seconds(60)
        var down = MeteoProcess.Result(status: 0, reason: .exit, stdout: "", stderr: "")
        while clock.now < deadline {
            down = try await doctor()
            if sinkLine(down).contains("retrying") { break }
            try await Task.sleep(for: .milliseconds(300))
        }
        #expect(down.status == 1, "the doctor fails while the sink cannot write: \(down.stdout)")
        #expect(sinkLine(down).hasPrefix("FAIL sink: at 127.0.0.1:\(port): retrying a store write now"), "\(down.stdout)\n\(sink.log)")

        try MongoServer.script("start")
        restarted = true
        deadline = clock.now + .seconds(120)
        var after = MeteoProcess.Result(status: 0, reason: .exit, stdout: "", stderr: "")
        while clock.now < deadline {
            after = try await doctor()
            if sinkLine(after).contains("stored \(formatted(expected)) observations"), !sinkLine(after).contains("retrying") { break }
            try await Task.sleep(for: .milliseconds(500))
        }
        #expect(after.status == 0, "\(after.stdout)")
        let retries = sinkLine(after).split(separator: ", ").first { $0.hasSuffix("store write retries since it started") }
            .flatMap { Int($0.split(separator: " ")[0].replacingOccurrences(of: ",", with: "")) }
        #expect(sinkLine(after).hasPrefix("ok   sink: at 127.0.0.1:\(port): writing; stored \(formatted(expected)) observations, 0 dead letters"), "\(after.stdout)\n\(sink.log)")
        #expect((retries ?? 0) > 0, "the retries are counted: \(sinkLine(after))")
        // The second poll is of the same places at the same synthetic time: it overwrites.
        let stored = try await run.counts().observations
        #expect(stored == 1630, "one document a place and time: \(stored)\n\(sink.log)")

        sink.terminate()
        #expect(try await sink.wait(timeout: .seconds(30)) == 0, "\(sink.log)")
        #expect(sink.log.contains("consumed 3,260 events: stored 3,260 (1,630 new, 1,630 overwritten), 0 dead letters"), "\(sink.log)")
    }
}

/// `meteo sink` refuses an unacknowledged write concern before it connects: no server needed.
@Suite("MongoDB: meteo sink refuses w=0", .meteoBinary)
struct MongoWriteConcernCommandTests {
    @Test(arguments: [
        (["--write-concern", "0"], "mongodb://127.0.0.1:1/", "invalid --write-concern '0'"),
        ([], "mongodb://root:TopSecret1@127.0.0.1:1/?authSource=admin&w=0", "remove w=0 from the URI"),
    ])
    func unacknowledgedWritesExitWithOneLine(flags: [String], uri: String, message: String) async throws {
        let dir = MeteoProcess.temporaryDataDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try await MeteoProcess.run(["sink", "--until-idle", "--store", "mongodb", "--data-dir", dir.path] + flags,
                                           environment: ["METEO_MONGO_URI": uri])
        #expect(r.reason == .exit && r.status == 1, "\(r.reason) \(r.status): \(r.stderr)")
        let lines = r.stderr.split(separator: "\n").filter { !$0.hasPrefix("Sink:") }
        #expect(lines.count == 1 && lines[0].hasPrefix("meteo: error: ") && lines[0].contains(message), "\(r.stderr)")
        #expect(!r.stderr.contains("TopSecret1"))
    }
}
#endif
