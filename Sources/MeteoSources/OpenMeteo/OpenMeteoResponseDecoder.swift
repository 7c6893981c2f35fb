import Foundation
import MeteoCore

/// Decodes Open-Meteo's forecast response (`current=` variables) into observations of the
/// requested places.
///
/// - One location: a single object. Several: an array of objects in request order.
/// - Each object: `latitude, longitude, utc_offset_seconds, current_units{…}, current{time, interval, …}`.
/// - `time` may be unix seconds (`timeformat=unixtime`, what Meteo asks for) or ISO 8601 in GMT.
///
/// Units come from `current_units`: wind in m/s (km/h, mph and kn are converted), temperature in
/// °C (°F converted), rain in mm (inch converted), snowfall in cm of snow, stored as mm of water
/// (cm × 10 / 7, per Open-Meteo's docs). `rain` and `snowfall` of `current` are sums over
/// `interval` seconds (900 usually); they are scaled to an hourly amount (× 3600 / interval).
/// `precipitation` is requested but only used as rain when `rain` is missing and it is not
/// snowing.
enum OpenMeteoResponseDecoder {
    static let source = "open-meteo"

    /// Decodes a whole response. Throws when the document as a whole is unusable: not JSON
    /// (retriable: likely a truncated transfer), or not the expected number of locations.
    /// A bad location becomes a failure of its place.
    static func decode(_ body: [UInt8], places: [Place]) throws(MeteoError) -> SourceBatch {
        let json: JSONValue
        do {
            json = try JSONValue.parse(body)
        } catch {
            throw MeteoError(code: .malformedPayload,
                             "Open-Meteo sent a response that is not complete JSON (\(body.count) bytes): \(error.message)",
                             isRetriable: true)
        }
        let items: [JSONValue]
        switch json {
        case .array(let a): items = a
        case .object where places.count == 1: items = [json]
        case .object:
            throw MeteoError(code: .malformedPayload, "Open-Meteo returned one location for a request of \(places.count) places")
        default:
            throw MeteoError(code: .malformedPayload, "Open-Meteo returned \(json.typeName), expected an object or an array of objects")
        }
        guard items.count == places.count else {
            throw MeteoError(code: .malformedPayload,
                             "Open-Meteo returned \(items.count) locations for a request of \(places.count) places; the response cannot be matched to the places")
        }
        var batch = SourceBatch()
        batch.observations.reserveCapacity(places.count)
        for (index, (item, place)) in zip(items, places).enumerated() {
            do throws(MeteoError) {
                batch.observations.append(try decodeLocation(item, place: place, path: places.count == 1 ? "" : "[\(index)]"))
            } catch {
                batch.failures.append(SourceFailure(placeID: place.id, reason: "open-meteo: \(place.name): \(error.message)"))
            }
        }
        return batch
    }

    /// Decodes one location object into an observation of `place` and validates it.
    static func decodeLocation(_ item: JSONValue, place: Place, path: String = "") throws(MeteoError) -> Observation {
        func p(_ k: String) -> String { path.isEmpty ? k : "\(path).\(k)" }
        guard case .object = item else {
            throw MeteoError(code: .malformedPayload, "location \(path.isEmpty ? "(root)" : path) should be an object, found \(item.typeName)")
        }
        guard let current = try item.optionalObject("current", path: p("current")) else {
            throw MeteoError(code: .malformedPayload, "field '\(p("current"))' is missing: was the 'current' parameter sent?")
        }
        let units = try item.optionalObject("current_units", path: p("current_units")) ?? .object([:])
        func unit(_ key: String) throws(MeteoError) -> String? { try units.optionalString(key, path: p("current_units.\(key)")) }
        func value(_ key: String) throws(MeteoError) -> Double? { try current.optionalNumber(key, path: p("current.\(key)")) }

        let observedAt: Date
        switch current["time"] {
        case .number(let t)?:
            observedAt = Date(timeIntervalSince1970: t)
        case .string(let s)?:
            guard let d = ISO8601.date(from: s) else {
                throw MeteoError(code: .malformedPayload, "field '\(p("current.time"))' is not a time: '\(s.prefix(40))'")
            }
            // With timezone=GMT the offset is 0; otherwise local time is shifted back to UTC.
            let offset = try item.optionalNumber("utc_offset_seconds", path: p("utc_offset_seconds")) ?? 0
            observedAt = d.addingTimeInterval(s.hasSuffix("Z") || s.contains("+") ? 0 : -offset)
        case let other:
            throw MeteoError(code: .malformedPayload,
                             "field '\(p("current.time"))' should be unix seconds or an ISO 8601 time, found \(other?.typeName ?? "nothing")")
        }
        let interval = try value("interval") ?? 900
        guard interval > 0, interval.isFinite else {
            throw MeteoError(code: .malformedPayload, "field '\(p("current.interval"))' should be a positive number of seconds, found \(interval)")
        }
        let perHour = 3600 / interval

        func converted(_ key: String) throws(MeteoError) -> Double? {
            guard let v = try value(key) else { return nil }
            return try OpenMeteoUnits.conversion(.of(key), unit: try unit(key), path: p("current.\(key)")).apply(v)
        }

        // Snowfall: depth of fresh snow (cm by default); 7 cm of snow ≈ 10 mm of water.
        let snowWater = try converted("snowfall").map(OpenMeteoUnits.snowWater(fromSnowMM:))
        var rain = try converted("rain")
        if rain == nil, let precipitation = try converted("precipitation"), (snowWater ?? 0) == 0 {
            rain = precipitation
        }
        let code = try current.optionalInt("weather_code", path: p("current.weather_code"))

        let o = Observation(
            placeID: place.id,
            name: place.name,
            country: place.country,
            region: place.region,
            latitude: place.latitude,
            longitude: place.longitude,
            observedAt: observedAt,
            source: source,
            temperatureC: try converted("temperature_2m"),
            feelsLikeC: try converted("apparent_temperature"),
            humidityPct: try value("relative_humidity_2m"),
            pressureHPa: try value("pressure_msl"),
            windSpeedMS: try converted("wind_speed_10m"),
            windDirectionDeg: try value("wind_direction_10m"),
            windGustMS: try converted("wind_gusts_10m"),
            cloudCoverPct: try value("cloud_cover"),
            visibilityM: try converted("visibility"),
            rainMM: rain.map { $0 * perHour },
            snowMM: snowWater.map { $0 * perHour },
            weatherCode: code
        )
        try o.validate()
        return o
    }
}
