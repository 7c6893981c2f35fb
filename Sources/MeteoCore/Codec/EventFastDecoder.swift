import Foundation

/// The sink's hot path: decodes a well-formed version-1 event straight into an
/// ``Observation``, without building a ``JSONValue`` tree. It returns `nil` on anything
/// unusual, and ``EventCodec/decode(_:)`` then takes the general path, which finds the
/// exact error to report; so both paths accept and refuse the same events.
extension JSONParser {
    mutating func fastEvent() -> Observation? {
        do {
            skipSpace()
            guard i < bytes.count, bytes[i] == UInt8(ascii: "{") else { return nil }
            i += 1
            var version: Double?
            var placeID: String?, name: String?, country: String?, region: String?, source: String?, observed: String?
            var latitude: Double?, longitude: Double?
            var values = [Double?](repeating: nil, count: 11)
            var code: Double?
            skipSpace()
            if i < bytes.count, bytes[i] == UInt8(ascii: "}") { return nil }
            while true {
                skipSpace()
                guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { return nil }
                let key = try parseString()
                skipSpace()
                guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { return nil }
                i += 1
                skipSpace()
                guard i < bytes.count else { return nil }
                let c = bytes[i]
                func text() throws(MeteoError) -> String? {
                    if c == UInt8(ascii: "n") { try literal("null"); return nil }
                    guard c == UInt8(ascii: "\"") else { throw error("type") }
                    return try parseString()
                }
                func number() throws(MeteoError) -> Double? {
                    if c == UInt8(ascii: "n") { try literal("null"); return nil }
                    guard c == UInt8(ascii: "-") || (c >= 48 && c <= 57) else { throw error("type") }
                    return try parseNumber()
                }
                switch key {
                case "v": version = try number()
                case "place_id": placeID = try text()
                case "name": name = try text()
                case "country": country = try text()
                case "region": region = try text()
                case "source": source = try text()
                case "observed_at": observed = try text()
                case "latitude": latitude = try number()
                case "longitude": longitude = try number()
                case "temperature_c": values[0] = try number()
                case "feels_like_c": values[1] = try number()
                case "humidity_pct": values[2] = try number()
                case "pressure_hpa": values[3] = try number()
                case "wind_speed_ms": values[4] = try number()
                case "wind_direction_deg": values[5] = try number()
                case "wind_gust_ms": values[6] = try number()
                case "cloud_cover_pct": values[7] = try number()
                case "visibility_m": values[8] = try number()
                case "rain_mm": values[9] = try number()
                case "snow_mm": values[10] = try number()
                case "weather_code": code = try number()
                default: _ = try parseValue()
                }
                skipSpace()
                guard i < bytes.count else { return nil }
                if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                if bytes[i] == UInt8(ascii: "}") { i += 1; break }
                return nil
            }
            skipSpace()
            guard i == bytes.count, version == 1, let placeID, let name, let source, let observed,
                  let latitude, let longitude, let observedAt = ISO8601.date(from: observed)
            else { return nil }
            var weatherCode: Int?
            if let code {
                guard code == code.rounded(), abs(code) < 1e9 else { return nil }
                weatherCode = Int(code)
            }
            return Observation(
                placeID: placeID, name: name, country: country ?? "", region: region,
                latitude: latitude, longitude: longitude, observedAt: observedAt, source: source,
                temperatureC: values[0], feelsLikeC: values[1], humidityPct: values[2], pressureHPa: values[3],
                windSpeedMS: values[4], windDirectionDeg: values[5], windGustMS: values[6], cloudCoverPct: values[7],
                visibilityM: values[8], rainMM: values[9], snowMM: values[10], weatherCode: weatherCode)
        } catch {
            return nil
        }
    }
}

extension EventCodec {
    /// Decodes with the fast path when the bytes are a plain, valid event.
    static func fastDecode<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> Observation? {
        let o: Observation?? = bytes.withContiguousStorageIfAvailable { buffer in
            var parser = JSONParser(buffer)
            return parser.fastEvent()
        }
        guard let candidate = o ?? nil, (try? candidate.validate()) != nil else { return nil }
        return candidate
    }
}
