import Foundation
import MeteoCore

extension AnalysisReport {
    /// The report as JSON, with the keys of `docs/analytics.md`; an undefined number is `null`,
    /// never NaN.
    public func json() -> [UInt8] {
        var w = JSONWriter(capacity: 16_384)
        w.raw("{")
        w.key("engine", first: true); w.string(engine)
        w.key("filter"); writeFilter(&w)
        w.key("observations")
        w.raw("{"); w.key("count", first: true); w.number(summary.observations)
        w.key("places"); w.number(summary.places)
        w.key("first"); Self.time(summary.first, &w)
        w.key("last"); Self.time(summary.last, &w)
        w.raw("}")
        w.key("correlation"); writeCorrelation(&w)
        w.key("regions"); Self.groups(regions, keyName: "region", &w)
        w.key("countries"); Self.groups(countries, keyName: "country", &w)
        w.key("rain_places"); Self.places(rain, &w)
        w.key("snow_places"); Self.places(snow, &w)
        w.key("rain_and_snow_places"); Self.places(rainAndSnow, &w)
        w.key("windows"); writeWindows(&w)
        w.key("extremes")
        w.raw("{"); w.key("n", first: true); w.number(extremes.n)
        for (name, list) in [("hottest", extremes.hottest), ("coldest", extremes.coldest),
                             ("windiest", extremes.windiest), ("wettest", extremes.wettest)] {
            w.key(name); Self.rows(list, withValue: true, &w)
        }
        w.raw("}")
        w.raw("}")
        return w.bytes
    }

    public var jsonString: String { String(decoding: json(), as: UTF8.self) }

    private func writeFilter(_ w: inout JSONWriter) {
        w.raw("{")
        w.key("region", first: true); Self.optional(request.region, &w)
        w.key("places")
        if let ids = request.placeIDs {
            w.raw("[")
            for (i, id) in ids.enumerated() { if i > 0 { w.raw(",") }; w.string(id) }
            w.raw("]")
        } else { w.raw("null") }
        w.key("since"); Self.time(request.since.map { Int64($0.timeIntervalSince1970.rounded(.up)) }, &w)
        w.key("until"); Self.time(request.until.map { Int64($0.timeIntervalSince1970.rounded(.up)) }, &w)
        w.raw("}")
    }

    private func writeCorrelation(_ w: inout JSONWriter) {
        w.raw("{")
        w.key("variables", first: true)
        w.raw("[")
        for (i, v) in correlation.variables.enumerated() { if i > 0 { w.raw(",") }; w.string(v) }
        w.raw("]")
        w.key("matrix"); Self.grid(correlation.matrix, &w) { w, r in w.optional(r) }
        w.key("n"); Self.grid(correlation.n, &w) { w, n in w.number(n) }
        w.raw("}")
    }

    private func writeWindows(_ w: inout JSONWriter) {
        w.raw("{")
        w.key("width_s", first: true); w.number(windows.widthSeconds)
        w.key("series")
        w.raw("[")
        for (i, p) in windows.series.enumerated() {
            if i > 0 { w.raw(",") }
            w.raw("{")
            w.key("region", first: true); Self.optional(p.region, &w)
            w.key("start"); Self.time(p.start, &w)
            w.key("observations"); w.number(p.observations)
            w.key("temperature_c"); w.optional(p.temperatureC)
            w.key("humidity_pct"); w.optional(p.humidityPct)
            w.key("pressure_hpa"); w.optional(p.pressureHPa)
            w.key("wind_speed_ms"); w.optional(p.windSpeedMS)
            w.raw("}")
        }
        w.raw("]")
        w.raw("}")
    }

    /// A square matrix as an array of rows.
    private static func grid<T>(_ rows: [[T]], _ w: inout JSONWriter, _ cell: (inout JSONWriter, T) -> Void) {
        w.raw("[")
        for (i, row) in rows.enumerated() {
            if i > 0 { w.raw(",") }
            w.raw("[")
            for (j, value) in row.enumerated() {
                if j > 0 { w.raw(",") }
                cell(&w, value)
            }
            w.raw("]")
        }
        w.raw("]")
    }

    private static func groups(_ groups: [GroupSummary], keyName: String, _ w: inout JSONWriter) {
        w.raw("[")
        for (i, g) in groups.enumerated() {
            if i > 0 { w.raw(",") }
            w.raw("{")
            w.key(keyName, first: true); w.string(g.key)
            w.key("observations"); w.number(g.observations)
            w.key("places"); w.number(g.places)
            w.key("temperature_c"); stats(g.temperatureC, full: true, &w)
            w.key("humidity_pct"); stats(g.humidityPct, full: true, &w)
            w.key("pressure_hpa"); stats(g.pressureHPa, full: false, &w)
            w.key("wind_speed_ms"); stats(g.windSpeedMS, full: false, &w)
            w.raw("}")
        }
        w.raw("]")
    }

    private static func stats(_ s: VariableStats, full: Bool, _ w: inout JSONWriter) {
        w.raw("{")
        w.key("n", first: true); w.number(s.n)
        w.key("mean"); w.optional(s.mean)
        if full {
            w.key("min"); w.optional(s.min)
            w.key("max"); w.optional(s.max)
        }
        w.raw("}")
    }

    private static func places(_ p: PlacesWith, _ w: inout JSONWriter) {
        w.raw("{")
        w.key("count", first: true); w.number(p.count)
        w.key("by_region")
        w.raw("[")
        for (i, c) in p.byRegion.enumerated() {
            if i > 0 { w.raw(",") }
            w.raw("{"); w.key("region", first: true); optional(c.region, &w); w.key("count"); w.number(c.count); w.raw("}")
        }
        w.raw("]")
        w.key("places"); rows(p.places, withValue: false, &w)
        w.raw("}")
    }

    private static func rows(_ rows: [PlaceRow], withValue: Bool, _ w: inout JSONWriter) {
        w.raw("[")
        for (i, r) in rows.enumerated() {
            if i > 0 { w.raw(",") }
            w.raw("{")
            w.key("place_id", first: true); w.string(r.placeID)
            w.key("name"); w.string(r.name)
            w.key("country"); w.string(r.country)
            w.key("region"); optional(r.region, &w)
            w.key("observed_at"); time(r.observedAt, &w)
            if withValue {
                w.key("value"); w.optional(r.value)
            } else {
                w.key("rain_mm"); w.optional(r.rainMM)
                w.key("snow_mm"); w.optional(r.snowMM)
            }
            w.raw("}")
        }
        w.raw("]")
    }

    private static func optional(_ s: String?, _ w: inout JSONWriter) {
        if let s { w.string(s) } else { w.raw("null") }
    }

    private static func time(_ t: Int64?, _ w: inout JSONWriter) {
        if let t { w.string(ISO8601.string(from: Date(timeIntervalSince1970: Double(t)))) } else { w.raw("null") }
    }
}
