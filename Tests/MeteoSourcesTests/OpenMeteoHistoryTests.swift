import Foundation
import Logging
import MeteoCore
@testable import MeteoSources
import MeteoStub
import Testing

/// Decoding Open-Meteo's hourly answers (archive and `past_days`) for `meteo backfill`, and the
/// archive source against the weather-API stub.
@Suite("Open-Meteo history: hourly answers and the archive source")
struct OpenMeteoHistoryTests {
    /// 2026-01-01T00:00:00Z, day 20,454.
    static let day0: Int64 = 20_454
    static let t0: Int64 = day0 * 86_400

    /// One location of an hourly answer: `hours` hours from `start`, with the given columns
    /// (JSON arrays as text, each `hours` long unless a test wants otherwise).
    static func location(start: Int64 = t0, hours: Int, units: [String: String] = [:], columns: [String: String],
                         isoTimes: Bool = false, offset: Int = 0) -> String {
        let times = (0..<hours).map { h -> String in
            let t = start + Int64(h) * 3600
            if isoTimes {
                return "\"" + String(ISO8601.string(from: Date(timeIntervalSince1970: Double(t + Int64(offset)))).prefix(16)) + "\""
            }
            return String(t)
        }.joined(separator: ",")
        let unitText = units.map { "\"\($0.key)\":\"\($0.value)\"" }.sorted().joined(separator: ",")
        let columnText = columns.map { "\"\($0.key)\":\($0.value)" }.sorted().joined(separator: ",")
        return """
        {"latitude":48.58,"longitude":7.74,"generationtime_ms":0.4,"utc_offset_seconds":\(offset),"timezone":"GMT","elevation":140.0,\
        "hourly_units":{"time":"\(isoTimes ? "iso8601" : "unixtime")"\(unitText.isEmpty ? "" : ",")\(unitText)},\
        "hourly":{"time":[\(times)]\(columnText.isEmpty ? "" : ",")\(columnText)}}
        """
    }

    static func array(_ values: [String]) -> String { "[" + values.joined(separator: ",") + "]" }

    static func span(days: Int = 1, now: Int64 = t0 + 10 * 86_400) -> OpenMeteoHistoryDecoder.Span {
        .init(firstDay: day0, lastDay: day0 + Int64(days) - 1, now: Date(timeIntervalSince1970: Double(now)))
    }

    static let full: [String: String] = [
        "temperature_2m": "\"°C\"", "apparent_temperature": "\"°C\"", "relative_humidity_2m": "\"%\"", "pressure_msl": "\"hPa\"",
        "wind_speed_10m": "\"m/s\"", "wind_direction_10m": "\"°\"", "wind_gusts_10m": "\"m/s\"", "cloud_cover": "\"%\"",
        "rain": "\"mm\"", "snowfall": "\"cm\"", "precipitation": "\"mm\"", "weather_code": "\"wmo code\"",
    ]

    @Test func archiveAnswerConvertsUnitsAndLeavesVisibilityNull() throws {
        // Two locations, 24 hours each; the second gives wind in km/h and temperature in °F.
        func columns(_ values: [String: String]) -> [String: String] {
            var out: [String: String] = [:]
            for (k, v) in values { out[k] = Self.array(Array(repeating: v, count: 24)) }
            return out
        }
        let a = Self.location(hours: 24, units: ["wind_speed_10m": "m/s", "snowfall": "cm"], columns: columns([
            "temperature_2m": "4.5", "apparent_temperature": "1.9", "relative_humidity_2m": "87", "pressure_msl": "1016.4",
            "wind_speed_10m": "3.2", "wind_direction_10m": "230", "wind_gusts_10m": "7.1", "cloud_cover": "100",
            "rain": "0.4", "snowfall": "0.0", "precipitation": "0.4", "weather_code": "61",
        ]))
        let b = Self.location(hours: 24, units: ["wind_speed_10m": "km/h", "wind_gusts_10m": "km/h", "temperature_2m": "°F", "snowfall": "cm"],
                              columns: columns([
            "temperature_2m": "23", "wind_speed_10m": "36", "wind_gusts_10m": "72", "rain": "0.0", "snowfall": "0.7", "precipitation": "1.0",
            "weather_code": "73",
        ]))
        let batch = try OpenMeteoHistoryDecoder.decode(Array("[\(a),\(b)]".utf8), places: [Fixtures.strasbourg, Fixtures.berlin],
                                                       span: Self.span(), source: "open-meteo-archive")
        #expect(batch.observations.count == 48)
        #expect(batch.missingHours == 0 && batch.droppedHours == 0 && batch.failures.isEmpty)
        let s = batch.observations[0]
        #expect(s.placeID == "2973783" && s.name == "Strasbourg" && s.region == "grand-est" && s.source == "open-meteo-archive")
        #expect(s.observedAt == Date(timeIntervalSince1970: Double(Self.t0)))
        #expect(s.temperatureC == 4.5 && s.feelsLikeC == 1.9 && s.humidityPct == 87 && s.pressureHPa == 1016.4)
        #expect(s.windSpeedMS == 3.2 && s.windGustMS == 7.1 && s.windDirectionDeg == 230 && s.cloudCoverPct == 100)
        // The archive has no visibility: null, never 0. Hourly rain is already a sum over the hour.
        #expect(s.visibilityM == nil)
        #expect(s.rainMM == 0.4 && s.snowMM == 0 && s.weatherCode == 61)
        #expect(batch.observations[23].observedAt == Date(timeIntervalSince1970: Double(Self.t0 + 23 * 3600)))
        let be = batch.observations[24]
        #expect(be.placeID == "2950159")
        #expect(abs(be.temperatureC! - -5) < 1e-9, "23 °F is -5 °C")
        #expect(abs(be.windSpeedMS! - 10) < 1e-9 && abs(be.windGustMS! - 20) < 1e-9)
        // 0.7 cm of snow in the hour is 0.7 × 10 / 7 = 1 mm of water; snowing, so precipitation is not rain.
        #expect(abs(be.snowMM! - 1) < 1e-9)
        #expect(be.rainMM == 0)
        #expect(be.humidityPct == nil && be.pressureHPa == nil, "variables the answer lacks are null")
    }

