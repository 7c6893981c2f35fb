import Foundation
import MeteoCore
import Testing

@Suite("Event codec")
struct EventCodecTests {
    static let full = Observation(
        placeID: "2973783", name: "Strasbourg", country: "FR", region: "EuropeW",
        latitude: 48.58392, longitude: 7.74553, observedAt: Date(timeIntervalSince1970: 1_764_387_600),
        source: "synthetic", temperatureC: 4.25, feelsLikeC: 1.5, humidityPct: 87, pressureHPa: 1016.3,
        windSpeedMS: 3.4, windDirectionDeg: 225, windGustMS: 7.1, cloudCoverPct: 100, visibilityM: 8000,
        rainMM: 0.4, snowMM: 0, weatherCode: 61)

    /// The parser's exact fast path for short decimals must give the bits strtod gives.
    @Test func numbersParseToTheSameDoubleAsTheStandardLibrary() throws {
        var rng = SystemRandomNumberGenerator()
        var texts = ["0", "-0", "0.0", "-0.0", "1", "12.5", "0.000123", "1013.25", "48.58392", "-7.74553",
                     "999999999999999", "9007199254740993", "123456789012345678901", "0.1", "0.30000000000000004",
                     "1e5", "1.5E-3", "-2.5e+10", "100", "00012.5", "0.0000000000000000000001", "3.14159265358979323846"]
        for _ in 0..<20_000 {
            let intDigits = Int.random(in: 1...12, using: &rng)
            let fracDigits = Int.random(in: 0...12, using: &rng)
            var t = Bool.random(using: &rng) ? "-" : ""
            t += String(Int.random(in: 1...9, using: &rng))
            for _ in 1..<intDigits { t += String(Int.random(in: 0...9, using: &rng)) }
            if fracDigits > 0 {
                t += "."
                for _ in 0..<fracDigits { t += String(Int.random(in: 0...9, using: &rng)) }
            }
            texts.append(t)
        }
        for t in texts {
            guard case .number(let parsed) = try JSONValue.parse(t) else {
                Issue.record("\(t) did not parse as a number")
                continue
            }
            let expected = try #require(Double(t))
            #expect(parsed.bitPattern == expected.bitPattern, "\(t): \(parsed) vs \(expected)")
        }
    }

    /// The writer's digit-by-digit path for short decimals must give back the same bits, and
    /// the same text as the standard library's shortest form (without its ".0" on integers).
    @Test func numbersAreWrittenShortAndReadBackExactly() throws {
        var rng = SystemRandomNumberGenerator()
        var values: [Double] = [0, -0.0, 1, -1, 12.3, -7.5, 0.5, -0.05, 1013.25, 48.58392, 0.1, 0.2 + 0.1, 1e-5,
                                123456.0001, 99999999999999.9, 1e15, 1e16, -1e300, 5e-324, .pi, 4.35, 2.675]
        for _ in 0..<20_000 {
            let decimals = Int.random(in: 0...6, using: &rng)
            let n = Double(Int.random(in: -10_000_000...10_000_000, using: &rng))
            values.append(n / pow(10, Double(decimals)))
            values.append(Double(bitPattern: UInt64.random(in: 0...UInt64.max, using: &rng)))
        }
        for d in values where d.isFinite {
            var w = JSONWriter()
            w.number(d)
            let text = String(decoding: w.bytes, as: UTF8.self)
            guard case .number(let back) = try JSONValue.parse(text) else {
                Issue.record("\(text) (from \(d)) did not parse as a number")
                continue
            }
            #expect(back == d, "\(d) was written \(text), read back \(back)")
            var shortest = d.description
            if shortest.hasSuffix(".0") { shortest.removeLast(2) }
            if !shortest.contains("e") && abs(d) < 1e15 {
                #expect(text == shortest || text == "0" && d == 0, "\(d): \(text) vs \(shortest)")
            }
        }
    }

