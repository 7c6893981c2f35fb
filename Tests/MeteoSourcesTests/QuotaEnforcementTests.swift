import Foundation
import Logging
import MeteoCore
import MeteoSources
import MeteoTestSupport
import MeteoStub
import Synchronization
import Testing

/// The API sources against the stub that enforces the providers' documented quotas, on a
/// virtual clock shared by the stub and Meteo's quota ledger.
@Suite("Quotas against the enforcing stub")
struct QuotaEnforcementTests {
    static let monday = ISO8601.date(from: "2026-12-07T09:03:20Z")!

    static func options(_ clock: VirtualClock) -> WeatherAPIStub.Options {
        var o = WeatherAPIStub.Options()
        o.clock = clock
        return o
    }

    static func configuration(_ stub: WeatherAPIStub, environment: [String: String] = [:], flags: [String: String] = [:]) throws -> MeteoConfiguration {
        // A time-out and retry would count twice in the stub: a generous one keeps a loaded
        // machine from doing that (time-outs have their own tests).
        var f = ["open-meteo-url": stub.forecastURL, "owm-url": stub.openWeatherMapURL, "http-timeout": "120s"]
        f.merge(flags) { $1 }
        return try MeteoConfiguration.resolve(ConfigLayers(flags: f, environment: environment))
    }

    static func regions() throws -> [Place] {
        try MeteoConfiguration().selectedPlaces(in: PlaceCatalogue.bundled())
    }

    @Test func aPollOfTheTenRegionsStaysInsideTheFreePlan() async throws {
        let clock = VirtualClock(start: Self.monday)
        try await WeatherAPIStub.with(Self.options(clock)) { stub in
            let config = try Self.configuration(stub)
            let waits = Mutex<[QuotaWait]>([])
            let ledger = try QuotaLedger(plan: try #require(config.providerPlan), directory: nil, clock: clock, logger: Logger(label: "t")) { w in
                waits.withLock { $0.append(w) }
            }
            let source = OpenMeteoSource(configuration: config, quota: ledger, logger: Logger(label: "t"))
            let places = try Self.regions()
            #expect(places.count == 1_630)
            let batch = try await source.poll(places)
            #expect(batch.failures.isEmpty)
            #expect(batch.observations.count == 1_630)
            #expect(batch.observations.map(\.placeID) == places.map(\.id))
            let stats = stub.openMeteoQuota.stats
            // Four requests of 461, 461, 461 and 247 places, 1.3 calls each: 2,119 calls.
            #expect(stats.accepted == 4 && stats.totalRefused == 0)
            #expect(stats.log.map { ($0.1 * 10).rounded() / 10 } == [599.3, 599.3, 599.3, 321.1])
            #expect(stats.peak[.minute]! <= 600)
            #expect(abs(stats.weight - 2_119) < 1e-6)
            // One request a minute: the poll took three waits of the minute window.
            #expect(waits.withLock { $0.map(\.window) } == [.minute, .minute, .minute])
            #expect(clock.now().timeIntervalSince(Self.monday) >= 3 * 61)
            // The current block is the 15-minute model step.
            #expect(Set(batch.observations.map(\.observedAt)) == [ISO8601.date(from: "2026-12-07T09:00:00Z")!])
        }
    }

    @Test func aDaily429WaitsForTheUTCDayToTurnWithoutAStorm() async throws {
        let clock = VirtualClock(start: ISO8601.date(from: "2026-12-07T21:30:00Z")!)
        try await WeatherAPIStub.with(Self.options(clock)) { stub in
            // Another client behind the same address spent the day; Meteo's own count is empty.
            stub.openMeteoQuota.spend(10_000, in: .day, at: clock.now())
            let config = try Self.configuration(stub)
            let waits = Mutex<[QuotaWait]>([])
            let ledger = try QuotaLedger(plan: try #require(config.providerPlan), directory: nil, clock: clock, logger: Logger(label: "t")) { w in
                waits.withLock { $0.append(w) }
            }
            let (logger, logs) = CapturingLogHandler.logger()
            let source = OpenMeteoSource(configuration: config, quota: ledger, logger: logger)
            let batch = try await source.poll([Fixtures.strasbourg])
            #expect(batch.observations.count == 1)
            // Refused once with Open-Meteo's reason, then one request once the UTC day turned.
            #expect(stub.stats.requests["/v1/forecast"] == 2)
            #expect(stub.openMeteoQuota.stats.refused == [.day: 1])
            let wait = try #require(waits.withLock { $0.first })
            #expect(wait.window == .day && wait.refusedByProvider)
            #expect(wait.until == ISO8601.date(from: "2026-12-08T00:01:30Z")!)
            #expect(clock.now() >= ISO8601.date(from: "2026-12-08T00:00:00Z")!)
            #expect(clock.now() < ISO8601.date(from: "2026-12-08T00:02:00Z")!)
            #expect(batch.observations[0].observedAt == ISO8601.date(from: "2026-12-08T00:00:00Z")!)
            #expect(logs.all.contains { $0.contains("daily quota") && $0.contains("Daily API request limit exceeded") })
        }
    }

