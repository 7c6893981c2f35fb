#if MongoDB
import Foundation
import Logging
import MeteoAnalytics
import MeteoCore
@testable import MeteoMongo
import MeteoSources
import MeteoTestSupport
import Testing

/// The analyses run as aggregation pipelines on the server must give the report of the
/// in-process engine on the same documents: counts, names, times and order exactly, means and
/// correlations to 1e-9 relative.
@Suite("MongoDB server-side analytics", .serialized,
       .requires(environment: "METEO_TEST_MONGO", "the URI of a running server; scripts/test starts one"))
struct MongoAnalyticsTests {
    let logger = Logger(label: "mongo-analytics-test")

    /// Synthetic weather of three regions made awkward: missing values, hostile names, a place
    /// without region, one with an empty country, one with a Mongo operator as its name, rain
    /// and snow at once, a constant column.
    func awkward(ticks: Int = 12) throws -> [Observation] {
        let catalogue = try PlaceCatalogue.bundled()
        var places = ["EuropeW", "AsieE", "AmeriqueS"].compactMap { Region.named($0) }.flatMap { catalogue.places(in: [$0]).prefix(60) }
        places[0].name = "<script>alert(1)</script>"
        places[1].name = #"{"$ne": null}"#
        places[2].region = nil
        places[3].country = ""
        let source = SyntheticSource(seed: 11, start: Date(timeIntervalSince1970: 1_767_225_600), step: .seconds(600))
        var out: [Observation] = []
        for tick in 0..<Int64(ticks) { out += source.observations(places: places, tick: tick) }
        for i in out.indices {
            if i % 7 == 0 { out[i].windGustMS = nil }
            if i % 11 == 0 { out[i].visibilityM = nil }
            if i % 23 == 0 { out[i].temperatureC = nil }
            if (300..<500).contains(i) { out[i].humidityPct = nil }
            if out[i].placeID == places[4].id { out[i].rainMM = 1.25; out[i].snowMM = 0.5 }
            if out[i].placeID == places[5].id { out[i].cloudCoverPct = 40 }
        }
        return out
    }

    /// Paths where two JSON documents differ: numbers to 1e-9 relative (1e-12 absolute near
    /// zero), everything else exactly; `engine` is ignored.
    func mismatches(_ a: JSONValue?, _ b: JSONValue?, at path: String = "$") -> [String] {
        switch (a, b) {
        case let (.number(x)?, .number(y)?):
            return abs(x - y) <= max(1e-9 * max(abs(x), abs(y)), 1e-12) ? [] : ["\(path): \(x) vs \(y)"]
        case let (.array(x)?, .array(y)?) where x.count == y.count:
            return x.indices.flatMap { mismatches(x[$0], y[$0], at: "\(path)[\($0)]") }
        case let (.object(x)?, .object(y)?):
            return Set(x.keys).union(y.keys).subtracting(["engine"]).sorted().flatMap { mismatches(x[$0], y[$0], at: "\(path).\($0)") }
        default:
            return a == b ? [] : ["\(path): \(a.map { "\($0)" } ?? "missing") vs \(b.map { "\($0)" } ?? "missing")"]
        }
    }

    func compare(_ store: MongoStore, _ request: AnalysisRequest) async throws -> AnalysisReport {
        let server = try await MongoAnalyticsEngine(store: store, logger: logger).analyze(request)
        let local = try await InProcessEngine(store: store, pageSize: 500, logger: logger).analyze(request)
        #expect(server.engine == "mongodb")
        let diff = mismatches(try JSONValue.parse(server.jsonString), try JSONValue.parse(local.jsonString))
        #expect(diff.isEmpty, "server vs in-process for \(request): \(diff.prefix(10))")
        return server
    }

    @Test func serverAggregatesEqualTheInProcessEngine() async throws {
        try await MongoStoreTests().withStore { store in
            let rows = try awkward()
            _ = try await store.upsert(rows)
            let all = try await compare(store, AnalysisRequest())
            // The data has what every part of the report needs, so that equality means something.
            #expect(all.summary.observations == rows.count)
            #expect(all.regions.map(\.key) == ["AmeriqueS", "AsieE", "EuropeW"])
            #expect(all.countries.contains { $0.key == "" })
            #expect(all.rainAndSnow.count >= 1)
            #expect(all.rain.byRegion.last?.region == nil)
            #expect(all.correlation.matrix[6][6] != nil && all.correlation.r("temperature_c", "feels_like_c")! > 0.5)
            #expect(all.windows.series.count > 3 && all.extremes.hottest.count == 5)
            #expect(all.rainAndSnow.places.contains { $0.placeID == rows[4].placeID && $0.value == 1.75 })

            // Filters: a region, a time range, one place, other windows and list lengths.
            let start = Date(timeIntervalSince1970: 1_767_225_600)
            _ = try await compare(store, AnalysisRequest(region: "AsieE", windowSeconds: 900, top: 3))
            _ = try await compare(store, AnalysisRequest(since: start.addingTimeInterval(1800), until: start.addingTimeInterval(5400), top: 0))
            _ = try await compare(store, AnalysisRequest(placeIDs: [rows[4].placeID], windowSeconds: 86_400))
            // Nothing selected: a region with no rows still has its (empty) entry.
            let none = try await compare(store, AnalysisRequest(region: "Oceanie"))
            #expect(none.summary.observations == 0 && none.regions.map(\.key) == ["Oceanie"])
        }
    }

    @Test func theLatestRowOfAPlaceDecidesItsRainAndRegion() async throws {
        try await MongoStoreTests().withStore { store in
            var rows = try awkward(ticks: 3)
            // A place that rained first, then stopped and moved region: only its latest row counts.
            let id = rows[10].placeID
            for i in rows.indices where rows[i].placeID == id {
                let newest = rows[i].observedAt == rows.filter { $0.placeID == id }.map(\.observedAt).max()
                rows[i].rainMM = newest ? 0 : 3
                if newest { rows[i].region = "Elsewhere" }
            }
            _ = try await store.upsert(rows)
            let report = try await compare(store, AnalysisRequest())
            #expect(!report.rain.places.contains { $0.placeID == id })
            #expect(report.rain.byRegion.contains { $0.region == "Elsewhere" && $0.count == 0 })
        }
    }
}
#endif
