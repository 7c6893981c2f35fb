import Foundation
import MeteoAnalytics
import MeteoCore
import MeteoEmbedded
import Testing

/// Every analysis against an independent numpy computation of the same definitions
/// (`docs/analytics.md`), through the whole path: store → pages → columns → kernels → JSON.
@Suite("Analytics against the numpy reference")
struct ReferenceTests {
    /// The store holds the awkward data set; the CSV holds the same rows for the reference.
    static func fixture(_ observations: [Observation]) async throws -> (dir: URL, store: SQLiteStore, csv: URL) {
        let dir = temporaryDirectory()
        let store = try SQLiteStore.open(dataDir: dir, logger: testLogger)
        _ = try await store.upsert(observations)
        let csv = dir.appendingPathComponent("observations.csv")
        try ObservationFrame(observations).writeCSV(to: csv)
        return (dir, store, csv)
    }

    static func check(_ request: AnalysisRequest, store: SQLiteStore, csv: URL, pageSize: Int = 1000) async throws -> JSONValue {
        let engine = InProcessEngine(store: store, pageSize: pageSize, logger: testLogger)
        let report = try await engine.analyze(request)
        let ours = try JSONValue.parse(report.json())
        let reference = try referenceReport(
            csv: csv, region: request.region, since: request.since.map { Int64($0.timeIntervalSince1970) },
            until: request.until.map { Int64($0.timeIntervalSince1970) }, window: request.windowSeconds, top: request.top)
        let diff = differences(ours, reference)
        let agrees = diff.isEmpty
        #expect(agrees, "\(diff.count) differences, first: \(diff.prefix(8).joined(separator: "; "))")
        return ours
    }

    @Test func wholeDataSetMatches() async throws {
        let observations = try awkwardObservations()
        let (dir, store, csv) = try await Self.fixture(observations)
        defer { try? FileManager.default.removeItem(at: dir) }
        let ours = try await Self.check(AnalysisRequest(), store: store, csv: csv)
        // The data set is meant to exercise every branch: make sure it did.
        #expect(ours["observations"]?["count"] == .number(Double(observations.count)))
        #expect(ours["rain_and_snow_places"]?["count"] == .number(1))
        #expect(ours["regions"].flatMap { if case .array(let a) = $0 { a.count } else { nil } } == 3)
        let n = try #require(ours["correlation"]?["n"])
        #expect(n != .null)
    }

    @Test(arguments: ["EuropeW", "AsieE", "Oceanie"])
    func regionFilterMatches(region: String) async throws {
        let (dir, store, csv) = try await Self.fixture(try awkwardObservations(places: 120, ticks: 8))
        defer { try? FileManager.default.removeItem(at: dir) }
        let ours = try await Self.check(AnalysisRequest(region: region), store: store, csv: csv)
        if case .array(let regions) = ours["regions"] {
            #expect(regions.count == 1)
            #expect(regions.first?["region"] == .string(region))
        } else {
            Issue.record("regions is not an array")
        }
    }

    @Test func timeRangeAndWindowsMatch() async throws {
        let (dir, store, csv) = try await Self.fixture(try awkwardObservations(places: 100, ticks: 30))
        defer { try? FileManager.default.removeItem(at: dir) }
        let start = 1_767_225_600.0
        for window in [900, 3600, 86_400] {
            _ = try await Self.check(
                AnalysisRequest(since: Date(timeIntervalSince1970: start + 3000), until: Date(timeIntervalSince1970: start + 12_600),
                                windowSeconds: window, top: 3),
                store: store, csv: csv)
        }
    }

    @Test func edgeCasesMatch() async throws {
        let base = try awkwardObservations(places: 40, ticks: 3)
        var constant = base
        for i in constant.indices { constant[i].pressureHPa = 1013.25 }
        var allNil = base
        for i in allNil.indices { allNil[i].visibilityM = nil }
        var twoRows = Array(base.prefix(2))
        twoRows[1].temperatureC = nil
        let cases: [(String, [Observation])] = [
            ("empty", []), ("one row", Array(base.prefix(1))), ("two rows, one nil", twoRows),
            ("constant pressure", constant), ("visibility all nil", allNil),
        ]
        for (name, observations) in cases {
            let (dir, store, csv) = try await Self.fixture(observations)
            defer { try? FileManager.default.removeItem(at: dir) }
            let ours = try await Self.check(AnalysisRequest(), store: store, csv: csv)
            let matrix = ours["correlation"]?["matrix"]
            if name == "constant pressure", case .array(let rows)? = matrix, case .array(let p) = rows[3] {
                let allNull = p.allSatisfy { $0.isNull }
                #expect(allNull, "a constant column has no defined correlation")
            }
            if name == "visibility all nil", case .array(let rows)? = ours["correlation"]?["n"], case .array(let v) = rows[7] {
                #expect(v.allSatisfy { $0 == .number(0) })
            }
            if name == "empty" { #expect(ours["observations"]?["count"] == .number(0)) }
        }
    }

    @Test func largerThanManyBlocksMatches() async throws {
        // 1,200 places × 40 ticks = 48,000 rows: many kernel blocks, both cores, and pages of 7,000 rows.
        let observations = try awkwardObservations(places: 1_200, ticks: 40, seed: 99)
        let (dir, store, csv) = try await Self.fixture(observations)
        defer { try? FileManager.default.removeItem(at: dir) }
        _ = try await Self.check(AnalysisRequest(windowSeconds: 1800, top: 10), store: store, csv: csv, pageSize: 7000)
    }
}
