import Foundation
import MeteoCore

extension AnalysisReport {
    /// The report as one tidy CSV table, one number per line, ready for a spreadsheet or a
    /// plotting tool: `analysis,group,key,variable,statistic,value`.
    ///
    /// - `observations,,,,count|places|first|last,…`
    /// - `correlation,<variable>,,<variable>,r|n,…` (r empty when undefined)
    /// - `region|country,<name>,,<variable>,n|mean|min|max,…` and `…,,observations|places,…`
    /// - `rain_places|snow_places|rain_and_snow_places,<region>,,,count,…` (`total` for all), and one
    ///   line per place: `…,<region>,<place id>,rain_mm|snow_mm,value,…`
    /// - `window,<region>,<start>,<variable>,mean,…` and `…,,observations,…`
    /// - `hottest|coldest|windiest|wettest,<region>,<place id>,<variable>,value,…`
    public func csv() -> String {
        var lines = ["analysis,group,key,variable,statistic,value"]
        func add(_ analysis: String, _ group: String?, _ key: String?, _ variable: String?, _ statistic: String, _ value: String) {
            lines.append([analysis, group ?? "", key ?? "", variable ?? "", statistic, value].map(CSV.escape).joined(separator: ","))
        }
        func number(_ d: Double?) -> String { d.map { $0.description } ?? "" }
        func time(_ t: Int64?) -> String { t.map { ISO8601.string(from: Date(timeIntervalSince1970: Double($0))) } ?? "" }

        add("observations", nil, nil, nil, "count", String(summary.observations))
        add("observations", nil, nil, nil, "places", String(summary.places))
        add("observations", nil, nil, nil, "first", time(summary.first))
        add("observations", nil, nil, nil, "last", time(summary.last))
        for (i, a) in correlation.variables.enumerated() {
            for (j, b) in correlation.variables.enumerated() {
                add("correlation", a, nil, b, "r", number(correlation.matrix[i][j]))
                add("correlation", a, nil, b, "n", String(correlation.n[i][j]))
            }
        }
        for (kind, groups) in [("region", regions), ("country", countries)] {
            for g in groups {
                add(kind, g.key, nil, nil, "observations", String(g.observations))
                add(kind, g.key, nil, nil, "places", String(g.places))
                for (field, s) in [("temperature_c", g.temperatureC), ("humidity_pct", g.humidityPct),
                                   ("pressure_hpa", g.pressureHPa), ("wind_speed_ms", g.windSpeedMS)] {
                    add(kind, g.key, nil, field, "n", String(s.n))
                    add(kind, g.key, nil, field, "mean", number(s.mean))
                    if s.min != nil || s.max != nil || field == "temperature_c" || field == "humidity_pct" {
                        add(kind, g.key, nil, field, "min", number(s.min))
                        add(kind, g.key, nil, field, "max", number(s.max))
                    }
                }
            }
        }
        for (name, list, field) in [("rain_places", rain, "rain_mm"), ("snow_places", snow, "snow_mm"),
                                    ("rain_and_snow_places", rainAndSnow, "precipitation_mm")] {
            add(name, "total", nil, nil, "count", String(list.count))
            for c in list.byRegion { add(name, c.region, nil, nil, "count", String(c.count)) }
            for p in list.places {
                let value = field == "rain_mm" ? p.rainMM : field == "snow_mm" ? p.snowMM : p.value
                add(name, p.region, p.placeID, field, "value", number(value))
            }
        }
        for p in windows.series {
            let start = time(p.start)
            add("window", p.region, start, nil, "observations", String(p.observations))
            for (field, v) in [("temperature_c", p.temperatureC), ("humidity_pct", p.humidityPct),
                               ("pressure_hpa", p.pressureHPa), ("wind_speed_ms", p.windSpeedMS)] {
                add("window", p.region, start, field, "mean", number(v))
            }
        }
        for (name, list, field) in [("hottest", extremes.hottest, "temperature_c"), ("coldest", extremes.coldest, "temperature_c"),
                                    ("windiest", extremes.windiest, "wind_speed_ms"), ("wettest", extremes.wettest, "precipitation_mm")] {
            for p in list { add(name, p.region, p.placeID, field, "value", number(p.value)) }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