    @Test func allNullHoursAreCountedNotStoredAndOtherHoursDropped() throws {
        // 48 hours from the day before the asked day: the first 24 are outside it. In the asked
        // day, hours 10 and 11 are all null (not there yet), hour 12 has only a temperature.
        var temperature = Array(repeating: "5.0", count: 48)
        var humidity = Array(repeating: "80", count: 48)
        for h in [34, 35] { temperature[h] = "null"; humidity[h] = "null" }
        humidity[36] = "null"
        let text = Self.location(start: Self.t0 - 86_400, hours: 48, columns: [
            "temperature_2m": Self.array(temperature), "relative_humidity_2m": Self.array(humidity),
        ])
        let batch = try OpenMeteoHistoryDecoder.decode(Array(text.utf8), places: [Fixtures.strasbourg], span: Self.span(), source: "x")
        #expect(batch.droppedHours == 24)
        #expect(batch.missingHours == 2)
        #expect(batch.observations.count == 22)
        #expect(!batch.observations.contains { $0.observedAt == Date(timeIntervalSince1970: Double(Self.t0 + 10 * 3600)) })
        let noon = try #require(batch.observations.first { $0.observedAt == Date(timeIntervalSince1970: Double(Self.t0 + 12 * 3600)) })
        #expect(noon.temperatureC == 5 && noon.humidityPct == nil)
    }

    @Test func pastDaysAnswerDropsTheHoursAfterNowAndCountsAbsentOnes() throws {
        // A past_days answer: 2 days, then the forecast day; now is 2026-01-03T07:30.
        let now = Self.t0 + 2 * 86_400 + 7 * 3600 + 1800
        let hours = 72
        let text = Self.location(hours: hours, columns: ["temperature_2m": Self.array(Array(repeating: "1.5", count: hours))])
        let batch = try OpenMeteoHistoryDecoder.decode(Array(text.utf8), places: [Fixtures.strasbourg],
                                                       span: Self.span(days: 3, now: now), source: "open-meteo-recent")
        // Up to 07:00 of the third day is in the past: 48 + 8 hours.
        #expect(batch.observations.count == 56)
        #expect(batch.droppedHours == 16)
        #expect(batch.missingHours == 0)
        #expect(batch.observations.last?.observedAt == Date(timeIntervalSince1970: Double(Self.t0 + 2 * 86_400 + 7 * 3600)))
        // An answer that stops early: the asked hours it lacks are missing, not invented.
        let short = Self.location(hours: 20, columns: ["temperature_2m": Self.array(Array(repeating: "1.5", count: 20))])
        let cut = try OpenMeteoHistoryDecoder.decode(Array(short.utf8), places: [Fixtures.strasbourg], span: Self.span(), source: "x")
        #expect(cut.observations.count == 20 && cut.missingHours == 4)
    }

