import Foundation
import MeteoCore

/// Runs every analysis over a frame. Each analysis is also callable alone, for benchmarks.
public struct FrameAnalyzer: Sendable {
    public var frame: ObservationFrame
    /// Cores used by the parallel kernels.
    public var parallelism: Int

    public init(frame: ObservationFrame, parallelism: Int = defaultParallelism) {
        self.frame = frame
        self.parallelism = parallelism
    }

    /// The variables of the region and country groups and of the time windows, in report order.
    public static let groupMeasures: [ObservationFrame.Measure] = [.temperature, .humidity, .pressure, .windSpeed]

    /// Everything, as one report.
    public func report(for request: AnalysisRequest, engine: String = "in-process") -> AnalysisReport {
        let latest = latestRows()
        return AnalysisReport(
            engine: engine, request: request, summary: summary(), correlation: correlation(),
            regions: regions(requested: request.region), countries: countries(),
            rain: placesWith(latest: latest, .rain), snow: placesWith(latest: latest, .snow),
            rainAndSnow: placesWith(latest: latest, .rainAndSnow),
            windows: windows(widthSeconds: request.windowSeconds),
            extremes: extremes(latest: latest, top: request.top))
    }

    public func summary() -> AnalysisReport.Summary {
        var first: Int64?
        var last: Int64?
        if frame.count > 0 {
            var lo = Int64.max, hi = Int64.min
            for t in frame.time { lo = min(lo, t); hi = max(hi, t) }
            first = lo
            last = hi
        }
        return .init(observations: frame.count, places: frame.places.count, first: first, last: last)
    }

    public func correlation() -> AnalysisReport.Correlation {
        let measures = ObservationFrame.correlationMeasures
        let result = CorrelationKernel.compute(columns: measures.map { frame.columns[$0.rawValue] }, parallelism: parallelism)
        return .init(variables: measures.map(\.field), matrix: result.r, n: result.n)
    }

    /// Per region, sorted by name. With `requested`, exactly that region, even without rows.
    public func regions(requested: String? = nil) -> [AnalysisReport.GroupSummary] {
        AnalysisReport.regions(groups(frame.regionIndex, names: frame.regions), requested: requested)
    }

    /// Per country code, sorted.
    public func countries() -> [AnalysisReport.GroupSummary] {
        groups(frame.countryIndex, names: frame.countries)
    }

    private func groups(_ index: [Int16], names: [String]) -> [AnalysisReport.GroupSummary] {
        let result = GroupKernel.compute(
            groups: index, groupCount: names.count, places: frame.placeIndex, placeCount: frame.places.count,
            columns: Self.groupMeasures.map { frame.columns[$0.rawValue] }, parallelism: parallelism)
        let meanOnly = { (s: VariableStats) in VariableStats(n: s.n, mean: s.mean, min: nil, max: nil) }
        return names.indices.compactMap { g -> AnalysisReport.GroupSummary? in
            guard result.rows[g] > 0 else { return nil }
            return .init(key: names[g], observations: result.rows[g], places: result.places[g],
                         temperatureC: result.stats[0][g], humidityPct: result.stats[1][g],
                         pressureHPa: meanOnly(result.stats[2][g]), windSpeedMS: meanOnly(result.stats[3][g]))
        }.sorted { $0.key.unicodeScalars.lexicographicallyPrecedes($1.key.unicodeScalars) }
    }

    /// The row of each place's newest observation (-1: none).
    public func latestRows() -> [Int] {
        LatestKernel.latestRows(placeIndex: frame.placeIndex, time: frame.time, placeCount: frame.places.count, parallelism: parallelism)
    }

    public enum Condition: Sendable {
        case rain, snow, rainAndSnow
    }

