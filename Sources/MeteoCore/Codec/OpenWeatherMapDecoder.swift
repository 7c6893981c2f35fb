import Foundation

/// Decodes OpenWeatherMap payloads: the current-weather object of `data/2.5/weather`, and the
/// legacy `box/city` response that the original system's producer published to Kafka.
public enum OpenWeatherMapDecoder {
    /// The source label of observations decoded from a legacy `box/city` payload.
    public static let legacySource = "legacy-owm"

    /// Decodes a legacy `box/city` payload: `{"cnt":…,"list":[{"id","dt","name","coord":{"Lat","Lon"},"main":{…},
    /// "wind","rain","snow","clouds","visibility"}]}`.
    ///
    /// Each entry is decoded on its own; the result holds the observations and one error per bad entry,
    /// so that one broken city never hides the others.
    ///
    /// The payload has no country and no region: a city whose id is a place of `catalogue` (a
    /// GeoNames id) gets that place's country and built-in region (``CatalogueEnrichment``); the
    /// bundled catalogue is loaded on the first legacy payload, once. `region`, when given, wins.
    public static func decodeLegacyBox(_ json: JSONValue, region: String? = nil,
                                       catalogue: CatalogueEnrichment = .bundled) throws(MeteoError) -> [Result<Observation, MeteoError>] {
        guard case .object = json else {
            throw MeteoError(code: .malformedPayload, "a box/city payload must be a JSON object, found \(json.typeName)")
        }
        guard case .array(let list)? = json["list"] else {
            throw MeteoError(code: .malformedPayload, "field 'list' should be an array of cities, found \(json["list"]?.typeName ?? "nothing")")
        }
        return list.enumerated().map { index, entry in
            Result { () throws(MeteoError) in
                catalogue.enrich(try decodeCity(entry, path: "list[\(index)]", source: legacySource, region: region))
            }
        }
    }

    /// OpenWeatherMap's error body, `{"cod":401,"message":"Invalid API key. Please see …"}`: the
    /// original producer forwarded it to the topic as it was. Returns the error to dead-letter it
    /// with, `OpenWeatherMap error 401: Invalid API key. Please see …`, or `nil` when the payload
    /// has no `cod` or a `cod` of 200 (OWM writes it as a number or as a string, `"404"`).
    public static func providerError(_ json: JSONValue) -> MeteoError? {
        let code: String
        switch json["cod"] {
        case .number(let d)? where d == d.rounded() && abs(d) < 1e15: code = String(Int(d))
        case .number(let d)?: code = String(d)
        case .string(let s)?: code = oneLine(s, limit: 20)
        default: return nil
        }
        guard !code.isEmpty, code != "200" else { return nil }
        return MeteoError(code: .apiError, "OpenWeatherMap error \(code): \(errorMessage(json) ?? "(no message)")")
    }

    /// The `message` of an OpenWeatherMap error body, on one line, at most 300 characters.
    public static func errorMessage(_ json: JSONValue) -> String? {
        guard case .string(let s)? = json["message"] else { return nil }
        let message = oneLine(s, limit: 300)
        return message.isEmpty ? nil : message
    }

    private static func oneLine(_ text: String, limit: Int) -> String {
        String(text.prefix(limit).map { $0.isNewline ? " " : $0 }).trimmingCharacters(in: .whitespaces)
    }

