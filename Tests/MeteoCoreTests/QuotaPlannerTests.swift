import Foundation
import MeteoCore
import Testing

/// The planner's numbers, each checked by hand against Open-Meteo's documented rules:
/// weight = max(1, variables / 10) × max(1, days / 14) × places; free plan 600 a minute,
/// 5,000 an hour, 10,000 a day, 300,000 a month.
@Suite("Quota planner")
struct QuotaPlannerTests {
    let free = QuotaPlanner(plan: .openMeteoFree, variables: 13)
    /// The ten regions' places.
    let regions = 1_630

    @Test func weightFormula() {
        #expect(CallWeight.openMeteo(variables: 13, days: 1) == 1.3)
        #expect(CallWeight.openMeteo(variables: 5, days: 1) == 1)          // at least one call a place
        #expect(CallWeight.openMeteo(variables: 10, days: 14) == 1)
        #expect(abs(CallWeight.openMeteo(variables: 12, days: 30) - 1.2 * 30 / 14) < 1e-12)
        #expect(CallWeight.openMeteo(variables: 5, days: 28) == 2)         // days count even under 10 variables
        #expect(abs(CallWeight.openMeteo(variables: 13, days: 1, places: 1_630) - 2_119) < 1e-9)
    }

    @Test func requestsFitOneMinute() {
        // 461 × 1.3 = 599.3 ≤ 600 < 462 × 1.3 = 600.6.
        #expect(free.placesPerRequest == 461)
        let weights = free.requestWeights(places: regions)
        #expect(weights.count == 4)
        #expect(weights.prefix(3).allSatisfy { abs($0 - 599.3) < 1e-9 })
        #expect(abs(weights[3] - 247 * 1.3) < 1e-9)  // 1,630 − 3 × 461 = 247 places
        #expect(abs(weights.reduce(0, +) - 2_119) < 1e-9)
        // A self-hosted server has no minute limit: Open-Meteo's own cap of 1,000 a request.
        #expect(QuotaPlanner(plan: .openMeteoSelfHosted, variables: 13).placesPerRequest == 1_000)
        #expect(QuotaPlanner(plan: .openWeatherMapFree, variables: 1).placesPerRequest == 1)
    }

    @Test func defaultSelectionEveryTenMinutesDoesNotFit() {
        let e = free.estimate(places: regions, interval: .seconds(600))
        #expect(abs(e.callsPerPoll - 2_119) < 1e-9)
        // 144 polls a day × 2,119 = 305,136; 6 polls an hour × 2,119 = 12,714; a 31-day month
        // holds 4,464 polls × 2,119 = 9,459,216.
        #expect(abs(e.calls[.day]! - 305_136) < 1e-6)
        #expect(abs(e.calls[.hour]! - 12_714) < 1e-6)
        #expect(abs(e.calls[.month]! - 9_459_216) < 1e-6)
        // The poll spreads over 4 minutes of at most 599.3 calls each, well inside 10 minutes.
        #expect(e.fitsByWindow[.minute] == true)
        #expect(abs(e.calls[.minute]! - 599.3) < 1e-9)
        #expect(!e.fits)
        #expect(e.overWindows == [.hour, .day, .month])
        #expect(e.requestsPerPoll == 4)
    }

    @Test func shortestIntervalAndMostPlaces() {
        // 5h45m leaves 5 poll starts in some UTC days: 5 × 2,119 = 10,595 > 10,000. 6h makes 4
        // (8,476), and a 31-day month 124 (262,756 ≤ 300,000).
        #expect(!free.fits(places: regions, intervalSeconds: 5 * 3600 + 45 * 60))
        #expect(free.fits(places: regions, intervalSeconds: 6 * 3600))
        #expect(free.shortestInterval(places: regions) == Int64(6 * 3600))
        #expect(free.shortestInterval(places: regions)! >= 5 * 3600 + 5 * 60)  // 10,000 / 2,119 polls a day at best
        // Every 10 min: 144 polls a day allow 53 places (9,921.6), but a 31-day month of 4,464
        // polls allows 51 (295,957.4), not 52 (301,760.4).
        #expect(free.maxPlaces(intervalSeconds: 600) == 51)
        #expect(free.fits(places: 51, intervalSeconds: 600))
        #expect(!free.fits(places: 52, intervalSeconds: 600))
        // Once an hour: 24 × 1.3 × n ≤ 10,000 → 320 (9,984); a month of 744 polls: 310 (299,832).
        #expect(free.maxPlaces(intervalSeconds: 3600) == 310)
    }

    @Test func refusalSaysWhatWouldFit() {
        let line = free.estimate(places: regions, interval: .seconds(600)).refusal()
        #expect(line == "1,630 places × 13 variables every 10 min need 305,136 calls a day; the Open-Meteo free plan allows 10,000: use --interval 6h, at most 51 places, or an API key (METEO_OPEN_METEO_API_KEY)")
        #expect(parseDuration("6h") == .seconds(21_600))
    }

