import Foundation
import MeteoCore
import MeteoSources
import MeteoTestSupport
import Testing

@Suite("OpenWeatherMap source against a local stub")
struct OpenWeatherMapSourceTests {
    static let key = "s3cr3t-owm-key-123"

    @Test func documentedExampleIsDecodedForTheRequestedPlace() async throws {
        try await StubHTTPServer.with { server in
            server.enqueue(.init(body: Fixtures.owmCurrent))
            let (logger, _) = CapturingLogHandler.logger()
            let s = try OpenWeatherMapSource(configuration: Fixtures.configuration(server, key: Self.key),
                                             retryPolicy: Fixtures.fastRetry(), logger: logger)
            let batch = try await s.poll([Fixtures.strasbourg])
            #expect(batch.failures.isEmpty)
            let o = try #require(batch.observations.first)
            #expect(o.placeID == "2973783" && o.name == "Strasbourg" && o.country == "FR" && o.region == "grand-est")
            #expect(o.source == "openweathermap")
            #expect(o.temperatureC == 14.89 && o.feelsLikeC == 14.54 && o.humidityPct == 64 && o.pressureHPa == 1021)
            #expect(o.windSpeedMS == 0.62 && o.windGustMS == 1.18 && o.windDirectionDeg == 349)
            #expect(o.rainMM == 3.16 && o.cloudCoverPct == 100 && o.visibilityM == 10_000 && o.weatherCode == 63)
            #expect(o.observedAt == Date(timeIntervalSince1970: 1_726_660_758))
            let request = try #require(server.requests.first)
            #expect(request.method == "GET" && request.uri.hasPrefix("/data/2.5/weather?"))
            #expect(request.parameter("lat") == "48.5839" && request.parameter("lon") == "7.7455")
            #expect(request.parameter("units") == "metric" && request.parameter("appid") == Self.key)
        }
    }

    @Test func missingKeyIsAConfigurationErrorNamingTheVariable() throws {
        var config = MeteoConfiguration()
        config.openWeatherMapKey = nil
        let (logger, _) = CapturingLogHandler.logger()
        let error = try #require(throws: MeteoError.self) { try OpenWeatherMapSource(configuration: config, logger: logger) }
        #expect(error.code == .invalidConfiguration && error.message.contains("METEO_OWM_API_KEY"))
        config.source = .openWeatherMap
        #expect(throws: MeteoError.self) { try SourceFactory.make(config: config, logger: logger) }
    }

    @Test func invalidKeyFailsThePollAndNeverLeaksTheKey() async throws {
        try await StubHTTPServer.with { server in
            server.setFallback(.init(status: 401, body: Fixtures.owmInvalidKey))
            let (logger, logs) = CapturingLogHandler.logger()
            let s = try OpenWeatherMapSource(configuration: Fixtures.configuration(server, key: Self.key),
                                             retryPolicy: Fixtures.fastRetry(), logger: logger)
            let error = try await #require(throws: MeteoError.self) { try await s.poll([Fixtures.strasbourg, Fixtures.berlin]) }
            #expect(error.code == .apiError && !error.isRetriable)
            #expect(error.message.contains("check METEO_OWM_API_KEY"))
            #expect(error.message.contains("Invalid API key"))
            for text in [error.description, error.debugDescription, String(reflecting: error)] + logs.all {
                #expect(!text.contains(Self.key))
            }
        }
    }

    @Test func retriedErrorsAndLogsNeverContainTheKey() async throws {
        try await StubHTTPServer.with { server in
            // The server echoes the request URL (with the key) in its error body, as some proxies do.
            server.setFallback(.init(status: 503, body: "upstream failed for /data/2.5/weather?lat=1&appid=\(Self.key)"))
            let (logger, logs) = CapturingLogHandler.logger()
            let s = try OpenWeatherMapSource(configuration: Fixtures.configuration(server, key: Self.key),
                                             retryPolicy: Fixtures.fastRetry(3), logger: logger)
            let error = try await #require(throws: MeteoError.self) { try await s.poll([Fixtures.strasbourg]) }
            #expect(error.isRetriable)
            #expect(server.requests.count == 3)
            #expect(logs.all.filter { $0.contains("retrying") }.count == 2)
            #expect(logs.all.contains { $0.contains("appid=<redacted>") })
            for text in [error.description, error.debugDescription] + logs.all {
                #expect(!text.contains(Self.key))
            }
        }
    }

    @Test func badPlaceIsAFailureOthersSucceed() async throws {
        try await StubHTTPServer.with { server in
            server.enqueue(.init(body: Fixtures.owmCurrent),
                           .init(status: 404, body: #"{"cod":"404","message":"city not found"}"#),
                           .init(body: #"{"coord":{"lon":1,"lat":2},"dt":1726660758,"main":{"temp":"hot"}}"#))
            let (logger, _) = CapturingLogHandler.logger()
            let s = try OpenWeatherMapSource(configuration: Fixtures.configuration(server, key: Self.key),
                                             retryPolicy: Fixtures.fastRetry(), logger: logger)
            let batch = try await s.poll([Fixtures.strasbourg, Fixtures.berlin, Fixtures.singapore])
            #expect(batch.observations.map(\.placeID) == ["2973783"])
            #expect(batch.failures.map(\.placeID) == ["2950159", "1880252"])
            #expect(batch.failures[0].reason.contains("city not found"))
            #expect(batch.failures[1].reason.contains("main.temp"))
        }
    }
}
