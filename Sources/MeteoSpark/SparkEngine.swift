import Foundation
import Logging
import MeteoAnalytics
import MeteoCore

/// The analyses of `docs/analytics.md`, run as Spark SQL over the lake that `meteo sink --lake`
/// writes (`docs/lake.md`), through any ``SparkSQLSession`` (the Spark Connect client).
///
/// One call:
/// 1. a temporary view over the lake's NDJSON, with the documented schema given (no inference
///    pass over the files);
/// 2. the selection (the request's filters), one row per (`place_id`, observed second): the
///    lake is written at least once, so a replayed batch appears twice. It is cached in Spark
///    (memory, then disk), so the lake is read once;
/// 3. each place's latest row of the selection, cached too;
/// 4. the aggregates, as concurrent queries: counts and means; regions and countries; time
///    windows; the pairwise-complete sums of the correlation, shifted by each variable's mean,
///    with each side's exact range (r is then computed here by ``Pearson/r``, as in the other
///    engines); rain and snow per region; the ranked lists.
///
/// Only aggregates and the listed places come back. The temporary views and caches are
/// dropped at the end, also after an error.
public struct SparkEngine: AnalyticsEngine {
    public var name: String { "spark" }
    let session: any SparkSQLSession
    /// The lake's folder (or a URL Spark reads: `hdfs://`, `s3a://`).
    let lake: String
    let logger: Logger

    public init(session: any SparkSQLSession, lake: String, logger: Logger) {
        self.session = session
        self.lake = Self.resolve(lake)
        self.logger = logger
    }

    /// A local path made absolute: the Spark server runs in another folder.
    static func resolve(_ lake: String) -> String {
        if lake.contains("://") || lake.hasPrefix("/") { return lake }
        return URL(fileURLWithPath: lake).standardizedFileURL.path
    }

    /// The variables of the correlation matrix, and the four of the groups and windows.
    static let correlationFields = ["temperature_c", "feels_like_c", "humidity_pct", "pressure_hpa",
                                    "wind_speed_ms", "wind_gust_ms", "cloud_cover_pct", "visibility_m"]
    static let groupFields = ["temperature_c", "humidity_pct", "pressure_hpa", "wind_speed_ms"]

    /// The lake's schema (`docs/lake.md`), as Spark DDL.
    static let lakeSchema = """
        v INT, place_id STRING, name STRING, country STRING, region STRING, latitude DOUBLE, longitude DOUBLE, \
        observed_at STRING, source STRING, temperature_c DOUBLE, feels_like_c DOUBLE, humidity_pct DOUBLE, \
        cloud_cover_pct DOUBLE, pressure_hpa DOUBLE, wind_speed_ms DOUBLE, wind_gust_ms DOUBLE, \
        wind_direction_deg DOUBLE, visibility_m DOUBLE, rain_mm DOUBLE, snow_mm DOUBLE, weather_code INT
        """

    /// Names unique to one call, so that concurrent calls in one session do not collide.
    struct Names {
        let lake: String
        let selection: String
        let latest: String

        init() {
            let id = UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(12)
            lake = "meteo_lake_\(id)"
            selection = "meteo_selection_\(id)"
            latest = "meteo_latest_\(id)"
        }
    }

    public func analyze(_ request: AnalysisRequest) async throws -> AnalysisReport {
        guard request.windowSeconds >= 1 else {
            throw MeteoError(code: .invalidConfiguration, "the window must be at least 1 second (got \(request.windowSeconds) s)")
        }
        let clock = ContinuousClock()
        let started = clock.now
        let names = Names()
        do {
            try await prepare(request, names)
            let prepared = clock.now
            let report = try await aggregate(request, names)
            try? await drop(names)
            logger.info("analysed on Spark", metadata: [
                "rows": "\(report.summary.observations)", "places": "\(report.summary.places)",
                "prepare": "\(prepared - started)",
                "elapsed": "\(clock.now - started)",
            ])
            return report
        } catch {
            try? await drop(names)
            throw error
        }
    }

