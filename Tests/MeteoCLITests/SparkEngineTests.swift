#if Spark
import Foundation
import MeteoCore
import MeteoTestSupport
import Testing

/// `meteo analyze --engine spark` against a real Spark Connect server (scripts/services/spark),
/// on a lake written by `meteo demo --lake`: the report must equal the in-process engine's on
/// the store the same demo wrote, key by key, and pyspark's own client must agree with it.
@Suite("Spark: meteo analyze --engine spark on a real Spark Connect server", .serialized,
       .requires(environment: "METEO_TEST_SPARK", "sc://127.0.0.1:15002; scripts/test starts scripts/services/spark"),
       .meteoBinary)
struct SparkEngineTests {
    static var remote: String? { SparkTestServer.remote }

    /// A demo run twice into the same store and lake: the store overwrites the second run's
    /// events, the lake gets them again as new files (at-least-once), which Spark must drop.
    static func demoLake(format: String = "ndjson") async throws -> (dir: URL, lake: URL) {
        let dir = MeteoProcess.temporaryDataDir()
        let lake = dir.appendingPathComponent("lake")
        for _ in 0..<2 {
            let demo = try await MeteoProcess.run(["demo", "--ticks", "3", "--no-serve", "--data-dir", dir.path, "--lake", lake.path, "--lake-format", format])
            #expect(demo.status == 0, "\(demo.stderr)")
        }
        return (dir, lake)
    }

    func analyze(_ arguments: [String], dir: URL) async throws -> (JSONValue?, MeteoProcess.Result) {
        let run = try await MeteoProcess.run(["analyze", "--format", "json", "--data-dir", dir.path] + arguments)
        return (try? JSONValue.parse(run.stdout.trimmingCharacters(in: .whitespacesAndNewlines)), run)
    }

    /// On an NDJSON lake and on a Parquet lake (`--lake-format`), each holding every event twice.
    @Test(arguments: ["ndjson", "parquet"])
    func sparkReportEqualsTheInProcessReportKeyByKey(format: String) async throws {
        let (dir, lake) = try await Self.demoLake(format: format)
        defer { try? FileManager.default.removeItem(at: dir) }
        let files = FileManager.default.enumerator(atPath: lake.path)?.compactMap { $0 as? String } ?? []
        #expect(files.filter { $0.hasSuffix(format == "ndjson" ? ".jsonl" : ".parquet") }.count >= 2, "two runs wrote at least two lake files: \(files)")
        #expect(files.filter { $0.hasSuffix(format == "ndjson" ? ".parquet" : ".jsonl") }.isEmpty, "\(files)")

        let variants: [[String]] = [
            [],
            ["--region", "EuropeW", "--window", "15m", "--top", "3"],
            ["--place", "Strasbourg", "--window", "10m", "--top", "0"],
            ["--since", "2000-01-01T00:00:00Z", "--window", "1d", "--top", "1000"],
        ]
        for extra in variants {
            let (embedded, e) = try await analyze(["--engine", "embedded"] + extra, dir: dir)
            let (spark, s) = try await analyze(["--engine", "spark", "--spark", Self.remote!, "--lake", lake.path, "--lake-format", format] + extra, dir: dir)
            #expect(e.status == 0, "\(e.stderr)")
            #expect(s.status == 0, "\(extra): \(s.stderr)")
            guard let embedded, let spark else { Issue.record("\(extra): not JSON"); continue }
            #expect(spark["engine"] == .string("spark") && embedded["engine"] == .string("in-process"))
            let differences = JSONComparison.differences(embedded, spark, ignoring: ["engine"])
            #expect(differences.isEmpty, "\(extra): \(differences.prefix(10).joined(separator: "\n"))")
            if extra.isEmpty {
                #expect(spark["observations"]?["count"] == .number(4890), "duplicates in the lake are dropped")
                #expect(spark["observations"]?["places"] == .number(1630))
            }
        }
    }

