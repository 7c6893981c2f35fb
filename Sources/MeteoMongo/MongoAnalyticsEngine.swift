#if MongoDB
import Foundation
import Logging
import MeteoAnalytics
import MeteoCore

/// The analyses of `docs/analytics.md` run as aggregation pipelines on the MongoDB server, so
/// that only aggregates travel back: no observation is loaded into this process.
///
/// - counts, places, first and last time, and each variable's mean (the shift of the
///   correlation sums): one `$group` by place, then one over the places;
/// - regions and countries: `$group` by (key, place), then by key;
/// - time windows: `$group` by (region, window start), the start computed in integer
///   milliseconds with a floored modulo;
/// - correlation: the pairwise-complete sums of every pair of variables, shifted by the
///   variable's mean, plus the exact minimum and maximum of each side (to tell a constant
///   variable), in one `$group`; r is then computed from the sums as in the in-process engine;
/// - latest rows: `$sort` by (place, time desc) and `$group` with `$first`; then the rain and
///   snow counts per region, the extremes (`$facet`) and the three place lists, each sorted on
///   the server.
///
/// The pipelines run concurrently on the client pool. They use only stages and operators of
/// MongoDB 4.4 and later (`$isNumber`, `$toLong`, `$facet`), which SecantusDB also runs.
public struct MongoAnalyticsEngine: AnalyticsEngine {
    public var name: String { "mongodb" }
    let store: MongoStore
    let logger: Logger

    public init(store: MongoStore, logger: Logger) {
        self.store = store
        self.logger = logger
    }

    public func dataVersion() async throws -> String? {
        try await store.version()
    }

    /// The variables of the correlation matrix, and the four of the groups and windows.
    static let correlationFields = ObservationFrame.correlationMeasures.map(\.field)
    static let groupFields = FrameAnalyzer.groupMeasures.map(\.field)

    public func analyze(_ request: AnalysisRequest) async throws -> AnalysisReport {
        guard request.windowSeconds >= 1 else {
            throw MeteoError(code: .invalidConfiguration, "the window must be at least 1 second (got \(request.windowSeconds) s)")
        }
        let clock = ContinuousClock()
        let started = clock.now
        let match = MongoStore.filter(request.query)
        let (summary, means) = try await aggregateSummary(match)
        async let regions = aggregateGroups(match, key: "region")
        async let countries = aggregateGroups(match, key: "country")
        async let windows = aggregateWindows(match, width: request.windowSeconds)
        async let correlation = aggregateCorrelation(match, shifts: means)
        async let latest = aggregateLatest(match, top: request.top)
        async let rain = aggregatePlaces(match, .rain)
        async let snow = aggregatePlaces(match, .snow)
        async let both = aggregatePlaces(match, .rainAndSnow)

        let regionList = AnalysisReport.regions(try await regions, requested: request.region)
        let facets = try await latest
        let report = AnalysisReport(
            engine: name, request: request, summary: summary, correlation: try await correlation,
            regions: regionList, countries: try await countries,
            rain: .init(count: facets.rain.count, byRegion: facets.rain.byRegion, places: try await rain),
            snow: .init(count: facets.snow.count, byRegion: facets.snow.byRegion, places: try await snow),
            rainAndSnow: .init(count: facets.both.count, byRegion: facets.both.byRegion, places: try await both),
            windows: .init(widthSeconds: request.windowSeconds, series: try await windows),
            extremes: facets.extremes)
        logger.info("analysed on the MongoDB server", metadata: [
            "rows": "\(summary.observations)", "places": "\(summary.places)",
            "elapsed": "\(clock.now - started)",
        ])
        return report
    }

    // MARK: Pipelines

    /// `{"pipeline": [{"$match": match}, stages...]}`.
    static func pipeline(_ match: BSONDocument, _ stages: [String]) throws(MeteoError) -> BSONDocument {
        let list = BSONDocument()
        let first = BSONDocument()
        first.append("$match", document: match)
        list.append("0", document: first)
        for (i, stage) in stages.enumerated() {
            list.append(String(i + 1), document: try BSONDocument.make(json: stage))
        }
        let root = BSONDocument()
        root.append("pipeline", array: list)
        return root
    }

