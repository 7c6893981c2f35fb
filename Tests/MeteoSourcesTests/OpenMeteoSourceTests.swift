import Foundation
import MeteoCore
import MeteoSources
import MeteoTestSupport
import Testing

@Suite("Open-Meteo source against a local stub")
struct OpenMeteoSourceTests {
    func source(_ server: StubHTTPServer, attempts: Int = 3, timeout: Duration = .seconds(5),
                plan: ProviderPlan.Tier? = nil) -> OpenMeteoSource {
        let (logger, _) = CapturingLogHandler.logger()
        var configuration = Fixtures.configuration(server, timeout: timeout, maxAttempts: attempts)
        configuration.planTier = plan
        return OpenMeteoSource(configuration: configuration, retryPolicy: Fixtures.fastRetry(attempts), logger: logger)
    }

    @Test func multiLocationArrayMapsValuesAndUnits() async throws {
        try await StubHTTPServer.with { server in
            let a = Fixtures.openMeteoLocation(rain: "0.25", snowfall: "0.0")
            let b = Fixtures.openMeteoLocation(latitude: 52.52, longitude: 13.41, interval: 900, temperature: "-2.0",
                                               windUnit: "km/h", wind: "36", gusts: "72", rain: "0.0", snowfall: "0.7")
            server.enqueue(.init(body: "[\(a),\(b)]"))
            let batch = try await source(server).poll([Fixtures.strasbourg, Fixtures.berlin])
            #expect(batch.failures.isEmpty)
            try #require(batch.observations.count == 2)
            let s = batch.observations[0], be = batch.observations[1]
            // Identity comes from the requested place, not from the grid cell.
            #expect(s.placeID == "2973783" && s.name == "Strasbourg" && s.country == "FR" && s.region == "grand-est")
            #expect(s.latitude == 48.5839 && s.longitude == 7.7455)
            #expect(s.source == "open-meteo")
            #expect(s.observedAt == Date(timeIntervalSince1970: 1_767_225_600))
            #expect(s.temperatureC == 4.5 && s.feelsLikeC == 1.9 && s.humidityPct == 87 && s.pressureHPa == 1016.4)
            #expect(s.windSpeedMS == 3.2 && s.windGustMS == 7.1 && s.windDirectionDeg == 230)
            #expect(s.cloudCoverPct == 100 && s.visibilityM == 12_400 && s.weatherCode == 61)
            // 0.25 mm in 15 minutes is 1 mm per hour.
            #expect(abs(s.rainMM! - 1.0) < 1e-9)
            #expect(s.snowMM == 0)
            // km/h → m/s, and 0.7 cm of snow in 15 min → 0.7 × 10 / 7 = 1 mm water → 4 mm/h.
            #expect(abs(be.windSpeedMS! - 10) < 1e-9 && abs(be.windGustMS! - 20) < 1e-9)
            #expect(abs(be.snowMM! - 4.0) < 1e-9)
            #expect(be.placeID == "2950159")

            let request = try #require(server.requests.first)
            #expect(request.method == "GET")
            #expect(request.uri.hasPrefix("/v1/forecast?"))
            #expect(request.parameter("latitude") == "48.5839,52.5244")
            #expect(request.parameter("longitude") == "7.7455,13.4105")
            #expect(request.parameter("wind_speed_unit") == "ms")
            #expect(request.parameter("timeformat") == "unixtime")
            #expect(request.parameter("forecast_days") == "1")
            #expect(request.parameter("apikey") == nil)
            #expect(request.parameter("current")?.split(separator: ",").count == OpenMeteoSource.currentVariables.count)
        }
    }

    @Test func singleLocationObjectAndISOTime() async throws {
        try await StubHTTPServer.with { server in
            server.enqueue(.init(body: Fixtures.openMeteoLocation(time: "\"2026-01-01T00:15\"")))
            let batch = try await source(server).poll([Fixtures.strasbourg])
            let o = try #require(batch.observations.first)
            #expect(o.observedAt == Date(timeIntervalSince1970: 1_767_225_600 + 900))
        }
    }