    // MARK: Views

    /// The view over the lake, the cached selection and the cached latest rows.
    func prepare(_ request: AnalysisRequest, _ names: Names) async throws {
        try await session.execute(
            "CREATE OR REPLACE TEMPORARY VIEW \(names.lake) (\(Self.lakeSchema)) USING json OPTIONS (path \(SparkSQLText.literal(lake)), mode 'PERMISSIVE')",
            [:])
        let (filter, parameters) = Self.filter(request)
        let measures = (Self.correlationFields + ["rain_mm", "snow_mm"]).joined(separator: ", ")
        // unix_seconds of the parsed ISO time; rows without a place or a readable time are not
        // observations (the sink never writes them) and are skipped.
        try await session.execute("""
            CACHE TABLE \(names.selection) AS
            SELECT place_id, name, country, region, t, \(measures) FROM (
              SELECT *, row_number() OVER (PARTITION BY place_id, t ORDER BY observed_at) AS copy FROM (
                SELECT *, unix_seconds(to_timestamp(observed_at)) AS t FROM \(names.lake)
              ) WHERE place_id IS NOT NULL AND t IS NOT NULL\(filter.isEmpty ? "" : " AND " + filter)
            ) WHERE copy = 1
            """, parameters)
        try await session.execute("""
            CACHE TABLE \(names.latest) AS
            SELECT * FROM (
              SELECT *, row_number() OVER (PARTITION BY place_id ORDER BY t DESC) AS recency FROM \(names.selection)
            ) WHERE recency = 1
            """, [:])
    }

    func drop(_ names: Names) async throws {
        try await session.execute("UNCACHE TABLE IF EXISTS \(names.latest)", [:])
        try await session.execute("UNCACHE TABLE IF EXISTS \(names.selection)", [:])
        try await session.execute("DROP VIEW IF EXISTS \(names.latest)", [:])
        try await session.execute("DROP VIEW IF EXISTS \(names.selection)", [:])
        try await session.execute("DROP VIEW IF EXISTS \(names.lake)", [:])
    }

    /// The request's filters as a condition on the lake's rows, with its parameters.
    static func filter(_ request: AnalysisRequest) -> (String, [String: SparkParameter]) {
        var conditions: [String] = []
        var parameters: [String: SparkParameter] = [:]
        if let region = request.region {
            conditions.append("region = :region")
            parameters["region"] = .string(region)
        }
        if let ids = request.placeIDs {
            if ids.isEmpty {
                conditions.append("FALSE")
            } else {
                let marks = ids.indices.map { ":place\($0)" }
                for (i, id) in ids.enumerated() { parameters["place\(i)"] = .string(id) }
                conditions.append("place_id IN (\(marks.joined(separator: ", ")))")
            }
        }
        // Times are whole seconds; the bounds may have fractions: t >= since, t < until.
        if let since = request.since {
            conditions.append("t >= :since")
            parameters["since"] = .double(since.timeIntervalSince1970)
        }
        if let until = request.until {
            conditions.append("t < :until")
            parameters["until"] = .double(until.timeIntervalSince1970)
        }
        return (conditions.joined(separator: " AND "), parameters)
    }

    // MARK: Aggregates

