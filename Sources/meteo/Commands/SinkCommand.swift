import ArgumentParser
import Foundation
import Logging
import MeteoCore
import MeteoEmbedded
import MeteoPipeline
import ServiceLifecycle
import UnixSignals

struct SinkCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sink",
        abstract: "Read the bus as a consumer group and write the observations to the store.",
        discussion: """
        Writes in batches and commits the bus offsets only after the store has the batch, so \
        a crash loses nothing and a restart overwrites what it redelivers (no duplicates). \
        Messages that can't be decoded, or hold impossible values, go to the dead-letter table \
        with the reason and their bytes. Ctrl-C or SIGTERM finish the current batch, commit, and stop.

        Formats (--format): auto (default), event (Meteo's JSON), legacy-owm (the original \
        system's box/city payloads), owm-current (OpenWeatherMap current-weather objects). \
        Box/city cities get their country and region from the place catalogue; an \
        OpenWeatherMap error body ({"cod":401,"message":…}) is dead-lettered with its message.

        Examples:
          meteo sink                          run until Ctrl-C
          meteo sink --until-idle             drain what is there, then exit
          meteo sink --topic projet --format legacy-owm
          meteo sink --bus kafka --brokers 127.0.0.1:9092 --group meteo-sink

        With --bus kafka, several sinks in one --group share the topic's partitions; each \
        prints the partitions it gets. Offsets are stored and committed only after the store \
        write, and committed again before a rebalance takes partitions away. Dead letters go \
        to the store and to the topic <topic>.dlq, with headers meteo.dlq.reason, \
        meteo.dlq.source.topic, meteo.dlq.source.partition and meteo.dlq.source.offset.
        """
    )

    @OptionGroup var common: CommonOptions

    @Option(help: "Consumer group (METEO_GROUP).")
    var group: String?

    @Option(help: "Bus topic (METEO_TOPIC).")
    var topic: String?

    @Option(name: .customLong("batch-size"), help: "Most events per store write (METEO_BATCH_SIZE).")
    var batchSize: Int?

    @Option(name: .customLong("flush-interval"),
            help: ArgumentHelp("How long a partial batch may wait for more events before it is written (METEO_FLUSH_INTERVAL): 0 (default: at once), 500ms, 2s.", valueName: "duration"))
    var flushInterval: String?

    @Option(help: ArgumentHelp("Also write each batch to this data lake folder, partitioned by observed hour (METEO_LAKE): DIR/date=YYYY-MM-DD/hour=HH/part-<writer>-<seq>.parquet (or .jsonl); see docs/lake.md.", valueName: "dir"))
    var lake: String?

    @Option(name: .customLong("lake-format"), help: ArgumentHelp("The lake's files (METEO_LAKE_FORMAT): parquet (part-*.parquet, the default; read by Spark, DuckDB, Polars, pandas and pyarrow) or ndjson (part-*.jsonl, the event JSON); see docs/lake.md.", valueName: "format"))
    var lakeFormat: String?

    @Option(help: "auto, event, legacy-owm or owm-current.")
    var format: String = "auto"

    @Flag(name: .customLong("until-idle"), help: "Exit when the bus has nothing more to read.")
    var untilIdle = false

    @OptionGroup(title: "Bus") var busOptions: BusOptions

    @Option(name: .customLong("dlq-topic"), help: "Kafka topic for messages that can't be decoded (METEO_DLQ_TOPIC); default <topic>.dlq.")
    var dlqTopic: String?

    @OptionGroup(title: "Store") var storeOptions: StoreOptions

    @OptionGroup(title: "Metrics") var metricsOptions: MetricsOptions

    @OptionGroup var summary: SummaryOptions

    func run() async throws {
        try await runReportingErrors {
            let logger = common.bootstrapLogging()
            guard let payloadFormat = PayloadFormat(rawValue: format) else {
                throw MeteoError(code: .invalidConfiguration, "invalid --format '\(format)': expected \(PayloadFormat.allCases.map(\.rawValue).joined(separator: " | "))")
            }
            var extra: [String: String?] = [
                "group": group, "topic": topic, "batch-size": batchSize.map(String.init), "flush-interval": flushInterval, "dlq-topic": dlqTopic, "lake": lake, "lake-format": lakeFormat,
            ]
            extra.merge(busOptions.flags) { _, new in new }
            extra.merge(storeOptions.flags) { _, new in new }
            extra.merge(metricsOptions.flags) { _, new in new }
            let configuration = try common.configuration(extra: extra)
            let metricsServices = MetricsOptions.services(configuration, logger: logger)  // before any counter is made
            let backends = Backends(configuration: configuration, logger: logger)
            let storage = try await backends.openStore()
            Terminal.progress("Sink: topic \(configuration.topic) on the \(backends.busDescription), group \(configuration.group) → \(backends.storeDescription)"
                + (configuration.bus == .kafka ? "; dead letters also to topic \(configuration.effectiveDeadLetterTopic)" : ""))
            let parts = try await backends.makeSinkParts(store: storage, group: configuration.group, topic: configuration.topic) { assigned, partitions in
                Terminal.progress("  partitions \(assigned ? "assigned" : "revoked"): \(partitions.isEmpty ? "none" : partitions.joined(separator: " "))")
            }
            var writer = parts.writer
            if let lake = configuration.lake {
                let lakeWriter = try LakeWriter(directory: URL(fileURLWithPath: lake, isDirectory: true), writerID: LakeWriter.defaultWriterID(),
                                                format: configuration.lakeFormat)
                writer = StoreAndLakeWriter(store: parts.writer, lake: lakeWriter)
                Terminal.progress("  and the lake in \(lake) (writer \(lakeWriter.writerID))")
            }
            let sink = Sink(
                consumer: parts.consumer,
                writer: writer,
                configuration: .init(batchSize: configuration.batchSize, flushInterval: configuration.flushInterval, format: payloadFormat,
                                     stopWhenIdle: untilIdle ? { @Sendable [consumer = parts.consumer] in (try? await consumer.caughtUp()) ?? false } : nil,
                                     afterWriteBeforeCommit: try FaultInjection.crashAfterWrites(logger: logger)),
                logger: logger,
                onBatch: { s in
                    Terminal.progress("  stored \(formatCount(s.stored)) observations, \(s.deadLettered) dead letters")
                }
            )
            let group = ServiceGroup(configuration: .init(
                services: [.init(service: sink, successTerminationBehavior: .gracefullyShutdownGroup)] + metricsServices, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
            let clock = ContinuousClock()
            let began = clock.now
            try await group.run()
            let elapsed = (clock.now - began).seconds
            try await parts.close()
            let s = sink.stats
            Terminal.out("consumed \(formatCount(s.consumed)) events: stored \(formatCount(s.stored)) (\(formatCount(s.inserted)) new, \(formatCount(s.updated)) overwritten), \(s.deadLettered) dead letters")
            try summary.write(command: "sink", elapsedSeconds: elapsed, [
                "consumed": Double(s.consumed), "stored": Double(s.stored), "inserted": Double(s.inserted),
                "overwritten": Double(s.updated), "dead_lettered": Double(s.deadLettered),
                "observations_per_s": perSecond(s.stored, elapsed),
            ])
        }
    }
}
