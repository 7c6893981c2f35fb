import Foundation
import Logging
import MeteoCore
import MeteoEmbedded
import MeteoTestSupport
import Testing

@Suite("meteo demo and query, as processes", .meteoBinary)
struct DemoAndQueryTests {
    @Test func demoStoresEveryEventOnceAndQueryFindsStrasbourg() async throws {
        let dir = MeteoProcess.temporaryDataDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let demo = try await MeteoProcess.run(["demo", "--ticks", "3", "--no-serve", "--data-dir", dir.path])
        #expect(demo.status == 0, "\(demo.stderr)")
        #expect(demo.stdout.contains("Summary"))
        let lines = demo.stdout.split(separator: "\n")
        #expect(lines.contains { $0.hasPrefix("events published") && $0.hasSuffix("4,890") })
        #expect(lines.contains { $0.hasPrefix("observations stored") && $0.hasSuffix("4,890") })
        #expect(lines.contains { $0.hasPrefix("store total") && $0.hasSuffix("4,890") })
        #expect(lines.contains { $0.hasPrefix("dead letters") && $0.hasSuffix(" 0") })

        let store = try SQLiteStore.open(dataDir: dir, logger: .init(label: "test"))
        #expect(try await store.count() == 4890)
        try await store.close()

        let query = try await MeteoProcess.run(["query", "--place", "Strasbourg", "--data-dir", dir.path, "--format", "json"])
        #expect(query.status == 0, "\(query.stderr)")
        let json = try JSONValue.parse(query.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        for field in ["name", "country", "latitude", "longitude", "observed_at", "temperature_c", "humidity_pct",
                      "pressure_hpa", "wind_speed_ms", "cloud_cover_pct", "rain_mm", "snow_mm", "source"] {
            #expect(json[field] != nil, "missing \(field)")
        }
        #expect(json["name"] == .string("Strasbourg"))
        #expect(json["country"] == .string("FR"))
        #expect(json["source"] == .string("synthetic"))
        guard case .string(let observed)? = json["observed_at"] else { Issue.record("observed_at is not a string"); return }
        #expect(ISO8601.date(from: observed) != nil)
        guard case .array(let history)? = json["history"] else { Issue.record("no history"); return }
        #expect(history.count == 3)

        let table = try await MeteoProcess.run(["query", "--place", "Strasbourg", "--data-dir", dir.path])
        #expect(table.status == 0)
        #expect(table.stdout.contains("°C"))
        #expect(table.stdout.contains("hPa"))
    }

    @Test func unknownAndAmbiguousPlacesGetOneClearLine() async throws {
        let dir = MeteoProcess.temporaryDataDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let unknown = try await MeteoProcess.run(["query", "--place", "Strasbourgg", "--data-dir", dir.path])
        unknown.expectRefused("did you mean", "Strasbourg")

        let ambiguous = try await MeteoProcess.run(["query", "--place", "Paris", "--data-dir", dir.path])
        ambiguous.expectRefused("Paris,FR")

        let empty = try await MeteoProcess.run(["query", "--place", "Paris,FR", "--data-dir", dir.path])
        empty.expectRefused("meteo demo")
    }

    @Test func invalidConfigurationIsRefusedWithWhatToFix() async throws {
        let dir = MeteoProcess.temporaryDataDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let bad = try await MeteoProcess.run(["ingest", "--once", "--source", "synthetic", "--data-dir", dir.path],
                                       environment: ["METEO_INTERVAL": "soon"])
        bad.expectRefused("METEO_INTERVAL")
    }

    @Test func placesListsTheRegionsWithAttribution() async throws {
        let r = try await MeteoProcess.run(["places"])
        #expect(r.status == 0)
        #expect(r.stdout.contains("EuropeW"))
        #expect(r.stdout.contains("1,630"))
        #expect(r.stdout.contains("GeoNames"))
        let help = try await MeteoProcess.run(["places", "--help"])
        #expect(help.stdout.contains("GeoNames"))
    }
}
