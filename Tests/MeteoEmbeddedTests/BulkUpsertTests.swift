import Foundation
import MeteoCore
import MeteoEmbedded
import Testing

/// The store's bulk path (multi-row inserts in time order) counts and overwrites exactly as
/// one row at a time would.
@Suite("SQLite store: bulk upserts")
struct BulkUpsertTests {
    /// `places` places × `hours` hours, place after place (a backfill's order).
    func rows(places: Int, hours: Int, from h0: Int = 0, temperature: Double) -> [Observation] {
        (0..<places).flatMap { p in
            (h0..<(h0 + hours)).map { h in sample("p\(p)", at: Double(1_760_000_400 + h * 3600), temperature: temperature) }
        }
    }

    @Test func newReplayedAndMixedBatchesCountAndOverwriteExactly() async throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try SQLiteStore.open(dataDir: dir, logger: testLogger)
        // 7 places × 17 hours = 119 rows: two groups of 50 and 19 rows one by one.
        let first = try await store.upsert(rows(places: 7, hours: 17, temperature: 1))
        #expect(first == UpsertSummary(inserted: 119, updated: 0))
        #expect(try await store.count() == 119)
        // The same keys with new values: every row overwritten.
        let replay = try await store.upsert(rows(places: 7, hours: 17, temperature: 2))
        #expect(replay == UpsertSummary(inserted: 0, updated: 119))
        // Half old keys (hours 9…16), half new (17…25), in one batch.
        let mixed = try await store.upsert(rows(places: 7, hours: 17, from: 9, temperature: 3))
        #expect(mixed == UpsertSummary(inserted: 7 * 9, updated: 7 * 8))
        #expect(try await store.count() == 7 * 26)
        let all = try await store.observations(ObservationQuery(placeIDs: ["p3"], newestFirst: false))
        #expect(all.map(\.temperatureC) == Array(repeating: 2.0, count: 9) + Array(repeating: 3.0, count: 17))
        // A key twice in one batch: the later one wins.
        var twice = rows(places: 60, hours: 1, from: 40, temperature: 4)
        var later = twice[10]
        later.temperatureC = 5
        twice.append(later)
        let duplicated = try await store.upsert(twice)
        #expect(duplicated == UpsertSummary(inserted: 60, updated: 1))
        let p10 = try await store.observations(ObservationQuery(placeIDs: ["p10"], since: Date(timeIntervalSince1970: Double(1_760_000_400 + 40 * 3600))))
        #expect(p10.map(\.temperatureC) == [5])
        // The latest of each place is its newest hour (hour 40, from the last batch).
        let latest = try await store.latest(region: nil)
        #expect(latest.first { $0.placeID == "p3" }?.observedAt == Date(timeIntervalSince1970: Double(1_760_000_400 + 40 * 3600)))
        try await store.close()
    }
}