    /// Events with hostile names, missing values, an empty country, a place without a region,
    /// a constant variable and a replayed event, through the real pipeline (replay source →
    /// embedded log → sink with --lake); then a second copy of a lake file and a truncated file
    /// (a crash of another writer) are added. Both engines must still agree, key by key.
    @Test func hostileAndIncompleteDataGiveTheSameReport() async throws {
        let dir = MeteoProcess.temporaryDataDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let places: [(id: String, name: String, country: String, region: String?)] = [
            ("9000001", "<script>alert(1)</script>", "FR", "EuropeW"),
            ("9000002", #"{"$ne": null}"#, "", nil),
            ("9000003", #"Zürich 'q' \ back"#, "CH", "Asie"),
        ]
        func quoted(_ text: String) -> String {
            var w = JSONWriter()
            w.string(text)
            return String(decoding: w.bytes, as: UTF8.self)
        }
        var lines: [String] = []
        for (i, place) in places.enumerated() {
            for h in 0..<6 {
                func number(_ x: Double?) -> String { x.map { "\($0)" } ?? "null" }
                let day = 27 + h / 3, hour = (h * 5) % 24, minute = (h * 7) % 60
                let time = String(format: "2026-11-%02dT%02d:%02d:00Z", day, hour, minute)
                let fields = [
                    #""v":1"#, #""place_id":\#(quoted(place.id))"#, #""name":\#(quoted(place.name))"#,
                    #""country":\#(quoted(place.country))"#,
                    #""region":\#(place.region.map(quoted) ?? "null")"#,
                    #""latitude":\#(48.5 - Double(i)),"longitude":\#(7.5 + Double(i)),"observed_at":"\#(time)","source":"replay""#,
                    #""temperature_c":\#(number(i == 1 && h == 2 ? nil : -3 + Double(i) * 2.5 + Double(h) * 1.25))"#,
                    #""feels_like_c":\#(number(h % 2 == 1 ? nil : Double(h - 5)))"#,
                    #""humidity_pct":\#(50 + h * 3 + i),"cloud_cover_pct":\#(10 * h),"pressure_hpa":1013.25"#,
                    #""wind_speed_ms":\#(2.5 * Double((h + i) % 3)),"wind_gust_ms":null,"wind_direction_deg":90"#,
                    #""visibility_m":\#(number(i == 2 ? nil : Double(10_000 - h * 100)))"#,
                    #""rain_mm":\#(i == 1 ? 0 : 0.5 * Double(h)),"snow_mm":\#(h == 5 && i != 2 ? 1.0 : 0),"weather_code":3"#,
                ]
                lines.append("{" + fields.joined(separator: ",") + "}")
            }
        }
        lines.append(lines[3])
        let recording = dir.appendingPathComponent("hostile.ndjson")
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: recording)
        let lake = dir.appendingPathComponent("lake")
        let ingest = try await MeteoProcess.run(["ingest", "--source", "replay", "--replay-file", recording.path, "--once", "--data-dir", dir.path])
        #expect(ingest.status == 0, "\(ingest.stderr)")
        let sink = try await MeteoProcess.run(["sink", "--until-idle", "--lake", lake.path, "--lake-format", "ndjson", "--data-dir", dir.path])
        #expect(sink.status == 0, "\(sink.stderr)")
        let files = (FileManager.default.enumerator(atPath: lake.path)?.compactMap { $0 as? String } ?? []).filter { $0.hasSuffix(".jsonl") }
        guard let file = files.first else { Issue.record("the sink wrote no lake file"); return }
        let folder = lake.appendingPathComponent(file).deletingLastPathComponent()
        try FileManager.default.copyItem(at: lake.appendingPathComponent(file), to: folder.appendingPathComponent("part-copy-000001.jsonl"))
        try Data(#"{"v":1,"place_id":"9000001","name":"trunc"#.utf8).write(to: folder.appendingPathComponent("part-broken-000001.jsonl"))

        for extra in [[], ["--region", "EuropeW"], ["--top", "1", "--window", "2h"]] {
            let (embedded, e) = try await analyze(["--engine", "embedded"] + extra, dir: dir)
            let (spark, s) = try await analyze(["--engine", "spark", "--spark", Self.remote!, "--lake", lake.path, "--lake-format", "ndjson"] + extra, dir: dir)
            #expect(e.status == 0 && s.status == 0, "\(e.stderr) \(s.stderr)")
            guard let embedded, let spark else { Issue.record("\(extra): not JSON"); continue }
            let differences = JSONComparison.differences(embedded, spark, ignoring: ["engine"])
            #expect(differences.isEmpty, "\(extra): \(differences.prefix(10).joined(separator: "\n"))")
            if extra.isEmpty {
                #expect(spark["observations"]?["count"] == .number(18), "the copy, the replay and the broken line are not counted")
                guard case .array(let list)? = spark["extremes"]?["hottest"] else { Issue.record("hottest"); continue }
                #expect(list.contains { $0["name"] == .string("<script>alert(1)</script>") }, "names stay literal")
            }
        }
    }

    @Test func pysparkOwnClientAgreesWithMeteoOnTheSameLake() async throws {
        guard let python = ProcessInfo.processInfo.environment["METEO_SPARK_PYTHON"], !python.isEmpty else {
            Issue.record("METEO_SPARK_PYTHON is not set (scripts/test sets it to the pyspark venv of scripts/services/spark)")
            return
        }
        let (dir, lake) = try await Self.demoLake()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (spark, s) = try await analyze(["--engine", "spark", "--spark", Self.remote!, "--lake", lake.path, "--lake-format", "ndjson"], dir: dir)
        #expect(s.status == 0, "\(s.stderr)")
        let reference = try PythonScript.run(python, "scripts/spark_reference.py", ["--remote", Self.remote!, "--lake", lake.path])
        guard let spark, let ref = try? JSONValue.parse(reference) else { Issue.record("not JSON: \(reference.prefix(300))"); return }

        for key in ["count", "places", "first", "last"] {
            #expect(spark["observations"]?[key] == ref["observations"]?[key], "observations.\(key)")
        }
        // Regions: counts exactly, means and ranges to 1e-9 relative.
        guard case .array(let ours)? = spark["regions"], case .array(let theirs)? = ref["regions"] else { Issue.record("regions"); return }
        #expect(ours.count == theirs.count && ours.count == 10)
        for (a, b) in zip(ours, theirs) {
            #expect(a["region"] == b["region"])
            #expect(a["observations"] == b["observations"] && a["places"] == b["places"])
            for (variable, stats) in [("temperature_c", ["mean", "min", "max"]), ("humidity_pct", ["mean", "min", "max"]),
                                      ("pressure_hpa", ["mean"]), ("wind_speed_ms", ["mean"])] {
                for stat in stats {
                    #expect(JSONComparison.close(a[variable]?[stat], b[variable]?[stat]), "\(a["region"] ?? .null) \(variable).\(stat)")
                }
            }
        }
        // Correlation: our sums and Pearson.r against Spark's own corr().
        guard case .array(let variables)? = spark["correlation"]?["variables"], case .array(let matrix)? = spark["correlation"]?["matrix"] else {
            Issue.record("correlation"); return
        }
        var compared = 0
        for i in variables.indices {
            for j in variables.indices where j > i {
                guard case .string(let a) = variables[i], case .string(let b) = variables[j], case .array(let row) = matrix[i] else { continue }
                let theirs = ref["correlation"]?["\(a)|\(b)"]
                #expect(JSONComparison.close(row[j], theirs, tolerance: 1e-9), "r(\(a), \(b)): \(row[j]) vs \(theirs ?? .null)")
                compared += 1
            }
        }
        #expect(compared == 28)
        // Rain and snow on the latest rows, per region.
        for list in ["rain_places", "snow_places", "rain_and_snow_places"] {
            #expect(spark[list]?["count"] == ref[list]?["count"], "\(list).count")
            guard case .array(let byRegion)? = spark[list]?["by_region"] else { Issue.record("\(list).by_region"); continue }
            for entry in byRegion {
                guard case .string(let region)? = entry["region"] else { continue }
                #expect(entry["count"] == (ref[list]?["by_region"]?[region] ?? .number(0)), "\(list) in \(region)")
            }
        }
        // Windows: rows and mean temperature per (region, start).
        guard case .array(let series)? = spark["windows"]?["series"], case .array(let refSeries)? = ref["windows"] else { Issue.record("windows"); return }
        #expect(series.count == refSeries.count && !series.isEmpty)
        var byKey: [String: JSONValue] = [:]
        for w in refSeries { byKey["\(w["region"] ?? .null)@\(w["start"] ?? .null)"] = w }
        for w in series {
            let match = byKey["\(w["region"] ?? .null)@\(w["start"] ?? .null)"]
            #expect(match?["observations"] == w["observations"], "window \(w["region"] ?? .null) \(w["start"] ?? .null)")
            #expect(JSONComparison.close(match?["temperature_c"], w["temperature_c"]))
        }
    }

    @Test func aMissingLakeIsOneClearLine() async throws {
        let dir = MeteoProcess.temporaryDataDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let missing = dir.appendingPathComponent("no-such-lake").path
        let run = try await MeteoProcess.run(["analyze", "--engine", "spark", "--spark", Self.remote!, "--lake", missing, "--data-dir", dir.path])
        run.expectRefused("PATH_NOT_FOUND", "no-such-lake", "meteo sink --lake")
        #expect(!run.stderr.contains("at org.apache"), "no Java stack trace")

        let doctor = try await MeteoProcess.run(["doctor", "--offline", "--engine", "spark", "--spark", Self.remote!, "--lake", missing, "--data-dir", dir.path])
        #expect(doctor.stdout.contains("ok   engine: Spark 4.3.0 at \(Self.remote!)"), "\(doctor.stdout)")
        #expect(doctor.stdout.contains("(missing: write it with meteo sink --lake DIR)"))
    }

    @Test func anUnreachableServerAndAMissingLakeFlagSayWhatToFix() async throws {
        let dir = MeteoProcess.temporaryDataDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let clock = ContinuousClock()
        let started = clock.now
        let down = try await MeteoProcess.run(["analyze", "--engine", "spark", "--spark", "sc://127.0.0.1:9/;token=HIDDEN;use_ssl=false",
                                         "--lake", dir.path, "--data-dir", dir.path])
        down.expectRefused("cannot reach Spark Connect at sc://127.0.0.1:9", "scripts/services/spark start")
        #expect(!down.stderr.contains("HIDDEN"), "the token is never printed")
        #expect(clock.now - started < .seconds(60), "fails fast instead of waiting for the call deadline")

        let noLake = try await MeteoProcess.run(["analyze", "--engine", "spark", "--spark", Self.remote!, "--data-dir", dir.path])
        noLake.expectRefused("--lake DIR")

        let badRemote = try await MeteoProcess.run(["analyze", "--engine", "spark", "--spark", "http://127.0.0.1:15002", "--lake", dir.path, "--data-dir", dir.path])
        badRemote.expectRefused("sc://")
    }
}

enum SparkTestServer {
    /// The Spark Connect server of the tests (scripts/test starts it).
    static var remote: String? { ProcessInfo.processInfo.environment["METEO_TEST_SPARK"].flatMap { $0.isEmpty ? nil : $0 } }
}

/// Runs a Python script of the repository and returns its standard output.
enum PythonScript {
    static func run(_ python: String, _ script: String, _ arguments: [String]) throws -> String {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let p = Process()
        p.executableURL = URL(fileURLWithPath: python)
        p.arguments = [root.appendingPathComponent(script).path] + arguments
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let errors = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            throw MeteoError(code: .internal, "\(script) failed: \(String(decoding: errors.suffix(2000), as: UTF8.self))")
        }
        return String(decoding: data, as: UTF8.self)
    }
}
#endif

import MeteoCore

/// Compares two JSON documents: the same keys, arrays of the same length, equal strings,
/// booleans and nulls, numbers equal to a relative tolerance. A quantity that is zero up to
/// rounding (a correlation of 0 computes as ±1e-16 by one method and 2e-15 by another) has no
/// relative precision, so differences below 1e-12 in absolute value also pass.
enum JSONComparison {
    static func close(_ a: JSONValue?, _ b: JSONValue?, tolerance: Double = 1e-9) -> Bool {
        switch (a ?? .null, b ?? .null) {
        case (.number(let x), .number(let y)):
            return x == y || abs(x - y) <= max(tolerance * max(abs(x), abs(y)), 1e-12)
        case (let x, let y):
            return x == y
        }
    }

    static func differences(_ a: JSONValue, _ b: JSONValue, ignoring: Set<String> = [], path: String = "$") -> [String] {
        switch (a, b) {
        case (.object(let x), .object(let y)):
            var out: [String] = []
            for key in Set(x.keys).union(y.keys).sorted() where !ignoring.contains(key) {
                guard let u = x[key], let v = y[key] else { out.append("\(path).\(key): only in one"); continue }
                out += differences(u, v, ignoring: ignoring, path: "\(path).\(key)")
            }
            return out
        case (.array(let x), .array(let y)):
            guard x.count == y.count else { return ["\(path): \(x.count) items vs \(y.count)"] }
            return zip(x, y).enumerated().flatMap { i, pair in differences(pair.0, pair.1, ignoring: ignoring, path: "\(path)[\(i)]") }
        default:
            return close(a, b) ? [] : ["\(path): \(a) vs \(b)"]
        }
    }
}
