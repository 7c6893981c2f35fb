import Foundation
import Logging
import MeteoCore
import MeteoEmbedded
import MeteoTestSupport
import Testing

/// Kills `meteo sink` with SIGKILL in the middle of its work and checks that a restart stores
/// every event exactly once: the store count equals the distinct events, with no duplicates.
@Suite("Crash recovery of meteo sink", .meteoBinary, .serialized)
struct CrashRecoveryTests {
    let logger = Logger(label: "crash-test")

    /// Publishes synthetic events with `meteo ingest`, plus one poison message.
    func prepare(_ dir: URL, ticks: Int) async throws -> Int {
        let ingest = try await MeteoProcess.run(["ingest", "--source", "synthetic", "--ticks", "\(ticks)", "--interval", "0", "--data-dir", dir.path])
        #expect(ingest.status == 0, "\(ingest.stderr)")
        let log = try EmbeddedLog.open(dataDir: dir, logger: logger)
        let poison = OutgoingMessage(key: "poison", value: Array(#"{"v":1,"place_id":"x","name":"<script>","humidity_pct":"#.utf8))
        try await log.publisher().publish([poison], to: "weather.observations")
        try await log.close()
        return ticks * 1630
    }

    func storeCounts(_ dir: URL) async throws -> (Int, Int) {
        let store = try SQLiteStore.open(dataDir: dir, logger: logger)
        let n = try await store.count()
        let d = try await store.deadLetterCount()
        try await store.close()
        return (n, d)
    }

    @Test func killedBetweenWriteAndCommitRedeliversWithoutDuplicates() async throws {
        let dir = MeteoProcess.temporaryDataDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let expected = try await prepare(dir, ticks: 2)

        // The sink writes its second batch, then SIGKILLs itself before committing it.
        let crashed = try await MeteoProcess.run(["sink", "--until-idle", "--batch-size", "1000", "--data-dir", dir.path],
                                           environment: ["METEO_FAULT_CRASH_AFTER_WRITES": "2"])
        #expect(crashed.reason == .uncaughtSignal)
        #expect(crashed.status == SIGKILL)
        let (afterCrash, _) = try await storeCounts(dir)
        #expect(afterCrash == 2000, "two batches were written before the kill")

        let log = try EmbeddedLog.open(dataDir: dir, logger: logger)
        let lagBefore = try await log.stats(group: "meteo-sink", topic: "weather.observations")
        #expect(lagBefore.lag == expected + 1 - 1000, "only the first batch was committed")
        try await log.close()

        let restarted = try await MeteoProcess.run(["sink", "--until-idle", "--batch-size", "1000", "--data-dir", dir.path])
        #expect(restarted.status == 0, "\(restarted.stderr)")
        let (stored, dead) = try await storeCounts(dir)
        #expect(stored == expected)
        #expect(dead == 1)
        #expect(restarted.stdout.contains("1,000 overwritten"), "the uncommitted batch came again and overwrote itself: \(restarted.stdout)")
    }

    @Test func sigkillAtARandomMomentLosesNothing() async throws {
        let dir = MeteoProcess.temporaryDataDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        // Enough events that the sink is still at work when it is killed (the embedded log's
        // batches made it fast enough to store 12 polls before the first check).
        let expected = try await prepare(dir, ticks: 60)

        let (process, _, _) = try MeteoProcess.start(["sink", "--batch-size", "500", "--data-dir", dir.path])
        // Wait until the sink is writing, then kill it mid-stream.
        let deadline = Date().addingTimeInterval(60)
        var seen = 0
        while Date() < deadline {
            seen = (try? await storeCounts(dir).0) ?? 0
            if seen >= 1500 { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        #expect(process.terminationReason == .uncaughtSignal)
        let (partial, _) = try await storeCounts(dir)
        #expect(partial > 0)
        #expect(partial < expected, "the sink was killed before it had stored everything")

        let restarted = try await MeteoProcess.run(["sink", "--until-idle", "--batch-size", "500", "--data-dir", dir.path])
        #expect(restarted.status == 0, "\(restarted.stderr)")
        let (stored, dead) = try await storeCounts(dir)
        #expect(stored == expected)
        #expect(dead == 1)
    }

    @Test func sigtermDrainsCommitsAndExitsCleanly() async throws {
        let dir = MeteoProcess.temporaryDataDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let ingest = try await MeteoProcess.run(["ingest", "--source", "synthetic", "--ticks", "20", "--interval", "0", "--data-dir", dir.path])
        #expect(ingest.status == 0, "\(ingest.stderr)")
        let (process, out, _) = try MeteoProcess.start(["sink", "--batch-size", "500", "--data-dir", dir.path])
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, ((try? await storeCounts(dir).0) ?? 0) < 1000 {
            try await Task.sleep(for: .milliseconds(20))
        }
        kill(process.processIdentifier, SIGTERM)
        let output = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationReason == .exit)
        #expect(process.terminationStatus == 0)
        #expect(output.contains("consumed"))
        // What was written was committed: the committed offset equals the stored count.
        let (stored, _) = try await storeCounts(dir)
        let log = try EmbeddedLog.open(dataDir: dir, logger: logger)
        let stats = try await log.stats(group: "meteo-sink", topic: "weather.observations")
        try await log.close()
        #expect(stats.committed == Int64(stored))
        #expect(stored > 0)
    }
}
