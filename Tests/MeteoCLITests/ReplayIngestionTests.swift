import Foundation
import Logging
import MeteoCore
import MeteoEmbedded
import MeteoTestSupport
import Testing

/// Users' own recordings and the original system's payloads through `meteo ingest --source
/// replay`, `meteo sink` and `meteo query`, as processes (issue 17).
@Suite("meteo replay and legacy payloads, as processes", .meteoBinary)
struct ReplayIngestionTests {
    static let python = ProcessInfo.processInfo.environment["METEO_PYTHON"] ?? "python3"

    /// `meteo ingest --source replay --once` then `meteo sink --until-idle` on one data dir.
    static func replay(_ file: URL, dataDir: URL, expectPublished n: Int, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let ingest = try await MeteoProcess.run(["ingest", "--source", "replay", "--replay-file", file.path, "--once", "--data-dir", dataDir.path])
        #expect(ingest.status == 0, "\(ingest.stderr)", sourceLocation: sourceLocation)
        #expect(ingest.stdout.contains("published \(formatCount(n)) events in 1 poll(s); 0 place failures"), "\(ingest.stdout)\n\(ingest.stderr)",
                sourceLocation: sourceLocation)
        let sink = try await MeteoProcess.run(["sink", "--until-idle", "--data-dir", dataDir.path])
        #expect(sink.status == 0, "\(sink.stderr)", sourceLocation: sourceLocation)
        let summary = SinkSummary(sink.stdout)
        #expect(summary.consumed == n && summary.stored == n, "\(summary)", sourceLocation: sourceLocation)
    }

    /// A recording written by Python's csv module, which ends its lines with CRLF: every row
    /// is replayed and stored (before, a CRLF file gave 0 events and 0 failures).
    @Test func aCSVRecordingWrittenByPythonsCSVModuleReplaysEveryRow() async throws {
        let dir = MeteoProcess.temporaryDataDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let places = Array(try PlaceCatalogue.bundled().places(in: [try #require(Region.named("EuropeW"))]).prefix(40))
        // One row per place; names as the catalogue has them (some with spaces, accents or
        // hyphens), and one with a comma and a quote so that the writer quotes it.
        var rows: [[String]] = []
        for (i, p) in places.enumerated() {
            let name = i == 0 ? #"\#(p.name), "centre""# : p.name
            let humidity = i % 3 == 0 ? "" : String(50 + i)
            rows.append([p.id, name, p.country, "EuropeW", String(p.latitude), String(p.longitude),
                         "2026-01-01T00:\(String(format: "%02d", i % 60)):00Z", "davis", String(Double(i) / 4), humidity])
        }
        var input = JSONWriter()
        input.value(.array(rows.map { .array($0.map(JSONValue.string)) }))
        let file = dir.appendingPathComponent("recording.csv")
        let script = """
        import csv, json, sys
        rows = json.load(sys.stdin)
        with open(sys.argv[1], "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)  # lineterminator is "\\r\\n" by default
            w.writerow(["place_id", "name", "country", "region", "latitude", "longitude", "observed_at", "source", "temperature_c", "humidity_pct"])
            w.writerows(rows)
        """
        let python = try await Shell.run(Self.python, ["-c", script, file.path], input: String(decoding: input.bytes, as: UTF8.self))
        #expect(python.status == 0, "\(python.stderr)")
        let bytes = try Data(contentsOf: file)
        let newlines = bytes.indices.filter { bytes[$0] == 0x0A }
        #expect(newlines.count == rows.count + 1)
        #expect(newlines.allSatisfy { $0 > bytes.startIndex && bytes[$0 - 1] == 0x0D }, "every line ends with CRLF")

        try await Self.replay(file, dataDir: dir, expectPublished: rows.count)

        let store = try SQLiteStore.open(dataDir: dir, logger: Logger(label: "test"))
        #expect(try await store.count() == rows.count)
        let stored = try await store.observations(ObservationQuery(region: "EuropeW"))
        try await store.close()
        let byID = Dictionary(uniqueKeysWithValues: stored.map { ($0.placeID, $0) })
        for row in rows {
            let o = try #require(byID[row[0]], "place \(row[0]) is not stored")
            #expect(o.name == row[1] && o.source == "davis" && o.temperatureC == Double(row[8]))
            #expect(o.humidityPct == Double(row[9]), "an empty field is null: \(row)")
            #expect(o.latitude == Double(row[4]) && o.longitude == Double(row[5]))
        }

        let query = try await MeteoProcess.run(["query", "--region", "EuropeW", "--format", "json", "--data-dir", dir.path])
        #expect(query.status == 0, "\(query.stderr)")
        guard case .array(let latest) = try JSONValue.parse(query.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            Issue.record("query --region did not print an array: \(query.stdout.prefix(200))")
            return
        }
        #expect(latest.count == rows.count)
        #expect(latest.contains { $0["name"] == .string(rows[0][1]) }, "the quoted name with a comma and quotes")
    }

    /// NDJSON lines without "v" and with numeric ids, one of a place that is not in the
    /// catalogue, which keeps its own name and coordinates.
    @Test func observationRecordsWithNumericIDsAndNoVersionAreStored() async throws {
        let dir = MeteoProcess.temporaryDataDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("station.jsonl")
        let lines = [
            #"{"place_id":2973783,"name":"Strasbourg","country":"FR","region":"EuropeW","latitude":48.58392,"longitude":7.74553,"observed_at":"2026-01-01T00:00:00Z","temperature_c":4.5}"#,
            #"{"place_id":2973783,"name":"Strasbourg","country":"FR","region":"EuropeW","latitude":48.58392,"longitude":7.74553,"observed_at":"2026-01-01T01:00:00Z","temperature_c":3.5}"#,
            #"{"place_id":900000001,"name":"Le Jardin","country":"FR","latitude":43.2965,"longitude":5.3698,"observed_at":"2026-01-01T00:30:00Z","humidity_pct":77,"source":"garden"}"#,
        ]
        try Data(([0xEF, 0xBB, 0xBF] as [UInt8]) + Array(lines.joined(separator: "\r\n").utf8)).write(to: file)  // a BOM, CRLF, no final newline
        try await Self.replay(file, dataDir: dir, expectPublished: 3)

        let store = try SQLiteStore.open(dataDir: dir, logger: Logger(label: "test"))
        let garden = try #require(try await store.observations(ObservationQuery(placeIDs: ["900000001"])).first)
        let strasbourg = try await store.observations(ObservationQuery(placeIDs: ["2973783"]))
        try await store.close()
        #expect(garden.name == "Le Jardin" && garden.country == "FR" && garden.region == nil)
        #expect(garden.latitude == 43.2965 && garden.longitude == 5.3698 && garden.humidityPct == 77 && garden.source == "garden")
        #expect(strasbourg.map(\.temperatureC) == [3.5, 4.5])
        #expect(strasbourg.allSatisfy { $0.source == "replay" })

        let query = try await MeteoProcess.run(["query", "--place", "Strasbourg", "--format", "json", "--data-dir", dir.path])
        #expect(query.status == 0, "\(query.stderr)")
        let json = try JSONValue.parse(query.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(json["place_id"] == .string("2973783") && json["temperature_c"] == .number(3.5))
        guard case .array(let history)? = json["history"] else { Issue.record("no history"); return }
        #expect(history.count == 2)

        // "Le Jardin" is in no catalogue: it is found by its stored name, and by its id.
        for text in ["Le Jardin", "le jardin", "900000001"] {
            let found = try await MeteoProcess.run(["query", "--place", text, "--format", "json", "--data-dir", dir.path])
            #expect(found.status == 0, "--place '\(text)': \(found.stderr)")
            let garden = try JSONValue.parse(found.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
            #expect(garden["place_id"] == .string("900000001") && garden["name"] == .string("Le Jardin"), "--place '\(text)'")
            #expect(garden["latitude"] == .number(43.2965) && garden["humidity_pct"] == .number(77))
        }
    }

    /// `meteo sink --format legacy-owm` (and auto) on the original system's messages: box/city
    /// payloads stored with the catalogue's country and region, an OWM error body dead-lettered
    /// with the provider's message.
    @Test(arguments: ["legacy-owm", "auto"])
    func theSinkReadsTheOriginalTopic(_ format: String) async throws {
        let dir = MeteoProcess.temporaryDataDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let boxCity = #"{"cod":200,"calctime":0.3,"cnt":1,"list":[{"id":2973783,"dt":1485784982,"name":"Strasbourg","coord":{"Lon":7.74553,"Lat":48.58392},"main":{"temp":9.68,"humidity":85}}]}"#
        let invalidKey = #"{"cod":401, "message": "Invalid API key. Please see https://openweathermap.org/faq#error401 for more info."}"#
        let log = try EmbeddedLog.open(dataDir: dir, logger: Logger(label: "test"))
        try await log.publisher().publish([boxCity, invalidKey].map { OutgoingMessage(key: nil, value: Array($0.utf8)) }, to: "projet")
        try await log.close()

        let sink = try await MeteoProcess.run(["sink", "--topic", "projet", "--format", format, "--until-idle", "--data-dir", dir.path])
        #expect(sink.status == 0, "\(sink.stderr)")
        #expect(sink.stdout.contains("1 dead letters"), "\(sink.stdout)")
        let store = try SQLiteStore.open(dataDir: dir, logger: Logger(label: "test"))
        let strasbourg = try #require(try await store.observations(ObservationQuery(placeIDs: ["2973783"])).first)
        let letters = try await store.deadLetters(limit: 10)
        try await store.close()
        #expect(strasbourg.country == "FR" && strasbourg.region == "EuropeW" && strasbourg.temperatureC == 9.68)
        #expect(letters.map(\.reason) == ["OpenWeatherMap error 401: Invalid API key. Please see https://openweathermap.org/faq#error401 for more info."])

        let query = try await MeteoProcess.run(["query", "--region", "EuropeW", "--format", "json", "--data-dir", dir.path])
        #expect(query.status == 0, "\(query.stderr)")
        #expect(query.stdout.contains("\"name\":\"Strasbourg\""))
    }
}