    @Test func aPollHeavierThanAnHourNeedsSeveralHours() {
        // 10,000 places × 1.3 = 13,000 calls: three hours of 5,000 at least, and more than a
        // day's 10,000, so a poll spreads over two days.
        let e = free.estimate(places: 10_000, interval: .seconds(86_400))
        #expect(e.fitsByWindow[.hour] == true)   // 3 hours ≤ 24 h
        #expect(e.fitsByWindow[.day] == false)
        #expect(free.shortestInterval(places: 10_000) == Int64(2 * 86_400))
        // 300,000 a month: 250,000 places (325,000 calls) fit no interval of at most 31 days.
        #expect(free.shortestInterval(places: 250_000) == nil)
        let hourly = free.estimate(places: 5_000, interval: .seconds(2 * 3600))   // 6,500 calls: 2 hours, fits exactly
        #expect(hourly.fitsByWindow[.hour] == true)
        #expect(free.estimate(places: 8_000, interval: .seconds(2 * 3600)).fitsByWindow[.hour] == false)  // 10,400 → 3 hours
    }

    @Test func openWeatherMapFreePlan() {
        let owm = QuotaPlanner(plan: .openWeatherMapFree, variables: 1)
        // 60 calls a minute: 1,630 places take 28 minutes, more than 10.
        let e = owm.estimate(places: regions, interval: .seconds(600))
        #expect(e.fitsByWindow[.minute] == false)
        #expect(abs(e.callsPerPoll - 1_630) < 1e-9)
        // A month: ⌈31 × 86,400 / 4,500⌉ = 596 polls × 1,630 = 971,480 ≤ 1,000,000 at 1h15m;
        // 1h gives 744 × 1,630 = 1,212,720.
        #expect(owm.shortestInterval(places: regions) == 4_500)
        #expect(owm.maxPlaces(intervalSeconds: 600) == 224)  // 4,464 polls × 224 = 999,936; also 224 ≤ 10 × 60
    }

    @Test func selfHostedHasNoLimit() {
        let planner = QuotaPlanner(plan: .openMeteoSelfHosted, variables: 13)
        #expect(planner.fits(places: 100_000, intervalSeconds: 60))
        #expect(planner.shortestInterval(places: 100_000) == QuotaPlanner.step)
        #expect(planner.maxPlaces(intervalSeconds: 60) == nil)
    }

    @Test func quotaOverridesParse() throws {
        let parsed = try #require(ProviderPlan.parseLimits("minute=1000, day=20_000,month=none"))
        let plan = ProviderPlan.openMeteoFree.with(limits: parsed)
        #expect(plan.limits == [.minute: 1_000, .hour: 5_000, .day: 20_000])
        #expect(plan.customLimits)
        #expect(ProviderPlan.openMeteoFree.with(limits: try #require(ProviderPlan.parseLimits("none"))).isUnlimited)
        #expect(ProviderPlan.parseLimits("week=5") == nil)
        #expect(ProviderPlan.parseLimits("day=-1") == nil)
        #expect(ProviderPlan.parseLimits("day") == nil)
        #expect(ProviderPlan.parseLimits("") == nil)
    }

    @Test func configurationChoosesThePlan() throws {
        var c = try MeteoConfiguration.resolve(ConfigLayers())
        #expect(c.autoInterval)
        #expect(c.providerPlan == .openMeteoFree)
        #expect(c.openMeteoURL == "https://api.open-meteo.com/v1/forecast")
        c = try MeteoConfiguration.resolve(ConfigLayers(environment: ["METEO_OPEN_METEO_API_KEY": "k3y-s3cr3t"]))
        #expect(c.providerPlan?.tier == .apiKey)
        #expect(c.openMeteoURL == "https://customer-api.open-meteo.com/v1/forecast")
        #expect(c.archiveURL == "https://customer-archive-api.open-meteo.com/v1/archive")
        #expect(!"\(c.openMeteoAPIKey!)".contains("k3y"))
        c = try MeteoConfiguration.resolve(ConfigLayers(flags: ["plan": "self-hosted", "open-meteo-url": "http://meteo.lan:8080/v1/forecast", "interval": "15m"]))
        #expect(c.providerPlan?.isUnlimited == true)
        #expect(!c.autoInterval && c.interval == .seconds(900))
        c = try MeteoConfiguration.resolve(ConfigLayers(flags: ["quota": "day=20000", "interval": "auto"]))
        #expect(c.providerPlan?.limits[.day] == 20_000 && c.autoInterval)
        c = try MeteoConfiguration.resolve(ConfigLayers(flags: ["source": "synthetic"]))
        #expect(c.providerPlan == nil)
        let noKey = try #require(throws: MeteoError.self) { try MeteoConfiguration.resolve(ConfigLayers(flags: ["plan": "api-key"])) }
        #expect(noKey.message.contains("METEO_OPEN_METEO_API_KEY"))
        let badPlan = try #require(throws: MeteoError.self) { try MeteoConfiguration.resolve(ConfigLayers(flags: ["plan": "gold"])) }
        #expect(badPlan.message == "invalid --plan 'gold' (from flag --plan): expected auto, free, api-key or self-hosted")
        let badQuota = try #require(throws: MeteoError.self) { try MeteoConfiguration.resolve(ConfigLayers(environment: ["METEO_QUOTA": "lots"])) }
        #expect(badQuota.message.hasPrefix("invalid --quota 'lots' (from environment variable METEO_QUOTA)"))
    }

