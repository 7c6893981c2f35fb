import ArgumentParser
import Foundation
import MeteoCore
import MeteoSources

struct PlanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Show what polling (or a backfill) asks of the provider's plan, and what would fit.",
        discussion: """
        Open-Meteo counts weighted calls, not HTTP requests:
          weight = max(1, variables / 10) × max(1, days / 14) × places
        Its free plan allows 600 calls a minute, 5,000 an hour, 10,000 a day and 300,000 a \\
        month per IP address (non-commercial use); the hour and the day reset on UTC \\
        boundaries. Meteo asks for 13 current variables (1.3 calls a place), so one poll of the \\
        ten regions' 1,630 places weighs 2,119 calls. OpenWeatherMap's free plan allows 60 \\
        calls a minute and 1,000,000 a month, one place a call.

        For the selection, the interval and the plan, this prints the calls per poll and per \\
        minute, hour, day and month (a month counted as 31 days), the plan's limits, whether \\
        it fits, the shortest interval that fits (on a 15-minute step: Open-Meteo's current \\
        weather moves every 15 minutes) and the most places that fit at this interval, plus \\
        what the quota counts in the data dir have spent. With --since it also estimates a \\
        backfill of hourly history over that range.

        Plans: free (the default), api-key (METEO_OPEN_METEO_API_KEY in the environment; the \\
        customer endpoint; limits from --quota, by default the Standard subscription's \\
        1,000,000 a month), self-hosted (no limits: Open-Meteo's server is open source).

        Examples:
          meteo plan                                   the ten regions, --interval auto
          meteo plan --interval 10m --format json      the default selection every 10 minutes
          meteo plan --regions EuropeW --interval 1h
          meteo plan --source openweathermap --places 'Strasbourg;Paris,FR'
          meteo plan --quota day=50000,month=1000000 --interval 30m
          meteo plan --since 2025-01-01 --until 2025-12-31   a year of history
        """
    )

    @OptionGroup var common: CommonOptions
    @OptionGroup var selection: SelectionOptions
    @OptionGroup(title: "Provider plan") var planOptions: PlanOptions

    @Option(help: "open-meteo, openweathermap, replay or synthetic (METEO_SOURCE).")
    var source: String?

    @Option(help: ArgumentHelp("Time between polls: auto (the shortest 15-minute step that fits), or 10m, 1h, 5h15m (METEO_INTERVAL).", valueName: "duration"))
    var interval: String?

    @Option(name: .customLong("open-meteo-url"), help: ArgumentHelp("Open-Meteo forecast endpoint (METEO_OPEN_METEO_URL); accepted so that ingest's flags work here too.", valueName: "url"))
    var openMeteoURL: String?

    @Option(help: ArgumentHelp("Also estimate a backfill of hourly history from this day (2025-01-01, or an age such as 30d).", valueName: "date"))
    var since: String?

    @Option(help: ArgumentHelp("Last day of the backfill (default: today).", valueName: "date"))
    var until: String?

    @Option(help: "table or json.")
    var format: OutputFormat = .table

    func run() async throws {
        try await runReportingErrors {
            let logger = common.bootstrapLogging()
            var extra = selection.flags
            extra["source"] = source
            extra["interval"] = interval
            extra["open-meteo-url"] = openMeteoURL
            extra.merge(planOptions.flags) { _, new in new }
            let configuration = try common.configuration(extra: extra)
            let catalogue = try PlaceCatalogue.bundled()
            let places = try configuration.selectedPlaces(in: catalogue)
            let schedule = try Planning.schedule(configuration, places: places.count)
            let planner = Planning.planner(configuration)
            var usage: [QuotaUsage] = []
            let quotaDir = URL(fileURLWithPath: configuration.dataDir).appendingPathComponent("quota")
            if let plan = configuration.providerPlan, !plan.isUnlimited,
               FileManager.default.fileExists(atPath: quotaDir.appendingPathComponent("\(plan.ledgerName).json").path) {
                usage = try QuotaLedger(plan: plan, directory: quotaDir, logger: logger).usage()
            }
            var backfill: (BackfillEstimate, Int64, Int64)?
            if let since {
                let plan = try Planning.historyPlan(configuration)
                let (first, last) = try BackfillRange.days(since: since, until: until)
                let (planner, chunks) = Planning.backfillChunks(
                    plan: plan, needs: places.map { .init(placeID: $0.id, firstDay: first, lastDay: last) }, today: BackfillPlanner.day(Date()))
                backfill = (planner.estimate(chunks), first, last)
            }
            switch format {
            case .json:
                Terminal.out(json(configuration, places: places.count, schedule: schedule, planner: planner, usage: usage, backfill: backfill))
            case .table, .csv:
                Terminal.out(table(configuration, places: places.count, schedule: schedule, planner: planner, usage: usage, backfill: backfill))
            }
        }
    }

    private func json(_ configuration: MeteoConfiguration, places: Int, schedule: Planning.Schedule, planner: QuotaPlanner?,
                      usage: [QuotaUsage], backfill: (BackfillEstimate, Int64, Int64)?) -> String {
        var w = JSONWriter(capacity: 1024)
        w.key("source", first: true)
        w.string(configuration.source.rawValue)
        w.raw(",\"plan\":")
        if let plan = configuration.providerPlan { w.string(plan.tier.rawValue) } else { w.raw("null") }
        w.raw(",\"plan_name\":")
        if let plan = configuration.providerPlan { w.string(plan.name) } else { w.raw("null") }
        w.key("places"); w.number(places)
        w.key("variables"); if let planner { w.number(planner.variables) } else { w.raw("null") }
        w.key("interval_s"); w.number(Int(schedule.interval.seconds.rounded()))
        w.key("interval_auto"); w.raw(schedule.auto ? "true" : "false")
        let e = schedule.estimate
        w.key("places_per_request"); if let planner { w.number(planner.placesPerRequest) } else { w.raw("null") }
        w.key("requests_per_poll"); if let e { w.number(e.requestsPerPoll) } else { w.raw("null") }
        w.key("calls_per_poll"); if let e { w.number(rounded(e.callsPerPoll)) } else { w.raw("null") }
        for window in QuotaWindow.allCases {
            w.key("calls_per_\(window.rawValue)")
            if let calls = e?.calls[window], calls.isFinite { w.number(rounded(calls)) } else { w.raw("null") }
        }
        w.key("limits")
        w.raw("{")
        for (i, window) in QuotaWindow.allCases.enumerated() {
            w.key(window.rawValue, first: i == 0)
            w.optional(configuration.providerPlan?.limits[window])
        }
        w.raw("}")
        w.key("fits"); w.raw(e?.fits ?? true ? "true" : "false")
        w.key("over")
        w.raw("[")
        for (i, window) in (e?.overWindows ?? []).enumerated() {
            if i > 0 { w.raw(",") }
            w.string(window.rawValue)
        }
        w.raw("]")
        w.key("shortest_interval_s")
        if let planner {
            if let s = planner.shortestInterval(places: places) { w.number(Int(s)) } else { w.raw("null") }
        } else {
            w.number(Int(Planning.defaultInterval.seconds))
        }
        w.key("max_places")
        if let planner, let n = planner.maxPlaces(intervalSeconds: Int64(schedule.interval.seconds.rounded())) { w.number(n) } else { w.raw("null") }
        w.key("spent")
        w.raw("{")
        for (i, u) in usage.enumerated() {
            w.key(u.window.rawValue, first: i == 0)
            w.raw("{\"calls\":"); w.number(rounded(u.spent))
            w.raw(",\"limit\":"); w.optional(u.limit)
            w.raw(",\"resets_at\":"); w.string(ISO8601.string(from: u.resetsAt))
            w.raw("}")
        }
        w.raw("}")
        if let (estimate, first, last) = backfill {
            w.key("backfill")
            w.raw("{\"since\":"); w.string(BackfillPlanner.date(first))
            w.raw(",\"until\":"); w.string(BackfillPlanner.date(last))
            w.raw(",\"place_days\":"); w.number(places * Int(last - first + 1))
            w.raw(",\"observations\":"); w.number(estimate.observations)
            w.raw(",\"requests\":"); w.number(estimate.requests)
            w.raw(",\"calls\":"); w.number(rounded(estimate.calls))
            w.raw(",\"minimum_duration_s\":"); w.number(Int(estimate.minimumSeconds))
            w.raw("}")
        }
        w.raw("}")
        return "{" + String(decoding: w.bytes, as: UTF8.self)
    }

    private func rounded(_ x: Double) -> Double { (x * 1000).rounded() / 1000 }

    private func table(_ configuration: MeteoConfiguration, places: Int, schedule: Planning.Schedule, planner: QuotaPlanner?,
                       usage: [QuotaUsage], backfill: (BackfillEstimate, Int64, Int64)?) -> String {
        var lines: [String] = []
        guard let planner, let e = schedule.estimate else {
            lines.append("\(formatCount(places)) places, source \(configuration.source.rawValue): no provider quota; polling every \(LivePlan.duration(schedule.interval.seconds)).")
            return lines.joined(separator: "\n")
        }
        let plan = planner.plan
        lines.append("Plan: \(plan.name); source \(configuration.source.rawValue)")
        var what = "\(formatCount(places)) places"
        if plan.provider == .openMeteo {
            what += " × \(planner.variables) variables = \(formatCalls(e.callsPerPoll)) calls a poll (\(formatCalls(planner.placeWeight)) a place)"
        } else {
            what += " = \(formatCalls(e.callsPerPoll)) calls a poll (one a place)"
        }
        lines.append(what + ", in \(e.requestsPerPoll) request\(e.requestsPerPoll == 1 ? "" : "s") of up to \(formatCount(planner.placesPerRequest)) places")
        lines.append("Every \(LivePlan.duration(Double(e.intervalSeconds)))\(schedule.auto ? " (auto: the shortest 15-minute step that fits)" : ""):")
        var t = TextTable(headers: ["window", "calls", "limit", "fits", "spent now", "resets (UTC)"], rightAligned: [1, 2, 4])
        for window in QuotaWindow.allCases {
            let calls = e.calls[window] ?? 0
            let limit = plan.limits[window].map(formatCalls) ?? "none"
            let u = usage.first { $0.window == window }
            t.rows.append([
                "a\(window == .hour ? "n" : "") \(window == .month ? "month (31 d)" : window.rawValue)",
                calls.isFinite ? formatCalls(calls) : "∞", limit, e.fitsByWindow[window] == true ? "yes" : "NO",
                u.map { formatCalls($0.spent) } ?? "–",
                u.map { String(ISO8601.string(from: $0.resetsAt).replacingOccurrences(of: "T", with: " ").prefix(16)) } ?? "–",
            ])
        }
        lines.append(t.render())
        if e.fits {
            lines.append("Fits \(plan.name).")
        } else {
            lines.append("Does NOT fit: \(e.refusal())")
        }
        if let s = planner.shortestInterval(places: places) {
            lines.append("Shortest interval that fits: \(LivePlan.duration(Double(s))) (--interval \(LivePlan.flag(s)))")
        } else {
            lines.append("No interval fits this selection on this plan.")
        }
        if let n = planner.maxPlaces(intervalSeconds: e.intervalSeconds) {
            lines.append("Most places at this interval: \(formatCount(n))")
        }
        if let (estimate, first, last) = backfill {
            lines.append("")
            lines.append("Backfill \(BackfillPlanner.date(first)) … \(BackfillPlanner.date(last)) (\(last - first + 1) days × \(formatCount(places)) places): \(formatCount(estimate.observations)) hourly observations in \(formatCount(estimate.requests)) requests, \(formatCalls(estimate.calls)) calls; at least \(LivePlan.duration(estimate.minimumSeconds.rounded(.up))) on this plan")
        }
        return lines.joined(separator: "\n")
    }
}

/// The days of a backfill: `--since` and `--until` as dates (`2025-01-01`), ISO times, or ages
/// (`30d`), as whole UTC days; `--until` defaults to today.
enum BackfillRange {
    static func days(since: String, until: String?, now: Date = Date()) throws -> (Int64, Int64) {
        func day(_ text: String, flag: String) throws -> Int64 {
            let t = text.trimmingCharacters(in: .whitespaces)
            if t.count == 10, let d = ISO8601.date(from: t + "T00:00:00Z") { return BackfillPlanner.day(d) }
            return BackfillPlanner.day(try QueryCommand.parseTime(t, flag: flag, now: now))
        }
        let first = try day(since, flag: "--since")
        let last = try until.map { try day($0, flag: "--until") } ?? BackfillPlanner.day(now)
        guard first <= last else {
            throw MeteoError(code: .invalidConfiguration, "--since \(since) is after --until \(until ?? "today"): give the first day, then the last")
        }
        guard first >= BackfillPlanner.day(ISO8601.date(from: "1940-01-01T00:00:00Z")!) else {
            throw MeteoError(code: .invalidConfiguration, "--since \(since) is before 1940: Open-Meteo's archive starts on 1940-01-01")
        }
        return (first, last)
    }
}