    func aggregate(_ request: AnalysisRequest, _ names: Names) async throws -> AnalysisReport {
        async let summary = summary(names)
        async let regions = groups(names, key: "region")
        async let countries = groups(names, key: "country")
        async let windows = windows(names, width: request.windowSeconds)
        async let correlation = correlation(names)
        async let counts = latestCounts(names)
        async let rain = places(names, condition: "rain_mm > 0", value: "rain_mm", limit: nil)
        async let snow = places(names, condition: "snow_mm > 0", value: "snow_mm", limit: nil)
        async let both = places(names, condition: "rain_mm > 0 AND snow_mm > 0", value: "rain_mm + snow_mm", limit: nil)
        async let extremes = extremes(names, top: request.top)

        let regionCounts = try await counts
        func with(_ pick: (LatestCount) -> Int) -> (Int, [AnalysisReport.RegionCount]) {
            (regionCounts.reduce(0) { $0 + pick($1) }, regionCounts.map { .init(region: $0.region, count: pick($0)) })
        }
        let (rainCount, rainByRegion) = with(\.rain)
        let (snowCount, snowByRegion) = with(\.snow)
        let (bothCount, bothByRegion) = with(\.both)
        return AnalysisReport(
            engine: name, request: request, summary: try await summary, correlation: try await correlation,
            regions: AnalysisReport.regions(try await regions, requested: request.region), countries: try await countries,
            rain: .init(count: rainCount, byRegion: rainByRegion, places: try await rain),
            snow: .init(count: snowCount, byRegion: snowByRegion, places: try await snow),
            rainAndSnow: .init(count: bothCount, byRegion: bothByRegion, places: try await both),
            windows: .init(widthSeconds: request.windowSeconds, series: try await windows),
            extremes: try await extremes)
    }

    func summary(_ names: Names) async throws -> AnalysisReport.Summary {
        let table = try await session.query(
            "SELECT count(*) AS n, count(DISTINCT place_id) AS places, min(t) AS first, max(t) AS last FROM \(names.selection)", [:])
        guard table.count == 1 else { return .init(observations: 0, places: 0, first: nil, last: nil) }
        return .init(observations: Int(try table.ints("n")[0] ?? 0), places: Int(try table.ints("places")[0] ?? 0),
                     first: try table.ints("first")[0], last: try table.ints("last")[0])
    }

    /// Per value of `key` (rows without a region are left out), sorted by name (Unicode scalars).
    func groups(_ names: Names, key: String) async throws -> [AnalysisReport.GroupSummary] {
        let columns = Self.groupFields.enumerated().map { i, f in
            "count(\(f)) AS c\(i), avg(\(f)) AS m\(i), min(\(f)) AS lo\(i), max(\(f)) AS hi\(i)"
        }
        let table = try await session.query("""
            SELECT \(key) AS key, count(*) AS n, count(DISTINCT place_id) AS places, \(columns.joined(separator: ", "))
            FROM \(names.selection) WHERE \(key) IS NOT NULL GROUP BY \(key)
            """, [:])
        let keys = try table.strings("key"), n = try table.ints("n"), places = try table.ints("places")
        var stats: [[VariableStats]] = []
        for i in Self.groupFields.indices {
            let c = try table.ints("c\(i)"), m = try table.doubles("m\(i)"), lo = try table.doubles("lo\(i)"), hi = try table.doubles("hi\(i)")
            let range = i < 2  // temperature and humidity carry their range; pressure and wind their mean
            stats.append((0..<table.count).map { r in
                let count = Int(c[r] ?? 0)
                return VariableStats(n: count, mean: count > 0 ? m[r] : nil,
                                     min: range && count > 0 ? lo[r] : nil, max: range && count > 0 ? hi[r] : nil)
            })
        }
        return (0..<table.count).compactMap { r -> AnalysisReport.GroupSummary? in
            guard let name = keys[r] else { return nil }
            return .init(key: name, observations: Int(n[r] ?? 0), places: Int(places[r] ?? 0),
                         temperatureC: stats[0][r], humidityPct: stats[1][r], pressureHPa: stats[2][r], windSpeedMS: stats[3][r])
        }.sorted { $0.key.unicodeScalars.lexicographicallyPrecedes($1.key.unicodeScalars) }
    }