    /// The places whose latest observation has rain, snow, or both.
    public func placesWith(latest: [Int], _ condition: Condition) -> AnalysisReport.PlacesWith {
        let rain = frame.columns[ObservationFrame.Measure.rain.rawValue]
        let snow = frame.columns[ObservationFrame.Measure.snow.rawValue]
        var perRegion = [Int](repeating: 0, count: frame.regions.count)
        var noRegion = 0
        var present = [Bool](repeating: false, count: frame.regions.count)
        var anyWithoutRegion = false
        var matches: [(row: Int, value: Double)] = []
        for row in latest where row >= 0 {
            let region = Int(frame.regionIndex[row])
            if region >= 0 { present[region] = true } else { anyWithoutRegion = true }
            let r = rain[row], s = snow[row]
            let hit: Bool
            let value: Double
            switch condition {
            case .rain: hit = r > 0; value = r
            case .snow: hit = s > 0; value = s
            case .rainAndSnow: hit = r > 0 && s > 0; value = r + s
            }
            guard hit else { continue }
            if region >= 0 { perRegion[region] += 1 } else { noRegion += 1 }
            matches.append((row, value))
        }
        var byRegion = frame.regions.indices.filter { present[$0] }
            .map { AnalysisReport.RegionCount(region: frame.regions[$0], count: perRegion[$0]) }
            .sorted { $0.region!.unicodeScalars.lexicographicallyPrecedes($1.region!.unicodeScalars) }
        if anyWithoutRegion { byRegion.append(.init(region: nil, count: noRegion)) }
        let places = ranked(matches, descending: true).map { placeRow($0.row, value: $0.value) }
        return .init(count: matches.count, byRegion: byRegion, places: places)
    }

    public func windows(widthSeconds: Int) -> AnalysisReport.Windows {
        let cells = WindowKernel.compute(groups: frame.regionIndex, time: frame.time,
                                         columns: Self.groupMeasures.map { frame.columns[$0.rawValue] },
                                         width: Int64(max(1, widthSeconds)))
        let series = cells.map { c in
            AnalysisReport.WindowPoint(region: c.group < 0 ? nil : frame.regions[c.group], start: c.start, observations: c.rows,
                                       temperatureC: c.means[0], humidityPct: c.means[1], pressureHPa: c.means[2], windSpeedMS: c.means[3])
        }.sorted(by: AnalysisReport.windowPrecedes)
        return .init(widthSeconds: widthSeconds, series: series)
    }

    public func extremes(latest: [Int], top: Int) -> AnalysisReport.Extremes {
        let temperature = frame.columns[ObservationFrame.Measure.temperature.rawValue]
        let wind = frame.columns[ObservationFrame.Measure.windSpeed.rawValue]
        let rain = frame.columns[ObservationFrame.Measure.rain.rawValue]
        let snow = frame.columns[ObservationFrame.Measure.snow.rawValue]
        let rows = latest.filter { $0 >= 0 }
        func list(_ value: (Int) -> Double?, descending: Bool) -> [AnalysisReport.PlaceRow] {
            let candidates = rows.compactMap { row in value(row).map { (row: row, value: $0) } }
            return ranked(candidates, descending: descending).prefix(max(0, top)).map { placeRow($0.row, value: $0.value) }
        }
        let present = { (x: Double) -> Double? in x.isNaN ? nil : x }
        return .init(
            n: top,
            hottest: list({ present(temperature[$0]) }, descending: true),
            coldest: list({ present(temperature[$0]) }, descending: false),
            windiest: list({ present(wind[$0]) }, descending: true),
            wettest: list({ row in
                let r = rain[row], s = snow[row]
                if r.isNaN && s.isNaN { return nil }
                let total = (r.isNaN ? 0 : r) + (s.isNaN ? 0 : s)
                return total > 0 ? total : nil
            }, descending: true))
    }

    /// Sorted by value, ties by place id (ascending, by Unicode scalars).
    private func ranked(_ items: [(row: Int, value: Double)], descending: Bool) -> [(row: Int, value: Double)] {
        items.sorted { a, b in
            if a.value != b.value { return descending ? a.value > b.value : a.value < b.value }
            let ia = frame.places[Int(frame.placeIndex[a.row])].id, ib = frame.places[Int(frame.placeIndex[b.row])].id
            return ia.unicodeScalars.lexicographicallyPrecedes(ib.unicodeScalars)
        }
    }

    private func placeRow(_ row: Int, value: Double?) -> AnalysisReport.PlaceRow {
        let place = frame.places[Int(frame.placeIndex[row])]
        return .init(placeID: place.id, name: place.name, country: place.country, region: frame.region(row: row),
                     observedAt: frame.time[row], rainMM: frame.value(.rain, row: row), snowMM: frame.value(.snow, row: row),
                     value: value)
    }
}
