import ArgumentParser
import Foundation
import Logging
import MeteoCore
import MeteoEmbedded
import MeteoPipeline
import MeteoSources
import ServiceLifecycle
import UnixSignals

struct IngestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest",
        abstract: "Poll a weather source on a schedule and publish each observation on the bus.",
        discussion: """
        Runs until Ctrl-C (SIGINT) or SIGTERM, which finish the current publish and stop.

        It never asks a provider for more than the plan allows ('meteo plan' shows the \
        numbers). Open-Meteo counts weighted calls: max(1, variables / 10) × max(1, days / 14) \
        per place, and its free plan allows 600 a minute, 5,000 an hour, 10,000 a day and \
        300,000 a month. --interval auto (the default) takes the shortest 15-minute step that \
        fits (6h for the ten regions' 1,630 places); an explicit interval that cannot fit is \
        refused with what would fit, unless --over-quota. Each request waits for its weight in \
        the quota counts kept in <data-dir>/quota, so a restart does not reset the day's count; \
        a 429 that names a window ("Daily API request limit exceeded") waits for its reset. \
        Open-Meteo's current weather changes every 15 minutes; repeats are not published again.

        Sources:
          open-meteo       live (default): the free plan, an API key, or your own
                           server (meteo plan)
          openweathermap   live, one request a place; key in METEO_OWM_API_KEY
          replay           a recording: --replay-file with NDJSON, legacy box/city
                           lines, OWM objects, or CSV (docs/replay.md)
          synthetic        deterministic generated weather, labelled 'synthetic'

        Examples:
          meteo ingest --once                  one poll of the ten regions
          meteo ingest --regions EuropeW       every 1h30m, the most that fits
          meteo ingest --quota month=5000000   with METEO_OPEN_METEO_API_KEY set
          meteo ingest --plan self-hosted --open-meteo-url http://srv:8080/v1/forecast
          meteo ingest --source synthetic --interval 10s
          meteo ingest --places 'Strasbourg;Paris,FR' --interval 15m
          meteo ingest --source replay --replay-file recorded.ndjson --once
          meteo ingest --bus kafka --brokers 127.0.0.1:9092 --source synthetic --ticks 10 --interval 0

        With --bus kafka, the topic is created if missing (--partitions, --replication-factor) \
        and an event counts as published only once its delivery report is in (acks=all, \
        idempotent producer). librdkafka settings pass through: --kafka-property name=value \
        or METEO_KAFKA_<NAME>, for example METEO_KAFKA_SECURITY_PROTOCOL=SASL_SSL.
        """
    )

    @OptionGroup var common: CommonOptions
    @OptionGroup var selection: SelectionOptions
    @OptionGroup(title: "Bus") var busOptions: BusOptions

    @Option(help: "open-meteo, openweathermap, replay or synthetic (METEO_SOURCE).")
    var source: String?

    @Option(help: ArgumentHelp("Time between polls: auto (the default: the shortest 15-minute step that fits the plan; 600s for synthetic and replay), or 90s, 10m, 1h, 5h15m (METEO_INTERVAL).", valueName: "duration"))
    var interval: String?

    @OptionGroup(title: "Provider plan") var planOptions: PlanOptions

    @Flag(name: .customLong("over-quota"), help: "Start even when the schedule does not fit the plan; the quota limiter still holds requests back, so polls run late.")
    var overQuota = false

    @Flag(help: "Poll once and exit.")
    var once = false

    @Option(help: "Poll this many times and exit.")
    var ticks: Int?

    @Option(help: "Bus topic (METEO_TOPIC).")
    var topic: String?

    @Option(name: .customLong("replay-file"), help: ArgumentHelp("Recording for --source replay (METEO_REPLAY_FILE).", valueName: "file"))
    var replayFile: String?

    @Option(help: "Seed of the synthetic source (METEO_SEED).")
    var seed: UInt64?

    @Option(name: .customLong("open-meteo-url"), help: ArgumentHelp("Open-Meteo forecast endpoint (METEO_OPEN_METEO_URL).", valueName: "url"))
    var openMeteoURL: String?

    @Option(name: .customLong("owm-url"), help: ArgumentHelp("OpenWeatherMap current-weather endpoint (METEO_OWM_URL).", valueName: "url"))
    var owmURL: String?

    @Option(name: .customLong("max-attempts"), help: "HTTP attempts per request, with backoff (METEO_MAX_ATTEMPTS).")
    var maxAttempts: Int?

    @Option(name: .customLong("http-timeout"), help: ArgumentHelp("HTTP request time-out: 30s (METEO_HTTP_TIMEOUT).", valueName: "duration"))
    var httpTimeout: String?

    @Option(name: .customLong("delivery-log"), help: ArgumentHelp(
        "Append '<place_id>@<observed_at>' to this file for each event once the bus has acknowledged it: the producer's side of an audit (scripts/chaos checks the store against it).",
        valueName: "file"))
    var deliveryLog: String?

    @OptionGroup(title: "Metrics") var metricsOptions: MetricsOptions

    @OptionGroup var summary: SummaryOptions

    func run() async throws {
        try await runReportingErrors {
            let logger = common.bootstrapLogging()
            var extra = selection.flags
            extra["source"] = source
            extra["interval"] = interval
            extra["topic"] = topic
            extra["replay-file"] = replayFile
            extra["seed"] = seed.map(String.init)
            extra.merge(busOptions.flags.compactMapValues { $0 }) { _, new in new }
            extra["open-meteo-url"] = openMeteoURL
            extra["owm-url"] = owmURL
            extra["max-attempts"] = maxAttempts.map(String.init)
            extra["http-timeout"] = httpTimeout
            extra.merge(planOptions.flags) { _, new in new }
            extra.merge(metricsOptions.flags) { _, new in new }
            let configuration = try common.configuration(extra: extra)
            let metricsServices = MetricsOptions.services(configuration, logger: logger)  // before any counter is made
            let backends = Backends(configuration: configuration, logger: logger)
            let catalogue = try PlaceCatalogue.bundled()
            let places = configuration.source == .replay ? [] : try configuration.selectedPlaces(in: catalogue)
            let schedule = try Planning.schedule(configuration, places: places.count)
            if let estimate = schedule.estimate {
                if schedule.auto {
                    Terminal.progress("Interval auto: \(LivePlan.duration(Double(estimate.intervalSeconds))), the shortest 15-minute step at which \(formatCount(places.count)) places fit \(estimate.plan.name) (\(Planning.headroom(estimate)))")
                } else if !estimate.fits {
                    guard overQuota else { throw MeteoError(code: .invalidConfiguration, estimate.refusal()) }
                    Terminal.progress("warning: --over-quota: \(estimate.refusal()). The quota limiter holds requests back, so polls will run late.")
                }
                if configuration.source == .openMeteo, estimate.intervalSeconds > 0, estimate.intervalSeconds < QuotaPlanner.step {
                    Terminal.progress("warning: Open-Meteo's current weather changes every 15 min; polling every \(LivePlan.duration(Double(estimate.intervalSeconds))) only repeats observations (repeats are not published)")
                }
            }
            let quota = try SourceFactory.quotaLedger(config: configuration, logger: logger, onWait: { wait in
                Terminal.progress("  \(wait)")
            })
            let weather = try SourceFactory.make(config: configuration, quota: quota, logger: logger)
            var deliveries: DeliveryLog? = nil
            if let deliveryLog { deliveries = try DeliveryLog(path: deliveryLog) }
            defer { deliveries?.close() }
            var onAcknowledged: (@Sendable (ArraySlice<Observation>) -> Void)? = nil
            if let log = deliveries {
                onAcknowledged = { observations in
                    if !log.record(observations) {
                        logger.error("cannot append to the delivery log", metadata: ["meteo.file": "\(log.path)"])
                    }
                }
            }
            let publisher = try await backends.makePublisher(topic: configuration.topic)
            let count = once ? 1 : ticks
            Terminal.progress("Ingesting \(configuration.source.rawValue) for \(formatCount(places.count)) places → topic \(configuration.topic) on the \(backends.busDescription)"
                + (count.map { ", \($0) poll(s)" } ?? ", every \(LivePlan.duration(schedule.interval.seconds)) until Ctrl-C"))
            let ingestor = Ingestor(
                source: weather, publisher: publisher,
                configuration: .init(topic: configuration.topic, places: places, interval: schedule.interval, ticks: count,
                                     skipRepeats: configuration.source == .openMeteo),
                logger: logger,
                onProgress: { p in
                    Terminal.progress("  poll \(p.tick): published \(formatCount(p.publishedThisTick)) events"
                        + (p.failuresThisTick > 0 ? ", \(p.failuresThisTick) places failed (see log)" : "")
                        + (p.repeatedThisTick > 0 ? ", \(formatCount(p.repeatedThisTick)) unchanged since the last poll (Open-Meteo's current weather moves every 15 min)" : "")
                        + " (\(formatCount(p.stats.published)) in all)")
                },
                onAcknowledged: onAcknowledged
            )
            let group = ServiceGroup(configuration: .init(
                services: [.init(service: ingestor, successTerminationBehavior: .gracefullyShutdownGroup)] + metricsServices, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
            let clock = ContinuousClock()
            let began = clock.now
            try await group.run()
            let elapsed = (clock.now - began).seconds
            let s = ingestor.stats
            Terminal.out("published \(formatCount(s.published)) events in \(s.ticks) poll(s); \(s.sourceFailures) place failures, \(s.failedPolls) failed polls")
            try summary.write(command: "ingest", elapsedSeconds: elapsed, [
                "places": Double(places.count), "polls": Double(s.ticks), "published": Double(s.published),
                "place_failures": Double(s.sourceFailures), "failed_polls": Double(s.failedPolls),
                "events_per_s": perSecond(s.published, elapsed),
            ])
        }
    }
}
