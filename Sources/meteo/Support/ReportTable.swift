import Foundation
import MeteoAnalytics
import MeteoCore

/// The analysis report as text for an 80-column terminal.
enum ReportTable {
    static let shortNames = ["T", "feels", "RH", "p", "wind", "gust", "cloud", "vis"]

    static func render(_ report: AnalysisReport, windows showWindows: Bool = true, windowRows: Int = 12) -> String {
        var out: [String] = []
        let s = report.summary
        let span = s.first.map { first in
            let a = ISO8601.string(from: Date(timeIntervalSince1970: Double(first)))
            let b = ISO8601.string(from: Date(timeIntervalSince1970: Double(s.last ?? first)))
            return a == b ? a : "\(a) – \(b)"
        } ?? "no observations"
        out.append("Analysis of \(formatCount(s.observations)) observations of \(formatCount(s.places)) places (\(report.engine) engine)")
        out.append(span)
        guard s.observations > 0 else {
            out.append("\nNothing to analyse: the selection is empty. Run 'meteo demo' or 'meteo ingest' first, or widen --since/--region.")
            return out.joined(separator: "\n")
        }

        do {
            out.append("\nCorrelation (Pearson r, pairwise-complete; – where undefined)")
            var corr = TextTable(headers: [""] + shortNames, rightAligned: Set(1...shortNames.count))
            for (i, row) in report.correlation.matrix.enumerated() {
                corr.rows.append([shortNames[i]] + row.map { $0.map { String(format: "%.3f", $0) } ?? "–" })
            }
            out.append(corr.render())
            let ns = report.correlation.n.flatMap { $0 }
            out.append("T and feels-like °C, RH %, p hPa, wind and gust m/s, cloud %, vis m")
            out.append("pairs per cell: \(formatCount(ns.min() ?? 0)) to \(formatCount(ns.max() ?? 0))")
        }

        out.append("\nPer region (means over all observations; min and max of T)")
        var regions = TextTable(headers: ["region", "places", "obs", "T °C", "min", "max", "RH %", "p hPa", "wind m/s"],
                                rightAligned: Set(1...8))
        for g in report.regions {
            regions.rows.append([
                clip(g.key, 14), formatCount(g.places), formatCount(g.observations),
                formatValue(g.temperatureC.mean, "", decimals: 1), formatValue(g.temperatureC.min, "", decimals: 1), formatValue(g.temperatureC.max, "", decimals: 1),
                formatValue(g.humidityPct.mean, "", decimals: 0), formatValue(g.pressureHPa.mean, "", decimals: 1), formatValue(g.windSpeedMS.mean, "", decimals: 1),
            ])
        }
        if report.regions.isEmpty { regions.rows.append(["(no region)", "", "", "", "", "", "", "", ""]) }
        out.append(regions.render())

        out.append("\nPlaces with rain or snow now (their latest observation)")
        var wet = TextTable(headers: ["region", "rain", "snow", "both"], rightAligned: [1, 2, 3])
        let snowBy = Dictionary(report.snow.byRegion.map { ($0.region ?? "", $0.count) }, uniquingKeysWith: +)
        let bothBy = Dictionary(report.rainAndSnow.byRegion.map { ($0.region ?? "", $0.count) }, uniquingKeysWith: +)
        for c in report.rain.byRegion {
            let key = c.region ?? ""
            wet.rows.append([clip(c.region ?? "(no region)", 20), formatCount(c.count), formatCount(snowBy[key] ?? 0), formatCount(bothBy[key] ?? 0)])
        }
        wet.rows.append(["total", formatCount(report.rain.count), formatCount(report.snow.count), formatCount(report.rainAndSnow.count)])
        out.append(wet.render())

        out.append("\nExtremes now")
        var ext = TextTable(headers: ["", "place", "value"], rightAligned: [2])
        for (label, list, unit) in [("hottest", report.extremes.hottest, "°C"), ("coldest", report.extremes.coldest, "°C"),
                                    ("windiest", report.extremes.windiest, "m/s"), ("wettest", report.extremes.wettest, "mm/h")] {
            if list.isEmpty { ext.rows.append([label, "(none)", ""]) }
            for (i, p) in list.enumerated() {
                ext.rows.append([i == 0 ? label : "", clip("\(p.name), \(p.country)", 40), formatValue(p.value, unit)])
            }
        }
        out.append(ext.render())

        if showWindows {
            let series = report.windows.series
            out.append("\nTime windows of \(formatSeconds(report.windows.widthSeconds)) (\(formatCount(series.count)) region × window means)")
            var win = TextTable(headers: ["region", "start (UTC)", "obs", "T °C", "RH %", "p hPa", "wind m/s"], rightAligned: [2, 3, 4, 5, 6])
            for p in series.suffix(windowRows) {
                win.rows.append([clip(p.region ?? "(no region)", 14), String(ISO8601.string(from: Date(timeIntervalSince1970: Double(p.start))).prefix(16)),
                                 formatCount(p.observations), formatValue(p.temperatureC, "", decimals: 1), formatValue(p.humidityPct, "", decimals: 0),
                                 formatValue(p.pressureHPa, "", decimals: 1), formatValue(p.windSpeedMS, "", decimals: 1)])
            }
            out.append(win.render())
            if series.count > windowRows {
                out.append("(the last \(windowRows) of \(formatCount(series.count)); --format csv or json gives them all)")
            }
        }
        return out.joined(separator: "\n")
    }

    static func clip(_ s: String, _ width: Int) -> String {
        s.count <= width ? s : String(s.prefix(width - 1)) + "…"
    }

    static func formatSeconds(_ s: Int) -> String {
        if s % 86_400 == 0 { return "\(s / 86_400) d" }
        if s % 3600 == 0 { return "\(s / 3600) h" }
        if s % 60 == 0 { return "\(s / 60) min" }
        return "\(s) s"
    }
}
