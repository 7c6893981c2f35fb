import Foundation
import MeteoCore
import Testing

/// The lines of a user's recording (`meteo ingest --source replay`): observation records without
/// `"v"` and with numeric ids there, while the bus stays strict.
@Suite("Recording lines: observation records")
struct RecordingDecoderTests {
    static let record = #"{"place_id":2973783,"name":"Strasbourg","country":"FR","latitude":48.58,"longitude":7.75,"observed_at":"2026-01-01T00:00:00Z","temperature_c":4.5,"humidity_pct":80}"#

    static func decode(_ text: String) throws(MeteoError) -> Observation {
        let results = try RecordingDecoder.decode(Array(text.utf8))
        guard results.count == 1 else { throw MeteoError(code: .internal, "\(results.count) results") }
        return try results[0].get()
    }

    static func refusal(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) -> String {
        do {
            let o = try decode(text)
            Issue.record("accepted: \(o)", sourceLocation: sourceLocation)
            return ""
        } catch {
            return error.message
        }
    }

    @Test func aRecordWithoutVersionAndANumericIDIsRead() throws {
        let o = try Self.decode(Self.record)
        #expect(o.placeID == "2973783")
        #expect(o.name == "Strasbourg" && o.country == "FR" && o.region == nil)
        #expect(o.latitude == 48.58 && o.longitude == 7.75)
        #expect(o.observedAt == Date(timeIntervalSince1970: 1_767_225_600))
        #expect(o.temperatureC == 4.5 && o.humidityPct == 80 && o.pressureHPa == nil)
        #expect(o.source == "replay", "a record that names no source")
    }

    @Test func nameAndSourceMayBeLeftOutAndStringIDsStayAsTheyAre() throws {
        let o = try Self.decode(#"{"place_id":"my-garden","latitude":-33.9,"longitude":18.4,"observed_at":"2026-01-01T06:30:00Z","source":"davis-vp2"}"#)
        #expect(o.placeID == "my-garden" && o.name == "my-garden" && o.country == "")
        #expect(o.source == "davis-vp2")
        #expect(try Self.decode(#"{"place_id":-42,"latitude":0,"longitude":0,"observed_at":"2026-01-01T00:00:00Z"}"#).placeID == "-42")
        #expect(try Self.decode(#"{"place_id":2973783.0,"latitude":0,"longitude":0,"observed_at":"2026-01-01T00:00:00Z"}"#).placeID == "2973783")
        #expect(try Self.decode(#"{"place_id":9007199254740991,"latitude":0,"longitude":0,"observed_at":"2026-01-01T00:00:00Z"}"#).placeID == "9007199254740991")
    }

    @Test func aPlaceIDThatIsNoIntegerIsRefusedWithAClearReason() {
        func line(_ id: String) -> String {
            #"{"place_id":\#(id),"name":"X","latitude":1,"longitude":2,"observed_at":"2026-01-01T00:00:00Z"}"#
        }
        #expect(Self.refusal(line("48.5")) == "field 'place_id' should be a string or an integer, found the number 48.5")
        #expect(Self.refusal(line(#"{"$ne": null}"#)) == "field 'place_id' should be a string or an integer, found an object")
        #expect(Self.refusal(line("true")) == "field 'place_id' should be a string or an integer, found a boolean")
        #expect(Self.refusal(line("[1]")) == "field 'place_id' should be a string or an integer, found an array")
        #expect(Self.refusal(line("null")) == "field 'place_id' should be a string or an integer, found null")
        // 2^53 + 1 reads as 2^53: the id would silently change, so it is refused.
        let big = Self.refusal(line("9007199254740993"))
        #expect(big.hasPrefix("field 'place_id' is an integer of 2^53 or more") && big.contains("write the id as a string"), "\(big)")
        #expect(Self.refusal(line(#""""#)) == "place_id is empty")
    }

    @Test func recordsAreValidatedAsEventsAre() {
        #expect(Self.refusal(#"{"place_id":1,"latitude":95,"longitude":0,"observed_at":"2026-01-01T00:00:00Z"}"#).contains("latitude"))
        #expect(Self.refusal(#"{"place_id":1,"latitude":1,"longitude":0,"observed_at":"yesterday"}"#).contains("observed_at"))
        #expect(Self.refusal(#"{"v":2,"place_id":1,"latitude":1,"longitude":0,"observed_at":"2026-01-01T00:00:00Z"}"#).contains("version 2"))
        #expect(Self.refusal(#"{"place_id":1,"observed_at":"2026-01-01T00:00:00Z"}"#) == "field 'latitude' should be a number, found nothing")
    }

    /// The bus stays strict: what a recording may hold is dead-lettered there.
    @Test func theBusStillRefusesRecordsWithoutVersionOrWithNumericIDs() throws {
        func busReason(_ format: PayloadFormat) -> String? {
            do {
                let results = try format.decode(Array(Self.record.utf8))
                guard results.count == 1, case .failure(let e) = results[0] else { return nil }
                return e.message
            } catch {
                return error.message
            }
        }
        #expect(busReason(.event) == "the event has no version field 'v'")
        #expect(busReason(.auto)?.hasPrefix("unrecognised payload: neither a Meteo event (field 'v')") == true)
        let versioned = #"{"v":1,"place_id":2973783,"name":"Strasbourg","latitude":48.58,"longitude":7.75,"observed_at":"2026-01-01T00:00:00Z","source":"x"}"#
        let error = try #require(throws: MeteoError.self) { try EventCodec.decode(Array(versioned.utf8)) }
        #expect(error.message == "field 'place_id' should be a string, found a number")
        #expect(try Self.decode(versioned).placeID == "2973783", "a recording reads it")
    }

    /// Everything the bus accepts, a recording accepts with the same observation.
    @Test func everyEventIsReadAsTheBusReadsIt() throws {
        var events = [EventCodecTests.full]
        var sparse = EventCodecTests.full
        (sparse.region, sparse.temperatureC, sparse.weatherCode, sparse.country) = (nil, nil, nil, "")
        events.append(sparse)
        for o in events {
            let bytes = EventCodec.encode(o)
            #expect(try RecordingDecoder.decode(bytes).map { try $0.get() } == [try EventCodec.decode(bytes)])
            // The general path too.
            let json = try JSONValue.parse(bytes)
            #expect(try RecordingDecoder.decode(json).map { try $0.get() } == [try EventCodec.decode(json)])
        }
    }

    @Test func legacyAndCurrentWeatherLinesAreReadAsTheSinkReadsThem() throws {
        let legacy = #"{"cod":"200","cnt":1,"list":[{"id":2973783,"dt":1485784982,"name":"Strasbourg","coord":{"Lon":7.74553,"Lat":48.58392},"main":{"temp":9.68}}]}"#
        let viaRecording = try RecordingDecoder.decode(Array(legacy.utf8)).map { try $0.get() }
        #expect(viaRecording == (try PayloadFormat.auto.decode(Array(legacy.utf8)).map { try $0.get() }))
        #expect(viaRecording.first?.source == "legacy-owm")
        let unknown = Self.refusal(#"{"name":"x"}"#)
        #expect(unknown.hasPrefix("unrecognised payload: neither an observation (fields 'place_id' and 'observed_at'), a Meteo event"), "\(unknown)")
        let owmError = #"{"cod":401, "message": "Invalid API key. Please see https://openweathermap.org/faq#error401 for more info."}"#
        #expect(Self.refusal(owmError) == "OpenWeatherMap error 401: Invalid API key. Please see https://openweathermap.org/faq#error401 for more info.")
    }
}
