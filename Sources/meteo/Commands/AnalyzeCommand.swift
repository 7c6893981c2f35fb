import ArgumentParser
import Foundation
import MeteoAnalytics
import MeteoCore
import MeteoEmbedded

struct AnalyzeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "analyze",
        abstract: "Correlations, per-region statistics, rain and snow counts, time windows and extremes.",
        discussion: """
        Reads the stored observations (optionally of one region, one place, or a time range) \
        into memory column by column, or with --store mongodb runs aggregation pipelines on \
        the MongoDB server, or with --engine spark runs Spark SQL over the data lake on a Spark \
        cluster through Spark Connect, and computes:
          - the Pearson correlation matrix of temperature, feels-like, humidity, pressure, wind, \
        gusts, cloud cover and visibility (pairwise-complete: a missing value drops only that pair);
          - per region and per country: observations, places, mean/min/max temperature and \
        humidity, mean pressure and wind;
          - the places whose latest observation has rain, snow, or both, per region;
          - means per region and time window (--window), ready to plot;
          - the hottest, coldest, windiest and wettest places now (--top).
        Units: °C, %, hPa, m/s, m, mm. JSON keys are defined in docs/analytics.md.

        Examples:
          meteo analyze
          meteo analyze --region EuropeW --since 24h
          meteo analyze --place Strasbourg --window 15m --format csv > strasbourg.csv
          meteo analyze --format json | jq '.correlation'
          meteo analyze --engine spark --spark sc://127.0.0.1:15002 --lake ./meteo-lake
        """
    )

    @OptionGroup var common: CommonOptions

    @Option(help: "Only observations polled for this region (EuropeW, AmeriqueN, …, world, or one of your places' regions).")
    var region: String?

    @Option(help: "Only this place: Strasbourg, Paris,FR, an id, or LAT,LON (looked up as by meteo query).")
    var place: String?

    @OptionGroup var range: TimeRangeOptions
    @OptionGroup(title: "Store") var storeOptions: StoreOptions

    @OptionGroup(title: "Engine") var engineOptions: EngineOptions

    @Option(help: ArgumentHelp("Width of the time windows: 15m, 1h, 1d, …", valueName: "width"))
    var window: String = "1h"

    @Option(help: "How many places each extremes list shows.")
    var top: Int = 5

    @Option(help: "table, json or csv.")
    var format: OutputFormat = .table

    func run() async throws {
        try await runReportingErrors {
            let logger = common.bootstrapLogging()
            let configuration = try common.configuration(extra: storeOptions.flags.merging(engineOptions.flags) { a, _ in a })
            guard top >= 0 && top <= 1000 else { throw MeteoError(code: .invalidConfiguration, "--top must be between 0 and 1000") }
            guard let width = parseDuration(window), width.seconds >= 1, width.seconds.rounded() == width.seconds else {
                throw MeteoError(code: .invalidConfiguration, "invalid --window '\(window)': give a whole number of seconds, minutes, hours or days, such as 15m, 1h or 1d")
            }
            var request = AnalysisRequest(windowSeconds: Int(width.seconds), top: top)
            (request.since, request.until) = try range.dates()

            let backends = Backends(configuration: configuration, logger: logger)
            let report = try await backends.withStore { store in
                let resolver = try backends.placeResolver(store: store)
                if let region {
                    request.region = try await resolver.resolveRegion(region)
                }
                if let place {
                    request.placeIDs = [try await resolver.resolve(place).place.id]
                }
                return try await backends.withAnalyticsEngine(store: store) { [request] engine in
                    try await engine.analyze(request)
                }
            }
            switch format {
            case .json: Terminal.out(report.jsonString)
            case .csv: FileHandle.standardOutput.write(Data(report.csv().utf8))
            case .table:
                Terminal.out(ReportTable.render(report))
                if report.summary.observations == 0 { throw ExitCode(1) }
            }
        }
    }
}
