import Foundation
import MeteoCore
import MeteoTestSupport
import Testing

/// Hostile input to every decoder a bus message or a recording's line meets (issue 8): the committed fuzz corpus,
/// seeded random and mutated payloads, and named cases. Each input is decoded into valid
/// observations or refused with a reason (the sink's dead-letter reason), never a crash; names
/// stay literal strings byte for byte.
@Suite("Hostile input to the decoders")
struct HostileInputTests {
    // MARK: Support

    /// A valid event's observation, shared with the codec tests.
    static let base = EventCodecTests.full

    static let numericFields = [
        "latitude", "longitude", "temperature_c", "feels_like_c", "humidity_pct", "pressure_hpa", "wind_speed_ms",
        "wind_direction_deg", "wind_gust_ms", "cloud_cover_pct", "visibility_m", "rain_mm", "snow_mm", "weather_code",
    ]

    /// The base event with the value of `field` replaced by the raw JSON bytes `value`.
    static func event(_ field: String, _ value: [UInt8]) -> [UInt8] {
        let text = EventCodec.encode(base)
        guard let key = text.firstRange(of: Array("\"\(field)\":".utf8)) else { fatalError("no field \(field)") }
        var end = key.upperBound
        // No value of the base event holds a ',' or a '}'.
        while text[end] != UInt8(ascii: ","), text[end] != UInt8(ascii: "}") { end += 1 }
        return Array(text[..<key.upperBound]) + value + Array(text[end...])
    }

    static func event(_ field: String, json: String) -> [UInt8] { event(field, Array(json.utf8)) }

    /// The base event with `field` set to the JSON string of `text`, escaped as Meteo writes it.
    static func event(_ field: String, string text: String) -> [UInt8] {
        var w = JSONWriter()
        w.string(text)
        return event(field, w.bytes)
    }

    /// What the sink does with a message (Sink.decode): the observations it stores and the
    /// reasons it dead-letters the message with.
    static func sink(_ format: PayloadFormat, _ bytes: [UInt8]) -> (observations: [Observation], reasons: [String]) {
        do {
            let results = try format.decode(bytes)
            if results.isEmpty { return ([], ["the payload holds no observation"]) }
            var observations: [Observation] = []
            var reasons: [String] = []
            for result in results {
                switch result {
                case .success(let o): observations.append(o)
                case .failure(let e): reasons.append(e.message)
                }
            }
            return (observations, reasons)
        } catch {
            return ([], [error.message])
        }
    }

