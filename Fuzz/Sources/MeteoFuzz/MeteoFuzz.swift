import Foundation
import MeteoCore

// libFuzzer entry point for every decoder a bus message meets: the JSON parser, the event codec
// (fast and general paths) and each PayloadFormat. Every input must be decoded into valid
// observations or refused with a non-empty reason; anything else stops the fuzzer with a message
// (fatalError), and so does a crash. See Fuzz/README.md.

@_cdecl("LLVMFuzzerTestOneInput")
public func meteoFuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = size > 0 && data != nil ? Array(UnsafeBufferPointer(start: data, count: size)) : []
    FuzzChecks.run(bytes)
    return 0
}

enum FuzzChecks {
    static func run(_ bytes: [UInt8]) {
        let parsed = checkParser(bytes)
        checkEvent(bytes, parsed: parsed)
        for format in PayloadFormat.allCases { checkFormat(format, bytes, parsed: parsed) }
        checkRecording(bytes, parsed: parsed)
        // An ArraySlice is contiguous but not an Array: the same answers through the generic path.
        if let direct = try? EventCodec.decode(bytes) {
            let slice = ([0x20] + bytes)[1...]
            guard let viaSlice = try? EventCodec.decode(slice) else { fail("an ArraySlice of an accepted event is refused", bytes) }
            same(direct, viaSlice, "Array vs ArraySlice", bytes)
        }
    }

    // MARK: The JSON parser

    /// Parses the bytes; a parsed document must write and parse back to the same value.
    static func checkParser(_ bytes: [UInt8]) -> Result<JSONValue, MeteoError> {
        let result = Result { () throws(MeteoError) in try JSONValue.parse(bytes) }
        switch result {
        case .failure(let e):
            reason(e, "JSONValue.parse", bytes)
        case .success(let value):
            var w = JSONWriter()
            w.value(value)
            guard let again = try? JSONValue.parse(w.bytes) else {
                fail("JSONWriter output of a parsed document does not parse: \(String(decoding: w.bytes.prefix(200), as: UTF8.self))", bytes)
            }
            guard sameJSON(value, again) else { fail("JSON does not survive write + parse", bytes) }
        }
        return result
    }

