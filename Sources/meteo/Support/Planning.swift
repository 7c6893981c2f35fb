import Foundation
import MeteoCore
import MeteoSources

/// The one place that turns a configuration into a polling schedule inside the provider plan:
/// `meteo ingest` follows it, `meteo plan` prints it.
enum Planning {
    /// The planner of a live poll for the configured source; nil for the sources that call no
    /// API (synthetic, replay).
    static func planner(_ configuration: MeteoConfiguration) -> QuotaPlanner? {
        guard let plan = configuration.providerPlan else { return nil }
        switch plan.provider {
        case .openMeteo: return OpenMeteoSource.planner(plan)
        case .openWeatherMap: return QuotaPlanner(plan: plan, variables: 1)
        }
    }

    /// The schedule of `places` places: the interval asked for, or with `--interval auto` the
    /// shortest 15-minute step that fits; and what it asks of the plan.
    struct Schedule {
        var interval: Duration
        var estimate: LivePlan?
        var auto: Bool
    }

    /// The sources without a quota poll every 600 s unless told otherwise.
    static let defaultInterval: Duration = .seconds(600)

    static func schedule(_ configuration: MeteoConfiguration, places: Int) throws(MeteoError) -> Schedule {
        guard let planner = planner(configuration) else {
            return Schedule(interval: configuration.autoInterval ? defaultInterval : configuration.interval, estimate: nil,
                            auto: configuration.autoInterval)
        }
        if configuration.autoInterval {
            guard let seconds = planner.shortestInterval(places: places) else {
                let most = planner.maxPlaces(intervalSeconds: QuotaPlanner.longestInterval).map { "at most \(formatCount($0)) places fit even polling once every 31 days" } ?? ""
                throw MeteoError(code: .invalidConfiguration,
                                 "\(formatCount(places)) places do not fit \(planner.plan.name) at any interval: \(most); select fewer places, or raise --quota to your subscription's limits")
            }
            return Schedule(interval: .seconds(seconds), estimate: planner.estimate(places: places, interval: .seconds(seconds)), auto: true)
        }
        return Schedule(interval: configuration.interval, estimate: planner.estimate(places: places, interval: configuration.interval), auto: false)
    }

    /// The requests of a backfill of `needs` under `plan`, cut by the one planner that `meteo
    /// plan` prints and `meteo backfill` follows, so that their figures agree.
    static func backfillChunks(plan: ProviderPlan, needs: [BackfillPlanner.Need], today: Int64) -> (BackfillPlanner, [BackfillChunk]) {
        let planner = OpenMeteoHistory.planner(plan)
        return (planner, planner.chunks(needs, today: today))
    }

    /// The plan of a backfill: Open-Meteo's, whatever `--source` says (history comes from its
    /// archive).
    static func historyPlan(_ configuration: MeteoConfiguration) throws(MeteoError) -> ProviderPlan {
        guard let plan = configuration.providerPlan, plan.provider == .openMeteo else {
            throw MeteoError(code: .invalidConfiguration, "a backfill comes from Open-Meteo's archive: use --source open-meteo (the default) with --since")
        }
        return plan
    }

    /// `8,476 of 10,000 calls a day` for the tightest window of a schedule that fits.
    static func headroom(_ estimate: LivePlan) -> String {
        let tightest = QuotaWindow.allCases.compactMap { w -> (QuotaWindow, Double, Double)? in
            guard let limit = estimate.plan.limits[w], let calls = estimate.calls[w], w.plannedSeconds > estimate.intervalSeconds else { return nil }
            return (w, calls, limit)
        }.max { $0.1 / $0.2 < $1.1 / $1.2 }
        guard let (window, calls, limit) = tightest else { return "\(formatCalls(estimate.callsPerPoll)) calls a poll" }
        return "\(formatCalls(calls)) of \(formatCalls(limit)) calls a\(window == .hour ? "n" : "") \(window.rawValue)"
    }
}