    @Test func isoTimesInAnotherZoneAreShiftedToUTC() throws {
        // Local times at UTC+1 ("2026-01-01T01:00" is midnight UTC).
        let text = Self.location(hours: 24, columns: ["temperature_2m": Self.array(Array(repeating: "2", count: 24))],
                                 isoTimes: true, offset: 3600)
        let batch = try OpenMeteoHistoryDecoder.decode(Array(text.utf8), places: [Fixtures.strasbourg], span: Self.span(), source: "x")
        #expect(batch.observations.count == 24)
        #expect(batch.observations.first?.observedAt == Date(timeIntervalSince1970: Double(Self.t0)))
    }

    @Test func wrongLengthsAndCountsAreRefusedClearly() throws {
        let short = Self.location(hours: 24, columns: [
            "temperature_2m": Self.array(Array(repeating: "2", count: 24)), "rain": Self.array(Array(repeating: "0", count: 23)),
        ])
        let lengthError = #expect(throws: MeteoError.self) {
            try OpenMeteoHistoryDecoder.decode(Array(short.utf8), places: [Fixtures.strasbourg], span: Self.span(), source: "x")
        }
        #expect(lengthError?.message.contains("23 values of 'rain' for 24 hours") == true, "\(lengthError?.message ?? "")")
        #expect(lengthError?.isRetriable == false)