    @Test func compoundDurations() {
        #expect(parseDuration("5h15m") == .seconds(18_900))
        #expect(parseDuration("1d12h") == .seconds(129_600))
        #expect(parseDuration("1h30m15s") == .seconds(5_415))
        #expect(parseDuration("10min") == .seconds(600))
        #expect(parseDuration("5h15") == nil)
        #expect(parseDuration("h") == nil)
        #expect(parseDuration("1x") == nil)
        for s: Int64 in [0, 45, 600, 900, 3_600, 18_900, 21_600, 86_400, 129_600, 2_678_400] {
            #expect(parseDuration(LivePlan.flag(s)) == .seconds(s), "\(LivePlan.flag(s))")
        }
        #expect(LivePlan.flag(18_900) == "5h15m")
        #expect(LivePlan.duration(600) == "10 min")
    }

    @Test func utcWindows() throws {
        let t = try #require(ISO8601.date(from: "2026-12-31T23:59:30.5Z"))
        #expect(ISO8601.string(from: QuotaWindow.minute.start(of: t)) == "2026-12-31T23:59:00Z")
        #expect(ISO8601.string(from: QuotaWindow.hour.end(of: t)) == "2027-01-01T00:00:00Z")
        #expect(ISO8601.string(from: QuotaWindow.day.start(of: t)) == "2026-12-31T00:00:00Z")
        #expect(ISO8601.string(from: QuotaWindow.month.start(of: t)) == "2026-12-01T00:00:00Z")
        #expect(ISO8601.string(from: QuotaWindow.month.end(of: t)) == "2027-01-01T00:00:00Z")
        let leap = try #require(ISO8601.date(from: "2028-02-10T12:00:00Z"))
        #expect(ISO8601.string(from: QuotaWindow.month.end(of: leap)) == "2028-03-01T00:00:00Z")
        #expect(QuotaWindow(name: "Daily") == .day && QuotaWindow(name: "Minutely") == .minute && QuotaWindow(name: "weekly") == nil)
    }

    @Test func backfillChunks() {
        let planner = BackfillPlanner(plan: .openMeteoFree, archiveVariables: 12, recentVariables: 13, archiveLagDays: 5)
        let today: Int64 = 20_000
        let ids = (0..<1_630).map { "p\($0)" }
        // 30 days that the archive holds: one range, 12 × 30 / 14 per place.
        let needs = ids.map { BackfillPlanner.Need(placeID: $0, firstDay: today - 40, lastDay: today - 11) }
        let chunks = planner.chunks(needs, today: today)
        let perPlace = 1.2 * 30 / 14
        #expect(chunks.allSatisfy { $0.endpoint == .archive && $0.days == 30 })
        #expect(chunks.allSatisfy { $0.weight <= 600 && $0.hours <= 100_000 })
        // 100,000 rows / 720 hours = 138 places a request: 12 requests (11 × 138 + 112).
        #expect(chunks.map(\.placeIDs.count) == Array(repeating: 138, count: 11) + [112])
        #expect(abs(chunks.reduce(0) { $0 + $1.weight } - 1_630 * perPlace) < 1e-6)
        #expect(Set(chunks.flatMap(\.placeIDs)) == Set(ids))
        #expect(chunks.reduce(0) { $0 + $1.hours } == 1_630 * 720)
        // A year is cut into 12 near-equal parts of 30 or 31 days.
        let year = planner.chunks([.init(placeID: "a", firstDay: today - 400, lastDay: today - 36)], today: today)
        #expect(year.count == 12 && year.allSatisfy { (30...31).contains($0.days) })
        #expect(year.first!.firstDay == today - 400 && year.last!.lastDay == today - 36)
        // Days the archive does not hold yet come from the forecast API; future days are dropped.
        let recent = planner.chunks([.init(placeID: "a", firstDay: today - 7, lastDay: today + 3)], today: today)
        #expect(recent.map(\.endpoint) == [.archive, .recent])
        #expect(recent[0].firstDay == today - 7 && recent[0].lastDay == today - 5)
        #expect(recent[1].firstDay == today - 4 && recent[1].lastDay == today)
        #expect(Set(recent.map(\.key)).count == 2)
        let estimate = planner.estimate(chunks)
        #expect(estimate.requests == 12 && estimate.observations == 1_630 * 720)
        // 4,191.4 calls take 7 minutes of at most 600: the last starts 6 minutes after the first.
        #expect(estimate.minimumSeconds == 6 * 60)
    }
}