    /// Means per (region, window); the start is t − (t mod width), the modulo floored.
    func windows(_ names: Names, width: Int) async throws -> [AnalysisReport.WindowPoint] {
        let means = Self.groupFields.enumerated().map { i, f in "avg(\(f)) AS m\(i)" }
        let table = try await session.query("""
            SELECT region, start, count(*) AS n, \(means.joined(separator: ", ")) FROM (
              SELECT *, t - pmod(t, CAST(:width AS BIGINT)) AS start FROM \(names.selection)
            ) GROUP BY region, start
            """, ["width": .long(Int64(width))])
        let region = try table.strings("region"), start = try table.ints("start"), n = try table.ints("n")
        let m = try Self.groupFields.indices.map { i throws(MeteoError) in try table.doubles("m\(i)") }
        return (0..<table.count).compactMap { r -> AnalysisReport.WindowPoint? in
            guard let s = start[r] else { return nil }
            return .init(region: region[r], start: s, observations: Int(n[r] ?? 0),
                         temperatureC: m[0][r], humidityPct: m[1][r], pressureHPa: m[2][r], windSpeedMS: m[3][r])
        }.sorted(by: AnalysisReport.windowPrecedes)
    }

    /// The pairwise-complete sums of every pair (i <= j), each value shifted by its variable's
    /// mean so that the sums of squares do not cancel (pressure around 1013 hPa), and the exact
    /// range of the unshifted values over the pair's rows.
    func correlation(_ names: Names) async throws -> AnalysisReport.Correlation {
        let fields = Self.correlationFields
        let k = fields.count
        let means = fields.enumerated().map { i, f in "coalesce(avg(\(f)), 0D) AS s\(i)" }
        let shifted = fields.enumerated().map { i, f in "\(f) AS v\(i), \(f) - s\(i) AS d\(i)" }
        var sums: [String] = []
        for i in 0..<k {
            for j in i..<k {
                let p = "\(i)_\(j)"
                let both = i == j ? "d\(i) IS NOT NULL" : "d\(i) IS NOT NULL AND d\(j) IS NOT NULL"
                func when(_ e: String) -> String { "CASE WHEN \(both) THEN \(e) END" }
                sums.append("count_if(\(both)) AS n\(p), sum(\(when("d\(i)"))) AS a\(p), sum(\(when("d\(i) * d\(i)"))) AS aa\(p), min(\(when("v\(i)"))) AS la\(p), max(\(when("v\(i)"))) AS ha\(p)")
                if i != j {
                    sums.append("sum(\(when("d\(j)"))) AS b\(p), sum(\(when("d\(j) * d\(j)"))) AS bb\(p), sum(\(when("d\(i) * d\(j)"))) AS ab\(p), min(\(when("v\(j)"))) AS lb\(p), max(\(when("v\(j)"))) AS hb\(p)")
                }
            }
        }
        let table = try await session.query("""
            WITH shifts AS (SELECT \(means.joined(separator: ", ")) FROM \(names.selection)),
            rows AS (SELECT \(shifted.joined(separator: ", ")) FROM \(names.selection) CROSS JOIN shifts)
            SELECT \(sums.joined(separator: ",\n  ")) FROM rows
            """, [:])
        var r = [[Double?]](repeating: [Double?](repeating: nil, count: k), count: k)
        var n = [[Int]](repeating: [Int](repeating: 0, count: k), count: k)
        guard table.count == 1 else { return .init(variables: fields, matrix: r, n: n) }
        func value(_ name: String) throws(MeteoError) -> Double { try table.doubles(name)[0] ?? 0 }
        func constant(_ lo: String, _ hi: String) throws(MeteoError) -> Bool {
            guard let l = try table.doubles(lo)[0], let h = try table.doubles(hi)[0] else { return true }
            return !(l < h)
        }
        for i in 0..<k {
            for j in i..<k {
                let p = "\(i)_\(j)"
                let count = Int(try table.ints("n\(p)")[0] ?? 0)
                n[i][j] = count
                n[j][i] = count
                if i == j {
                    let x = Pearson.r(n: count, sa: try value("a\(p)"), sb: try value("a\(p)"), saa: try value("aa\(p)"),
                                      sbb: try value("aa\(p)"), sab: try value("aa\(p)"), constant: try constant("la\(p)", "ha\(p)"))
                    r[i][i] = x == nil ? nil : 1.0
                } else {
                    let x = Pearson.r(n: count, sa: try value("a\(p)"), sb: try value("b\(p)"), saa: try value("aa\(p)"),
                                      sbb: try value("bb\(p)"), sab: try value("ab\(p)"),
                                      constant: try constant("la\(p)", "ha\(p)") || constant("lb\(p)", "hb\(p)"))
                    r[i][j] = x
                    r[j][i] = x
                }
            }
        }
        return .init(variables: fields, matrix: r, n: n)
    }