        let one = Self.location(hours: 24, columns: ["temperature_2m": Self.array(Array(repeating: "2", count: 24))])
        let single = #expect(throws: MeteoError.self) {
            try OpenMeteoHistoryDecoder.decode(Array(one.utf8), places: [Fixtures.strasbourg, Fixtures.berlin], span: Self.span(), source: "x")
        }
        #expect(single?.message.contains("one location for a request of 2 places") == true)
        let three = #expect(throws: MeteoError.self) {
            try OpenMeteoHistoryDecoder.decode(Array("[\(one),\(one),\(one)]".utf8), places: [Fixtures.strasbourg, Fixtures.berlin],
                                               span: Self.span(), source: "x")
        }
        #expect(three?.message.contains("3 locations for a request of 2 places") == true)

        // Truncated JSON is a transfer error: retriable. A string among the numbers is not.
        let truncated = #expect(throws: MeteoError.self) {
            try OpenMeteoHistoryDecoder.decode(Array(one.utf8.dropLast(30)), places: [Fixtures.strasbourg], span: Self.span(), source: "x")
        }
        #expect(truncated?.isRetriable == true)
        let wrongType = Self.location(hours: 2, columns: ["temperature_2m": "[1.5,\"warm\"]"])
        let typeError = #expect(throws: MeteoError.self) {
            try OpenMeteoHistoryDecoder.decode(Array(wrongType.utf8), places: [Fixtures.strasbourg], span: Self.span(), source: "x")
        }
        #expect(typeError?.message.contains("hourly.temperature_2m[1]") == true, "\(typeError?.message ?? "")")
        #expect(typeError?.isRetriable == false)
        let noBlock = #expect(throws: MeteoError.self) {
            try OpenMeteoHistoryDecoder.decode(Array(#"{"latitude":1,"longitude":2}"#.utf8), places: [Fixtures.strasbourg], span: Self.span(), source: "x")
        }
        #expect(noBlock?.message.contains("'hourly' is missing") == true)
    }

    @Test func anImpossibleValueFailsItsHourOnly() throws {
        var humidity = Array(repeating: "70", count: 24)
        humidity[5] = "170"
        let text = Self.location(hours: 24, columns: ["relative_humidity_2m": Self.array(humidity)])
        let batch = try OpenMeteoHistoryDecoder.decode(Array(text.utf8), places: [Fixtures.strasbourg], span: Self.span(), source: "x")
        #expect(batch.observations.count == 23)
        #expect(batch.failures.count == 1)
        #expect(batch.failures.first?.reason.contains("humidity_pct 170.0 is outside") == true, "\(batch.failures)")
    }

    // MARK: Against the stub

    func configuration(_ stub: WeatherAPIStub) -> MeteoConfiguration {
        var c = MeteoConfiguration()
        c.archiveURL = stub.archiveURL
        c.openMeteoURL = stub.forecastURL
        c.httpTimeout = .seconds(30)
        return c
    }

    @Test func archiveAndRecentChunksFromTheStub() async throws {
        try await WeatherAPIStub.with { stub in
            let logger = Logger(label: "history-test")
            let source = OpenMeteoArchiveSource(configuration: configuration(stub), logger: logger)
            let now = Date()
            let today = BackfillPlanner.day(now)
            let places = [Fixtures.strasbourg, Fixtures.berlin, Fixtures.singapore]
            let planner = OpenMeteoHistory.planner(.openMeteoFree)
            let chunks = planner.chunks(places.map { .init(placeID: $0.id, firstDay: today - 9, lastDay: today) }, today: today)
            #expect(chunks.map(\.endpoint) == [.archive, .recent])

            let archive = try await source.fetch(chunks[0], places: places, now: now)
            #expect(archive.observations.count == 3 * 24 * 5)
            #expect(archive.missingHours == 0 && archive.failures.isEmpty)
            #expect(archive.observations.allSatisfy { $0.source == OpenMeteoArchiveSource.archiveLabel && $0.visibilityM == nil })
            // The values are the stub's weather at the coordinates sent.
            let first = archive.observations[0]
            let expected = StubWeather(latitude: 48.5839, longitude: 7.7455, t: (today - 9) * 86_400)
            #expect(first.temperatureC == expected.temperature && first.humidityPct == expected.humidity)
            #expect(first.observedAt == Date(timeIntervalSince1970: Double((today - 9) * 86_400)))
            // Open-Meteo counted what the planner and the ledger count.
            #expect(abs(stub.openMeteoQuota.stats.weight - chunks[0].weight) < 1e-9)
            #expect(abs(archive.weight - chunks[0].weight) < 1e-9)

            let recent = try await source.fetch(chunks[1], places: places, now: now)
            let hoursToday = Int(HourCoverage.hour(now) - today * 24) + 1
            #expect(recent.observations.count == 3 * (4 * 24 + hoursToday))
            #expect(recent.droppedHours == 3 * (24 - hoursToday))
            #expect(recent.observations.allSatisfy { $0.source == OpenMeteoArchiveSource.recentLabel && $0.visibilityM != nil })
            #expect(abs(recent.weight - chunks[1].weight) < 1e-9)
            #expect(abs(stub.openMeteoQuota.stats.weight - chunks[0].weight - chunks[1].weight) < 1e-9)

            let requests = stub.stats.hourly
            #expect(requests.count == 2)
            #expect(requests[0].archive && requests[0].firstDay == today - 9 && requests[0].lastDay == today - 5)
            #expect(!requests[1].archive && requests[1].firstDay == today - 4 && requests[1].lastDay == today)
            #expect(stub.stats.badRequests == 0)
        }
    }

    /// The archive source on the stub, and an archive request for one place over the days
    /// `ages.upperBound` … `ages.lowerBound` days ago.
    func archiveChunk(_ stub: WeatherAPIStub, ages: ClosedRange<Int64>, place: Place) -> (OpenMeteoArchiveSource, Date, BackfillChunk) {
        let source = OpenMeteoArchiveSource(configuration: configuration(stub), logger: Logger(label: "history-test"))
        let now = Date()
        let today = BackfillPlanner.day(now)
        let days = Double(ages.count)
        let chunk = BackfillChunk(endpoint: .archive, firstDay: today - ages.upperBound, lastDay: today - ages.lowerBound,
                                  placeIDs: [place.id], weight: CallWeight.openMeteo(variables: 12, days: days, places: 1))
        return (source, now, chunk)
    }

    @Test func aMemoizingStubSendsTheSameAnswerAgainAndStillCountsIt() async throws {
        var options = WeatherAPIStub.Options()
        options.memoize = true
        try await WeatherAPIStub.with(options) { stub in
            let (source, now, chunk) = archiveChunk(stub, ages: 10...12, place: Fixtures.berlin)
            let first = try await source.fetch(chunk, places: [Fixtures.berlin], now: now)
            let second = try await source.fetch(chunk, places: [Fixtures.berlin], now: now)
            #expect(first.observations.count == 72 && second.observations == first.observations)
            #expect(stub.stats.memoized == 1)
            #expect(stub.stats.requests["/v1/archive"] == 2 && stub.openMeteoQuota.stats.accepted == 2)
        }
    }

    @Test func archiveDaysNotHeldYetAreMissingNotInvented() async throws {
        // An archive that lags by 8 days: the last days of an archive request come back null.
        var options = WeatherAPIStub.Options()
        options.archiveLagDays = 8
        try await WeatherAPIStub.with(options) { stub in
            let (source, now, chunk) = archiveChunk(stub, ages: 6...9, place: Fixtures.strasbourg)
            let today = BackfillPlanner.day(now)
            let batch = try await source.fetch(chunk, places: [Fixtures.strasbourg], now: now)
            // The archive holds days up to today - 8: two of the four days.
            #expect(batch.observations.count == 48)
            #expect(batch.missingHours == 48)
            #expect(batch.observations.allSatisfy { $0.observedAt < Date(timeIntervalSince1970: Double((today - 7) * 86_400)) })
        }
    }
}
