import Foundation

/// The sink's hot path: decodes a well-formed version-1 event straight into an
/// ``Observation``, without building a ``JSONValue`` tree. It returns `nil` on anything
/// unusual, and ``EventCodec/decode(_:)`` then takes the general path, which finds the
/// exact error to report; so both paths accept and refuse the same events.
extension JSONParser {
    /// The keys of a version-1 event, in the order `fastEvent` numbers them: the order
    /// ``EventCodec/encode(_:)`` writes them in.
    static let eventKeys: [[UInt8]] = [
        "v", "place_id", "name", "country", "region", "latitude", "longitude", "observed_at", "source",
        "temperature_c", "feels_like_c", "humidity_pct", "pressure_hpa", "wind_speed_ms", "wind_direction_deg",
        "wind_gust_ms", "cloud_cover_pct", "visibility_m", "rain_mm", "snow_mm", "weather_code",
    ].map { Array($0.utf8) }

    /// Reads the object key at `i` and returns its index in ``eventKeys``, or -1 for another key.
    /// Keys are compared as bytes, without making a String, unless they hold escapes. `expected`
    /// is tried first: Meteo writes the keys in ``eventKeys`` order, so it is usually the one.
    mutating func eventKey(expected: Int) throws(MeteoError) -> Int {
        let start = i + 1
        var j = start
        // Plain ASCII only: a key with an escape, a control character or non-ASCII bytes is read by
        // parseString, which refuses what the general path refuses (invalid UTF-8, raw controls).
        while j < bytes.count, bytes[j] != UInt8(ascii: "\""), bytes[j] != UInt8(ascii: "\\"), bytes[j] >= 0x20, bytes[j] < 0x80 { j += 1 }
        guard j < bytes.count, bytes[j] == UInt8(ascii: "\"") else {
            let key = Array(try parseString().utf8)
            return Self.eventKeys.firstIndex(of: key) ?? -1
        }
        i = j + 1
        let length = j - start
        if expected < Self.eventKeys.count, matches(Self.eventKeys[expected], at: start, length: length) { return expected }
        for (index, candidate) in Self.eventKeys.enumerated() where candidate.count == length {
            var same = true
            for k in 0..<length where candidate[k] != bytes[start + k] {
                same = false
                break
            }
            if same { return index }
        }
        return -1
    }

    private func matches(_ candidate: [UInt8], at start: Int, length: Int) -> Bool {
        guard candidate.count == length else { return false }
        for k in 0..<length where candidate[k] != bytes[start + k] { return false }
        return true
    }

    mutating func fastEvent() -> Observation? {
        do {
            skipSpace()
            guard i < bytes.count, bytes[i] == UInt8(ascii: "{") else { return nil }
            i += 1
            // The event object is one level, as in parseObject: a value nested inside it gets the
            // same depth limit as on the general path.
            depth = 1
            var version: Double?
            var placeID: String?, name: String?, country: String?, region: String?, source: String?, observed: String?
            var latitude: Double?, longitude: Double?
            var values = [Double?](repeating: nil, count: 11)
            var code: Double?
            skipSpace()
            if i < bytes.count, bytes[i] == UInt8(ascii: "}") { return nil }
            var expected = 0
            while true {
                skipSpace()
                guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { return nil }
                let key = try eventKey(expected: expected)
                expected = key + 1
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
                case 0: version = try number()
                case 1: placeID = try text()
                case 2: name = try text()
                case 3: country = try text()
                case 4: region = try text()
                case 5: latitude = try number()
                case 6: longitude = try number()
                case 7: observed = try text()
                case 8: source = try text()
                case 9...19: values[key - 9] = try number()
                case 20: code = try number()
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
                  let latitude, let longitude, observed.utf8.count <= EventCodec.maxTimeLength,
                  let observedAt = ISO8601.date(from: observed)
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
