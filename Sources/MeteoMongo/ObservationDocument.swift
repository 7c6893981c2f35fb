#if MongoDB
import Foundation
import MeteoCore

/// The document of one observation: the fields of `meteo query --format json`, with units in
/// their names, plus `_id` (the natural key), `observed_at` as a BSON date and a GeoJSON
/// `location`. An absent value is stored as null, never 0.
enum ObservationDocument {
    /// `"<place_id>@<observed_at>"`: one document per place and observed time, so that an
    /// upsert of the same event is a no-op.
    static func id(_ o: Observation) -> String { o.eventID }

    static func make(_ o: Observation) -> BSONDocument {
        let d = BSONDocument()
        d.append("_id", id(o))
        fill(d, o)
        return d
    }

    /// The fields without `_id` (for `latest`, whose `_id` is the place id).
    static func fill(_ d: BSONDocument, _ o: Observation) {
        d.append("place_id", o.placeID)
        d.append("name", o.name)
        d.append("country", o.country)
        d.append("region", o.region)
        d.append("latitude", o.latitude)
        d.append("longitude", o.longitude)
        let location = BSONDocument()
        location.append("type", "Point")
        location.append("coordinates", array: BSONDocument.array([o.longitude, o.latitude]))
        d.append("location", document: location)
        d.append("observed_at", date: o.observedAt)
        d.append("source", o.source)
        d.append("temperature_c", o.temperatureC)
        d.append("feels_like_c", o.feelsLikeC)
        d.append("humidity_pct", o.humidityPct)
        d.append("pressure_hpa", o.pressureHPa)
        d.append("wind_speed_ms", o.windSpeedMS)
        d.append("wind_direction_deg", o.windDirectionDeg)
        d.append("wind_gust_ms", o.windGustMS)
        d.append("cloud_cover_pct", o.cloudCoverPct)
        d.append("visibility_m", o.visibilityM)
        d.append("rain_mm", o.rainMM)
        d.append("snow_mm", o.snowMM)
        if let code = o.weatherCode { d.append("weather_code", Int64(code)) } else { d.appendNull("weather_code") }
    }

    /// Reads a document back; a document that is not one of Meteo's says which field is wrong.
    static func observation(_ d: BSONDocument) throws(MeteoError) -> Observation {
        var fields: [String: BSONValue] = [:]
        for (k, v) in d.fields { fields[k] = v }
        func text(_ key: String) throws(MeteoError) -> String {
            guard let s = fields[key]?.string else { throw wrong(key, "a string") }
            return s
        }
        func optionalText(_ key: String) -> String? { fields[key]?.string }
        func number(_ key: String) throws(MeteoError) -> Double {
            guard let n = fields[key]?.double else { throw wrong(key, "a number") }
            return n
        }
        func optionalNumber(_ key: String) -> Double? { fields[key]?.double }
        func wrong(_ key: String, _ what: String) -> MeteoError {
            MeteoError(code: .store, "the MongoDB document \(fields["_id"]?.string ?? "?") is not a Meteo observation: \(key) should be \(what)")
        }
        guard let observedAt = fields["observed_at"]?.date else { throw wrong("observed_at", "a date") }
        return Observation(
            placeID: try text("place_id"), name: try text("name"), country: optionalText("country") ?? "",
            region: optionalText("region"), latitude: try number("latitude"), longitude: try number("longitude"),
            observedAt: observedAt, source: optionalText("source") ?? "",
            temperatureC: optionalNumber("temperature_c"), feelsLikeC: optionalNumber("feels_like_c"),
            humidityPct: optionalNumber("humidity_pct"), pressureHPa: optionalNumber("pressure_hpa"),
            windSpeedMS: optionalNumber("wind_speed_ms"), windDirectionDeg: optionalNumber("wind_direction_deg"),
            windGustMS: optionalNumber("wind_gust_ms"), cloudCoverPct: optionalNumber("cloud_cover_pct"),
            visibilityM: optionalNumber("visibility_m"), rainMM: optionalNumber("rain_mm"), snowMM: optionalNumber("snow_mm"),
            weatherCode: fields["weather_code"]?.int.map { Int($0) })
    }
}
#endif
