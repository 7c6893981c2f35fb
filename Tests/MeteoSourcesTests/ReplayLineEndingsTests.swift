import Foundation
import MeteoCore
import MeteoSources
import Testing

/// Recordings as users' tools write them: CRLF (RFC 4180, Python's csv module, spreadsheets),
/// LF, no final newline, a UTF-8 byte order mark; and observation records without "v".
@Suite("Replay source: line endings and observation records")
struct ReplayLineEndingsTests {
    enum Ending: String, CaseIterable, CustomStringConvertible {
        case lf, crlf, noFinalNewline, bomAndCRLF, bomCRLFNoFinalNewline
        var description: String { rawValue }

        func file(_ lines: [String]) -> Data {
            switch self {
            case .lf: Data((lines.joined(separator: "\n") + "\n").utf8)
            case .crlf: Data((lines.joined(separator: "\r\n") + "\r\n").utf8)
            case .noFinalNewline: Data(lines.joined(separator: "\n").utf8)
            case .bomAndCRLF: Data([0xEF, 0xBB, 0xBF]) + Data((lines.joined(separator: "\r\n") + "\r\n").utf8)
            case .bomCRLFNoFinalNewline: Data([0xEF, 0xBB, 0xBF]) + Data(lines.joined(separator: "\r\n").utf8)
            }
        }
    }

    func poll(_ data: Data, ext: String) async throws -> SourceBatch {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("meteo-replay-\(UUID().uuidString).\(ext)").path
        try data.write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try await ReplaySource(path: path).poll([])
    }

    static let ndjson = [
        ReplaySourceTests.event,
        "",
        // A user's own station: no "v", a numeric id that is not in the catalogue.
        #"{"place_id":900000001,"name":"Le Jardin","country":"FR","latitude":43.2965,"longitude":5.3698,"observed_at":"2026-01-01T00:10:00Z","temperature_c":11.5}"#,
        ReplaySourceTests.legacy,
        "{not json",
        #"{"place_id":7,"latitude":95,"longitude":0,"observed_at":"2026-01-01T00:00:00Z"}"#,
    ]

    @Test(arguments: Ending.allCases)
    func ndjsonIsReadWhateverItsLineEndings(_ ending: Ending) async throws {
        let batch = try await poll(ending.file(Self.ndjson), ext: "ndjson")
        #expect(batch.observations.map(\.placeID) == ["2973783", "900000001", "2973783"])
        let garden = try #require(batch.observations.first { $0.placeID == "900000001" })
        #expect(garden.name == "Le Jardin" && garden.latitude == 43.2965 && garden.longitude == 5.3698)
        #expect(garden.source == "replay" && garden.temperatureC == 11.5)
        #expect(batch.failures.count == 3, "\(batch.failures.map(\.reason))")
        #expect(batch.failures.map { $0.reason.prefix(while: { $0 != ":" }) } == ["line 4, entry 2", "line 5", "line 6"])
        #expect(batch.failures.last?.reason.contains("latitude") == true)
    }

    static let csv = [
        "place_id,name,country,region,latitude,longitude,observed_at,source,temperature_c,humidity_pct,rain_mm,weather_code",
        "2973783,Strasbourg,FR,EuropeW,48.58,7.75,2026-01-01T00:00:00Z,open-meteo,4.5,80,,61",
        #"900000001,"Le Jardin, Marseille",FR,,43.2965,5.3698,2026-01-01T00:10:00Z,,11.5,,0.2,"#,
        "",
        "bad1,Nowhere,XX,,95,0,2026-01-01T00:00:00Z,replay,1,,,",
        "2950159,Berlin,DE,,52.52,13.41,2026-01-01T00:20:00Z,,-1.5,70,,",
    ]

    @Test(arguments: Ending.allCases)
    func csvIsReadWhateverItsLineEndings(_ ending: Ending) async throws {
        let batch = try await poll(ending.file(Self.csv), ext: "csv")
        #expect(batch.observations.map(\.placeID) == ["2973783", "900000001", "2950159"])
        #expect(batch.observations.map(\.name) == ["Strasbourg", "Le Jardin, Marseille", "Berlin"])
        #expect(batch.observations.map(\.weatherCode) == [61, nil, nil], "the last field of a CRLF line has no '\\r'")
        #expect(batch.observations.last?.humidityPct == 70)
        #expect(batch.failures.map(\.placeID) == ["bad1"])
        #expect(batch.failures.first?.reason.hasPrefix("line 5:") == true, "\(batch.failures.map(\.reason))")
    }

    @Test func aBOMDoesNotHideTheJSONFromFormatDetection() {
        #expect(ReplaySource.detectFormat(path: "recording", text: "\u{FEFF}{\"v\":1}") == .jsonLines)
        #expect(ReplaySource.detectFormat(path: "recording", text: "\u{FEFF}place_id,name") == .csv)
    }

    @Test func loneCarriageReturnsAreOneFailureThatSaysSo() async throws {
        for (lines, ext) in [(Self.csv, "csv"), (Self.ndjson, "ndjson")] {
            let batch = try await poll(Data(lines.joined(separator: "\r").utf8), ext: ext)
            #expect(batch.observations.isEmpty)
            #expect(batch.failures.count == 1)
            let reason = batch.failures.first?.reason ?? ""
            #expect(reason.hasPrefix("line 1:") && reason.contains("carriage return") && reason.contains("LF or CRLF"), "\(reason)")
        }
    }
}