    struct LatestCount: Sendable {
        var region: String?
        var rain: Int
        var snow: Int
        var both: Int
    }

    /// Rain, snow and both among the latest rows, per region (no region last), zeros included.
    func latestCounts(_ names: Names) async throws -> [LatestCount] {
        let table = try await session.query("""
            SELECT region, count_if(rain_mm > 0) AS rain, count_if(snow_mm > 0) AS snow,
                   count_if(rain_mm > 0 AND snow_mm > 0) AS both
            FROM \(names.latest) GROUP BY region
            """, [:])
        let region = try table.strings("region"), rain = try table.ints("rain"), snow = try table.ints("snow"), both = try table.ints("both")
        return (0..<table.count).map { r in
            LatestCount(region: region[r], rain: Int(rain[r] ?? 0), snow: Int(snow[r] ?? 0), both: Int(both[r] ?? 0))
        }.sorted { AnalysisReport.regionPrecedes($0.region, $1.region) }
    }

    /// The latest rows matching `condition`, ranked by `value` (descending unless `ascending`),
    /// ties by place id.
    func places(_ names: Names, condition: String, value: String, ascending: Bool = false, limit: Int?) async throws -> [AnalysisReport.PlaceRow] {
        if let limit, limit <= 0 { return [] }
        let table = try await session.query("""
            SELECT place_id, name, country, region, t, rain_mm, snow_mm, value FROM (
              SELECT *, \(value) AS value FROM \(names.latest)
            ) WHERE \(condition) ORDER BY value \(ascending ? "ASC" : "DESC"), place_id ASC\(limit.map { " LIMIT \($0)" } ?? "")
            """, [:])
        let id = try table.strings("place_id"), name = try table.strings("name"), country = try table.strings("country")
        let region = try table.strings("region"), t = try table.ints("t"), rain = try table.doubles("rain_mm")
        let snow = try table.doubles("snow_mm"), v = try table.doubles("value")
        return (0..<table.count).compactMap { r -> AnalysisReport.PlaceRow? in
            guard let placeID = id[r], let time = t[r] else { return nil }
            return .init(placeID: placeID, name: name[r] ?? "", country: country[r] ?? "", region: region[r],
                         observedAt: time, rainMM: rain[r], snowMM: snow[r], value: v[r])
        }
    }

    func extremes(_ names: Names, top: Int) async throws -> AnalysisReport.Extremes {
        let limit = max(0, top)
        async let hottest = places(names, condition: "value IS NOT NULL", value: "temperature_c", limit: limit)
        async let coldest = places(names, condition: "value IS NOT NULL", value: "temperature_c", ascending: true, limit: limit)
        async let windiest = places(names, condition: "value IS NOT NULL", value: "wind_speed_ms", limit: limit)
        async let wettest = places(names, condition: "(rain_mm IS NOT NULL OR snow_mm IS NOT NULL) AND value > 0",
                                   value: "coalesce(rain_mm, 0D) + coalesce(snow_mm, 0D)", limit: limit)
        return .init(n: top, hottest: try await hottest, coldest: try await coldest, windiest: try await windiest, wettest: try await wettest)
    }
}
