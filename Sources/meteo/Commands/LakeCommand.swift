import ArgumentParser
import Foundation
import MeteoCore
import MeteoPipeline

struct LakeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lake",
        abstract: "Manage the data lake that meteo sink --lake writes.",
        subcommands: [LakeRebuildCommand.self]
    )
}

struct LakeRebuildCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rebuild",
        abstract: "Write the data lake again, whole, from the store.",
        discussion: """
        Reads every observation of the store (SQLite in the data dir, or MongoDB) in pages and \
        writes them to --lake DIR in the lake's layout and format (docs/lake.md), as the sink \
        would have: for a lake that was lost, or to change its format. DIR must not hold lake \
        files already: rebuild writes a whole lake and does not merge into one (move the old \
        one away first). Run it while no sink writes the lake; a sink started afterwards goes \
        on from it.

        Examples:
          meteo lake rebuild --lake ./meteo-lake
          meteo lake rebuild --lake ./meteo-lake-json --lake-format ndjson
          meteo lake rebuild --store mongodb --lake /data/lake
        """
    )

    @OptionGroup var common: CommonOptions
    @OptionGroup(title: "Store") var storeOptions: StoreOptions

    @Option(help: ArgumentHelp("The lake folder to write (METEO_LAKE).", valueName: "dir"))
    var lake: String?

    @Option(name: .customLong("lake-format"), help: ArgumentHelp("parquet (the default) or ndjson (METEO_LAKE_FORMAT).", valueName: "format"))
    var lakeFormat: String?

    @Option(name: .customLong("batch-size"), help: "Observations read and written at a time (default 20,000).")
    var batchSize: Int = 20_000

    func run() async throws {
        try await runReportingErrors {
            let logger = common.bootstrapLogging()
            var extra = storeOptions.flags
            extra["lake"] = lake
            extra["lake-format"] = lakeFormat
            let configuration = try common.configuration(extra: extra)
            guard let lake = configuration.lake else {
                throw MeteoError(code: .invalidConfiguration, "meteo lake rebuild needs the lake's folder: --lake DIR (or METEO_LAKE)")
            }
            guard batchSize > 0 else { throw MeteoError(code: .invalidConfiguration, "--batch-size must be at least 1, not \(batchSize)") }
            let directory = URL(fileURLWithPath: lake, isDirectory: true)
            let existing = Self.lakeFiles(in: directory)
            guard existing == 0 else {
                throw MeteoError(code: .invalidConfiguration,
                                 "\(lake) already holds \(formatCount(existing)) lake files: rebuild writes a whole lake and does not merge; move that folder away (or remove it) and run again")
            }
            let backends = Backends(configuration: configuration, logger: logger)
            let clock = ContinuousClock()
            let started = clock.now
            let (written, files) = try await backends.withStore { store in
                let total = try await store.count()
                Terminal.progress("rebuilding the lake \(lake) (\(configuration.lakeFormat.rawValue)) from the store's \(formatCount(total)) observations")
                let writer = try LakeWriter(directory: directory, writerID: LakeWriter.defaultWriterID(), format: configuration.lakeFormat)
                var written = 0
                var files = 0
                var lastReport = clock.now
                for try await page in store.scan(ObservationQuery(), batchSize: batchSize) {
                    files += try writer.write(page).count
                    written += page.count
                    if clock.now - lastReport >= .seconds(5) {
                        lastReport = clock.now
                        let percent = total > 0 ? 100 * written / total : 100
                        Terminal.progress("  \(formatCount(written)) of \(formatCount(total)) observations (\(percent) %), \(formatCount(files)) files")
                    }
                }
                return (written, files)
            }
            let seconds = (clock.now - started).seconds
            Terminal.out("rebuilt \(lake) from the store: \(formatCount(written)) observations in \(formatCount(files)) \(configuration.lakeFormat.rawValue) files, "
                         + String(format: "%.1f s", seconds))
        }
    }

    /// The lake files (either format) under `directory`; 0 when it does not exist.
    static func lakeFiles(in directory: URL) -> Int {
        guard let walker = FileManager.default.enumerator(atPath: directory.path) else { return 0 }
        var n = 0
        while let path = walker.nextObject() as? String {
            if MeteoConfiguration.LakeFormat.allCases.contains(where: { path.hasSuffix(".\($0.fileExtension)") }) { n += 1 }
        }
        return n
    }
}
