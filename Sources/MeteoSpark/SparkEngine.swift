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
///    windows; Spark's `corr()` of each pair with the pair's row count; rain and snow per
///    region; the ranked lists.
///
/// Only aggregates and the listed places come back. The temporary views and caches are
/// dropped at the end, also after an error.
public struct SparkEngine: AnalyticsEngine {
    public var name: String { "spark" }
    let session: any SparkSQLSession
    /// The lake's folder (or a URL Spark reads: `hdfs://`, `s3a://`).
    let lake: String
    /// The lake's files: NDJSON (`part-*.jsonl`) or Parquet (`part-*.parquet`).
    let format: MeteoConfiguration.LakeFormat
    let logger: Logger

    public init(session: any SparkSQLSession, lake: String, format: MeteoConfiguration.LakeFormat = .parquet, logger: Logger) {
        self.session = session
        self.lake = Self.resolve(lake)
        self.format = format
        self.logger = logger
    }

    /// A local path made absolute: the Spark server runs in another folder.
    static func resolve(_ lake: String) -> String {
        if lake.contains("://") || lake.hasPrefix("/") { return lake }
        return URL(fileURLWithPath: lake).standardizedFileURL.path
    }

    /// The variables of the correlation matrix, and the four of the groups and windows.
    static let correlationFields = ObservationFrame.correlationMeasures.map(\.field)
    static let groupFields = FrameAnalyzer.groupMeasures.map(\.field)

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
        // Times are compared as Unix seconds, so the zone changes no figure; UTC makes the
        // lake's date and hour partition columns read as they were written.
        try await session.set(["spark.sql.session.timeZone": "UTC"])
        let version = try await session.sparkVersion()
        logger.debug("spark session", metadata: ["version": "\(version)"])
        // Only the lake's own files (not the hidden files being written, nor the other format's).
        // Parquet files carry their schema (observed_at a UTC timestamp, which to_timestamp
        // below takes as it is); NDJSON is read with the lake's schema.
        switch format {
        case .ndjson:
            try await session.execute(
                "CREATE OR REPLACE TEMPORARY VIEW \(names.lake) (\(Self.lakeSchema)) USING json OPTIONS (path \(SparkSQLText.literal(lake)), pathGlobFilter '*.jsonl', mode 'PERMISSIVE')",
                [:])
        case .parquet:
            try await session.execute(
                "CREATE OR REPLACE TEMPORARY VIEW \(names.lake) USING parquet OPTIONS (path \(SparkSQLText.literal(lake)), pathGlobFilter '*.parquet')",
                [:])
        }
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
        async let groups = groups(names)
        async let windows = windows(names, width: request.windowSeconds)
        async let correlation = correlation(names)
        async let counts = latestCounts(names)
        async let lists = latestLists(names, top: request.top)