    /// Equality that compares strings byte for byte (Swift's String == is canonical equivalence).
    static func sameJSON(_ a: JSONValue, _ b: JSONValue) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case (.bool(let x), .bool(let y)): return x == y
        case (.number(let x), .number(let y)): return x == y
        case (.string(let x), .string(let y)): return x.utf8.elementsEqual(y.utf8)
        case (.array(let x), .array(let y)): return x.count == y.count && zip(x, y).allSatisfy { sameJSON($0, $1) }
        case (.object(let x), .object(let y)):
            guard x.count == y.count else { return false }
            for (k, v) in x {
                guard let w = y[k], sameJSON(v, w) else { return false }
            }
            return true
        default: return false
        }
    }

    // MARK: The event codec

    static func checkEvent(_ bytes: [UInt8], parsed: Result<JSONValue, MeteoError>) {
        let direct = Result { () throws(MeteoError) in try EventCodec.decode(bytes) }
        // The general path alone: what EventCodec.decode(bytes) must agree with (its fast path
        // claims to accept and refuse exactly the same events).
        let general: Result<Observation, MeteoError> = parsed.flatMap { json in
            Result { () throws(MeteoError) in try EventCodec.decode(json) }
        }
        switch (direct, general) {
        case (.failure(let e), .failure):
            reason(e, "EventCodec.decode", bytes)
        case (.success(let o), .success(let g)):
            same(o, g, "fast path vs general path", bytes)
            checkObservation(o, bytes)
            if case .success(let json) = parsed {
                // Strings are taken literally, byte for byte, from the JSON string values.
                literal(o.placeID, json["place_id"], "place_id", bytes)
                literal(o.name, json["name"], "name", bytes)
                literal(o.source, json["source"], "source", bytes)
                if case .string? = json["country"] { literal(o.country, json["country"], "country", bytes) }
                if let region = o.region { literal(region, json["region"], "region", bytes) }
            }
        case (.success, .failure(let e)):
            fail("EventCodec.decode accepts what the general path refuses (\(e.message))", bytes)
        case (.failure(let e), .success):
            fail("EventCodec.decode refuses what the general path accepts (\(e.message))", bytes)
        }
    }

    static func literal(_ decoded: String, _ value: JSONValue?, _ field: String, _ bytes: [UInt8]) {
        guard case .string(let s)? = value, s.utf8.elementsEqual(decoded.utf8) else {
            fail("field '\(field)' is not kept byte for byte", bytes)
        }
    }

    // MARK: Payload formats

    static func checkFormat(_ format: PayloadFormat, _ bytes: [UInt8], parsed: Result<JSONValue, MeteoError>) {
        let results: [Result<Observation, MeteoError>]
        do {
            results = try format.decode(bytes)
        } catch {
            reason(error, "PayloadFormat.\(format).decode", bytes)
            return
        }
        // As the sink does: a message with no result at all is dead-lettered with its own reason.
        for result in results {
            switch result {
            case .success(let o): checkObservation(o, bytes)
            case .failure(let e): reason(e, "PayloadFormat.\(format) entry", bytes)
            }
        }
        switch format {
        case .event:
            guard results.count == 1 else { fail("an event gave \(results.count) results", bytes) }
            agree(results[0], Result { () throws(MeteoError) in try EventCodec.decode(bytes) }, "PayloadFormat.event vs EventCodec", bytes)
        case .auto:
            if case .success(let json) = parsed, json["v"] != nil || (try? EventCodec.decode(bytes)) != nil {
                guard results.count == 1 else { fail("an auto-detected event gave \(results.count) results", bytes) }
                agree(results[0], Result { () throws(MeteoError) in try EventCodec.decode(bytes) }, "PayloadFormat.auto vs EventCodec", bytes)
            }
        case .owmCurrent:
            guard results.count == 1 else { fail("an OWM object gave \(results.count) results", bytes) }
            if case .success(let o) = results[0], case .success(let json) = parsed {
                if case .string? = json["name"] { literal(o.name, json["name"], "name", bytes) }
                if case .string? = json["sys"]?["country"] { literal(o.country, json["sys"]?["country"], "sys.country", bytes) }
            }
        case .legacyOWM:
            if case .success(let json) = parsed, case .array(let list)? = json["list"] {
                guard results.count == list.count else { fail("\(list.count) cities gave \(results.count) results", bytes) }
                for (entry, result) in zip(list, results) {
                    if case .success(let o) = result, case .string? = entry["name"] { literal(o.name, entry["name"], "list[].name", bytes) }
                }
            }
        }
    }

    // MARK: Recordings

    /// A line of a replay file (RecordingDecoder, more lenient than the bus): valid observations
    /// or reasons, and every event the bus's codec accepts is accepted with the same observation.
    static func checkRecording(_ bytes: [UInt8], parsed: Result<JSONValue, MeteoError>) {
        let event = try? EventCodec.decode(bytes)
        let results: [Result<Observation, MeteoError>]
        do {
            results = try RecordingDecoder.decode(bytes)
        } catch {
            reason(error, "RecordingDecoder.decode", bytes)
            if event != nil { fail("RecordingDecoder refuses an event the bus accepts (\(error.message))", bytes) }
            return
        }
        for result in results {
            switch result {
            case .success(let o): checkObservation(o, bytes)
            case .failure(let e): reason(e, "RecordingDecoder entry", bytes)
            }
        }
        if let event {
            guard results.count == 1, case .success(let o) = results[0] else { fail("RecordingDecoder refuses an event the bus accepts", bytes) }
            same(event, o, "RecordingDecoder vs EventCodec", bytes)
        }
        // A record's string fields are taken literally too.
        if results.count == 1, case .success(let o) = results[0], case .success(let json) = parsed, json["list"] == nil, json["coord"] == nil {
            if case .string? = json["place_id"] { literal(o.placeID, json["place_id"], "place_id", bytes) }
            if case .string? = json["name"] { literal(o.name, json["name"], "name", bytes) }
        }
    }

    static func agree(_ a: Result<Observation, MeteoError>, _ b: Result<Observation, MeteoError>, _ what: String, _ bytes: [UInt8]) {
        switch (a, b) {
        case (.success(let x), .success(let y)): same(x, y, what, bytes)
        case (.failure(let x), .failure(let y)):
            guard x.message == y.message else { fail("\(what): different reasons '\(x.message)' / '\(y.message)'", bytes) }
        default: fail("\(what): one accepts, the other refuses", bytes)
        }
    }

    // MARK: Observations

    /// A decoded observation: valid, within the validated ranges, and stable through the event codec.
    static func checkObservation(_ o: Observation, _ bytes: [UInt8]) {
        do { try o.validate() } catch { fail("a decoded observation does not validate: \(error.message)", bytes) }
        func range(_ v: Double?, _ r: ClosedRange<Double>, _ field: String) {
            guard let v else { return }
            guard v.isFinite, r.contains(v) else { fail("\(field) \(v) is outside \(r)", bytes) }
        }
        guard !o.placeID.isEmpty, o.placeID.utf8.count <= 256, o.name.utf8.count <= 512 else { fail("place_id or name out of bounds", bytes) }
        range(o.latitude, -90...90, "latitude")
        range(o.longitude, -180...180, "longitude")
        range(o.observedAt.timeIntervalSince1970, 0...4_102_444_800, "observed_at")
        range(o.temperatureC, -100...70, "temperature_c")
        range(o.feelsLikeC, -120...90, "feels_like_c")
        range(o.humidityPct, 0...100, "humidity_pct")
        range(o.pressureHPa, 800...1100, "pressure_hpa")
        range(o.windSpeedMS, 0...120, "wind_speed_ms")
        range(o.windDirectionDeg, 0...360, "wind_direction_deg")
        range(o.windGustMS, 0...150, "wind_gust_ms")
        range(o.cloudCoverPct, 0...100, "cloud_cover_pct")
        range(o.visibilityM, 0...1_000_000, "visibility_m")
        range(o.rainMM, 0...1000, "rain_mm")
        range(o.snowMM, 0...1000, "snow_mm")
        if let c = o.weatherCode, !(0...99).contains(c) { fail("weather_code \(c) is outside 0...99", bytes) }

        // encode → decode gives the observation back (time to the millisecond the event keeps),
        // and the second encoding is the same bytes as the first.
        let encoded = EventCodec.encode(o)
        let back: Observation
        do { back = try EventCodec.decode(encoded) } catch {
            fail("the event of a decoded observation is refused: \(error.message)\n\(String(decoding: encoded, as: UTF8.self))", bytes)
        }
        let expectedBack = o
        same(expectedBack, back, "encode → decode", bytes, timeTolerance: 0.0005 + 1e-6)
        guard (try? JSONValue.parse(encoded)) != nil else { fail("an encoded event is not JSON", bytes) }
        let again = EventCodec.encode(back)
        guard again == encoded else {
            fail("encoding is not stable:\n\(String(decoding: encoded, as: UTF8.self))\n\(String(decoding: again, as: UTF8.self))", bytes)
        }
    }

    /// Field-by-field equality; strings byte for byte, numbers by value (0 and -0 are equal).
    static func same(_ a: Observation, _ b: Observation, _ what: String, _ bytes: [UInt8], timeTolerance: Double = 0) {
        func str(_ x: String?, _ y: String?, _ field: String) {
            guard (x.map { Array($0.utf8) }) == (y.map { Array($0.utf8) }) else { fail("\(what): \(field) differs", bytes) }
        }
        func num(_ x: Double?, _ y: Double?, _ field: String) {
            guard x == y else { fail("\(what): \(field) differs: \(String(describing: x)) vs \(String(describing: y))", bytes) }
        }
        str(a.placeID, b.placeID, "place_id")
        str(a.name, b.name, "name")
        str(a.country, b.country, "country")
        str(a.region, b.region, "region")
        str(a.source, b.source, "source")
        num(a.latitude, b.latitude, "latitude")
        num(a.longitude, b.longitude, "longitude")
        let dt = abs(a.observedAt.timeIntervalSince1970 - b.observedAt.timeIntervalSince1970)
        guard dt <= timeTolerance else {
            fail("\(what): observed_at differs by \(dt) s: \(a.observedAt.timeIntervalSince1970) vs \(b.observedAt.timeIntervalSince1970)", bytes)
        }
        num(a.temperatureC, b.temperatureC, "temperature_c")
        num(a.feelsLikeC, b.feelsLikeC, "feels_like_c")
        num(a.humidityPct, b.humidityPct, "humidity_pct")
        num(a.pressureHPa, b.pressureHPa, "pressure_hpa")
        num(a.windSpeedMS, b.windSpeedMS, "wind_speed_ms")
        num(a.windDirectionDeg, b.windDirectionDeg, "wind_direction_deg")
        num(a.windGustMS, b.windGustMS, "wind_gust_ms")
        num(a.cloudCoverPct, b.cloudCoverPct, "cloud_cover_pct")
        num(a.visibilityM, b.visibilityM, "visibility_m")
        num(a.rainMM, b.rainMM, "rain_mm")
        num(a.snowMM, b.snowMM, "snow_mm")
        guard a.weatherCode == b.weatherCode else { fail("\(what): weather_code differs", bytes) }
    }

    // MARK: Reporting

    /// A refusal must say why: that text is the dead-letter reason.
    static func reason(_ e: MeteoError, _ where_: String, _ bytes: [UInt8]) {
        guard !e.message.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            fail("\(where_) refused with an empty reason", bytes)
        }
    }

    static func fail(_ message: String, _ bytes: [UInt8]) -> Never {
        let shown = String(decoding: bytes.prefix(300), as: UTF8.self)
        fatalError("MeteoFuzz invariant violated: \(message)\ninput (\(bytes.count) bytes): \(shown)")
    }
}
