import Foundation
import Logging
import MeteoCore
import MeteoEmbedded
import MeteoPipeline
import MeteoSources
import Testing

/// Users' own records and the original system's payloads through the real embedded log and
/// SQLite store (issue 17).
@Suite("Pipeline: users' records and the original system's payloads")
struct RealWorldIngestionTests {
    /// The data dirs and the sink run of the pipeline tests.
    let pipeline = PipelineTests()
    var logger: Logger { pipeline.logger }
    var topic: String { pipeline.topic }

    func tempDir() -> URL { pipeline.tempDir() }

    func runSink(_ log: EmbeddedLog, _ store: SQLiteStore, format: PayloadFormat) async throws -> Sink.Stats {
        try await pipeline.runSink(log, store, format: format)
    }

    /// A place that is not in the catalogue keeps its own name and coordinates from a replayed
    /// CRLF recording, through the bus and the sink, into the store.
    @Test func aPlaceOutsideTheCatalogueKeepsItsNameAndCoordinatesIntoTheStore() async throws {
        let dir = tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let recording = dir.appendingPathComponent("garden.ndjson")
        let lines = [
            #"{"place_id":900000001,"name":"Le Jardin <b>","country":"FR","latitude":43.2965,"longitude":5.3698,"observed_at":"2026-01-01T00:10:00Z","temperature_c":11.5}"#,
            #"{"place_id":"2973783","name":"My Strasbourg","latitude":48.6,"longitude":7.8,"observed_at":"2026-01-01T00:10:00Z","source":"station-7"}"#,
        ]
        try Data((lines.joined(separator: "\r\n") + "\r\n").utf8).write(to: recording)
        #expect(try PlaceCatalogue.bundled().place(id: "900000001") == nil, "the id is not a catalogue place")

        let log = try EmbeddedLog.open(dataDir: dir, logger: logger)
        let store = try SQLiteStore.open(dataDir: dir, logger: logger)
        let ingestor = Ingestor(source: ReplaySource(path: recording.path), publisher: try log.publisher(),
                                configuration: .init(topic: topic, places: [], interval: .zero, ticks: 1), logger: logger)
        try await ingestor.run()
        #expect(ingestor.stats.published == 2 && ingestor.stats.sourceFailures == 0)
        let stats = try await runSink(log, store, format: .event)
        #expect(stats.stored == 2 && stats.deadLettered == 0)

        let garden = try #require(try await store.observations(ObservationQuery(placeIDs: ["900000001"])).first)
        #expect(garden.name == "Le Jardin <b>" && garden.country == "FR" && garden.region == nil)
        #expect(garden.latitude == 43.2965 && garden.longitude == 5.3698)
        #expect(garden.source == "replay" && garden.temperatureC == 11.5)
        // A catalogue id keeps the record's own name and coordinates too: a record is not rewritten.
        let mine = try #require(try await store.observations(ObservationQuery(placeIDs: ["2973783"])).first)
        #expect(mine.name == "My Strasbourg" && mine.latitude == 48.6 && mine.longitude == 7.8 && mine.source == "station-7")
        #expect(try await store.latest(region: nil).map(\.name).sorted() == ["Le Jardin <b>", "My Strasbourg"])
        try await log.close()
        try await store.close()
    }

