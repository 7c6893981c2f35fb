import ArgumentParser
import Foundation
import Logging
import MeteoAnalytics
import MeteoCore
import MeteoEmbedded
import MeteoPipeline
import MeteoSources
import ServiceLifecycle
import UnixSignals
import Synchronization

struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run the whole pipeline offline: synthetic weather → durable log → store → analysis.",
        discussion: """
        Generates deterministic synthetic weather for the original system's ten regions \
        (1,630 places), publishes every observation on the embedded durable log, and a sink \
        writes them into the embedded SQLite store, in one process, with no server and no network. \
        The synthetic clock moves 10 minutes each tick; the last tick is the current time. \
        It then prints the analysis of what was stored (as 'meteo analyze' does). \
        Then it serves the latest weather on http://127.0.0.1:8080/ until Ctrl-C (--no-serve to skip).

        Examples:
          meteo demo --ticks 3 --no-serve
          meteo demo --places 10000 --ticks 6 --data-dir /tmp/meteo
          meteo demo --regions EuropeW,AmeriqueN --ticks 12
          meteo query --place Strasbourg        afterwards: what was stored
        """
    )

    @OptionGroup var common: CommonOptions
    @Option(help: ArgumentHelp("Built-in regions, comma-separated, or 'all' (default: all ten).", valueName: "names"))
    var regions: String?

    @Option(help: ArgumentHelp("Bounding boxes lon_min,lat_min,lon_max,lat_max, ';'-separated.", valueName: "boxes"))
    var bbox: String?

    @Option(help: "How many polls of the synthetic source (each moves its clock 10 minutes).")
    var ticks: Int = 3

    @Option(name: .customLong("places"), help: ArgumentHelp("How many places: fewer than the regions hold takes the first ones; more adds the world's largest places.", valueName: "n"))
    var placesCount: Int?

    @Option(help: "Seed of the synthetic weather (METEO_SEED).")
    var seed: UInt64?

    @Option(help: ArgumentHelp("Also write the observations to this data lake folder, as the sink's --lake does (METEO_LAKE); meteo analyze --engine spark --lake DIR reads it.", valueName: "dir"))
    var lake: String?

    @Option(name: .customLong("lake-format"), help: ArgumentHelp("The lake's files (METEO_LAKE_FORMAT): parquet (part-*.parquet, the default; read by Spark, DuckDB, Polars, pandas and pyarrow) or ndjson (part-*.jsonl, the event JSON); see docs/lake.md.", valueName: "format"))
    var lakeFormat: String?

    @Flag(help: "Do not serve the page afterwards.")
    var noServe = false

    @Option(help: "Address the page is served on.")
    var host: String = "127.0.0.1"

    @Option(help: "Port the page is served on.")
    var port: Int = 8080

    @OptionGroup var summary: SummaryOptions

    mutating func validate() throws {
        guard ticks >= 1, ticks <= 100_000 else { throw ValidationError("--ticks must be between 1 and 100000") }
        if let n = placesCount, n < 1 || n > 34_006 { throw ValidationError("--places must be between 1 and 34006 (the catalogue's size)") }
    }

    func run() async throws {
        try await runReportingErrors {
            let logger = common.bootstrapLogging()
            if !noServe { _ = MetricsBootstrap.registry }  // before the pipeline makes its counters
            let configuration = try common.configuration(extra: ["regions": regions, "bbox": bbox, "seed": seed.map(String.init), "lake": lake, "lake-format": lakeFormat])
            let backends = Backends(configuration: configuration, logger: logger)
            let catalogue = try PlaceCatalogue.bundled()
            var places = try configuration.selectedPlaces(in: catalogue)
            if let n = placesCount { places = Self.resize(places, to: n, catalogue: catalogue) }

            let log = try backends.openLog()
            let store = try backends.openSQLiteStore()
            let step = Duration.seconds(600)
            let now = Date().timeIntervalSince1970
            let lastTick = (now / 600).rounded(.down) * 600
            let start = Date(timeIntervalSince1970: lastTick - Double(ticks - 1) * 600)
            let source = SyntheticSource(seed: configuration.seed, start: start, step: step)

            Terminal.progress("Meteo demo: synthetic weather for \(formatCount(places.count)) places × \(ticks) ticks → embedded log → SQLite store in \(configuration.dataDir)")
            var writer: any SinkWriter = store
            if let lake = configuration.lake {
                let lakeWriter = try LakeWriter(directory: URL(fileURLWithPath: lake, isDirectory: true), writerID: LakeWriter.defaultWriterID(),
                                                format: configuration.lakeFormat)
                writer = StoreAndLakeWriter(store: store, lake: lakeWriter)
                Terminal.progress("  and the data lake in \(lake)")
            }
            let clock = ContinuousClock()
            let began = clock.now
            let ingestDone = DoneFlag()
            let ingestor = Ingestor(
                source: source, publisher: try log.publisher(),
                configuration: .init(topic: configuration.topic, places: places, interval: .zero, ticks: ticks),
                logger: logger,
                onProgress: { p in
                    Terminal.progress("  ingest: tick \(p.tick)/\(p.ticks ?? 0) published \(formatCount(p.publishedThisTick)) events (\(formatCount(p.stats.published)) in all)")
                }
            )
            let sink = Sink(
                consumer: try log.consumer(group: configuration.group, topic: configuration.topic),
                writer: writer,
                configuration: .init(batchSize: configuration.batchSize, pollTimeout: .milliseconds(100),
                                     stopWhenIdle: { ingestDone.isSet }),
                logger: logger,
                onBatch: { s in
                    Terminal.progress("  sink:   stored \(formatCount(s.stored)) observations, \(s.deadLettered) dead letters")
                }
            )
            let group = ServiceGroup(configuration: .init(
                services: [
                    .init(service: IngestorDone(ingestor: ingestor, done: ingestDone), successTerminationBehavior: .ignore),
                    .init(service: sink, successTerminationBehavior: .gracefullyShutdownGroup),
                ],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            ))
            try await group.run()
            let elapsed = (clock.now - began).seconds
            let ingest = ingestor.stats
            let sunk = sink.stats
            let total = try await store.count()
            let deadTotal = try await store.deadLetterCount()

            var table = TextTable(headers: ["", ""], rightAligned: [1])
            table.rows = [
                ["places", formatCount(places.count)],
                ["events published", formatCount(ingest.published)],
                ["observations stored", formatCount(sunk.stored)],
                ["  new", formatCount(sunk.inserted)],
                ["  overwritten (replays)", formatCount(sunk.updated)],
                ["dead letters", formatCount(sunk.deadLettered)],
                ["store total", formatCount(total)],
                ["dead letters total", formatCount(deadTotal)],
                ["time", String(format: "%.2f s", elapsed)],
                ["throughput", "\(formatCount(Int(Double(sunk.stored) / max(elapsed, 0.001)))) observations/s"],
            ]
            Terminal.out("\nSummary")
            Terminal.out(table.render())
            try summary.write(command: "demo", elapsedSeconds: elapsed, [
                "places": Double(places.count), "published": Double(ingest.published), "stored": Double(sunk.stored),
                "inserted": Double(sunk.inserted), "overwritten": Double(sunk.updated), "dead_lettered": Double(sunk.deadLettered),
                "store_total": Double(total), "dead_letters_total": Double(deadTotal),
                "observations_per_s": perSecond(sunk.stored, elapsed),
            ])
            if sunk.stored + sunk.deadLettered < ingest.published {
                throw MeteoError(code: .internal, "the sink stored \(sunk.stored) and dead-lettered \(sunk.deadLettered) of \(ingest.published) published events")
            }
            let report = try await backends.withAnalyticsEngine(store: store) { try await $0.analyze(AnalysisRequest()) }
            Terminal.out("\n" + ReportTable.render(report, windows: false))
            Terminal.out("\nNext: meteo query --place Strasbourg --data-dir \(configuration.dataDir)")
            Terminal.out("      meteo analyze --region EuropeW --window 15m --data-dir \(configuration.dataDir)")
            if !noServe {
                try await ServeCommand.serve(configuration: configuration, host: host, port: port, logger: logger)
            }
        }
    }

    static func resize(_ places: [Place], to n: Int, catalogue: PlaceCatalogue) -> [Place] {
        if n <= places.count { return Array(places.prefix(n)) }
        var out = places
        var seen = Set(places.map(\.id))
        for p in catalogue.places where out.count < n && seen.insert(p.id).inserted {
            var p = p
            p.region = "world"
            out.append(p)
        }
        return out
    }
}

/// Runs the ingestor and raises a flag when it has published everything, so that the sink
/// of the demo can stop once it has drained the log.
struct IngestorDone: Service {
    let ingestor: Ingestor
    let done: DoneFlag

    func run() async throws {
        defer { done.set() }
        try await ingestor.run()
    }
}

/// A flag set once, read from any task.
final class DoneFlag: Sendable {
    private let value = Atomic<Bool>(false)
    func set() { value.store(true, ordering: .releasing) }
    var isSet: Bool { value.load(ordering: .acquiring) }
}