    /// Every decoder entry point on `bytes`: each must decode valid observations, which survive an
    /// event round trip, or refuse with a non-empty reason. Returns how many of each it saw.
    @discardableResult
    static func decodeEverywhere(_ bytes: [UInt8], _ label: String, sourceLocation: SourceLocation = #_sourceLocation)
        -> (decoded: Int, refused: Int)
    {
        var decoded = 0
        var refused = 0
        func accepted(_ o: Observation, _ via: String) {
            decoded += 1
            #expect(throws: Never.self, "\(label) via \(via): decoded but invalid", sourceLocation: sourceLocation) { try o.validate() }
            let back = try? EventCodec.decode(EventCodec.encode(o))
            #expect(back.map { Array($0.name.utf8) } == Array(o.name.utf8), "\(label) via \(via): name changed in a round trip",
                    sourceLocation: sourceLocation)
            #expect(back.map { Array($0.placeID.utf8) } == Array(o.placeID.utf8), "\(label) via \(via): place_id changed",
                    sourceLocation: sourceLocation)
        }
        func reason(_ message: String, _ via: String) {
            refused += 1
            #expect(!message.trimmingCharacters(in: .whitespaces).isEmpty, "\(label) via \(via): refused without a reason",
                    sourceLocation: sourceLocation)
        }
        do {
            _ = try JSONValue.parse(bytes)
        } catch {
            reason(error.message, "JSONValue.parse")
        }
        do {
            accepted(try EventCodec.decode(bytes), "EventCodec")
        } catch {
            reason(error.message, "EventCodec")
        }
        for format in PayloadFormat.allCases {
            let (observations, reasons) = sink(format, bytes)
            for o in observations { accepted(o, "\(format)") }
            for r in reasons { reason(r, "\(format)") }
        }
        // A line of a replay file: more lenient than the bus, never less.
        do {
            let results = try RecordingDecoder.decode(bytes)
            for result in results {
                switch result {
                case .success(let o): accepted(o, "RecordingDecoder")
                case .failure(let e): reason(e.message, "RecordingDecoder")
                }
            }
            if let event = try? EventCodec.decode(bytes) {
                #expect(results.count == 1 && (try? results[0].get()) == event, "\(label): a recording reads an event otherwise",
                        sourceLocation: sourceLocation)
            }
        } catch {
            reason(error.message, "RecordingDecoder")
            #expect((try? EventCodec.decode(bytes)) == nil, "\(label): a recording refuses an event the bus accepts", sourceLocation: sourceLocation)
        }
        return (decoded, refused)
    }

    /// The event decoders (EventCodec, PayloadFormat.event and .auto) all refuse `bytes`, with
    /// reasons that contain every one of `words`. Returns EventCodec's reason.
    @discardableResult
    static func expectRefused(_ bytes: [UInt8], mentioning words: [String], sourceLocation: SourceLocation = #_sourceLocation) -> String {
        var first = ""
        do {
            let o = try EventCodec.decode(bytes)
            Issue.record("accepted: \(o)", sourceLocation: sourceLocation)
        } catch {
            first = error.message
            for w in words { #expect(error.message.contains(w), "EventCodec: '\(error.message)' lacks '\(w)'", sourceLocation: sourceLocation) }
        }
        for format in [PayloadFormat.event, .auto] {
            let (observations, reasons) = sink(format, bytes)
            #expect(observations.isEmpty, "\(format) accepted", sourceLocation: sourceLocation)
            #expect(reasons == [first], "\(format) gave other reasons: \(reasons)", sourceLocation: sourceLocation)
        }
        return first
    }

    /// The event decoders all accept `bytes`, with the same observation; it survives a round trip.
    static func expectAccepted(_ bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) throws -> Observation {
        let o = try EventCodec.decode(bytes)
        for format in [PayloadFormat.event, .auto] {
            let (observations, reasons) = sink(format, bytes)
            #expect(reasons.isEmpty, "\(format) refused: \(reasons)", sourceLocation: sourceLocation)
            #expect(observations == [o], "\(format) decoded something else", sourceLocation: sourceLocation)
        }
        let back = try EventCodec.decode(EventCodec.encode(o))
        #expect(back == o, sourceLocation: sourceLocation)
        return o
    }

    // MARK: The fuzz corpus

    /// The repository's root, from this file's path (Tests/MeteoCoreTests/HostileInputTests.swift).
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Every file of the committed fuzz corpus (Fuzz/Corpus), its seeds and past crashes.
    static func corpusFiles() -> [URL] {
        var files: [URL] = []
        for folder in ["Fuzz/Corpus", "Fuzz/Seeds", "Fuzz/Crashes"] {
            let dir = root.appendingPathComponent(folder)
            let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
            for name in names.sorted() where !name.hasPrefix(".") && !name.hasSuffix(".md") {
                files.append(dir.appendingPathComponent(name))
            }
        }
        return files
    }

    @Test func everyCorpusInputIsDecodedOrRefusedWithAReason() throws {
        let corpus = (try? FileManager.default.contentsOfDirectory(atPath: Self.root.appendingPathComponent("Fuzz/Corpus").path)) ?? []
        #expect(!corpus.isEmpty, "Fuzz/Corpus is empty or missing at \(Self.root.path)")
        var decoded = 0
        var refused = 0
        let files = Self.corpusFiles()
        for file in files {
            let bytes = try [UInt8](Data(contentsOf: file))
            let counts = Self.decodeEverywhere(bytes, file.lastPathComponent)
            decoded += counts.decoded
            refused += counts.refused
        }
        // 6 entry points per input: the parser's failures, EventCodec and 4 formats' results.
        #expect(decoded > 0)
        #expect(refused > 0)
        print("HostileInputTests: \(files.count) corpus inputs: \(decoded) observations decoded, \(refused) refusals with a reason")
    }

    // MARK: Random and mutated payloads

    @Test func randomBytesAreRefusedWithAReason() {
        var rng = SplitMix64(state: 1)
        var refused = 0
        for _ in 0..<2000 {
            let n = Int.random(in: 0...300, using: &rng)
            let bytes = (0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let counts = Self.decodeEverywhere(bytes, "random \(bytes.prefix(16))")
            #expect(counts.decoded == 0)
            if Self.sink(.auto, bytes).observations.isEmpty { refused += 1 }
        }
        #expect(refused == 2000)
    }

    /// Random sequences of JSON tokens and field names: they get much further into the decoders
    /// than random bytes do.
    @Test func randomTokenSoupIsDecodedOrRefused() {
        let tokens = ["{", "}", "[", "]", ":", ",", "\"v\"", "1", "\"list\"", "\"coord\"", "\"lat\"", "\"lon\"", "\"dt\"",
                      "\"id\"", "\"name\"", "\"place_id\"", "\"observed_at\"", "\"2025-01-01T00:00:00Z\"", "null", "true",
                      "-0.5e3", "1e308", "\"\\u0000\"", "\"\\ud800\"", "\"{\\\"$ne\\\": null}\"", " ", "\"", "\\", "\u{FF}"]
        var rng = SplitMix64(state: 3)
        var total = (decoded: 0, refused: 0)
        for _ in 0..<3000 {
            var text = ""
            for _ in 0..<Int.random(in: 1...40, using: &rng) { text += tokens.randomElement(using: &rng)! }
            let counts = Self.decodeEverywhere(Array(text.utf8), text)
            total.decoded += counts.decoded
            total.refused += counts.refused
        }
        #expect(total.refused > 0)
    }

    static func mutate(_ valid: [UInt8], _ rng: inout SplitMix64) -> [UInt8] {
        var bytes = valid
        for _ in 0..<Int.random(in: 1...4, using: &rng) {
            guard !bytes.isEmpty else { break }
            let i = Int.random(in: 0..<bytes.count, using: &rng)
            switch Int.random(in: 0...4, using: &rng) {
            case 0: bytes[i] = UInt8.random(in: 0...255, using: &rng)
            case 1: bytes[i] ^= 1 << UInt8.random(in: 0...7, using: &rng)
            case 2: bytes.remove(at: i)
            case 3: bytes.insert(UInt8.random(in: 0...255, using: &rng), at: i)
            default: bytes.removeLast(Int.random(in: 1...bytes.count, using: &rng))  // truncation
            }
        }
        return bytes
    }

    @Test func mutatedEventsAreDecodedOrRefused() {
        var rng = SplitMix64(state: 2)
        let valid = EventCodec.encode(Self.base)
        var decoded = 0
        var refused = 0
        for _ in 0..<5000 {
            let bytes = Self.mutate(valid, &rng)
            Self.decodeEverywhere(bytes, String(decoding: bytes, as: UTF8.self))
            // The fast path and the general path agree on every mutant.
            let direct = Result { () throws(MeteoError) in try EventCodec.decode(bytes) }
            let general = Result { () throws(MeteoError) in try EventCodec.decode(try JSONValue.parse(bytes)) }
            switch (direct, general) {
            case (.success(let a), .success(let b)): #expect(a == b); decoded += 1
            case (.failure(let a), .failure(let b)): #expect(a.message == b.message); refused += 1
            default: Issue.record("fast and general paths disagree on \(String(decoding: bytes, as: UTF8.self))")
            }
        }
        #expect(decoded > 0)
        #expect(refused > 0)
    }

    @Test func mutatedLegacyPayloadsAreDecodedOrRefused() {
        let legacy = Array(#"""
        {"cod":200,"cnt":2,"list":[{"id":2973783,"dt":1485784982,"name":"Strasbourg","coord":{"Lon":7.74553,"Lat":48.58392},\#
        "main":{"temp":9.68,"pressure":961.02,"sea_level":1036.82,"humidity":85},"wind":{"speed":3.96,"deg":356.5},\#
        "rain":{"3h":0.255},"snow":null,"clouds":{"today":88},"weather":[{"id":500}]},\#
        {"id":2988507,"dt":1485784982,"name":"Paris","coord":{"lon":2.3488,"lat":48.85341},"main":{"temp":276.25},"visibility":3000}]}
        """#.utf8)
        let current = Array(#"{"coord":{"lon":7.7455,"lat":48.5839},"weather":[{"id":803}],"main":{"temp":4.2,"humidity":87},"dt":1764387600,"sys":{"country":"FR"},"id":2973783,"name":"Strasbourg"}"#.utf8)
        #expect(Self.sink(.legacyOWM, legacy).observations.count == 2)
        #expect(Self.sink(.owmCurrent, current).observations.count == 1)
        var rng = SplitMix64(state: 4)
        var total = (decoded: 0, refused: 0)
        for i in 0..<3000 {
            let bytes = Self.mutate(i % 2 == 0 ? legacy : current, &rng)
            let counts = Self.decodeEverywhere(bytes, String(decoding: bytes, as: UTF8.self))
            total.decoded += counts.decoded
            total.refused += counts.refused
        }
        #expect(total.decoded > 0)
        #expect(total.refused > 0)
    }

    // MARK: Size and depth

    @Test func aTenMegabyteNameIsRefused() {
        let huge = String(repeating: "x", count: 10_000_000)
        let bytes = Self.event("name", string: huge)
        #expect(bytes.count > 10_000_000)
        let reason = Self.expectRefused(bytes, mentioning: ["name is longer than 512 bytes"])
        #expect(reason.utf8.count < 200, "the reason does not quote the whole name")
        let owm = Array(#"{"coord":{"lon":1,"lat":1},"dt":1764387600,"id":1,"name":"\#(huge)"}"#.utf8)
        #expect(Self.sink(.owmCurrent, owm).reasons == ["name is longer than 512 bytes"])
    }

    /// Ten megabytes of spaces around a time: ISO8601.date trims them one removeFirst at a time
    /// (quadratic: hours for 10 MB), so the event decoders refuse a time over 64 bytes first.
    @Test func aTenMegabyteTimeIsRefusedWithoutParsingIt() throws {
        let padded = String(repeating: " ", count: 10_000_000) + "2025-11-29T03:40:00Z"
        let reason = Self.expectRefused(Self.event("observed_at", string: padded), mentioning: ["field 'observed_at' is not an ISO 8601 time"])
        #expect(reason.utf8.count < 200)
        // Spaces around a time of normal length are still accepted.
        _ = try Self.expectAccepted(Self.event("observed_at", string: "  2025-11-29T03:40:00Z  "))
    }

    @Test func aTenMegabyteDocumentIsRefused() {
        // 5 million numbers in an array: parsed in linear time, then refused as no known payload.
        var bytes: [UInt8] = [UInt8(ascii: "[")]
        bytes.reserveCapacity(10_000_002)
        for _ in 0..<4_999_999 { bytes.append(UInt8(ascii: "0")); bytes.append(UInt8(ascii: ",")) }
        bytes += [UInt8(ascii: "0"), UInt8(ascii: "]")]
        #expect(bytes.count > 10_000_000)
        #expect(Self.sink(.auto, bytes).reasons.first?.hasPrefix("unrecognised payload") == true)
        #expect(Self.sink(.event, bytes).reasons == ["an event must be a JSON object, found an array"])
        #expect(Self.sink(.legacyOWM, bytes).reasons == ["a box/city payload must be a JSON object, found an array"])
        // A 10 MB string that never ends.
        let unterminated = Array("{\"v\":1,\"name\":\"".utf8) + [UInt8](repeating: UInt8(ascii: "a"), count: 10_000_000)
        Self.expectRefused(unterminated, mentioning: ["malformed JSON: unterminated string"])
    }

    @Test(arguments: ["[", "{\"a\":"])
    func hundredThousandLevelsOfNestingAreRefused(opening: String) {
        let closing = opening == "[" ? "]" : "}"
        let text = String(repeating: opening, count: 100_000) + "1" + String(repeating: closing, count: 100_000)
        let bytes = Array(text.utf8)
        Self.decodeEverywhere(bytes, "nested \(opening)")
        #expect(throws: MeteoError.self) { try JSONValue.parse(bytes) }
        let reason = Self.expectRefused(bytes, mentioning: ["nesting deeper than 64 levels"])
        #expect(reason.hasPrefix("malformed JSON: "))
        for format in [PayloadFormat.legacyOWM, .owmCurrent] {
            #expect(Self.sink(format, bytes).reasons == [reason])
        }
        // The same nesting inside an otherwise valid event (the fast path's own loop).
        Self.expectRefused(Self.event("region", json: text), mentioning: ["nesting deeper than 64 levels"])
    }

    /// Regression (caught by the fuzz target's invariants): the fast path counted the event object
    /// as depth 0, so an extra field 64 arrays deep (65 levels with the event) was accepted by
    /// EventCodec.decode(bytes) but refused by the general path; both now allow 64 levels in all.
    @Test func nestingIsLimitedTheSameOnBothPaths() throws {
        let valid = EventCodec.encode(Self.base)
        func withExtra(_ depth: Int) -> [UInt8] {
            Array(valid.dropLast()) + Array((",\"extra\":" + String(repeating: "[", count: depth) + String(repeating: "]", count: depth) + "}").utf8)
        }
        _ = try Self.expectAccepted(withExtra(63))
        #expect(throws: Never.self) { try JSONValue.parse(withExtra(63)) }
        Self.expectRefused(withExtra(64), mentioning: ["nesting deeper than 64 levels"])
    }

    // MARK: Numbers

    @Test(arguments: ["NaN", "Infinity", "-Infinity", "nan", "inf", "+1", ".5", "0x10", "1e", "--1"])
    func nonJSONNumbersAreRefusedAsMalformed(literal: String) {
        for field in ["temperature_c", "latitude", "humidity_pct"] {
            let bytes = Self.event(field, json: literal)
            let offset = bytes.firstRange(of: Array("\"\(field)\":\(literal)".utf8))!.lowerBound + field.utf8.count + 3
            let reason = Self.expectRefused(bytes, mentioning: ["malformed JSON: "])
            // The reason locates the value by its byte offset (the JSON parser does not know fields).
            let at = Int(reason.split(separator: " ").last ?? "") ?? -1
            #expect((offset...offset + 2).contains(at), "\(literal) in \(field): '\(reason)' (value at byte \(offset))")
        }
    }

    @Test(arguments: HostileInputTests.numericFields)
    func hugeFiniteNumbersAreRefusedNamingTheField(field: String) {
        for number in ["1e308", "-1e308", "1.7976931348623157e308", "123456789012345678901234567890"] {
            let bytes = Self.event(field, json: number)
            if field == "weather_code" {
                Self.expectRefused(bytes, mentioning: ["field 'weather_code' should be an integer"])
            } else {
                let reason = Self.expectRefused(bytes, mentioning: ["\(field) ", " is outside "])
                #expect(reason.hasPrefix(field), "\(reason)")
            }
        }
        // Beyond a Double: refused by the parser as out of range.
        for number in ["1e400", "-1e400", "1e999999999"] {
            Self.expectRefused(Self.event(field, json: number), mentioning: ["malformed JSON: number \(number) is out of range"])
        }
    }

    @Test func humidityOutsideZeroToHundredIsRefused() throws {
        for value in ["-5", "-0.001", "100.5", "1000"] {
            Self.expectRefused(Self.event("humidity_pct", json: value), mentioning: ["humidity_pct \(Double(value)!) is outside 0.0...100.0"])
        }
        for value in ["0", "-0", "100", "null"] {
            _ = try Self.expectAccepted(Self.event("humidity_pct", json: value))
        }
        let legacy = Array(#"{"list":[{"id":1,"dt":1700000000,"coord":{"Lat":1,"Lon":2},"main":{"humidity":-5}},{"id":2,"dt":1700000000,"coord":{"Lat":1,"Lon":2},"main":{"humidity":1000}}]}"#.utf8)
        #expect(Self.sink(.legacyOWM, legacy).reasons == ["humidity_pct -5.0 is outside 0.0...100.0", "humidity_pct 1000.0 is outside 0.0...100.0"])
    }

    // MARK: Times

    @Test func timesOutside1970To2100AreRefusedNamingTheField() throws {
        for (text, shown) in [("0001-01-01T00:00:00Z", "0001-01-01T00:00:00Z"), ("9999-12-31T23:59:59Z", "9999-12-31T23:59:59Z"),
                              ("0001-01-01", "0001-01-01T00:00:00Z"), ("1969-12-31T23:59:59Z", "1969-12-31T23:59:59Z"),
                              ("2100-01-01T00:00:01Z", "2100-01-01T00:00:01Z"), ("9999-12-31T23:59:59.999-23:59", "10000-01-01T23:58:59.999Z")] {
            let reason = Self.expectRefused(Self.event("observed_at", string: text), mentioning: ["observed_at ", " is outside 1970...2100"])
            if !shown.hasPrefix("10000") { #expect(reason == "observed_at \(shown) is outside 1970...2100") }
        }
        // The edges are accepted.
        for text in ["1970-01-01T00:00:00Z", "2100-01-01T00:00:00Z", "2024-02-29"] {
            _ = try Self.expectAccepted(Self.event("observed_at", string: text))
        }
    }

    @Test func impossibleTimesAreRefusedNamingTheField() {
        for text in ["2025-13-01T00:00:00Z", "2025-02-29T00:00:00Z", "2025-04-31", "2025-01-01T24:00:00Z", "2025-01-01T00:60:00Z",
                     "2025-01-01T00:00:61Z", "2025-01-01T00:00:00+24:00", "20250101", "0000-00-00", "", "now", "1e9",
                     "2025-01-01T00:00:00.Z", "-001-01-01", "２０２５-01-01"] {
            Self.expectRefused(Self.event("observed_at", string: text), mentioning: ["field 'observed_at' is not an ISO 8601 time"])
        }
        for json in ["1764387600", "null", "{\"$date\":1}"] {
            Self.expectRefused(Self.event("observed_at", json: json), mentioning: ["field 'observed_at' should be a string"])
        }
    }

    /// Regression (caught by the fuzz target): an OpenWeatherMap `dt` beyond ±9.2e18 s crashed the
    /// sink (ISO8601.string converts the seconds to Int64 to print the validation's message); now
    /// every `dt` outside 1970...2100 is refused naming the field.
    @Test func openWeatherMapTimesOutOfRangeAreRefused() {
        for dt in ["1e300", "-1e300", "9.3e18", "-1", "4102444801", "-62135596800"] {
            let current = Array(#"{"coord":{"lon":1,"lat":1},"dt":\#(dt),"id":7,"name":"x"}"#.utf8)
            #expect(Self.sink(.owmCurrent, current).reasons == ["field 'dt' (observation time) \(Double(dt)!) is outside 1970...2100"])
            let legacy = Array(#"{"list":[{"coord":{"Lon":1,"Lat":1},"dt":\#(dt),"id":7}]}"#.utf8)
            #expect(Self.sink(.legacyOWM, legacy).reasons == ["field 'list[0].dt' (observation time) \(Double(dt)!) is outside 1970...2100"])
            #expect(Self.sink(.auto, legacy).reasons == Self.sink(.legacyOWM, legacy).reasons)
        }
    }

    /// ISO8601.string carries a fraction that rounds to 1000 ms into the next second, so an
    /// observation at 12:00:59.9996 is written, and read back, as 12:01:00 (it used to be 12:00:59).
    @Test func subMillisecondTimesRoundTrip() throws {
        let o = try EventCodec.decode(Self.event("observed_at", string: "2025-06-01T12:00:59.9996Z"))
        let back = try EventCodec.decode(EventCodec.encode(o))
        #expect(abs(back.observedAt.timeIntervalSince(o.observedAt)) <= 0.0005)
        #expect(ISO8601.string(from: o.observedAt) == "2025-06-01T12:01:00Z")
        // The event keeps milliseconds: below that, the time is rounded to the nearest one.
        let fine = try EventCodec.decode(Self.event("observed_at", string: "2025-06-01T12:00:59.9994Z"))
        let fineBack = try EventCodec.decode(EventCodec.encode(fine))
        #expect(abs(fineBack.observedAt.timeIntervalSince(fine.observedAt)) <= 0.0005)
    }

    // MARK: Strings

    @Test func invalidUTF8IsRefused() {
        let cases: [[UInt8]] = [
            [0xFF], [0xC3, 0x28], [0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xE2, 0x82], [0x80],
        ]
        for bad in cases {
            for field in ["name", "place_id", "country", "region", "source"] {
                let value = Array("\"Stras".utf8) + bad + Array("bourg\"".utf8)
                Self.expectRefused(Self.event(field, value), mentioning: ["malformed JSON: invalid UTF-8 in a string at byte "])
            }
            // In a key the event does not know: the fast path used to skip such keys unchecked
            // (caught by the fuzz target); both paths refuse them now.
            let valid = EventCodec.encode(Self.base)
            let extraKey = Array(valid.dropLast()) + Array(",\"x".utf8) + bad + Array("\":1}".utf8)
            Self.expectRefused(extraKey, mentioning: ["malformed JSON: invalid UTF-8 in a string at byte "])
            // And in OpenWeatherMap payloads.
            let owm = Array(#"{"coord":{"lon":1,"lat":1},"dt":1764387600,"id":1,"name":"a"#.utf8) + bad + Array("\"}".utf8)
            #expect(Self.sink(.owmCurrent, owm).reasons.first?.contains("invalid UTF-8") == true)
        }
        // Escapes that are not UTF-16: lone surrogates.
        for escape in ["\\ud800", "\\udc00", "\\ud800\\u0041", "\\ud800x"] {
            Self.expectRefused(Self.event("name", json: "\"a\(escape)\""), mentioning: ["unpaired UTF-16 surrogate"])
        }
    }

    @Test func controlCharactersAndNULs() throws {
        // Raw control bytes inside a JSON string are malformed JSON, in values and in keys.
        for byte: UInt8 in [0x00, 0x01, 0x0A, 0x1F] {
            Self.expectRefused(Self.event("name", [0x22, 0x61, byte, 0x62, 0x22]), mentioning: ["control character in a string"])
            let valid = EventCodec.encode(Self.base)
            Self.expectRefused(Array(valid.dropLast()) + [0x2C, 0x22, 0x78, byte, 0x22, 0x3A, 0x31, 0x7D], mentioning: ["control character in a string"])
        }
        // Escaped, a NUL is a character like any other: kept, and written escaped again.
        let o = try Self.expectAccepted(Self.event("name", json: #""a\u0000b\u001fc""#))
        #expect(Array(o.name.utf8) == [0x61, 0x00, 0x62, 0x1F, 0x63])
        #expect(EventCodec.encode(o).firstRange(of: Array(#""a\u0000b\u001fc""#.utf8)) != nil)
        let nulID = try Self.expectAccepted(Self.event("place_id", json: #""\u0000""#))
        #expect(nulID.placeID == "\u{0}")
    }

    static let hostileNames = [
        "<script>alert(1)</script>", "\"><img src=x onerror=alert(1)>", "'; DROP TABLE observations; --",
        "Robert'); DROP TABLE observations;--", "1 OR 1=1", "{\"$ne\": null}", "{\"$gt\": \"\"}", "$where", "$ne",
        "this.name == 'x' || true", "{$where: 'sleep(1000)'}", "../../etc/passwd", "%00", "\\u0000", "São Paulo ☀️",
        "e\u{301}", "\u{202E}evil", "",
    ]

    /// Names that are HTML, SQL or MongoDB operators stay literal strings, byte for byte, in every
    /// decoder and through an event round trip.
    @Test(arguments: HostileInputTests.hostileNames)
    func hostileNamesStayLiteral(name: String) throws {
        for field in ["name", "country", "region", "source"] {
            let o = try Self.expectAccepted(Self.event(field, string: name))
            let decoded = [o.name, o.country, o.region ?? "", o.source][["name", "country", "region", "source"].firstIndex(of: field)!]
            #expect(Array(decoded.utf8) == Array(name.utf8), "\(field)")
            let back = try EventCodec.decode(EventCodec.encode(o))
            #expect(Array(back.name.utf8) == Array(o.name.utf8))
            #expect(Array(back.country.utf8) == Array(o.country.utf8))
            #expect(back.region.map { Array($0.utf8) } == o.region.map { Array($0.utf8) })
            #expect(Array(back.source.utf8) == Array(o.source.utf8))
        }
        if !name.isEmpty {
            let o = try Self.expectAccepted(Self.event("place_id", string: name))
            #expect(Array(o.placeID.utf8) == Array(name.utf8))
        } else {
            Self.expectRefused(Self.event("place_id", string: name), mentioning: ["place_id is empty"])
        }
        // OpenWeatherMap payloads: the name of the current-weather object and of a box/city entry.
        var w = JSONWriter()
        w.string(name)
        let quoted = String(decoding: w.bytes, as: UTF8.self)
        let current = Array(#"{"coord":{"lon":1,"lat":1},"dt":1764387600,"id":1,"name":\#(quoted),"sys":{"country":\#(quoted)}}"#.utf8)
        let fromOWM = try #require(Self.sink(.owmCurrent, current).observations.first)
        #expect(Array(fromOWM.name.utf8) == Array(name.utf8))
        #expect(Array(fromOWM.country.utf8) == Array(name.utf8))
        let legacy = Array(#"{"list":[{"coord":{"Lon":1,"Lat":1},"dt":1764387600,"id":1,"name":\#(quoted)}]}"#.utf8)
        let fromLegacy = try #require(Self.sink(.legacyOWM, legacy).observations.first)
        #expect(Array(fromLegacy.name.utf8) == Array(name.utf8))
    }

    /// The Mongo operator as a JSON object, not a string, where a string belongs: refused, naming the field.
    @Test func operatorObjectsInsteadOfStringsAreRefused() {
        for field in ["place_id", "name", "source"] {
            Self.expectRefused(Self.event(field, json: #"{"$ne": null}"#), mentioning: ["field '\(field)' should be a string, found an object"])
        }
        for field in ["country", "region"] {
            Self.expectRefused(Self.event(field, json: #"{"$ne": null}"#), mentioning: ["field '\(field)' should be a string or null, found an object"])
        }
        for field in ["temperature_c", "humidity_pct"] {
            Self.expectRefused(Self.event(field, json: #"{"$gt": -1000}"#), mentioning: ["field '\(field)' should be a number or null, found an object"])
        }
        Self.expectRefused(Self.event("observed_at", json: #"{"$gt": ""}"#), mentioning: ["field 'observed_at' should be a string, found an object"])
        let owm = Array(#"{"coord":{"lon":1,"lat":1},"dt":1764387600,"id":1,"name":{"$ne":null}}"#.utf8)
        #expect(Self.sink(.owmCurrent, owm).reasons == ["field 'name' should be a string or null, found an object"])
        let legacy = Array(#"{"list":[{"coord":{"Lon":1,"Lat":1},"dt":1764387600,"id":{"$ne":null}}]}"#.utf8)
        #expect(Self.sink(.legacyOWM, legacy).reasons == ["field 'list[0].id' should be a number or null, found an object"])
    }
}