    @Test func anHourly429ThenAMinutely429EachWaitForTheirWindow() async throws {
        let clock = VirtualClock(start: ISO8601.date(from: "2026-12-07T14:37:00Z")!)
        try await WeatherAPIStub.with(Self.options(clock)) { stub in
            stub.openMeteoQuota.spend(5_000, in: .hour, at: clock.now())
            let config = try Self.configuration(stub)
            let ledger = try QuotaLedger(plan: try #require(config.providerPlan), directory: nil, clock: clock, logger: Logger(label: "t"))
            let source = OpenMeteoSource(configuration: config, quota: ledger, logger: Logger(label: "t"))
            _ = try await source.poll([Fixtures.strasbourg])
            #expect(clock.now() == ISO8601.date(from: "2026-12-07T15:01:30Z")!)
            stub.openMeteoQuota.spend(600, in: .minute, at: clock.now())
            _ = try await source.poll([Fixtures.berlin])
            #expect(clock.now() == ISO8601.date(from: "2026-12-07T15:02:31Z")!)
            #expect(stub.openMeteoQuota.stats.refused == [.hour: 1, .minute: 1])
            #expect(stub.stats.requests["/v1/forecast"] == 4)
        }
    }

    @Test func aProviderThatKeepsRefusingEndsThePollWithAClearError() async throws {
        let clock = VirtualClock(start: Self.monday)
        var options = Self.options(clock)
        options.openMeteoLimits = [.minute: 1]   // every request of 1.3 calls is refused
        try await WeatherAPIStub.with(options) { stub in
            let config = try Self.configuration(stub)
            let ledger = try QuotaLedger(plan: .openMeteoFree, directory: nil, clock: clock, logger: Logger(label: "t"))
            let source = OpenMeteoSource(configuration: config, quota: ledger, logger: Logger(label: "t"))
            let error = try await #require(throws: MeteoError.self) { try await source.poll([Fixtures.strasbourg]) }
            #expect(error.isRetriable)
            #expect(error.message.contains("minutely quota is spent") && error.message.contains("another client may be spending the same allowance"))
            // The first try and three waits for the minute to reset: no storm.
            #expect(stub.stats.requests["/v1/forecast"] == 4)
        }
    }

    @Test func theAPIKeyPlanUsesTheKeyAndNeverShowsIt() async throws {
        let clock = VirtualClock(start: Self.monday)
        var options = Self.options(clock)
        options.openMeteoAPIKey = "om-k3y-9f8e7d"
        options.openMeteoLimits = [.month: 1_000_000]
        try await WeatherAPIStub.with(options) { stub in
            let config = try Self.configuration(stub, environment: ["METEO_OPEN_METEO_API_KEY": "om-k3y-9f8e7d"])
            #expect(config.providerPlan?.tier == .apiKey)
            let (logger, logs) = CapturingLogHandler.logger()
            let ledger = try QuotaLedger(plan: try #require(config.providerPlan), directory: nil, clock: clock, logger: logger)
            let source = OpenMeteoSource(configuration: config, quota: ledger, logger: logger)
            // No minute limit: one request carries 1,000 places.
            #expect(source.batchSize == 1_000)
            let batch = try await source.poll(Fixtures.places(1_200))
            #expect(batch.observations.count == 1_200)
            #expect(stub.openMeteoQuota.stats.accepted == 2)

            let wrong = try Self.configuration(stub, environment: ["METEO_OPEN_METEO_API_KEY": "om-wrong-k3y"])
            let bad = OpenMeteoSource(configuration: wrong, logger: logger)
            let error = try await #require(throws: MeteoError.self) { try await bad.poll([Fixtures.strasbourg]) }
            #expect(error.message.contains("The supplied API key is invalid"))
            #expect(!"\(error) \(error.debugDescription)".contains("om-wrong-k3y"))
            #expect(!logs.all.joined().contains("om-k3y-9f8e7d") && !logs.all.joined().contains("om-wrong-k3y"))
        }
    }

    @Test func openWeatherMapKeepsToSixtyCallsAMinute() async throws {
        let clock = VirtualClock(start: Self.monday)
        try await WeatherAPIStub.with(Self.options(clock)) { stub in
            let config = try Self.configuration(stub, environment: ["METEO_OWM_API_KEY": "owm-key-1"], flags: ["source": "openweathermap"])
            let plan = try #require(config.providerPlan)
            #expect(plan.limits == [.minute: 60, .month: 1_000_000])
            let ledger = try QuotaLedger(plan: plan, directory: nil, clock: clock, logger: Logger(label: "t"))
            let source = try OpenWeatherMapSource(configuration: config, quota: ledger, logger: Logger(label: "t"))
            let batch = try await source.poll(Fixtures.places(150))
            #expect(batch.observations.count == 150 && batch.failures.isEmpty)
            let stats = stub.openWeatherMapQuota.stats
            #expect(stats.accepted == 150 && stats.totalRefused == 0 && stats.peak[.minute]! <= 60)
            // 150 calls at 60 a minute: two full windows, then the rest.
            #expect(clock.now().timeIntervalSince(Self.monday) >= 2 * 61)

            // Another client's calls: OpenWeatherMap's 429 blocks the minute; Meteo waits for it.
            stub.openWeatherMapQuota.spend(60, in: .minute, at: clock.now())
            let before = clock.now()
            _ = try await source.poll([Fixtures.strasbourg])
            #expect(clock.now().timeIntervalSince(before) >= 61)
            #expect(stub.openWeatherMapQuota.stats.refused == [.minute: 1])
        }
    }
}
