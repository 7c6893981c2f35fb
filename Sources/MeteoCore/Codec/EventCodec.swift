import Foundation

/// The versioned JSON event that carries one ``Observation`` on the bus.
///
/// Version 1 is a flat object: `{"v":1,"place_id":"2973783","name":"Strasbourg",…}` with the
/// field names of ``Observation/CodingKeys`` (units in the names), `null` for absent values
/// and `observed_at` in ISO 8601 UTC. The bus key is the place id.
public enum EventCodec {
    /// The version this build writes. It reads every version up to this one.
    public static let version = 1

    /// The longest `observed_at` text read (ISO 8601 with nanoseconds and an offset is 35 bytes).
    static let maxTimeLength = 64

    /// Encodes an observation as a version-1 event.
    public static func encode(_ o: Observation) -> [UInt8] {
        var encoder = EventEncoder()
        return encoder.encode(o)
    }

    /// Writes the observation's fields (without braces) into `w`. Shared with the JSON of `meteo query`.
    public static func write(_ o: Observation, into w: inout JSONWriter, leadingComma: Bool) {
        writePlace(o, into: &w, leadingComma: leadingComma)
        w.raw(",\"observed_at\":"); w.time(o.observedAt)
        w.raw(",\"source\":"); w.string(o.source)
        writeValues(o, into: &w)
    }

    /// `"place_id":…` through `"longitude":…`: the fields of the place.
    static func writePlace(_ o: Observation, into w: inout JSONWriter, leadingComma: Bool) {
        if leadingComma { w.raw(",") }
        w.raw("\"place_id\":"); w.string(o.placeID)
        w.raw(",\"name\":"); w.string(o.name)
        w.raw(",\"country\":"); w.string(o.country)
        w.raw(",\"region\":"); if let r = o.region { w.string(r) } else { w.raw("null") }
        w.raw(",\"latitude\":"); w.number(o.latitude)
        w.raw(",\"longitude\":"); w.number(o.longitude)
    }

    /// `,"temperature_c":…` through `,"weather_code":…`: the measurements.
    static func writeValues<W: JSONFragmentWriter>(_ o: Observation, into w: inout W) {
        w.raw(",\"temperature_c\":"); w.optional(o.temperatureC)
        w.raw(",\"feels_like_c\":"); w.optional(o.feelsLikeC)
        w.raw(",\"humidity_pct\":"); w.optional(o.humidityPct)
        w.raw(",\"pressure_hpa\":"); w.optional(o.pressureHPa)
        w.raw(",\"wind_speed_ms\":"); w.optional(o.windSpeedMS)
        w.raw(",\"wind_direction_deg\":"); w.optional(o.windDirectionDeg)
        w.raw(",\"wind_gust_ms\":"); w.optional(o.windGustMS)
        w.raw(",\"cloud_cover_pct\":"); w.optional(o.cloudCoverPct)
        w.raw(",\"visibility_m\":"); w.optional(o.visibilityM)
        w.raw(",\"rain_mm\":"); w.optional(o.rainMM)
        w.raw(",\"snow_mm\":"); w.optional(o.snowMM)
        w.raw(",\"weather_code\":"); if let c = o.weatherCode { w.number(c) } else { w.raw("null") }
    }

    /// Writes observations as a JSON array of objects with the event's fields (without `v`):
    /// the shape of `meteo query --format json` and of the API.
    public static func writeArray(_ rows: [Observation], into w: inout JSONWriter) {
        w.raw("[")
        for (i, o) in rows.enumerated() {
            if i > 0 { w.raw(",") }
            w.raw("{")
            write(o, into: &w, leadingComma: false)
            w.raw("}")
        }
        w.raw("]")
    }

    /// Decodes a version-1 event and validates it. Throws a ``MeteoError`` whose message is
    /// the dead-letter reason.
    public static func decode<Bytes: Collection<UInt8>>(_ bytes: Bytes) throws(MeteoError) -> Observation {
        if let fast = fastDecode(bytes) { return fast }
        let json = try JSONValue.parse(bytes)
        return try decode(json)
    }

