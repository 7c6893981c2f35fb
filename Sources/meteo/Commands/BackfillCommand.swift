import ArgumentParser
import Foundation
import Logging
import MeteoCore
import MeteoPipeline
import MeteoSources
import ServiceLifecycle
import Synchronization
import UnixSignals

struct BackfillCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backfill",
        abstract: "Fill the bus with hourly history from Open-Meteo's archive, inside the plan's quota; resumable.",
        discussion: """
        Asks Open-Meteo's historical archive (/v1/archive) for hourly observations of the \
        selected places over whole UTC days, and for the last days, which the archive does not \
        hold yet, the forecast API's past_days. Each hour becomes the same event as live \
        ingestion, keyed by place id, on the same bus: 'meteo sink' stores it, and an hour that \
        is already stored (from live polling or an earlier backfill) is overwritten, never \
        duplicated. Observations are labelled open-meteo-archive (the archive) or \
        open-meteo-recent (past_days). The archive has no visibility: it is null there. Hours \
        after now are not stored; an hour whose values are all null (not there yet) is counted, \
        never stored.

        The requests are the ones 'meteo plan --since … --until …' shows, and each waits for \
        its weight in the quota counts of <data-dir>/quota that live polling uses too, so the \
        backfill stays inside the plan ("waiting for the hourly quota: 23 min"). A 429 naming a \
        window waits for its reset.

        Resumable: each request is recorded in <data-dir>/backfill/ once the bus has \
        acknowledged all its events; run the same command again after a crash, Ctrl-C or \
        SIGTERM (which finish what the bus was given) and it goes on from there. With \
        --fill-gaps it asks only for the place-days that have hours missing from the store \
        ('meteo gaps' lists them; run 'meteo sink --until-idle' first, since it reads the store).

        Examples:
          meteo backfill --since 2025-01-01 --until 2025-12-31   a year, ten regions
          meteo backfill --since 30d --places 'Strasbourg;Paris,FR'
          meteo backfill --since 2025-01-01 --fill-gaps          what the store lacks
          meteo backfill --since 30d --format json               a summary for scripts
          meteo backfill --since 2025-01-01 --plan self-hosted \\
              --archive-url http://my-server:8080/v1/archive
        """
    )

    @OptionGroup var common: CommonOptions
    @OptionGroup var selection: SelectionOptions

    @Option(help: ArgumentHelp("First day (UTC): 2025-01-01, or an age such as 30d.", valueName: "date"))
    var since: String

    @Option(help: ArgumentHelp("Last day (UTC), included (default: today; hours after now are not asked for).", valueName: "date"))
    var until: String?

    @Flag(name: .customLong("fill-gaps"), help: "Ask only for the place-days that have hours missing from the store (see meteo gaps).")
    var fillGaps = false

    @Option(name: .customLong("archive-url"), help: ArgumentHelp("Open-Meteo archive endpoint (METEO_ARCHIVE_URL).", valueName: "url"))
    var archiveURL: String?

    @Option(name: .customLong("open-meteo-url"), help: ArgumentHelp("Open-Meteo forecast endpoint, for the recent days (METEO_OPEN_METEO_URL).", valueName: "url"))
    var openMeteoURL: String?

    @OptionGroup(title: "Provider plan") var planOptions: PlanOptions
    @OptionGroup(title: "Bus") var busOptions: BusOptions
    @OptionGroup(title: "Store (for --fill-gaps)") var storeOptions: StoreOptions

    @Option(help: "Bus topic (METEO_TOPIC).")
    var topic: String?

    @Option(name: .customLong("max-attempts"), help: "HTTP attempts per request, with backoff (METEO_MAX_ATTEMPTS).")
    var maxAttempts: Int?

    @Option(name: .customLong("http-timeout"), help: ArgumentHelp("HTTP request time-out: 30s (METEO_HTTP_TIMEOUT).", valueName: "duration"))
    var httpTimeout: String?

    @Option(help: "The summary: table or json.")
    var format: OutputFormat = .table

    func run() async throws {
        try await runReportingErrors {
            let logger = common.bootstrapLogging()
            var extra = selection.flags
            extra["source"] = "open-meteo"
            extra["topic"] = topic
            extra["archive-url"] = archiveURL
            extra["open-meteo-url"] = openMeteoURL
            extra["max-attempts"] = maxAttempts.map(String.init)
            extra["http-timeout"] = httpTimeout
            extra.merge(busOptions.flags) { _, new in new }
            extra.merge(storeOptions.flags) { _, new in new }
            extra.merge(planOptions.flags) { _, new in new }
            let configuration = try common.configuration(extra: extra)
            let backends = Backends(configuration: configuration, logger: logger)
            let plan = try Planning.historyPlan(configuration)
            let catalogue = try PlaceCatalogue.bundled()
            let places = try configuration.selectedPlaces(in: catalogue)
            let now = Date()
            let (first, last) = try BackfillRange.days(since: since, until: until, now: now)

            var needs = places.map { BackfillPlanner.Need(placeID: $0.id, firstDay: first, lastDay: last) }
            if fillGaps {
                let store = try await backends.openStore()
                let found = try await HistoryGaps.find(store: store, places: places, firstDay: first, lastDay: last, now: now)
                try await store.close()
                needs = found.gaps.flatMap { HourCoverage.needs(placeID: $0.placeID, missing: $0.missing) }
                Terminal.progress("Gaps in \(backends.storeDescription): \(formatCount(found.missingHours)) hours missing for \(formatCount(found.gaps.count)) of \(formatCount(places.count)) places; asking for \(formatCount(needs.reduce(0) { $0 + Int($1.lastDay - $1.firstDay + 1) })) place-days")
            }
            let (planner, chunks) = Planning.backfillChunks(plan: plan, needs: needs, today: BackfillPlanner.day(now))
            let estimate = planner.estimate(chunks)
            let checkpoint = try BackfillCheckpoint(
                directory: backends.dataDirURL.appendingPathComponent("backfill"),
                request: .init(since: BackfillPlanner.date(first), until: BackfillPlanner.date(last), places: places.count, fillGaps: fillGaps),
                placeIDs: places.map(\.id))

            let quota = try SourceFactory.quotaLedger(config: configuration, logger: logger, onWait: { wait in
                Terminal.progress("  \(wait)")
            })
            let remaining = chunks.filter { !checkpoint.isDone($0) }
            let progress = BackfillProgress(planner: planner, quota: quota, remaining: remaining)
            let source = OpenMeteoArchiveSource(configuration: configuration, quota: quota, logger: logger)
            let publisher = try await backends.makePublisher(topic: configuration.topic)
            let backfill = Backfill(
                source: source, publisher: publisher, checkpoint: checkpoint,
                configuration: .init(topic: configuration.topic, chunks: chunks, places: Dictionary(places.map { ($0.id, $0) }) { a, _ in a }),
                logger: logger,
                onProgress: { p in progress.report(p) })
            Terminal.progress("Backfill \(BackfillPlanner.date(first)) … \(BackfillPlanner.date(last)), \(counted(places.count, "place")), \(plan.name): "
                + "\(counted(estimate.requests, "request")), \(formatCalls(estimate.calls)) calls, \(formatCount(estimate.observations)) hourly observations"
                + (remaining.count < chunks.count ? "; \(formatCount(chunks.count - remaining.count)) done by an earlier run (\(checkpoint.url.path))" : "")
                + " → topic \(configuration.topic) on the \(backends.busDescription)")

            let group = ServiceGroup(configuration: .init(
                services: [.init(service: backfill, successTerminationBehavior: .gracefullyShutdownGroup)],
                gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
            var failure: (any Error)?
            do {
                try await group.run()
            } catch {
                failure = error
            }
            let summary = BackfillSummary(stats: backfill.stats, estimate: estimate, first: first, last: last, places: places.count,
                                          checkpoint: checkpoint.url.path, failure: failure)
            switch format {
            case .json: Terminal.out(summary.json())
            case .table, .csv: Terminal.out(summary.text())
            }
            if let failure { throw failure }
        }
    }
}

/// The progress lines of a backfill on standard error: a bar with the place-days done, the
/// events, the quota spent and left in each window, and an estimate of the time left.
final class BackfillProgress: Sendable {
    private let planner: BackfillPlanner
    private let quota: QuotaLedger?
    /// The chunks this run asks for.
    private let remaining: [BackfillChunk]
    private let done = Mutex(Set<String>())

    init(planner: BackfillPlanner, quota: QuotaLedger?, remaining: [BackfillChunk]) {
        self.planner = planner
        self.quota = quota
        self.remaining = remaining
    }

    func report(_ p: Backfill.Progress) {
        let doneKeys = done.withLock { keys -> Set<String> in
            if let chunk = p.chunk { keys.insert(chunk.key) }
            return keys
        }
        let s = p.stats
        guard p.chunk != nil || s.placeDaysDone < s.placeDays else { return }
        let fraction = s.placeDays == 0 ? 1 : Double(s.placeDaysDone) / Double(s.placeDays)
        let width = 24
        let filled = Int((fraction * Double(width)).rounded(.down))
        var line = "  [" + String(repeating: "#", count: filled) + String(repeating: "·", count: width - filled) + "] "
        line += String(format: "%3.0f%%", fraction * 100)
        line += " \(formatCount(s.placeDaysDone))/\(formatCount(s.placeDays)) place-days, \(formatCount(s.published)) events"
        line += ", " + quotaText()
        line += ", ETA " + eta(p, doneKeys: doneKeys)
        Terminal.progress(line)
    }

    private func quotaText() -> String {
        guard let quota, let usage = try? quota.usage() else { return "no quota" }
        let parts = usage.compactMap { u -> String? in
            guard let limit = u.limit else { return nil }
            return "\(u.window.rawValue) \(formatCalls(u.spent))/\(formatCalls(limit)) (\(formatCalls(max(0, limit - u.spent))) left)"
        }
        return parts.isEmpty ? "no quota" : "calls " + parts.joined(separator: ", ")
    }

    /// From the pace so far, and never less than the plan allows for what is left.
    private func eta(_ p: Backfill.Progress, doneKeys: Set<String>) -> String {
        let s = p.stats
        let left = remaining.filter { !doneKeys.contains($0.key) }
        if left.isEmpty { return "0 s" }
        let doneNow = s.placeDaysDone - placeDaysSkipped(s)
        let leftPlaceDays = left.reduce(0) { $0 + $1.placeIDs.count * $1.days }
        var seconds = planner.estimate(left).minimumSeconds
        if doneNow > 0, p.elapsed > 0 {
            seconds = max(seconds, p.elapsed / Double(doneNow) * Double(leftPlaceDays))
        } else if seconds == 0 {
            return "–"
        }
        return LivePlan.duration(max(1, seconds.rounded(.up)))
    }

    private func placeDaysSkipped(_ s: Backfill.Stats) -> Int {
        s.placeDays - remaining.reduce(0) { $0 + $1.placeIDs.count * $1.days }
    }
}

/// The end of a backfill, as a line for people or a JSON object for scripts.
struct BackfillSummary {
    var stats: Backfill.Stats
    var estimate: BackfillEstimate
    var first: Int64
    var last: Int64
    var places: Int
    var checkpoint: String
    var failure: (any Error)?

    var status: String {
        if failure != nil { return "failed" }
        return stats.skipped + stats.done + stats.incomplete >= stats.chunks ? "done" : "stopped"
    }

    /// Observations per second of the CPU work: decoding, encoding and publishing.
    var observationsPerSecond: Double {
        let busy = stats.timing.decodeSeconds + stats.encodeSeconds + stats.publishSeconds
        return busy > 0 ? Double(stats.published) / busy : 0
    }

    func text() -> String {
        let s = stats
        var line: String
        if s.chunks == 0 && failure == nil {
            line = "nothing to backfill: no place-day of the selection needs it (with --fill-gaps: the store has every hour); published 0 events"
        } else if s.requests == 0 && s.skipped == s.chunks && failure == nil {
            line = "nothing to backfill: an earlier run did the \(counted(s.chunks, "request")) of this backfill (checkpoint \(checkpoint)); published 0 events"
        } else {
            line = "backfill \(status): published \(formatCount(s.published)) events of \(BackfillPlanner.date(first)) … \(BackfillPlanner.date(last)) "
                + "in \(counted(s.requests, "request")) (\(formatCalls(s.calls)) calls)"
            if s.skipped > 0 { line += "; \(formatCount(s.skipped)) done by an earlier run" }
            line += "; \(formatCount(s.placeDaysDone)) of \(formatCount(s.placeDays)) place-days"
            if s.missingHours > 0 { line += "; \(formatCount(s.missingHours)) hours not available yet (all values null), asked again by the next run" }
            if s.failedHours > 0 { line += "; \(formatCount(s.failedHours)) hours refused (impossible values, see the log)" }
            if s.droppedHours > 0 { line += "; \(formatCount(s.droppedHours)) hours after now or outside the days dropped" }
            if status == "stopped" { line += "; run the same command again to go on" }
        }
        return line
    }

    func json() -> String {
        let s = stats
        func r(_ x: Double) -> Double { (x * 1000).rounded() / 1000 }
        var w = JSONWriter(capacity: 1024)
        w.key("status", first: true); w.string(status)
        w.key("since"); w.string(BackfillPlanner.date(first))
        w.key("until"); w.string(BackfillPlanner.date(last))
        w.key("places"); w.number(places)
        w.key("place_days"); w.number(s.placeDays)
        w.key("place_days_done"); w.number(s.placeDaysDone)
        w.key("planned")
        w.raw("{\"requests\":"); w.number(estimate.requests)
        w.raw(",\"calls\":"); w.number(r(estimate.calls))
        w.raw(",\"observations\":"); w.number(estimate.observations)
        w.raw(",\"minimum_duration_s\":"); w.number(Int(estimate.minimumSeconds))
        w.raw("}")
        w.key("requests"); w.number(s.requests)
        w.key("calls"); w.number(r(s.calls))
        w.key("requests_done_before"); w.number(s.skipped)
        w.key("requests_incomplete"); w.number(s.incomplete)
        w.key("published"); w.number(s.published)
        w.key("missing_hours"); w.number(s.missingHours)
        w.key("dropped_hours"); w.number(s.droppedHours)
        w.key("failed_hours"); w.number(s.failedHours)
        w.key("seconds")
        w.raw("{\"quota_wait\":"); w.number(r(s.timing.quotaWaitSeconds))
        w.raw(",\"http\":"); w.number(r(s.timing.httpSeconds))
        w.raw(",\"decode\":"); w.number(r(s.timing.decodeSeconds))
        w.raw(",\"encode\":"); w.number(r(s.encodeSeconds))
        w.raw(",\"publish\":"); w.number(r(s.publishSeconds))
        w.raw("}")
        w.key("observations_per_second"); w.number(observationsPerSecond.rounded())
        w.key("checkpoint"); w.string(checkpoint)
        w.key("error")
        if let failure { w.string(Self.describe(failure)) } else { w.raw("null") }
        return "{" + String(decoding: w.bytes, as: UTF8.self) + "}"
    }

    static func describe(_ error: any Error) -> String {
        (error as? MeteoError)?.message ?? String(describing: error)
    }
}

/// The hours a selection lacks in the store: shared by `meteo gaps` and `meteo backfill --fill-gaps`.
enum HistoryGaps {
    struct Found {
        var expected: Range<Int64>
        var gaps: [PlaceGaps]
        var missingHours: Int { gaps.reduce(0) { $0 + $1.hours } }
    }

    static func find(store: any ObservationStore, places: [Place], firstDay: Int64, lastDay: Int64, now: Date) async throws -> Found {
        let expected = HourCoverage.expected(firstDay: firstDay, lastDay: lastDay, now: now)
        guard !expected.isEmpty else { return Found(expected: expected, gaps: []) }
        let ids = places.map(\.id)
        let observed = try await store.observedHours(ObservationQuery(
            placeIDs: ids, since: HourCoverage.date(expected.lowerBound), until: HourCoverage.date(expected.upperBound)))
        return Found(expected: expected, gaps: PlaceGaps.find(placeIDs: ids, expected: expected, observed: observed))
    }
}

/// `1 place`, `1,630 places`.
func counted(_ n: Int, _ noun: String) -> String {
    "\(formatCount(n)) \(noun)\(n == 1 ? "" : "s")"
}
