import Foundation
import MeteoCore
import MeteoEmbedded
import Testing

/// The store's hour coverage: SQLite's grouped query against the protocol's default (a scan),
/// which the MongoDB store uses.
@Suite("SQLite store: observed hours per place")
struct ObservedHoursTests {
    /// A store that only has the protocol's default `observedHours`, over SQLite's rows.
    struct ScanOnly: ObservationStore {
        let base: SQLiteStore
        func upsert(_ observations: [Observation]) async throws -> UpsertSummary { try await base.upsert(observations) }
        func observations(_ query: ObservationQuery) async throws -> [Observation] { try await base.observations(query) }
        func latest(region: String?) async throws -> [Observation] { try await base.latest(region: region) }
        func count() async throws -> Int { try await base.count() }
        func close() async throws {}
    }

    @Test func groupedQueryAgreesWithTheScanAndMergesRuns() async throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try SQLiteStore.open(dataDir: dir, logger: testLogger)
        let h0: Int64 = 490_000  // an hour number in 2025
        var rows: [Observation] = []
        // Place a: hours 0…9, then 12 (twice in that hour: 12:00 and 12:15), then 20…23.
        for h in Array(0..<10) + [12] + Array(20..<24) { rows.append(sample("a", at: Double((h0 + Int64(h)) * 3600))) }
        rows.append(sample("a", at: Double((h0 + 12) * 3600 + 900)))
        // Place b: every other hour; place c: a single hour outside the window asked below.
        for h in stride(from: 0, to: 24, by: 2) { rows.append(sample("b", at: Double((h0 + Int64(h)) * 3600))) }
        rows.append(sample("c", at: Double((h0 + 100) * 3600)))
        _ = try await store.upsert(rows.shuffled())

        let query = ObservationQuery(since: HourCoverage.date(h0), until: HourCoverage.date(h0 + 24))
        let grouped = try await store.observedHours(query)
        #expect(grouped["a"] == [h0..<(h0 + 10), (h0 + 12)..<(h0 + 13), (h0 + 20)..<(h0 + 24)])
        #expect(grouped["b"]?.count == 12 && grouped["b"]?.first == h0..<(h0 + 1))
        #expect(grouped["c"] == nil)
        #expect(try await ScanOnly(base: store).observedHours(query) == grouped)

        // A place filter, and everything.
        #expect(try await store.observedHours(ObservationQuery(placeIDs: ["b"])).keys.sorted() == ["b"])
        #expect(try await store.observedHours(ObservationQuery(placeIDs: [])).isEmpty)
        let all = try await store.observedHours(ObservationQuery())
        #expect(all["c"] == [(h0 + 100)..<(h0 + 101)])
        #expect(try await ScanOnly(base: store).observedHours(ObservationQuery()) == all)

        // The gaps of the window: a lacks 10, 11 and 13…19; b the odd hours; c all 24.
        let gaps = PlaceGaps.find(placeIDs: ["a", "b", "c"], expected: h0..<(h0 + 24), observed: grouped)
        #expect(gaps.map(\.hours) == [9, 12, 24])
        try await store.close()
    }
}