    private func run(_ match: BSONDocument, _ stages: [String], what: String) async throws -> [BSONDocument] {
        try await store.aggregate(MongoConfiguration.observations, try Self.pipeline(match, stages),
                                  what: "cannot \(what) on the MongoDB server")
    }

    /// `$sum` of 1 where the field holds a number (absent values are null).
    static func countNumbers(_ field: String) -> String {
        #"{"$sum": {"$cond": [{"$isNumber": "$\#(field)"}, 1, 0]}}"#
    }

    /// A JSON number for a finite double (0 otherwise).
    static func number(_ x: Double) -> String {
        x.isFinite ? "\(x)" : "0"
    }

    static func seconds(_ value: BSONValue?) -> Int64? {
        value?.date.map { Int64($0.timeIntervalSince1970.rounded(.down)) }
    }

    // MARK: Summary

    /// Rows, places, first and last time, and the mean of each correlation variable.
    func aggregateSummary(_ match: BSONDocument) async throws -> (AnalysisReport.Summary, [Double]) {
        let fields = Self.correlationFields
        let perPlace = fields.enumerated().map { i, f in #""c\#(i)": \#(Self.countNumbers(f)), "s\#(i)": {"$sum": "$\#(f)"}"# }
        let total = fields.indices.map { i in #""c\#(i)": {"$sum": "$c\#(i)"}, "s\#(i)": {"$sum": "$s\#(i)"}"# }
        let rows = try await run(match, [
            #"{"$group": {"_id": "$place_id", "n": {"$sum": 1}, "first": {"$min": "$observed_at"}, "last": {"$max": "$observed_at"}, \#(perPlace.joined(separator: ", "))}}"#,
            #"{"$group": {"_id": null, "n": {"$sum": "$n"}, "places": {"$sum": 1}, "first": {"$min": "$first"}, "last": {"$max": "$last"}, \#(total.joined(separator: ", "))}}"#,
        ], what: "count the observations")
        guard let row = rows.first else {
            return (.init(observations: 0, places: 0, first: nil, last: nil), [Double](repeating: 0, count: fields.count))
        }
        let means = fields.indices.map { i -> Double in
            let n = row["c\(i)"]?.double ?? 0
            return n > 0 ? (row["s\(i)"]?.double ?? 0) / n : 0
        }
        return (.init(observations: Int(row["n"]?.int ?? 0), places: Int(row["places"]?.int ?? 0),
                      first: Self.seconds(row["first"]), last: Self.seconds(row["last"])), means)
    }

    // MARK: Regions and countries

    /// Per value of `key` (`region`: rows without a region are left out), sorted by name.
    func aggregateGroups(_ match: BSONDocument, key: String) async throws -> [AnalysisReport.GroupSummary] {
        let fields = Self.groupFields
        let perPlace = fields.enumerated().map { i, f in
            #""c\#(i)": \#(Self.countNumbers(f)), "s\#(i)": {"$sum": "$\#(f)"}, "lo\#(i)": {"$min": "$\#(f)"}, "hi\#(i)": {"$max": "$\#(f)"}"#
        }
        let total = fields.indices.map { i in
            #""c\#(i)": {"$sum": "$c\#(i)"}, "s\#(i)": {"$sum": "$s\#(i)"}, "lo\#(i)": {"$min": "$lo\#(i)"}, "hi\#(i)": {"$max": "$hi\#(i)"}"#
        }
        var stages = [
            #"{"$group": {"_id": {"k": "$\#(key)", "p": "$place_id"}, "n": {"$sum": 1}, \#(perPlace.joined(separator: ", "))}}"#,
            #"{"$group": {"_id": "$_id.k", "n": {"$sum": "$n"}, "places": {"$sum": 1}, \#(total.joined(separator: ", "))}}"#,
        ]
        if key == "region" { stages.insert(#"{"$match": {"region": {"$type": "string"}}}"#, at: 0) }
        let rows = try await run(match, stages, what: "aggregate the observations by \(key)")
        return rows.compactMap { row -> AnalysisReport.GroupSummary? in
            guard let name = row["_id"]?.string else { return nil }
            func stats(_ i: Int, range: Bool) -> VariableStats {
                let n = Int(row["c\(i)"]?.int ?? 0)
                return VariableStats(n: n, mean: n > 0 ? (row["s\(i)"]?.double ?? 0) / Double(n) : nil,
                                     min: range && n > 0 ? row["lo\(i)"]?.double : nil,
                                     max: range && n > 0 ? row["hi\(i)"]?.double : nil)
            }
            return .init(key: name, observations: Int(row["n"]?.int ?? 0), places: Int(row["places"]?.int ?? 0),
                         temperatureC: stats(0, range: true), humidityPct: stats(1, range: true),
                         pressureHPa: stats(2, range: false), windSpeedMS: stats(3, range: false))
        }.sorted { $0.key.unicodeScalars.lexicographicallyPrecedes($1.key.unicodeScalars) }
    }

    // MARK: Windows

    /// Means per (region, window); the start is `floor(ms / (width·1000)) · width` seconds.
    func aggregateWindows(_ match: BSONDocument, width: Int) async throws -> [AnalysisReport.WindowPoint] {
        let ms = #"{"$toLong": "$observed_at"}"#
        let widthMS = Int64(width) * 1000
        let floorMod = #"{"$mod": [{"$add": [{"$mod": [\#(ms), \#(widthMS)]}, \#(widthMS)]}, \#(widthMS)]}"#
        let sums = Self.groupFields.enumerated().map { i, f in #""c\#(i)": \#(Self.countNumbers(f)), "s\#(i)": {"$sum": "$\#(f)"}"# }
        let rows = try await run(match, [
            #"{"$group": {"_id": {"r": "$region", "w": {"$subtract": [\#(ms), \#(floorMod)]}}, "n": {"$sum": 1}, \#(sums.joined(separator: ", "))}}"#,
        ], what: "aggregate the observations by time window")
        return rows.compactMap { row -> AnalysisReport.WindowPoint? in
            guard let start = row["_id"]?["w"]?.int else { return nil }
            func mean(_ i: Int) -> Double? {
                let n = row["c\(i)"]?.double ?? 0
                return n > 0 ? (row["s\(i)"]?.double ?? 0) / n : nil
            }
            return .init(region: row["_id"]?["r"]?.string, start: start / 1000, observations: Int(row["n"]?.int ?? 0),
                         temperatureC: mean(0), humidityPct: mean(1), pressureHPa: mean(2), windSpeedMS: mean(3))
        }.sorted(by: AnalysisReport.windowPrecedes)
    }

    // MARK: Correlation

    /// The pairwise-complete sums of every pair (i <= j), each value shifted by its variable's
    /// mean so that the sums of squares do not cancel (pressure around 1013 hPa), and the
    /// exact range of the unshifted values over the pair's rows.
    func aggregateCorrelation(_ match: BSONDocument, shifts: [Double]) async throws -> AnalysisReport.Correlation {
        let fields = Self.correlationFields
        let k = fields.count
        let project = fields.enumerated().map { i, f in
            #""v\#(i)": {"$cond": [{"$isNumber": "$\#(f)"}, "$\#(f)", null]}, "d\#(i)": {"$cond": [{"$isNumber": "$\#(f)"}, {"$subtract": ["$\#(f)", \#(Self.number(shifts[i]))]}, null]}"#
        }
        var sums: [String] = []
        for i in 0..<k {
            for j in i..<k {
                let p = "\(i)_\(j)"
                let both = i == j ? #"{"$isNumber": "$d\#(i)"}"# : #"{"$and": [{"$isNumber": "$d\#(i)"}, {"$isNumber": "$d\#(j)"}]}"#
                func sum(_ expression: String) -> String { #"{"$sum": {"$cond": [\#(both), \#(expression), 0]}}"# }
                func range(_ op: String, _ v: Int) -> String { #"{"\#(op)": {"$cond": [\#(both), "$v\#(v)", null]}}"# }
                sums.append(#""n\#(p)": \#(sum("1")), "a\#(p)": \#(sum("\"$d\(i)\"")), "aa\#(p)": \#(sum(#"{"$multiply": ["$d\#(i)", "$d\#(i)"]}"#)), "la\#(p)": \#(range("$min", i)), "ha\#(p)": \#(range("$max", i))"#)
                if i != j {
                    sums.append(#""b\#(p)": \#(sum("\"$d\(j)\"")), "bb\#(p)": \#(sum(#"{"$multiply": ["$d\#(j)", "$d\#(j)"]}"#)), "ab\#(p)": \#(sum(#"{"$multiply": ["$d\#(i)", "$d\#(j)"]}"#)), "lb\#(p)": \#(range("$min", j)), "hb\#(p)": \#(range("$max", j))"#)
                }
            }
        }
        let rows = try await run(match, [
            #"{"$project": {"_id": 0, \#(project.joined(separator: ", "))}}"#,
            #"{"$group": {"_id": null, \#(sums.joined(separator: ", "))}}"#,
        ], what: "compute the correlation sums")
        var r = [[Double?]](repeating: [Double?](repeating: nil, count: k), count: k)
        var n = [[Int]](repeating: [Int](repeating: 0, count: k), count: k)
        if let row = rows.first {
            func value(_ name: String) -> Double { row[name]?.double ?? 0 }
            func constant(_ lo: String, _ hi: String) -> Bool {
                guard let l = row[lo]?.double, let h = row[hi]?.double else { return true }
                return !(l < h)
            }
            for i in 0..<k {
                for j in i..<k {
                    let p = "\(i)_\(j)"
                    let count = Int(row["n\(p)"]?.int ?? 0)
                    n[i][j] = count
                    n[j][i] = count
                    if i == j {
                        let x = Pearson.r(n: count, sa: value("a\(p)"), sb: value("a\(p)"), saa: value("aa\(p)"), sbb: value("aa\(p)"),
                                          sab: value("aa\(p)"), constant: constant("la\(p)", "ha\(p)"))
                        r[i][i] = x == nil ? nil : 1.0
                    } else {
                        let x = Pearson.r(n: count, sa: value("a\(p)"), sb: value("b\(p)"), saa: value("aa\(p)"), sbb: value("bb\(p)"),
                                          sab: value("ab\(p)"), constant: constant("la\(p)", "ha\(p)") || constant("lb\(p)", "hb\(p)"))
                        r[i][j] = x
                        r[j][i] = x
                    }
                }
            }
        }
        return .init(variables: fields, matrix: r, n: n)
    }

    // MARK: Latest rows

    /// The stages that keep each place's newest row (of the selection), with the fields the
    /// lists need.
    static let latestStages = [
        #"{"$sort": {"place_id": 1, "observed_at": -1}}"#,
        #"{"$group": {"_id": "$place_id", "doc": {"$first": {"place_id": "$place_id", "name": "$name", "country": "$country", "region": "$region", "observed_at": "$observed_at", "rain_mm": "$rain_mm", "snow_mm": "$snow_mm", "temperature_c": "$temperature_c", "wind_speed_ms": "$wind_speed_ms"}}}}"#,
        #"{"$replaceRoot": {"newRoot": "$doc"}}"#,
    ]

    struct LatestFacets {
        var rain: AnalysisReport.PlacesWith
        var snow: AnalysisReport.PlacesWith
        var both: AnalysisReport.PlacesWith
        var extremes: AnalysisReport.Extremes
    }

    static let wet = #"{"$add": [{"$ifNull": ["$rain_mm", 0]}, {"$ifNull": ["$snow_mm", 0]}]}"#

    /// Rain, snow and both counted per region of the latest rows, and the extremes lists.
    func aggregateLatest(_ match: BSONDocument, top: Int) async throws -> LatestFacets {
        let rain = #"{"$gt": ["$rain_mm", 0]}"#, snow = #"{"$gt": ["$snow_mm", 0]}"#
        var facets = [
            #""regions": [{"$group": {"_id": "$region", "rain": {"$sum": {"$cond": [\#(rain), 1, 0]}}, "snow": {"$sum": {"$cond": [\#(snow), 1, 0]}}, "both": {"$sum": {"$cond": [{"$and": [\#(rain), \#(snow)]}, 1, 0]}}}}]"#,
        ]
        if top > 0 {
            func ranked(_ name: String, _ field: String, _ order: Int) -> String {
                #""\#(name)": [{"$match": {"\#(field)": {"$ne": null}}}, {"$sort": {"\#(field)": \#(order), "place_id": 1}}, {"$limit": \#(top)}]"#
            }
            facets += [
                ranked("hottest", "temperature_c", -1), ranked("coldest", "temperature_c", 1), ranked("windiest", "wind_speed_ms", -1),
                #""wettest": [{"$addFields": {"wet": \#(Self.wet)}}, {"$match": {"wet": {"$gt": 0}}}, {"$sort": {"wet": -1, "place_id": 1}}, {"$limit": \#(top)}]"#,
            ]
        }
        let rows = try await run(match, Self.latestStages + [#"{"$facet": {\#(facets.joined(separator: ", "))}}"#],
                                 what: "aggregate the latest observations")
        let result = rows.first ?? BSONDocument()
        var counts: [(region: String?, rain: Int, snow: Int, both: Int)] = []
        if case .array(let groups)? = result["regions"] {
            for g in groups {
                counts.append((g["_id"]?.string, Int(g["rain"]?.int ?? 0), Int(g["snow"]?.int ?? 0), Int(g["both"]?.int ?? 0)))
            }
        }
        counts.sort { AnalysisReport.regionPrecedes($0.region, $1.region) }
        func with(_ pick: ((region: String?, rain: Int, snow: Int, both: Int)) -> Int) -> AnalysisReport.PlacesWith {
            .init(count: counts.reduce(0) { $0 + pick($1) },
                  byRegion: counts.map { .init(region: $0.region, count: pick($0)) }, places: [])
        }
        func list(_ name: String, _ field: String) -> [AnalysisReport.PlaceRow] {
            guard case .array(let docs)? = result[name] else { return [] }
            return docs.compactMap { Self.placeRow($0, value: $0[field]?.double) }
        }
        return LatestFacets(
            rain: with(\.rain), snow: with(\.snow), both: with(\.both),
            extremes: .init(n: top, hottest: list("hottest", "temperature_c"), coldest: list("coldest", "temperature_c"),
                            windiest: list("windiest", "wind_speed_ms"), wettest: list("wettest", "wet")))
    }

    enum Condition { case rain, snow, rainAndSnow }

    /// The places whose latest row has rain, snow or both, ranked on the server.
    func aggregatePlaces(_ match: BSONDocument, _ condition: Condition) async throws -> [AnalysisReport.PlaceRow] {
        let stages: [String]
        let field: String
        switch condition {
        case .rain:
            field = "rain_mm"
            stages = [#"{"$match": {"rain_mm": {"$gt": 0}}}"#, #"{"$sort": {"rain_mm": -1, "place_id": 1}}"#]
        case .snow:
            field = "snow_mm"
            stages = [#"{"$match": {"snow_mm": {"$gt": 0}}}"#, #"{"$sort": {"snow_mm": -1, "place_id": 1}}"#]
        case .rainAndSnow:
            field = "wet"
            stages = [#"{"$match": {"rain_mm": {"$gt": 0}, "snow_mm": {"$gt": 0}}}"#,
                      #"{"$addFields": {"wet": {"$add": ["$rain_mm", "$snow_mm"]}}}"#, #"{"$sort": {"wet": -1, "place_id": 1}}"#]
        }
        let rows = try await run(match, Self.latestStages + stages, what: "list the places with rain or snow")
        return rows.compactMap { Self.placeRow(BSONValue.document($0.fields), value: $0[field]?.double) }
    }

    static func placeRow(_ d: BSONValue, value: Double?) -> AnalysisReport.PlaceRow? {
        guard let id = d["place_id"]?.string, let time = seconds(d["observed_at"]) else { return nil }
        return .init(placeID: id, name: d["name"]?.string ?? "", country: d["country"]?.string ?? "", region: d["region"]?.string,
                     observedAt: time, rainMM: d["rain_mm"]?.double, snowMM: d["snow_mm"]?.double, value: value)
    }
}
#endif