    @Test func batchesOf1000AndPostsLongRequests() async throws {
        try await StubHTTPServer.with { server in
            let places = Fixtures.places(2500)
            for size in [1000, 1000, 500] {
                let items = (0..<size).map { _ in Fixtures.openMeteoLocation() }.joined(separator: ",")
                server.enqueue(.init(body: "[\(items)]"))
            }
            // The stub answers in queue order, so a time-out and retry would shift the answers:
            // a generous time-out keeps a loaded machine from doing that (time-outs have their own tests).
            // A self-hosted Open-Meteo has no minute limit, so a request carries 1,000 places.
            let batch = try await source(server, timeout: .seconds(120), plan: .selfHosted).poll(places)
            #expect(batch.failures.isEmpty)
            #expect(batch.observations.count == 2500)
            #expect(batch.observations.map(\.placeID) == places.map(\.id))
            let requests = server.requests
            #expect(requests.count == 3)
            // 1000 coordinates make a URL far beyond 8000 characters: those batches are POSTed.
            #expect(requests.prefix(2).allSatisfy { $0.method == "POST" && $0.uri == "/v1/forecast" })
            #expect(requests.filter { $0.method == "POST" }.allSatisfy {
                $0.headers.contains { $0.0.lowercased() == "content-type" && $0.1 == "application/x-www-form-urlencoded" }
            })
            #expect(requests.filter { $0.method == "GET" }.allSatisfy { $0.uri.utf8.count <= 8000 })
            #expect(requests.map { $0.parameter("latitude")?.split(separator: ",").count } == [1000, 1000, 500])
        }
    }

    @Test func shortRequestsStayGET() async throws {
        try await StubHTTPServer.with { server in
            let items = (0..<50).map { _ in Fixtures.openMeteoLocation() }.joined(separator: ",")
            server.enqueue(.init(body: "[\(items)]"))
            _ = try await source(server).poll(Fixtures.places(50))
            #expect(server.requests.first?.method == "GET")
            #expect(server.requests.first.map { $0.uri.utf8.count < 8000 } == true)
        }
    }

    @Test func honoursRetryAfterOn429() async throws {
        try await StubHTTPServer.with { server in
            server.enqueue(.init(status: 429, headers: [("Retry-After", "0.3")], body: #"{"error":true,"reason":"Too many requests"}"#),
                           .init(body: Fixtures.openMeteoLocation()))
            let clock = ContinuousClock()
            let start = clock.now
            // maxDelay of the fast policy is 50 ms; allow Retry-After up to 1 s here.
            let (logger, logs) = CapturingLogHandler.logger()
            let s = OpenMeteoSource(configuration: Fixtures.configuration(server),
                                    retryPolicy: RetryPolicy(maxAttempts: 3, baseDelay: .milliseconds(1), maxDelay: .seconds(1)), logger: logger)
            let batch = try await s.poll([Fixtures.strasbourg])
            #expect(clock.now - start >= .milliseconds(300))
            #expect(batch.observations.count == 1)
            #expect(server.requests.count == 2)
            #expect(logs.all.contains { $0.contains("retrying") && $0.contains("429") })
        }
    }

    @Test func retries500ThenSucceeds() async throws {
        try await StubHTTPServer.with { server in
            server.enqueue(.init(status: 500, body: "oops"), .init(status: 503, body: "busy"), .init(body: Fixtures.openMeteoLocation()))
            let batch = try await source(server).poll([Fixtures.strasbourg])
            #expect(batch.observations.count == 1)
            #expect(server.requests.count == 3)
        }
    }

    @Test func persistent500FailsAfterMaxAttempts() async throws {
        try await StubHTTPServer.with { server in
            server.setFallback(.init(status: 502, body: "bad gateway"))
            let error = try await #require(throws: MeteoError.self) { try await source(server, attempts: 4).poll([Fixtures.strasbourg]) }
            #expect(error.isRetriable)
            #expect(error.code == .apiError)
            #expect(error.message.contains("502") && error.message.contains("4 attempts"))
            #expect(server.requests.count == 4)
        }
    }

    @Test func slowResponseTimesOutThenRetries() async throws {
        try await StubHTTPServer.with { server in
            // The first answer stalls far beyond the time-out; the retries answer at once. The
            // time-out leaves room for a loaded CI machine, and a third attempt for a retry that
            // is itself slow there: what matters is that the stalled attempt was cut off.
            server.enqueue(.init(body: Fixtures.openMeteoLocation(), delay: .seconds(30)), .init(body: Fixtures.openMeteoLocation()))
            server.setFallback(.init(body: Fixtures.openMeteoLocation()))
            let clock = ContinuousClock()
            let start = clock.now
            let batch = try await source(server, attempts: 3, timeout: .milliseconds(1500)).poll([Fixtures.strasbourg])
            #expect(batch.observations.count == 1)
            #expect(server.requests.count >= 2, "the stalled first attempt was not retried")
            #expect(clock.now - start < .seconds(25), "the 30 s stall was not cut off by the time-out")
        }
    }

    @Test func persistentTimeoutIsATimeoutError() async throws {
        try await StubHTTPServer.with { server in
            server.setFallback(.init(body: Fixtures.openMeteoLocation(), delay: .seconds(120)))
            let clock = ContinuousClock()
            let start = clock.now
            let error = try await #require(throws: MeteoError.self) {
                try await source(server, attempts: 2, timeout: .milliseconds(150)).poll([Fixtures.strasbourg])
            }
            #expect(error.code == .timeout && error.isRetriable)
            // Two attempts of 150 ms each: the time-out cut the 120 s stall off. The bound is
            // loose on purpose: a loaded CI machine can be slow, but not by a minute.
            #expect(clock.now - start < .seconds(60))
        }
    }

    @Test func truncatedBodyIsRetriedThenReported() async throws {
        try await StubHTTPServer.with { server in
            let body = "[\(Fixtures.openMeteoLocation()),\(Fixtures.openMeteoLocation())]"
            server.setFallback(.init(body: body, truncated: true))
            let error = try await #require(throws: MeteoError.self) {
                try await source(server, attempts: 2).poll([Fixtures.strasbourg, Fixtures.berlin])
            }
            #expect(error.isRetriable)
            #expect(server.requests.count == 2)
        }
    }

    @Test func truncatedJSONWithoutTransportErrorFailsClearly() throws {
        let text = "[\(Fixtures.openMeteoLocation())"
        let places = [Fixtures.strasbourg]
        let error = try #require(throws: MeteoError.self) {
            _ = try OpenMeteoSource.decodeResponse(Array(text.utf8), places: places)
        }
        #expect(error.code == .malformedPayload && error.message.contains("not complete JSON"))
    }

    @Test func wrongTypeBecomesFailureOfThatPlaceOnly() async throws {
        try await StubHTTPServer.with { server in
            let bad = Fixtures.openMeteoLocation(temperature: "\"warm\"")
            let impossible = Fixtures.openMeteoLocation(temperature: "140")
            server.enqueue(.init(body: "[\(Fixtures.openMeteoLocation()),\(bad),\(impossible)]"))
            let batch = try await source(server).poll([Fixtures.strasbourg, Fixtures.berlin, Fixtures.singapore])
            #expect(batch.observations.map(\.placeID) == ["2973783"])
            #expect(batch.failures.map(\.placeID) == ["2950159", "1880252"])
            #expect(batch.failures[0].reason.contains("temperature_2m"))
            #expect(batch.failures[1].reason.contains("temperature_c"))
        }
    }

    @Test func wrongArrayLengthFailsThePoll() async throws {
        try await StubHTTPServer.with { server in
            server.enqueue(.init(body: "[\(Fixtures.openMeteoLocation())]"))
            let error = try await #require(throws: MeteoError.self) { try await source(server).poll([Fixtures.strasbourg, Fixtures.berlin]) }
            #expect(!error.isRetriable)
            #expect(error.message.contains("1 locations for a request of 2"))
            #expect(server.requests.count == 1)
        }
    }

    @Test func error400SurfacesReasonWithoutRetry() async throws {
        try await StubHTTPServer.with { server in
            server.setFallback(.init(status: 400, body: #"{"error":true,"reason":"Latitude must be in range of -90 to 90°. Given: 91.0."}"#))
            let error = try await #require(throws: MeteoError.self) { try await source(server).poll([Fixtures.strasbourg]) }
            #expect(error.code == .apiError && !error.isRetriable)
            #expect(error.description.contains("Latitude must be in range of -90 to 90°. Given: 91.0."))
            #expect(server.requests.count == 1)
        }
    }

    @Test func connectionRefusedIsRetriable() async throws {
        // AsyncHTTPClient keeps retrying a refused connection until the request's deadline,
        // so a server that is down surfaces as a time-out (or a connection error).
        var config = MeteoConfiguration()
        config.openMeteoURL = "http://127.0.0.1:1/v1/forecast"
        config.httpTimeout = .milliseconds(300)
        let (logger, _) = CapturingLogHandler.logger()
        let s = OpenMeteoSource(configuration: config, retryPolicy: Fixtures.fastRetry(2), logger: logger)
        let error = try await #require(throws: MeteoError.self) { try await s.poll([Fixtures.strasbourg]) }
        #expect([MeteoError.Code.connection, .timeout].contains(error.code))
        #expect(error.isRetriable)
    }
}
