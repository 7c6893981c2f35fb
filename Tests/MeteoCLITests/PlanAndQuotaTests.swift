import Foundation
import MeteoCore
import MeteoStub
import MeteoTestSupport
import Testing

/// `meteo plan` and `meteo ingest`'s quota checks as a user runs them; the Open-Meteo stub runs
/// in this process and enforces the free plan.
@Suite("meteo plan and the quota checks of meteo ingest, as processes", .meteoBinary)
struct PlanAndQuotaTests {
    func json(_ text: String) throws -> JSONValue {
        try JSONValue.parse(text.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    func number(_ json: JSONValue, _ key: String) -> Double? {
        if case .number(let d)? = json[key] { return d }
        return nil
    }

    @Test func theTenRegionsEveryTenMinutesDoNotFitTheFreePlan() async throws {
        let r = try await MeteoProcess.run(["plan", "--interval", "10m", "--format", "json"], environment: ["METEO_OPEN_METEO_API_KEY": ""])
        #expect(r.status == 0, "\(r.stderr)")
        let j = try json(r.stdout)
        #expect(number(j, "places") == 1_630 && number(j, "variables") == 13 && number(j, "interval_s") == 600)
        let perDay = try #require(number(j, "calls_per_day"))
        #expect(abs(perDay - 305_136) / 305_136 < 0.01)
        #expect(number(j, "calls_per_poll") == 2_119)
        #expect(j["fits"] == .bool(false))
        #expect(number(j, "max_places") == 51)
        #expect(number(j, "shortest_interval_s") == 21_600)
        #expect(j["limits"]?["day"] == .number(10_000) && j["limits"]?["minute"] == .number(600))
        #expect(number(j, "places_per_request") == 461 && number(j, "requests_per_poll") == 4)
        for key in ["calls_per_month", "limits", "fits", "shortest_interval_s", "max_places", "interval_s", "places", "variables"] {
            #expect(j[key] != nil, "missing \(key)")
        }
    }

    @Test func autoPicksAnIntervalThatFits() async throws {
        let r = try await MeteoProcess.run(["plan", "--interval", "auto", "--format", "json"], environment: ["METEO_OPEN_METEO_API_KEY": ""])
        #expect(r.status == 0, "\(r.stderr)")
        let j = try json(r.stdout)
        #expect(j["fits"] == .bool(true) && j["interval_auto"] == .bool(true))
        // 10,000 calls a day / 2,119 a poll = 4.7 polls: at least 5 h 5 min apart.
        let interval = try #require(number(j, "interval_s"))
        #expect(interval >= 5 * 3_600 + 5 * 60)
        #expect(interval.truncatingRemainder(dividingBy: 900) == 0)
        #expect(try #require(number(j, "calls_per_day")) <= 10_000)
        // The table says the same, in words.
        let table = try await MeteoProcess.run(["plan"], environment: ["METEO_OPEN_METEO_API_KEY": ""])
        #expect(table.stdout.contains("Fits the Open-Meteo free plan."))
        #expect(table.stdout.contains("1,630 places × 13 variables = 2,119 calls a poll"))
    }

    @Test func anIntervalThatCannotFitIsRefusedWithWhatWouldFit() async throws {
        let dir = MeteoProcess.temporaryDataDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try await MeteoProcess.run(["ingest", "--interval", "10m", "--data-dir", dir.path, "--open-meteo-url", "http://127.0.0.1:9/v1/forecast"],
                                     environment: ["METEO_OPEN_METEO_API_KEY": ""])
        #expect(r.expectRefused() == "meteo: error: 1,630 places × 13 variables every 10 min need 305,136 calls a day; the Open-Meteo free plan allows 10,000: use --interval 6h, at most 51 places, or an API key (METEO_OPEN_METEO_API_KEY)")
    }

    @Test func ingestCountsAgainstThePlanAcrossRunsAndForcesOnlyWhenTold() async throws {
        try await WeatherAPIStub.with { stub in
            let dir = MeteoProcess.temporaryDataDir()
            defer { try? FileManager.default.removeItem(at: dir) }
            let common = ["--data-dir", dir.path, "--open-meteo-url", stub.forecastURL, "--regions", "EuropeE"]
            let env = ["METEO_OPEN_METEO_API_KEY": ""]
            for _ in 0..<2 {
                let r = try await MeteoProcess.run(["ingest", "--once"] + common, environment: env)
                #expect(r.status == 0, "\(r.stderr)")
                // Every 15 min would be 2,976 polls × 243.1 calls in a 31-day month, over 300,000:
                // 45 min makes 992 polls, 241,155.2 calls.
                #expect(r.stderr.contains("Interval auto: 45 min, the shortest 15-minute step at which 187 places fit the Open-Meteo free plan (241,155.2 of 300,000 calls a month)"))
                #expect(r.stdout.contains("published 187 events"), "\(r.stdout)")
            }
            // The second run's count started where the first left it.
            let plan = try await MeteoProcess.run(["plan", "--format", "json"] + common, environment: env)
            let spent = try json(plan.stdout)["spent"]
            let day = try #require(spent?["day"]?["calls"])
            #expect(day == .number(2 * 243.1))   // 2 × 187 places × 1.3
            #expect(stub.openMeteoQuota.stats.accepted == 2 && stub.openMeteoQuota.stats.totalRefused == 0)

            let refused = try await MeteoProcess.run(["ingest", "--once", "--interval", "10m"] + common, environment: env)
            refused.expectRefused()
            #expect(refused.stderr == "meteo: error: 187 places × 13 variables every 10 min need 35,006.4 calls a day; the Open-Meteo free plan allows 10,000: use --interval 45m, at most 51 places, or an API key (METEO_OPEN_METEO_API_KEY)\n")
            #expect(stub.openMeteoQuota.stats.accepted == 2, "a refused run sends nothing")
            // Forced, a small region (17 places, 22.1 calls: the minute still has room for it).
            let small = ["--data-dir", dir.path, "--open-meteo-url", stub.forecastURL, "--regions", "AfriqueS"]
            let forced = try await MeteoProcess.run(["ingest", "--once", "--interval", "1m", "--over-quota"] + small, environment: env)
            #expect(forced.status == 0, "\(forced.stderr)")
            #expect(forced.stderr.contains("warning: --over-quota: 17 places × 13 variables every 1 min need 31,824 calls a day"))
            #expect(forced.stdout.contains("published 17 events"))
            #expect(forced.stderr.contains("The quota limiter holds requests back, so polls will run late."))
        }
    }

    @Test func pollingOpenMeteoMoreOftenThanItsModelStepOnlyRepeats() async throws {
        // The stub's clock stands still: its current block never moves, as within one 15-minute step.
        var options = WeatherAPIStub.Options()
        options.clock = VirtualClock(start: ISO8601.date(from: "2026-12-07T10:05:00Z")!)
        try await WeatherAPIStub.with(options) { stub in
            let dir = MeteoProcess.temporaryDataDir()
            defer { try? FileManager.default.removeItem(at: dir) }
            let r = try await MeteoProcess.run(["ingest", "--ticks", "2", "--interval", "1s", "--over-quota", "--regions", "AfriqueS",
                                          "--data-dir", dir.path, "--open-meteo-url", stub.forecastURL],
                                         environment: ["METEO_OPEN_METEO_API_KEY": ""])
            #expect(r.status == 0, "\(r.stderr)")
            #expect(r.stderr.contains("warning: Open-Meteo's current weather changes every 15 min; polling every 1 s only repeats observations"))
            #expect(r.stderr.contains("poll 1: published 17 events"))
            #expect(r.stderr.contains("poll 2: published 0 events, 17 unchanged since the last poll"))
            #expect(r.stdout.contains("published 17 events in 2 poll(s)"))
            #expect(stub.openMeteoQuota.stats.accepted == 2)
        }
    }
}