    /// Decodes one OWM current-weather object (`data/2.5/weather`, metric units) or one `list[*]` entry.
    public static func decodeCity(
        _ entry: JSONValue, path: String = "", source: String = "openweathermap",
        region: String? = nil, placeID: String? = nil, name: String? = nil, country: String? = nil
    ) throws(MeteoError) -> Observation {
        func p(_ k: String) -> String { path.isEmpty ? k : "\(path).\(k)" }
        guard case .object = entry else { throw entry.fail(path.isEmpty ? "(root)" : path, "an object", entry) }
        guard let coord = try entry.optionalObject("coord", path: p("coord")) else {
            throw MeteoError(code: .malformedPayload, "field '\(p("coord"))' is missing")
        }
        // The box/city API wrote "Lat"/"Lon"; the current-weather API writes "lat"/"lon".
        let upperLat = try coord.optionalNumber("Lat", path: p("coord.Lat"))
        let upperLon = try coord.optionalNumber("Lon", path: p("coord.Lon"))
        let lat: Double
        if let upperLat { lat = upperLat } else { lat = try coord.number("lat", path: p("coord.lat")) }
        let lon: Double
        if let upperLon { lon = upperLon } else { lon = try coord.number("lon", path: p("coord.lon")) }
        guard let dt = try entry.optionalNumber("dt", path: p("dt")) else {
            throw MeteoError(code: .malformedPayload, "field '\(p("dt"))' (observation time) is missing")
        }
        // Refused here with the field's name: such a time is not even a date that can be written
        // (1e300 seconds), and the validation's message would have to print it.
        guard Observation.acceptedTimeRange.contains(Date(timeIntervalSince1970: dt)) else {
            throw MeteoError(code: .invalidObservation, "field '\(p("dt"))' (observation time) \(dt) is outside 1970...2100")
        }
        let id: String
        if let placeID { id = placeID } else if let n = try entry.optionalInt("id", path: p("id")) { id = String(n) } else {
            throw MeteoError(code: .malformedPayload, "field '\(p("id"))' (city id) is missing")
        }
        let main = try entry.optionalObject("main", path: p("main")) ?? .object([:])
        let wind = try entry.optionalObject("wind", path: p("wind")) ?? .object([:])
        let clouds = try entry.optionalObject("clouds", path: p("clouds")) ?? .object([:])
        let sys = try entry.optionalObject("sys", path: p("sys")) ?? .object([:])

        var temp = try main.optionalNumber("temp", path: p("main.temp"))
        var feels = try main.optionalNumber("feels_like", path: p("main.feels_like"))
        // The original producer did not always ask for metric units: OWM's default is kelvin.
        // No air temperature on Earth is above 150 °C, so such a value is kelvin.
        if let t = temp, t > 150 {
            temp = t - 273.15
            if let f = feels { feels = f - 273.15 }
        }
        let seaLevel = try main.optionalNumber("sea_level", path: p("main.sea_level"))
        let pressure: Double?
        if let seaLevel { pressure = seaLevel } else { pressure = try main.optionalNumber("pressure", path: p("main.pressure")) }
        let cloudAll = try clouds.optionalNumber("all", path: p("clouds.all"))
        let cloud: Double?
        if let cloudAll { cloud = cloudAll } else { cloud = try clouds.optionalNumber("today", path: p("clouds.today")) }
        let entryName = try entry.optionalString("name", path: p("name"))
        let entryCountry = try sys.optionalString("country", path: p("sys.country"))

        let conditionID: Int?
        if case .array(let weather)? = entry["weather"], let first = weather.first {
            conditionID = try first.optionalInt("id", path: p("weather[0].id"))
        } else {
            conditionID = nil
        }

        let o = Observation(
            placeID: id,
            name: name ?? entryName ?? id,
            country: country ?? entryCountry ?? "",
            region: region,
            latitude: lat,
            longitude: lon,
            observedAt: Date(timeIntervalSince1970: dt),
            source: source,
            temperatureC: temp,
            feelsLikeC: feels,
            humidityPct: try main.optionalNumber("humidity", path: p("main.humidity")),
            pressureHPa: pressure,
            windSpeedMS: try wind.optionalNumber("speed", path: p("wind.speed")),
            windDirectionDeg: try wind.optionalNumber("deg", path: p("wind.deg")),
            windGustMS: try wind.optionalNumber("gust", path: p("wind.gust")),
            cloudCoverPct: cloud,
            visibilityM: try entry.optionalNumber("visibility", path: p("visibility")),
            rainMM: try hourly(entry, "rain", p("rain")),
            snowMM: try hourly(entry, "snow", p("snow")),
            weatherCode: conditionID.flatMap(wmoCode(owmCondition:))
        )
        try o.validate()
        return o
    }

    /// `{"1h": mm}` as it is, or `{"3h": mm}` as its hourly mean; `nil` when absent or null.
    static func hourly(_ entry: JSONValue, _ key: String, _ path: String) throws(MeteoError) -> Double? {
        guard let obj = try entry.optionalObject(key, path: path) else { return nil }
        if let h1 = try obj.optionalNumber("1h", path: "\(path).1h") { return h1 }
        if let h3 = try obj.optionalNumber("3h", path: "\(path).3h") { return h3 / 3 }
        return nil
    }

    /// Maps an OpenWeatherMap condition id (2xx–8xx) to the nearest WMO weather code.
    public static func wmoCode(owmCondition id: Int) -> Int? {
        switch id {
        case 200...202, 230...232: return 95
        case 210...221: return 95
        case 300...302: return 51
        case 310...321: return 53
        case 500: return 61
        case 501: return 63
        case 502...504: return 65
        case 511: return 66
        case 520: return 80
        case 521: return 81
        case 522, 531: return 82
        case 600: return 71
        case 601: return 73
        case 602: return 75
        case 611...616: return 68
        case 620: return 85
        case 621, 622: return 86
        case 701, 721, 741: return 45
        case 711, 731, 751, 761, 762, 771, 781: return 45
        case 800: return 0
        case 801: return 1
        case 802: return 2
        case 803, 804: return 3
        default: return nil
        }
    }
}
