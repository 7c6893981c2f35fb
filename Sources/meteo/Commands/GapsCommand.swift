import ArgumentParser
import Foundation
import MeteoCore

struct GapsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gaps",
        abstract: "List the hours the store lacks, per place, over whole UTC days.",
        discussion: """
        For each selected place, the hours of the days --since … --until (up to now) in which \
        the store holds no observation of it, as ranges of whole UTC hours (an observation at \
        10:15 covers the hour of 10:00). 'meteo backfill --since … --fill-gaps' asks for exactly \
        the place-days that hold them. The store is read as it is: run 'meteo sink --until-idle' \
        first so that what is on the bus is counted.

        Examples:
          meteo gaps --since 2025-01-01 --until 2025-12-31
          meteo gaps --since 7d --places Strasbourg
          meteo gaps --since 2025-01-01 --format json
        """
    )

    @OptionGroup var common: CommonOptions
    @OptionGroup var selection: SelectionOptions

    @Option(help: ArgumentHelp("First day (UTC): 2025-01-01, or an age such as 30d.", valueName: "date"))
    var since: String

    @Option(help: ArgumentHelp("Last day (UTC), included (default: today, up to now).", valueName: "date"))
    var until: String?

    @OptionGroup(title: "Store") var storeOptions: StoreOptions

    @Option(help: "table or json.")
    var format: OutputFormat = .table

    func run() async throws {
        try await runReportingErrors {
            let logger = common.bootstrapLogging()
            var extra = selection.flags
            extra.merge(storeOptions.flags) { _, new in new }
            let configuration = try common.configuration(extra: extra)
            let backends = Backends(configuration: configuration, logger: logger)
            let places = try configuration.selectedPlaces(in: PlaceCatalogue.bundled())
            let now = Date()
            let (first, last) = try BackfillRange.days(since: since, until: until, now: now)
            let store = try await backends.openStore()
            let found = try await HistoryGaps.find(store: store, places: places, firstDay: first, lastDay: last, now: now)
            try await store.close()
            let names = Dictionary(places.map { ($0.id, $0) }) { a, _ in a }
            switch format {
            case .json: Terminal.out(json(found, places: places.count, names: names, first: first, last: last))
            case .table, .csv: Terminal.out(table(found, places: places.count, names: names, first: first, last: last))
            }
        }
    }

    /// `2025-01-03T00:00Z` for an hour number.
    static func hourText(_ hour: Int64) -> String {
        String(ISO8601.string(from: HourCoverage.date(hour)).prefix(16)) + "Z"
    }

    private func json(_ found: HistoryGaps.Found, places: Int, names: [String: Place], first: Int64, last: Int64) -> String {
        var w = JSONWriter(capacity: 1024)
        w.key("since", first: true); w.string(BackfillPlanner.date(first))
        w.key("until"); w.string(BackfillPlanner.date(last))
        w.key("places"); w.number(places)
        w.key("hours_per_place"); w.number(Int(found.expected.count))
        w.key("places_with_gaps"); w.number(found.gaps.count)
        w.key("missing_hours"); w.number(found.missingHours)
        w.key("gaps")
        w.raw("[")
        for (i, gap) in found.gaps.enumerated() {
            if i > 0 { w.raw(",") }
            w.raw("{")
            w.key("place_id", first: true)
            w.string(gap.placeID)
            w.key("name"); w.string(names[gap.placeID]?.name ?? "")
            w.key("country"); w.string(names[gap.placeID]?.country ?? "")
            w.key("missing_hours"); w.number(gap.hours)
            w.key("ranges")
            w.raw("[")
            for (j, run) in gap.missing.enumerated() {
                if j > 0 { w.raw(",") }
                w.raw("{\"from\":"); w.string(ISO8601.string(from: HourCoverage.date(run.lowerBound)))
                w.raw(",\"until\":"); w.string(ISO8601.string(from: HourCoverage.date(run.upperBound)))
                w.raw(",\"hours\":"); w.number(Int(run.count))
                w.raw("}")
            }
            w.raw("]}")
        }
        w.raw("]")
        return "{" + String(decoding: w.bytes, as: UTF8.self) + "}"
    }

    private func table(_ found: HistoryGaps.Found, places: Int, names: [String: Place], first: Int64, last: Int64) -> String {
        let span = "\(BackfillPlanner.date(first)) … \(BackfillPlanner.date(last))"
        guard !found.gaps.isEmpty else {
            return "No gaps: each of the \(formatCount(places)) places has an observation in every hour of \(span) up to now (\(formatCount(Int(found.expected.count))) hours each)."
        }
        var t = TextTable(headers: ["place", "id", "missing h", "ranges (UTC, end excluded)"], rightAligned: [2])
        for gap in found.gaps {
            let place = names[gap.placeID]
            let shown = gap.missing.prefix(4).map { "\(Self.hourText($0.lowerBound)) … \(Self.hourText($0.upperBound))" }
            let more = gap.missing.count > 4 ? " and \(gap.missing.count - 4) more" : ""
            t.rows.append([place.map { "\($0.name), \($0.country)" } ?? gap.placeID, gap.placeID, formatCount(gap.hours),
                           shown.joined(separator: "; ") + more])
        }
        return t.render() + "\n"
            + "\(formatCount(found.missingHours)) hours missing for \(formatCount(found.gaps.count)) of \(formatCount(places)) places over \(span); fill them with: meteo backfill --since \(BackfillPlanner.date(first)) --until \(BackfillPlanner.date(last)) --fill-gaps"
    }
}