    @Test func roundTripsEveryField() throws {
        let bytes = EventCodec.encode(Self.full)
        let back = try EventCodec.decode(bytes)
        #expect(back == Self.full)
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.hasPrefix("{\"v\":1,"))
        #expect(text.contains("\"observed_at\":\"2025-11-29T03:40:00Z\""))
    }

    @Test func absentValuesStayAbsentNotZero() throws {
        let sparse = Observation(placeID: "1", name: "X", country: "", latitude: 0, longitude: 0,
                                 observedAt: Date(timeIntervalSince1970: 1_700_000_000), source: "replay")
        let text = String(decoding: EventCodec.encode(sparse), as: UTF8.self)
        #expect(text.contains("\"temperature_c\":null"))
        #expect(text.contains("\"snow_mm\":null"))
        let back = try EventCodec.decode(Array(text.utf8))
        #expect(back.temperatureC == nil)
        #expect(back.rainMM == nil)
        #expect(back == sparse)
    }

    @Test func hostileStringsRoundTripLiterally() throws {
        for name in ["<script>alert(1)</script>", "'); DROP TABLE observations;--", "{\"$ne\": null}", "Zürich \"quoted\" \\ back\nslash\u{1}", "東京"] {
            var o = Self.full
            o.name = name
            let back = try EventCodec.decode(EventCodec.encode(o))
            #expect(back.name == name)
        }
    }

    @Test func refusesMissingOrUnknownVersion() {
        #expect(throws: MeteoError.self) { try EventCodec.decode(Array(#"{"place_id":"1"}"#.utf8)) }
        let future = String(decoding: EventCodec.encode(Self.full), as: UTF8.self).replacingOccurrences(of: "\"v\":1", with: "\"v\":99")
        do {
            _ = try EventCodec.decode(Array(future.utf8))
            Issue.record("version 99 was accepted")
        } catch {
            #expect(error.message.contains("version 99"))
        }
    }

    @Test func wrongTypesNameTheField() {
        let text = String(decoding: EventCodec.encode(Self.full), as: UTF8.self)
            .replacingOccurrences(of: "\"humidity_pct\":87", with: "\"humidity_pct\":\"wet\"")
        do {
            _ = try EventCodec.decode(Array(text.utf8))
            Issue.record("a string humidity was accepted")
        } catch {
            #expect(error.code == .malformedPayload)
            #expect(error.message.contains("humidity_pct"))
        }
    }

    @Test(arguments: [
        ("\"humidity_pct\":87", "\"humidity_pct\":-5", "humidity_pct"),
        ("\"humidity_pct\":87", "\"humidity_pct\":1e308", "humidity_pct"),
        ("\"latitude\":48.58392", "\"latitude\":91", "latitude"),
        ("\"observed_at\":\"2025-11-29T03:40:00Z\"", "\"observed_at\":\"0001-01-01T00:00:00Z\"", "observed_at"),
        ("\"observed_at\":\"2025-11-29T03:40:00Z\"", "\"observed_at\":\"9999-12-31T00:00:00Z\"", "observed_at"),
        ("\"observed_at\":\"2025-11-29T03:40:00Z\"", "\"observed_at\":\"yesterday\"", "observed_at"),
        ("\"place_id\":\"2973783\"", "\"place_id\":\"\"", "place_id"),
    ])
    func impossibleValuesAreRefusedWithTheirField(from: String, to: String, field: String) {
        let text = String(decoding: EventCodec.encode(Self.full), as: UTF8.self).replacingOccurrences(of: from, with: to)
        #expect(text.contains(to))
        do {
            _ = try EventCodec.decode(Array(text.utf8))
            Issue.record("accepted \(to)")
        } catch {
            #expect(error.message.contains(field), "\(error.message)")
        }
    }

    @Test func payloadFormatAutoDetects() throws {
        let event = try PayloadFormat.auto.decode(EventCodec.encode(Self.full))
        #expect(try event.first?.get() == Self.full)
        #expect(throws: MeteoError.self) { try PayloadFormat.auto.decode(Array(#"{"hello":1}"#.utf8)) }
        #expect(throws: MeteoError.self) { try PayloadFormat.auto.decode(Array("not json".utf8)) }
    }
}

@Suite("JSON parser")
struct JSONParserTests {
    @Test func parsesNestedValues() throws {
        let v = try JSONValue.parse(#" {"a":[1,2.5,-3e2,true,false,null,"x\u00e9\ud83d\ude00"],"b":{}} "#)
        #expect(v["a"] == .array([.number(1), .number(2.5), .number(-300), .bool(true), .bool(false), .null, .string("xé😀")]))
        #expect(v["b"] == .object([:]))
    }

    @Test(arguments: [
        "", "{", "[1,]", "{\"a\":}", "\"unterminated", "{\"a\":1} trailing", "NaN", "[Infinity]", "[1e999]",
        "[\"\\ud800\"]", "[01x]", "{'a':1}", "[\"tab\there\"]",
    ])
    func refusesMalformedJSON(_ text: String) {
        #expect(throws: MeteoError.self) { try JSONValue.parse(text) }
    }

    @Test func refusesInvalidUTF8() {
        let bytes: [UInt8] = [0x22, 0xFF, 0xFE, 0x22]
        #expect(throws: MeteoError.self) { try JSONValue.parse(bytes) }
    }

    @Test func refusesDeepNestingWithoutCrashing() {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        do {
            _ = try JSONValue.parse(deep)
            Issue.record("deep nesting accepted")
        } catch {
            #expect(error.message.contains("nesting"))
        }
    }

    @Test func writerEscapesControlCharacters() throws {
        var w = JSONWriter()
        w.string("a\"b\\c\n\u{0}\u{1F}é")
        let parsed = try JSONValue.parse(w.bytes)
        #expect(parsed == .string("a\"b\\c\n\u{0}\u{1F}é"))
    }
}

@Suite("ISO 8601")
struct ISO8601Tests {
    @Test func formatsAndParsesUTC() {
        let d = Date(timeIntervalSince1970: 1_764_387_600)
        #expect(ISO8601.string(from: d) == "2025-11-29T03:40:00Z")
        #expect(ISO8601.date(from: "2025-11-29T03:40:00Z") == d)
        #expect(ISO8601.date(from: "2025-11-29T04:40:00+01:00") == d)
        #expect(ISO8601.date(from: "2025-11-29T03:40") == d)
        #expect(ISO8601.date(from: "2025-11-29 03:40:00") == d)
        #expect(ISO8601.date(from: "2025-11-29T03:40:00.500Z") == d.addingTimeInterval(0.5))
        #expect(ISO8601.string(from: d.addingTimeInterval(0.25)) == "2025-11-29T03:40:00.250Z")
        #expect(ISO8601.date(from: "2024-02-29") != nil)
        #expect(ISO8601.date(from: "2025-02-29") == nil)
        #expect(ISO8601.date(from: "2025-13-01") == nil)
        #expect(ISO8601.date(from: "garbage") == nil)
    }

    @Test func agreesWithFoundationOverManyInstants() throws {
        var t: Int64 = -86_400 * 365
        while t < 4_102_444_800 {
            let d = Date(timeIntervalSince1970: Double(t))
            let ours = ISO8601.string(from: d)
            let foundation = d.formatted(.iso8601)
            #expect(ours == foundation)
            #expect(ISO8601.date(from: ours) == d)
            t += 7_919_993
        }
    }
}
