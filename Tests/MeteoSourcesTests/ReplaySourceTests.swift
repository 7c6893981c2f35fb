import Foundation
import MeteoCore
import MeteoSources
import Testing

@Suite("Replay source")
struct ReplaySourceTests {
    func write(_ text: String, ext: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("meteo-replay-\(UUID().uuidString).\(ext)").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static let event = #"{"v":1,"place_id":"2973783","name":"Strasbourg","country":"FR","region":null,"latitude":48.58,"longitude":7.75,"observed_at":"2026-01-01T00:00:00Z","source":"open-meteo","temperature_c":4.5,"feels_like_c":null,"humidity_pct":80,"pressure_hpa":null,"wind_speed_ms":null,"wind_direction_deg":null,"wind_gust_ms":null,"cloud_cover_pct":null,"visibility_m":null,"rain_mm":null,"snow_mm":null,"weather_code":null}"#

    static let legacy = #"{"cod":200,"calctime":0.3,"cnt":2,"list":[{"id":2973783,"dt":1767225600,"name":"Strasbourg","coord":{"Lat":48.58,"Lon":7.75},"main":{"temp":3.2,"humidity":81,"pressure":1019},"wind":{"speed":2.1,"deg":200},"clouds":{"today":75}},{"id":2950159,"dt":1767225600,"name":"Berlin","coord":{"Lat":52.52,"Lon":13.41},"main":{"temp":"cold"}}]}"#

    @Test func ndjsonEventsAndLegacyLinesWithBadLineNumbers() async throws {
        let text = [Self.event, "", Self.legacy, "{not json", #"{"v":1,"place_id":"x"}"#].joined(separator: "\n") + "\n"
        let path = try write(text, ext: "ndjson")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let source = ReplaySource(path: path)
        let batch = try await source.poll([])
        #expect(batch.observations.map(\.placeID) == ["2973783", "2973783"])
        #expect(batch.observations.map(\.source) == ["open-meteo", "legacy-owm"])
        #expect(batch.observations[1].temperatureC == 3.2 && batch.observations[1].cloudCoverPct == 75)
        #expect(batch.failures.count == 3)
        #expect(batch.failures[0].reason.hasPrefix("line 3, entry 2:"))
        #expect(batch.failures[1].reason.hasPrefix("line 4:"))
        #expect(batch.failures[2].reason.hasPrefix("line 5:"))
        // Exhausted after the first poll.
        let again = try await source.poll([])
        #expect(again.observations.isEmpty && again.failures.isEmpty)
    }

    @Test func csvWithHeaderEmptyFieldsAndABadLine() async throws {
        let text = """
        place_id,name,country,region,latitude,longitude,observed_at,source,temperature_c,humidity_pct,rain_mm,weather_code
        2973783,Strasbourg,FR,grand-est,48.58,7.75,2026-01-01T00:00:00Z,open-meteo,4.5,80,,61
        2950159,"Berlin, Mitte",DE,,52.52,13.41,2026-01-01T00:10:00Z,,-1.5,,0.2,
        bad1,Nowhere,XX,,95,0,2026-01-01T00:00:00Z,replay,1,,,
        bad2,Nowhere,XX,,10,0,yesterday,replay,1,,,
        """
        let path = try write(text, ext: "csv")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let batch = try await ReplaySource(path: path).poll([Fixtures.strasbourg])
        #expect(batch.observations.count == 2)
        let s = batch.observations[0], b = batch.observations[1]
        #expect(s.region == "grand-est" && s.temperatureC == 4.5 && s.rainMM == nil && s.weatherCode == 61 && s.source == "open-meteo")
        #expect(b.name == "Berlin, Mitte" && b.region == nil && b.source == "replay" && b.humidityPct == nil && b.rainMM == 0.2)
        #expect(b.observedAt == Date(timeIntervalSince1970: 1_767_226_200))
        #expect(batch.failures.map(\.placeID) == ["bad1", "bad2"])
        #expect(batch.failures[0].reason.hasPrefix("line 4:") && batch.failures[0].reason.contains("latitude"))
        #expect(batch.failures[1].reason.hasPrefix("line 5:") && batch.failures[1].reason.contains("observed_at"))
    }

    @Test func formatIsDetectedFromExtensionOrContent() {
        #expect(ReplaySource.detectFormat(path: "a.jsonl", text: "place_id") == .jsonLines)
        #expect(ReplaySource.detectFormat(path: "a.csv", text: "{") == .csv)
        #expect(ReplaySource.detectFormat(path: "a.txt", text: "  {\"v\":1}") == .jsonLines)
        #expect(ReplaySource.detectFormat(path: "recording", text: "place_id,name") == .csv)
    }

    @Test func missingFileIsAnIOError() async throws {
        let error = try await #require(throws: MeteoError.self) { try await ReplaySource(path: "/nonexistent/meteo.ndjson").poll([]) }
        #expect(error.code == .io && error.message.contains("/nonexistent/meteo.ndjson"))
    }
}
