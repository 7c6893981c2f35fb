import Foundation
import MeteoCore
import Testing

/// `--summary-json`: the contract scripts read instead of the prose summaries.
@Suite("meteo ingest, sink and demo --summary-json", .meteoBinary)
struct SummaryJSONTests {
    static func summary(_ url: URL) throws -> [String: JSONValue] {
        guard case .object(let fields) = try JSONValue.parse(Array(try Data(contentsOf: url))) else {
            Issue.record("\(url.path) holds no JSON object")
            return [:]
        }
        return fields
    }

    static func number(_ v: JSONValue?) -> Double? {
        if case .number(let d)? = v { return d }
        return nil
    }

    /// Every key has a number but `command`, the rate matches the counts and the time, and
    /// the memory is the process's (more than the 10 MB any Swift process takes).
    static func checkCommon(_ s: [String: JSONValue], command: String, keys: Set<String>, counted: String, rate: String) {
        #expect(s["command"] == .string(command))
        #expect(Set(s.keys) == keys.union(["command", "elapsed_s", "peak_rss_bytes", rate]), "\(s.keys.sorted())")
        for key in s.keys where key != "command" {
            #expect(number(s[key]).map { $0 >= 0 } == true, "\(key): \(String(describing: s[key]))")
        }
        let elapsed = number(s["elapsed_s"]) ?? 0
        #expect(elapsed > 0)
        #expect(number(s["peak_rss_bytes"]).map { $0 > 10_000_000 } == true)
        let expectedRate = ((number(s[counted]) ?? 0) / max(elapsed, 0.001)).rounded()
        // elapsed_s is rounded to the millisecond in the file: the rate from it agrees within that.
        #expect(abs((number(s[rate]) ?? -1) - expectedRate) <= max(1, expectedRate * 0.01), "\(s)")
    }

    @Test func ingestAndSinkWriteTheirCounts() async throws {
        let dir = MeteoProcess.temporaryDataDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let ingestJSON = dir.appendingPathComponent("ingest.json")
        let ingest = try await MeteoProcess.run(["ingest", "--source", "synthetic", "--ticks", "2", "--interval", "0",
                                                 "--data-dir", dir.path, "--summary-json", ingestJSON.path])
        #expect(ingest.status == 0, "\(ingest.stderr)")
        let i = try Self.summary(ingestJSON)
        Self.checkCommon(i, command: "ingest", keys: ["places", "polls", "published", "place_failures", "failed_polls"],
                         counted: "published", rate: "events_per_s")
        #expect(i["places"] == .number(1630))
        #expect(i["polls"] == .number(2))
        #expect(i["published"] == .number(3260))
        #expect(i["place_failures"] == .number(0))
        #expect(i["failed_polls"] == .number(0))

        let sinkJSON = dir.appendingPathComponent("sink.json")
        let sink = try await MeteoProcess.run(["sink", "--until-idle", "--data-dir", dir.path, "--summary-json", sinkJSON.path])
        #expect(sink.status == 0, "\(sink.stderr)")
        let s = try Self.summary(sinkJSON)
        Self.checkCommon(s, command: "sink", keys: ["consumed", "stored", "inserted", "overwritten", "dead_lettered"],
                         counted: "stored", rate: "observations_per_s")
        #expect(s["consumed"] == .number(3260))
        #expect(s["stored"] == .number(3260))
        #expect(s["inserted"] == .number(3260))
        #expect(s["overwritten"] == .number(0))
        #expect(s["dead_lettered"] == .number(0))

        // The same group again has nothing left to read; the file is replaced, not appended to.
        let again = try await MeteoProcess.run(["sink", "--until-idle", "--data-dir", dir.path, "--summary-json", sinkJSON.path])
        #expect(again.status == 0, "\(again.stderr)")
        let s2 = try Self.summary(sinkJSON)
        #expect(s2["consumed"] == .number(0))
        #expect(s2["stored"] == .number(0))
    }

    @Test func demoWritesItsSummaryTable() async throws {
        let dir = MeteoProcess.temporaryDataDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let file = dir.appendingPathComponent("demo.json")
        let demo = try await MeteoProcess.run(["demo", "--ticks", "2", "--places", "100", "--no-serve", "--data-dir", dir.path,
                                               "--summary-json", file.path])
        #expect(demo.status == 0, "\(demo.stderr)")
        let d = try Self.summary(file)
        Self.checkCommon(d, command: "demo",
                         keys: ["places", "published", "stored", "inserted", "overwritten", "dead_lettered", "store_total", "dead_letters_total"],
                         counted: "stored", rate: "observations_per_s")
        for (key, value) in [("places", 100.0), ("published", 200), ("stored", 200), ("inserted", 200), ("overwritten", 0),
                             ("dead_lettered", 0), ("store_total", 200), ("dead_letters_total", 0)] {
            #expect(d[key] == .number(value), "\(key)")
        }
    }

    @Test func aFileInAMissingFolderIsRefusedBeforeTheRun() async throws {
        let dir = MeteoProcess.temporaryDataDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let missing = dir.appendingPathComponent("no-such-folder/ingest.json")
        let r = try await MeteoProcess.run(["ingest", "--source", "synthetic", "--once", "--interval", "0",
                                            "--data-dir", dir.path, "--summary-json", missing.path])
        #expect(r.status == 64, "\(r.stderr)")
        #expect(r.stderr.contains("--summary-json") && r.stderr.contains("does not exist"), "\(r.stderr)")
        // Nothing ran: no log was created.
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("bus.sqlite").path))
    }
}