    /// Decodes an already parsed version-1 event: what the bus carries, read strictly.
    public static func decode(_ json: JSONValue) throws(MeteoError) -> Observation {
        try decode(json, asRecord: false)
    }

    /// The source label of a record that names none.
    public static let recordSource = "replay"

    /// Decodes a user's observation record, a line of a replay file: an object with the event's
    /// field names, more leniently than the bus reads events.
    ///
    /// - `v` may be missing (a version given must be one this build reads);
    /// - `place_id` may be a JSON integer, whose decimal text becomes the id (a fractional
    ///   number, an integer of 2^53 or more, an object, an array or a boolean is refused);
    /// - `name` may be missing or null (the id is the name), and `source` too (``recordSource``).
    ///
    /// Everything else is as in an event, and the observation is validated.
    public static func decodeRecord(_ json: JSONValue) throws(MeteoError) -> Observation {
        try decode(json, asRecord: true)
    }

    private static func decode(_ json: JSONValue, asRecord: Bool) throws(MeteoError) -> Observation {
        guard case .object = json else {
            throw MeteoError(code: .malformedPayload, "an event must be a JSON object, found \(json.typeName)")
        }
        if let v = try json.optionalInt("v") {
            guard v >= 1, v <= version else {
                throw MeteoError(code: .malformedPayload, "event version \(v) is not supported: this build reads versions 1...\(version); upgrade Meteo")
            }
        } else if !asRecord {
            throw MeteoError(code: .malformedPayload, "the event has no version field 'v'")
        }
        let observedText = try json.string("observed_at")
        // A time is a few dozen bytes: anything longer is refused before it is parsed.
        guard observedText.utf8.count <= maxTimeLength, let observedAt = ISO8601.date(from: observedText) else {
            throw MeteoError(code: .malformedPayload, "field 'observed_at' is not an ISO 8601 time: '\(observedText.prefix(40))'")
        }
        let placeID = try asRecord ? recordPlaceID(json["place_id"]) : json.string("place_id")
        let o = Observation(
            placeID: placeID,
            name: try asRecord ? json.optionalString("name") ?? placeID : json.string("name"),
            country: try json.optionalString("country") ?? "",
            region: try json.optionalString("region"),
            latitude: try json.number("latitude"),
            longitude: try json.number("longitude"),
            observedAt: observedAt,
            source: try asRecord ? json.optionalString("source") ?? recordSource : json.string("source"),
            temperatureC: try json.optionalNumber("temperature_c"),
            feelsLikeC: try json.optionalNumber("feels_like_c"),
            humidityPct: try json.optionalNumber("humidity_pct"),
            pressureHPa: try json.optionalNumber("pressure_hpa"),
            windSpeedMS: try json.optionalNumber("wind_speed_ms"),
            windDirectionDeg: try json.optionalNumber("wind_direction_deg"),
            windGustMS: try json.optionalNumber("wind_gust_ms"),
            cloudCoverPct: try json.optionalNumber("cloud_cover_pct"),
            visibilityM: try json.optionalNumber("visibility_m"),
            rainMM: try json.optionalNumber("rain_mm"),
            snowMM: try json.optionalNumber("snow_mm"),
            weatherCode: try json.optionalInt("weather_code")
        )
        try o.validate()
        return o
    }

    /// A record's `place_id`: a string as it is, or an integer as its decimal text.
    static func recordPlaceID(_ value: JSONValue?) throws(MeteoError) -> String {
        switch value {
        case .string(let s)?:
            return s
        case .number(let d)? where d == d.rounded() && abs(d) < 9_007_199_254_740_992:
            return String(Int(d))
        case .number(let d)? where d == d.rounded():
            throw MeteoError(code: .malformedPayload,
                             "field 'place_id' is an integer of 2^53 or more (\(d)), which a JSON number cannot hold exactly: write the id as a string")
        case .number(let d)?:
            throw MeteoError(code: .malformedPayload, "field 'place_id' should be a string or an integer, found the number \(d)")
        default:
            throw MeteoError(code: .malformedPayload, "field 'place_id' should be a string or an integer, found \(value?.typeName ?? "nothing")")
        }
    }
}
