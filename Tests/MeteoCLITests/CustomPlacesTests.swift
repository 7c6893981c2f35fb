import Foundation
import MeteoCore
import MeteoTestSupport
import Testing

/// Any place on Earth, end to end with `meteo` as a process: places files, coordinates in
/// `--places`, and places that exist only in the store (replayed data), looked up by `query`
/// and `analyze` as a user would.
@Suite("Custom and store-only places, as processes", .meteoBinary)
struct CustomPlacesTests {
    static let placesFile = """
        name,latitude,longitude,region,id
        Mont Ventoux,44.17,5.28,Provence,
        "Pic du Midi, observatory",42.9369,0.1411,,pic-midi
        Null Island,0,0,,
        """

    /// Runs `meteo` and requires a clean exit.
    @discardableResult
    func meteo(_ arguments: [String], environment: [String: String] = [:]) async throws -> MeteoProcess.Result {
        let r = try await MeteoProcess.run(arguments, environment: environment)
        try #require(r.status == 0 && r.reason == .exit, "meteo \(arguments.joined(separator: " ")): \(r.stdout)\(r.stderr)")
        return r
    }

    /// Runs `meteo … --format json` and parses what it prints.
    func json(_ arguments: [String]) async throws -> JSONValue {
        let r = try await meteo(arguments + ["--format", "json"])
        return try JSONValue.parse(Array(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines).utf8))
    }

    /// `meteo ingest` once, then `meteo sink --until-idle`, into `dir`.
    func ingestAndSink(_ arguments: [String], dir: URL, published: Int) async throws {
        let ingest = try await meteo(["ingest", "--once", "--data-dir", dir.path] + arguments)
        #expect(ingest.stdout.contains("published \(published) events"), "\(ingest.stdout)")
        let sink = try await meteo(["sink", "--until-idle", "--data-dir", dir.path])
        #expect(SinkSummary(sink.stdout + sink.stderr).stored == published, "\(sink.stdout)\(sink.stderr)")
    }

    @Test func aPlacesFileIsPolledStoredAndFoundByNameIDAndDistance() async throws {
        let dir = MeteoProcess.temporaryDataDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("places.csv")
        try Data(Self.placesFile.utf8).write(to: file)
        try await ingestAndSink(["--places-file", file.path, "--source", "synthetic"], dir: dir, published: 3)

        let expected = [("Mont Ventoux", "geo:44.1700,5.2800", JSONValue.string("Provence")),
                        ("Pic du Midi, observatory", "pic-midi", .null),
                        ("Null Island", "geo:0.0000,0.0000", .null)]
        for (name, id, region) in expected {
            for text in [name, id, name.lowercased()] {
                let found = try await json(["query", "--place", text, "--data-dir", dir.path])
                #expect(found["place_id"] == .string(id), "--place '\(text)'")
                #expect(found["name"] == .string(name) && found["region"] == region && found["source"] == .string("synthetic"), "--place '\(text)'")
                guard case .array(let history)? = found["history"] else { Issue.record("no history for '\(text)'"); continue }
                #expect(history.count == 1)
            }
        }
        #expect(try await json(["query", "--place", "44.17,5.28", "--data-dir", dir.path])["place_id"] == .string("geo:44.1700,5.2800"))

        // Nearest first from a point in Provence: Mont Ventoux, the Pic du Midi, then Null Island.
        let near = try await json(["query", "--near", "44,5", "--radius", "6000km", "--data-dir", dir.path])
        guard case .array(let rows) = near else { Issue.record("--near is not an array"); return }
        #expect(rows.map { $0["place_id"] } == [.string("geo:44.1700,5.2800"), .string("pic-midi"), .string("geo:0.0000,0.0000")])
        let distances = rows.compactMap { if case .number(let d)? = $0["distance_km"] { d } else { nil } }
        #expect(distances.count == 3 && distances == distances.sorted() && distances[0] < 40 && distances[2] > 4000, "\(distances)")
        let aroundName = try await json(["query", "--near", "Pic du Midi, observatory", "--radius", "5km", "--data-dir", dir.path])
        guard case .array(let around) = aroundName else { Issue.record("--near NAME is not an array"); return }
        #expect(around.map { $0["place_id"] } == [.string("pic-midi")])

        let provence = try await json(["query", "--region", "provence", "--data-dir", dir.path])
        guard case .array(let inProvence) = provence else { Issue.record("--region is not an array"); return }
        #expect(inProvence.map { $0["place_id"] } == [.string("geo:44.1700,5.2800")])

        let byPlace = try await json(["analyze", "--place", "Pic du Midi, observatory", "--data-dir", dir.path])
        #expect(byPlace["observations"]?["count"] == .number(1) && byPlace["observations"]?["places"] == .number(1))
        let byRegion = try await json(["analyze", "--region", "Provence", "--data-dir", dir.path])
        #expect(byRegion["observations"]?["count"] == .number(1))
        guard case .array(let regions)? = byRegion["regions"] else { Issue.record("no regions"); return }
        #expect(regions.map { $0["region"] } == [.string("Provence")])
        // Places without region count everywhere, and are the null region (listed last) where
        // docs/analytics.md groups by region with null.
        let all = try await json(["analyze", "--data-dir", dir.path])
        #expect(all["observations"]?["count"] == .number(3))
        guard case .array(let allRegions)? = all["regions"], case .array(let series)? = all["windows"]?["series"] else {
            Issue.record("no regions or windows")
            return
        }
        #expect(allRegions.map { $0["region"] } == [.string("Provence")], "rows with a null region are not in 'regions'")
        #expect(series.map { $0["region"] } == [.string("Provence"), .null])
        #expect(series.last?["observations"] == .number(2))
    }

    @Test func coordinatesInPlacesWorkTheSameWay() async throws {
        let dir = MeteoProcess.temporaryDataDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        try await ingestAndSink(["--places", "Mont Ventoux@44.17,5.28;-33.8688,151.2093", "--source", "synthetic"], dir: dir, published: 2)
        for text in ["Mont Ventoux", "geo:44.1700,5.2800", "44.17,5.28"] {
            #expect(try await json(["query", "--place", text, "--data-dir", dir.path])["name"] == .string("Mont Ventoux"), "--place '\(text)'")
        }
        let sydney = try await json(["query", "--place=-33.8688,151.2093", "--data-dir", dir.path])
        #expect(sydney["place_id"] == .string("geo:-33.8688,151.2093") && sydney["name"] == .string("-33.8688, 151.2093") && sydney["region"] == .null)
        let report = try await json(["analyze", "--place", "Mont Ventoux", "--data-dir", dir.path])
        #expect(report["observations"]?["count"] == .number(1))
        // METEO_PLACES says the same.
        let env = try await MeteoProcess.run(["ingest", "--once", "--source", "synthetic", "--data-dir", dir.path],
                                       environment: ["METEO_PLACES": "Mont Ventoux@44.17,5.28"])
        #expect(env.status == 0 && env.stdout.contains("published 1 events"), "\(env.stdout)\(env.stderr)")
    }

    @Test func storeOnlyPlacesFromReplayedEventsAreFound() async throws {
        let dir = MeteoProcess.temporaryDataDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        // A year of hourly readings in the original notebook's style would be 8,760 rows; 30 make the point.
        let start = Date(timeIntervalSince1970: 1_764_374_400)  // 2025-11-29T00:00:00Z
        let lines = (0..<30).map { h in
            #"{"v":1,"place_id":"sandpoint-1","name":"Sand Point","country":"US","region":null,"latitude":47.6815,"longitude":-122.2597,"#
                + #""observed_at":"\#(ISO8601.string(from: start.addingTimeInterval(Double(h) * 3600)))","source":"replay","temperature_c":\#(5 + h % 7),"#
                + #""feels_like_c":null,"humidity_pct":80,"pressure_hpa":1012.5,"wind_speed_ms":3.5,"wind_direction_deg":200,"wind_gust_ms":null,"#
                + #""cloud_cover_pct":90,"visibility_m":10000,"rain_mm":0.2,"snow_mm":0,"weather_code":61}"#
        }
        let replay = dir.appendingPathComponent("legacy.ndjson")
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: replay)
        try await ingestAndSink(["--source", "replay", "--replay-file", replay.path], dir: dir, published: 30)

        for text in ["Sand Point", "sandpoint-1", "sand point,us"] {
            let found = try await json(["query", "--place", text, "--limit", "100", "--data-dir", dir.path])
            #expect(found["place_id"] == .string("sandpoint-1") && found["name"] == .string("Sand Point"), "--place '\(text)'")
            guard case .array(let history)? = found["history"] else { Issue.record("no history"); continue }
            #expect(history.count == 30)
        }
        let table = try await meteo(["query", "--place", "Sand Point", "--data-dir", dir.path])
        #expect(table.stdout.hasPrefix("Sand Point, US (47.6815 °N, -122.2597 °E)"), "\(table.stdout.prefix(200))")
        let report = try await json(["analyze", "--place", "Sand Point", "--data-dir", dir.path])
        #expect(report["observations"]?["count"] == .number(30))

        let misspelt = try await MeteoProcess.run(["query", "--place", "Sand Pont", "--data-dir", dir.path])
        misspelt.expectRefused("no place named 'Sand Pont'", "did you mean 'Sand Point'")
    }

    @Test func badPlacesAreOneLineSayingWhereAndWhat() async throws {
        let dir = MeteoProcess.temporaryDataDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("bad.csv")
        try Data("name,latitude,longitude,id\r\nA,1,2,a\r\nB,3,4,a".utf8).write(to: file)
        let cases: [([String], String)] = [
            (["--places-file", file.path], "line 3 of the places file \(file.path): the id a is already on line 2"),
            (["--places", "Mont Ventoux@44.17"], "invalid place 'Mont Ventoux@44.17' (from flag --places): after '@' write LAT,LON"),
            (["--places", "91,7"], "invalid place '91,7' (from flag --places): the latitude must be a number from -90 to 90"),
            (["--places-file", dir.appendingPathComponent("missing.csv").path], "cannot read the places file"),
        ]
        for (arguments, message) in cases {
            let r = try await MeteoProcess.run(["ingest", "--once", "--source", "synthetic", "--data-dir", dir.path] + arguments)
            r.expectRefused(message)
        }
    }
}
