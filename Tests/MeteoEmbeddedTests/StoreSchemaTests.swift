import Foundation
import MeteoCore
@testable import MeteoEmbedded
import Testing

@Suite("The SQLite store's table is the observation schema")
struct StoreSchemaTests {
    /// The table SQLite made, read back: every field of the schema once, with its type and
    /// NOT NULL when it is not nullable (the key first, then the schema's order).
    @Test func theTableHasEveryFieldWithItsTypeAndNullability() async throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try SQLiteStore.open(dataDir: dir, logger: testLogger)
        let columns = try await store.connection.perform { db -> [[String]] in
            let s = try db.prepare("SELECT name, type, \"notnull\" FROM pragma_table_info('observations') ORDER BY cid")
            defer { s.finalize() }
            var out: [[String]] = []
            while try s.step() { out.append([s.text(0) ?? "", s.text(1) ?? "", "\(s.int64(2) ?? -1)"]) }
            return out
        }
        #expect(Set(columns.map { $0[0] }) == Set(ObservationSchema.names))
        #expect(columns.map { $0[0] }.prefix(2) == ["place_id", "observed_at"])
        for column in columns {
            let field = try #require(ObservationSchema.field(column[0]))
            let type = switch field.kind {
            case .text: "TEXT"
            case .real: "REAL"
            case .integer, .time: "INTEGER"
            }
            #expect(column[1] == type, "\(column)")
            #expect(column[2] == (field.nullable ? "0" : "1"), "\(column)")
        }
        try await store.close()
    }

    /// Every field is bound and read back: an observation with all of them set, and one with
    /// every nullable field absent, come back equal (a field missing from the binds would not).
    @Test func everyFieldGoesInAndComesBack() async throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try SQLiteStore.open(dataDir: dir, logger: testLogger)
        let full = Observation(placeID: "2973783", name: "Strasbourg", country: "FR", region: "EuropeW", latitude: 48.58, longitude: 7.75,
                               observedAt: Date(timeIntervalSince1970: 1_764_387_600), source: "synthetic",
                               temperatureC: 1.5, feelsLikeC: -0.5, humidityPct: 81, pressureHPa: 1012.5, windSpeedMS: 3.5,
                               windDirectionDeg: 220, windGustMS: 7.5, cloudCoverPct: 75, visibilityM: 9000, rainMM: 0.25,
                               snowMM: 0.125, weatherCode: 61)
        let bare = Observation(placeID: "1", name: "Bare", country: "", latitude: 0, longitude: 0,
                               observedAt: Date(timeIntervalSince1970: 1_764_387_600), source: "test")
        _ = try await store.upsert([full, bare])
        let back = try await store.observations(ObservationQuery(newestFirst: false))
        #expect(Set(back) == [full, bare])
        // And through the update of a row already there.
        var changed = full
        changed.weatherCode = 3
        changed.visibilityM = 100
        _ = try await store.upsert([changed])
        #expect(try await store.observations(ObservationQuery(placeIDs: ["2973783"])) == [changed])
        try await store.close()
    }
}