        let regionCounts = try await counts
        func with(_ pick: (LatestCount) -> Int) -> (Int, [AnalysisReport.RegionCount]) {
            (regionCounts.reduce(0) { $0 + pick($1) }, regionCounts.map { .init(region: $0.region, count: pick($0)) })
        }
        let (rainCount, rainByRegion) = with(\.rain)
        let (snowCount, snowByRegion) = with(\.snow)
        let (bothCount, bothByRegion) = with(\.both)
        let (summary, regions, countries) = try await groups
        let ranked = try await lists
        return AnalysisReport(
            engine: name, request: request, summary: summary, correlation: try await correlation,
            regions: AnalysisReport.regions(regions, requested: request.region), countries: countries,
            rain: .init(count: rainCount, byRegion: rainByRegion, places: ranked.rain),
            snow: .init(count: snowCount, byRegion: snowByRegion, places: ranked.snow),
            rainAndSnow: .init(count: bothCount, byRegion: bothByRegion, places: ranked.both),
            windows: .init(widthSeconds: request.windowSeconds, series: try await windows),
            extremes: ranked.extremes)
    }

    /// The summary, the regions and the countries in one pass: `GROUPING SETS ((region),
    /// (country), ())`. Rows without a region are left out of the regions; each list is sorted
    /// by name (Unicode scalars).
    func groups(_ names: Names) async throws -> (AnalysisReport.Summary, [AnalysisReport.GroupSummary], [AnalysisReport.GroupSummary]) {
        let columns = Self.groupFields.enumerated().map { i, f in
            "count(\(f)) AS c\(i), avg(\(f)) AS m\(i), min(\(f)) AS lo\(i), max(\(f)) AS hi\(i)"
        }
        let table = try await session.query("""
            SELECT grouping_id(region, country) AS level, region, country, count(*) AS n, count(DISTINCT place_id) AS places,
                   min(t) AS first, max(t) AS last, \(columns.joined(separator: ", "))
            FROM \(names.selection) GROUP BY GROUPING SETS ((region), (country), ())
            """, [:])
        let level = try table.ints("level"), region = try table.strings("region"), country = try table.strings("country")
        let n = try table.ints("n"), places = try table.ints("places"), first = try table.ints("first"), last = try table.ints("last")
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
        var summary = AnalysisReport.Summary(observations: 0, places: 0, first: nil, last: nil)
        var regions: [AnalysisReport.GroupSummary] = [], countries: [AnalysisReport.GroupSummary] = []
        for r in 0..<table.count {
            func group(_ key: String) -> AnalysisReport.GroupSummary {
                .init(key: key, observations: Int(n[r] ?? 0), places: Int(places[r] ?? 0),
                      temperatureC: stats[0][r], humidityPct: stats[1][r], pressureHPa: stats[2][r], windSpeedMS: stats[3][r])
            }
            switch level[r] {
            case 1: if let key = region[r] { regions.append(group(key)) }    // grouped by region
            case 2: if let key = country[r] { countries.append(group(key)) } // grouped by country
            case 3:                                                          // everything
                if (n[r] ?? 0) > 0 {
                    summary = .init(observations: Int(n[r] ?? 0), places: Int(places[r] ?? 0), first: first[r], last: last[r])
                }
            default: break
            }
        }
        let byName = { (a: AnalysisReport.GroupSummary, b: AnalysisReport.GroupSummary) in
            a.key.unicodeScalars.lexicographicallyPrecedes(b.key.unicodeScalars)
        }
        return (summary, regions.sorted(by: byName), countries.sorted(by: byName))
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

    /// Spark's own `corr()` of every pair (i <= j), and the rows where both are present. Each
    /// row is unfolded into one (pair, x, y) row per pair (`inline` of an array of structs),
    /// the rows where x or y is null are dropped, and one `corr` runs per pair in a `GROUP BY`:
    /// 36 `corr` aggregates side by side in one row made Spark's generated code too large
    /// (20 s against 5 s at 1M rows). `corr` is null where r is undefined: fewer than two rows,
    /// or a variable constant over them (its running variance stays exactly 0), as the
    /// in-process engine defines it. The diagonal is 1 where `corr(x, x)` is defined.
    func correlation(_ names: Names) async throws -> AnalysisReport.Correlation {
        let fields = Self.correlationFields
        let k = fields.count
        var pairs: [String] = []
        for i in 0..<k {
            for j in i..<k {
                pairs.append("named_struct('i', \(i), 'j', \(j), 'x', \(fields[i]), 'y', \(fields[j]))")
            }
        }
        let table = try await session.query("""
            SELECT i, j, count(*) AS n, corr(x, y) AS r FROM (
              SELECT inline(array(\(pairs.joined(separator: ", ")))) FROM \(names.selection)
            ) WHERE x IS NOT NULL AND y IS NOT NULL GROUP BY i, j
            """, [:])
        var r = [[Double?]](repeating: [Double?](repeating: nil, count: k), count: k)
        var n = [[Int]](repeating: [Int](repeating: 0, count: k), count: k)
        let pi = try table.ints("i"), pj = try table.ints("j"), pn = try table.ints("n"), pr = try table.doubles("r")
        for row in 0..<table.count {
            guard let i = pi[row].map(Int.init), let j = pj[row].map(Int.init), (0..<k).contains(i), (0..<k).contains(j) else { continue }
            let count = Int(pn[row] ?? 0)
            n[i][j] = count
            n[j][i] = count
            // NaN never comes back for doubles read from JSON; treat it as undefined anyway.
            let x = pr[row].flatMap { $0.isNaN || count < 2 ? nil : max(-1, min(1, $0)) }
            if i == j {
                r[i][i] = x == nil ? nil : 1.0
            } else {
                r[i][j] = x
                r[j][i] = x
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

    struct Lists: Sendable {
        var rain: [AnalysisReport.PlaceRow]
        var snow: [AnalysisReport.PlaceRow]
        var both: [AnalysisReport.PlaceRow]
        var extremes: AnalysisReport.Extremes
    }

    /// The extremes and the rain and snow lists in one query over the latest rows: each row
    /// gets its rank in the four extremes orders (value, then place id); the rows ranked within
    /// `top` in any of them, or with rain or snow, come back, and are put in order here with the
    /// same rule (value, then place id by Unicode scalars, which is Spark's binary string order).
    func latestLists(_ names: Names, top: Int) async throws -> Lists {
        let limit = max(0, top)
        let table = try await session.query("""
            SELECT * FROM (
              SELECT place_id, name, country, region, t, rain_mm, snow_mm, temperature_c, wind_speed_ms, wet,
                     row_number() OVER (ORDER BY temperature_c DESC NULLS LAST, place_id) AS hot,
                     row_number() OVER (ORDER BY temperature_c ASC NULLS LAST, place_id) AS cold,
                     row_number() OVER (ORDER BY wind_speed_ms DESC NULLS LAST, place_id) AS windy,
                     row_number() OVER (ORDER BY wet DESC NULLS LAST, place_id) AS wettest
              FROM (
                SELECT *, CASE WHEN coalesce(rain_mm, 0D) + coalesce(snow_mm, 0D) > 0
                               THEN coalesce(rain_mm, 0D) + coalesce(snow_mm, 0D) END AS wet
                FROM \(names.latest)
              )
            ) WHERE rain_mm > 0 OR snow_mm > 0 OR least(hot, cold, windy, wettest) <= :top
            """, ["top": .long(Int64(limit))])
        let id = try table.strings("place_id"), name = try table.strings("name"), country = try table.strings("country")
        let region = try table.strings("region"), t = try table.ints("t"), rain = try table.doubles("rain_mm")
        let snow = try table.doubles("snow_mm"), temperature = try table.doubles("temperature_c")
        let wind = try table.doubles("wind_speed_ms"), wet = try table.doubles("wet")
        let hot = try table.ints("hot"), cold = try table.ints("cold"), windy = try table.ints("windy"), wettest = try table.ints("wettest")

        func row(_ r: Int, _ value: Double?) -> AnalysisReport.PlaceRow {
            .init(placeID: id[r] ?? "", name: name[r] ?? "", country: country[r] ?? "", region: region[r],
                  observedAt: t[r] ?? 0, rainMM: rain[r], snowMM: snow[r], value: value)
        }
        let rows = (0..<table.count).filter { id[$0] != nil && t[$0] != nil }
        func ranked(_ rank: [Int64?], _ value: [Double?]) -> [AnalysisReport.PlaceRow] {
            rows.filter { value[$0] != nil && (rank[$0] ?? .max) <= Int64(limit) }
                .sorted { (rank[$0] ?? .max) < (rank[$1] ?? .max) }
                .map { row($0, value[$0]) }
        }
        func list(_ hit: (Int) -> Bool, _ value: (Int) -> Double) -> [AnalysisReport.PlaceRow] {
            rows.filter(hit).map { (r: $0, v: value($0)) }.sorted { a, b in
                a.v != b.v ? a.v > b.v : (id[a.r] ?? "").unicodeScalars.lexicographicallyPrecedes((id[b.r] ?? "").unicodeScalars)
            }.map { row($0.r, $0.v) }
        }
        let rainy = { (r: Int) in (rain[r] ?? 0) > 0 }, snowy = { (r: Int) in (snow[r] ?? 0) > 0 }
        return Lists(
            rain: list(rainy) { rain[$0] ?? 0 },
            snow: list(snowy) { snow[$0] ?? 0 },
            both: list({ rainy($0) && snowy($0) }) { (rain[$0] ?? 0) + (snow[$0] ?? 0) },
            extremes: .init(n: top, hottest: ranked(hot, temperature), coldest: ranked(cold, temperature),
                            windiest: ranked(windy, wind), wettest: ranked(wettest, wet)))
    }
}