    /// The original producer's box/city payload: Strasbourg stored with France and EuropeW.
    @Test(arguments: [PayloadFormat.legacyOWM, .auto])
    func legacyCitiesAreStoredWithTheCataloguesCountryAndRegion(_ format: PayloadFormat) async throws {
        let dir = tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let log = try EmbeddedLog.open(dataDir: dir, logger: logger)
        let store = try SQLiteStore.open(dataDir: dir, logger: logger)
        let payload = #"""
        {"cod":"200","calctime":0.3,"cnt":3,"list":[
         {"id":2973783,"dt":1485784982,"name":"Strasbourg","coord":{"Lon":7.74553,"Lat":48.58392},"main":{"temp":9.68,"humidity":85}},
         {"id":2988507,"dt":1485784982,"name":"Paris","coord":{"Lon":2.3488,"Lat":48.85341},"main":{"temp":3.1}},
         {"id":999999999,"dt":1485784982,"name":"Nulle part","coord":{"Lon":7.7,"Lat":48.6},"main":{"temp":5}}]}
        """#
        try await log.publisher().publish([OutgoingMessage(key: nil, value: Array(payload.utf8))], to: topic)
        let stats = try await runSink(log, store, format: format)
        #expect(stats.stored == 3 && stats.deadLettered == 0)
        let rows = try await store.observations(ObservationQuery(placeIDs: ["2973783", "2988507", "999999999"]))
        let byID = Dictionary(uniqueKeysWithValues: rows.map { ($0.placeID, $0) })
        #expect(byID["2973783"]?.country == "FR")
        #expect(byID["2973783"]?.region == "EuropeW")
        #expect(byID["2988507"]?.country == "FR")
        #expect(byID["2988507"].map { $0.region == nil } == true, "Paris is outside the ten boxes")
        #expect(byID["999999999"]?.country == "" && byID["999999999"].map { $0.region == nil } == true)
        #expect(try await store.latest(region: "EuropeW").map(\.placeID) == ["2973783"])
        try await log.close()
        try await store.close()
    }

    /// An OpenWeatherMap error body the original producer forwarded: dead-lettered with the
    /// provider's message, while the payloads around it are stored.
    @Test(arguments: [PayloadFormat.auto, .legacyOWM, .owmCurrent])
    func anOWMErrorBodyIsDeadLetteredWithTheProvidersMessage(_ format: PayloadFormat) async throws {
        let dir = tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let log = try EmbeddedLog.open(dataDir: dir, logger: logger)
        let store = try SQLiteStore.open(dataDir: dir, logger: logger)
        let error = #"{"cod":401,"message":"Invalid API key. Please see https://openweathermap.org/faq#error401 for more info."}"#
        let notFound = #"{"cod":"404","message":"city not found"}"#
        let good = format == .owmCurrent
            ? #"{"coord":{"lon":7.74553,"lat":48.58392},"main":{"temp":9.68},"dt":1485784982,"id":2973783,"name":"Strasbourg","cod":200}"#
            : #"{"cod":200,"cnt":1,"list":[{"id":2973783,"dt":1485784982,"name":"Strasbourg","coord":{"Lon":7.74553,"Lat":48.58392},"main":{"temp":9.68}}]}"#
        try await log.publisher().publish([error, good, notFound].map { OutgoingMessage(key: nil, value: Array($0.utf8)) }, to: topic)
        let stats = try await runSink(log, store, format: format)
        #expect(stats.consumed == 3 && stats.stored == 1 && stats.deadLettered == 2)
        let letters = try await store.deadLetters(limit: 10).sorted { $0.offset < $1.offset }
        #expect(letters.map(\.reason) == [
            "OpenWeatherMap error 401: Invalid API key. Please see https://openweathermap.org/faq#error401 for more info.",
            "OpenWeatherMap error 404: city not found",
        ])
        #expect(letters.first?.payload == Array(error.utf8), "the bytes are kept as they came")
        #expect(try await store.count() == 1)
        try await log.close()
        try await store.close()
    }
}

/// The delivery log's readers, in Swift and in Python (scripts/delivery_log.py, used by
/// scripts/chaos), on the line endings users' tools may leave in a copied or edited log.
@Suite("Delivery log readers")
struct DeliveryLogReaderTests {
    static let ids = ["2973783@2026-01-01T00:00:00Z", "900000001@2026-01-01T00:10:00.500Z", "a b@2026-01-01T00:20:00Z"]

    static let files: [(String, Data)] = [
        ("LF", Data((ids.joined(separator: "\n") + "\n").utf8)),
        ("CRLF", Data((ids.joined(separator: "\r\n") + "\r\n").utf8)),
        ("no final newline", Data(ids.joined(separator: "\n").utf8)),
        ("BOM and CRLF", Data([0xEF, 0xBB, 0xBF]) + Data((ids.joined(separator: "\r\n") + "\r\n").utf8)),
        ("blank lines", Data(("\n" + ids.joined(separator: "\r\n\r\n")).utf8)),
    ]

    func write(_ data: Data) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("meteo-deliveries-\(UUID().uuidString).log").path
        try data.write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test func theSwiftReaderReadsEveryEnding() throws {
        for (name, data) in Self.files {
            let path = try write(data)
            defer { try? FileManager.default.removeItem(atPath: path) }
            #expect(try DeliveryLog.read(path: path) == Self.ids, "\(name)")
        }
        #expect(throws: MeteoError.self) { try DeliveryLog.read(path: "/nonexistent/deliveries.log") }
    }

    /// What DeliveryLog writes, its reader reads back.
    @Test func whatTheLogWritesIsReadBack() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("meteo-deliveries-\(UUID().uuidString).log").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let observations = (0..<3).map { i in
            Observation(placeID: "p\(i)", name: "n", country: "", region: nil, latitude: 0, longitude: 0,
                        observedAt: Date(timeIntervalSince1970: 1_767_225_600 + Double(i) * 600), source: "test")
        }
        let log = try DeliveryLog(path: path)
        #expect(log.record(observations))
        log.close()
        #expect(try DeliveryLog.read(path: path) == observations.map(\.eventID))
    }

    @Test func thePythonReaderAgrees() throws {
        let python = ProcessInfo.processInfo.environment["METEO_PYTHON"] ?? "python3"
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("scripts/delivery_log.py").path
        for (name, data) in Self.files {
            let path = try write(data)
            defer { try? FileManager.default.removeItem(atPath: path) }
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            p.arguments = [python, script, path]
            let out = Pipe(), err = Pipe()
            p.standardOutput = out
            p.standardError = err
            try p.run()
            let printed = out.fileHandleForReading.readDataToEndOfFile()
            let errors = err.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            #expect(p.terminationReason == .exit && p.terminationStatus == 0, "\(name): \(String(decoding: errors, as: UTF8.self))")
            #expect(DeliveryLog.parse(String(decoding: printed, as: UTF8.self)) == Self.ids, "\(name)")
            #expect(String(decoding: printed, as: UTF8.self) == Self.ids.joined(separator: "\n") + "\n", "\(name)")
        }
    }
}
