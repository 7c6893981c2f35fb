import Foundation
import MeteoCore

/// Decodes Open-Meteo's hourly answers (the archive's, and the forecast API's `past_days`)
/// into observations of the requested places, for `meteo backfill`.
///
/// - One location is an object, several an array in request order; a count that differs from
///   the places asked for refuses the whole answer (it cannot be matched to the places).
/// - `hourly.time` is unix seconds (what Meteo asks for) or ISO 8601 text in the answer's
///   time zone (`utc_offset_seconds` is taken off). Every variable's array must be as long as
///   `time`, or the whole answer is refused.
/// - Units as for live data (``OpenMeteoUnits``); `rain` and `snowfall` of an hourly answer
///   are already sums over the hour before the time, so they are kept as they are (snowfall as
///   mm of water: cm × 10 / 7). A variable the answer lacks (the archive has no `visibility`)
///   is null.
/// - Only the hours of the asked days up to now are kept: the others (the forecast part of a
///   `past_days` answer, the day ahead) are dropped and counted. An hour whose values are all
///   null is not there yet: it is counted as missing, never turned into an observation; so is
///   an asked hour absent from the answer. An hour with an impossible value is a
///   ``SourceFailure`` of its place.
enum OpenMeteoHistoryDecoder {
    /// The variables an observation is built from, in the order of ``Column``.
    static let variables = [
        "temperature_2m", "apparent_temperature", "relative_humidity_2m", "pressure_msl", "wind_speed_10m",
        "wind_direction_10m", "wind_gusts_10m", "cloud_cover", "visibility", "rain", "snowfall", "precipitation", "weather_code",
    ]

    enum Column: Int, CaseIterable {
        case temperature, apparent, humidity, pressure, windSpeed, windDirection, gusts, cloud, visibility, rain, snowfall,
             precipitation, weatherCode
    }

    /// The hours to keep: unix seconds `from..<to` (whole UTC days) and not after `now`.
    struct Span: Sendable {
        var from: Int64
        var to: Int64
        var now: Int64

        init(firstDay: Int64, lastDay: Int64, now: Date) {
            from = firstDay * 86_400
            to = (lastDay + 1) * 86_400
            self.now = Int64(now.timeIntervalSince1970.rounded(.down))
        }

        func contains(_ t: Int64) -> Bool { t >= from && t < to && t <= now }

        /// Whole hours of the span up to now.
        var expectedHours: Int {
            let end = min(to, (now / 3600 + 1) * 3600)
            return end > from ? Int((end - from + 3599) / 3600) : 0
        }
    }

    static func decode(_ body: [UInt8], places: [Place], span: Span, source: String) throws(MeteoError) -> HistoryBatch {
        let document: HourlyColumns
        do {
            document = try HourlyColumns.parse(body)
        } catch {
            throw MeteoError(code: .malformedPayload,
                             "Open-Meteo sent an hourly answer that is not complete JSON or not of the expected shape (\(body.count) bytes): \(error.message)",
                             isRetriable: error.message.hasPrefix("malformed JSON"))
        }
        if !document.isArray && places.count > 1 {
            throw MeteoError(code: .malformedPayload, "Open-Meteo returned one location for a request of \(places.count) places; the answer cannot be matched to the places")
        }
        guard document.locations.count == places.count else {
            throw MeteoError(code: .malformedPayload,
                             "Open-Meteo returned \(document.locations.count) locations for a request of \(places.count) places; the answer cannot be matched to the places")
        }
        var batch = HistoryBatch()
        batch.observations.reserveCapacity(places.count * span.expectedHours)
        for (index, (location, place)) in zip(document.locations, places).enumerated() {
            try decode(location, place: place, path: document.isArray ? "[\(index)]." : "", span: span, source: source, into: &batch)
        }
        return batch
    }

    /// Adds one location's hours to `batch`.
    static func decode(_ location: HourlyColumns.Location, place: Place, path: String, span: Span, source: String,
                       into batch: inout HistoryBatch) throws(MeteoError) {
        guard location.hasBlock else {
            throw MeteoError(code: .malformedPayload, "field '\(path)hourly' is missing from Open-Meteo's answer for \(place.name): was the 'hourly' parameter sent?")
        }
        let times = location.times
        let n = times.count
        // One matrix of the converted values, variable after variable (nan: null or absent),
        // read by pointer in the loop over the hours.
        var matrix = [Double](repeating: .nan, count: variables.count * n)
        for (c, variable) in variables.enumerated() {
            guard let values = location.values[variable] else { continue }
            guard values.count == n else {
                throw MeteoError(code: .malformedPayload,
                                 "Open-Meteo's answer for \(place.name) has \(values.count) values of '\(variable)' for \(n) hours (field '\(path)hourly.\(variable)'); the answer cannot be matched to its hours")
            }
            let conversion = try OpenMeteoUnits.conversion(.of(variable), unit: location.units[variable], path: "\(path)hourly.\(variable)")
            for k in 0..<n { matrix[c * n + k] = conversion.apply(values[k]) }
        }
        let offset = location.timesAreText ? Int64(location.utcOffsetSeconds.rounded()) : 0
        var inSpan = 0
        try matrix.withUnsafeBufferPointer { (m: UnsafeBufferPointer<Double>) throws(MeteoError) in
            for (k, time) in times.enumerated() {
                let t = time - offset
                guard span.contains(t) else {
                    batch.droppedHours += 1
                    continue
                }
                inSpan += 1
                @inline(__always) func v(_ c: Column) -> Double? {
                    let x = m[c.rawValue * n + k]
                    return x.isNaN ? nil : x
                }
                var any = false
                for c in 0..<variables.count where !m[c * n + k].isNaN {
                    any = true
                    break
                }
                guard any else {
                    batch.missingHours += 1
                    continue
                }
                let snowWater = v(.snowfall).map(OpenMeteoUnits.snowWater(fromSnowMM:))
                var rain = v(.rain)
                if rain == nil, let precipitation = v(.precipitation), (snowWater ?? 0) == 0 { rain = precipitation }
                var code: Int?
                if let c = v(.weatherCode) {
                    guard c == c.rounded(), abs(c) < 1e9 else {
                        batch.failures.append(SourceFailure(placeID: place.id, reason: "open-meteo: \(place.name) at \(ISO8601.string(from: Date(timeIntervalSince1970: Double(t)))): weather_code \(c) is not a whole number"))
                        continue
                    }
                    code = Int(c)
                }
                let o = Observation(
                    placeID: place.id, name: place.name, country: place.country, region: place.region,
                    latitude: place.latitude, longitude: place.longitude,
                    observedAt: Date(timeIntervalSince1970: Double(t)), source: source,
                    temperatureC: v(.temperature), feelsLikeC: v(.apparent),
                    humidityPct: v(.humidity), pressureHPa: v(.pressure),
                    windSpeedMS: v(.windSpeed), windDirectionDeg: v(.windDirection),
                    windGustMS: v(.gusts), cloudCoverPct: v(.cloud),
                    visibilityM: v(.visibility), rainMM: rain, snowMM: snowWater, weatherCode: code)
                do throws(MeteoError) {
                    try o.validate()
                    batch.observations.append(o)
                } catch {
                    batch.failures.append(SourceFailure(placeID: place.id, reason: "open-meteo: \(place.name) at \(ISO8601.string(from: o.observedAt)): \(error.message)"))
                }
            }
        }
        // Asked hours the answer did not hold at all.
        batch.missingHours += max(0, span.expectedHours - inSpan)
    }
}
