import ArgumentParser
import Foundation
import Logging
import MeteoCore
import MeteoEmbedded
import MeteoSources

struct DoctorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check the configuration and reach each configured backend.",
        discussion: """
        Prints one line per check: the configuration (flags, METEO_* variables, config file), \
        the place catalogue, the data dir, the bus and the store, the running sink (with \
        --metrics-listen: its counts, and whether it is retrying a store write now), and the weather source. \
        Exits non-zero if any check fails. Use --offline to skip the live weather API.

        Every setting (flag / environment variable / config-file key):
        \(MeteoConfiguration.keys.map { "  \($0.flag)  \($0.environmentVariable)  \($0.fileKey)\n      \($0.summary)" }.joined(separator: "\n"))
          (the OpenWeatherMap key comes only from METEO_OWM_API_KEY or OPENWEATHERMAP_API_KEY)
        """
    )

    @OptionGroup var common: CommonOptions
    @OptionGroup(title: "Bus") var busOptions: BusOptions
    @OptionGroup(title: "Store") var storeOptions: StoreOptions
    @OptionGroup(title: "Engine") var engineOptions: EngineOptions
    @OptionGroup(title: "Metrics") var metricsOptions: MetricsOptions

    @Option(help: "Bus topic to check (METEO_TOPIC).")
    var topic: String?

    @Option(help: "Consumer group whose lag to report (METEO_GROUP).")
    var group: String?

    @Flag(help: "Do not contact the live weather API.")
    var offline = false

    func run() async throws {
        try await runReportingErrors {
            let logger = common.bootstrapLogging()
            var failed = 0
            func report(_ ok: Bool, _ what: String, _ detail: String) {
                if !ok { failed += 1 }
                Terminal.out("\(ok ? "ok  " : "FAIL") \(what): \(detail)")
            }
            let configuration: MeteoConfiguration
            do {
                configuration = try common.configuration(extra: busOptions.flags.merging(storeOptions.flags) { _, new in new }.merging(engineOptions.flags) { _, new in new }.merging(metricsOptions.flags) { _, new in new }.merging(["topic": topic, "group": group]) { _, new in new })
                report(true, "configuration", "bus \(configuration.bus.rawValue), store \(configuration.store.rawValue), source \(configuration.source.rawValue), topic \(configuration.topic), data dir \(configuration.dataDir)")
            } catch {
                report(false, "configuration", "\(error)")
                throw ExitCode(1)
            }
            do {
                let catalogue = try PlaceCatalogue.bundled()
                let selected = try configuration.selectedPlaces(in: catalogue)
                report(true, "catalogue", "\(formatCount(catalogue.places.count)) places, \(formatCount(selected.count)) selected")
                if configuration.providerPlan != nil {
                    do {
                        report(try planReport(configuration, places: selected.count, logger: logger), "plan", try planDetail(configuration, places: selected.count, logger: logger))
                    } catch {
                        report(false, "plan", "\(error)")
                    }
                }
            } catch {
                report(false, "catalogue", "\(error)")
            }
            let backends = Backends(configuration: configuration, logger: logger)
            do {
                report(true, "bus", try await backends.busHealth(group: configuration.group, topic: configuration.topic))
            } catch {
                report(false, "bus", "\(error)")
            }
            do {
                let store = try await backends.openStore()
                let n = try await store.count()
                let d = try await store.deadLetterCount()
                report(true, "store", "\(backends.storeDescription): \(formatCount(n)) observations, \(formatCount(d)) dead letters")
                try await store.close()
            } catch {
                report(false, "store", "\(error)")
            }
            if let address = configuration.metricsListen {
                do {
                    let sink = try await SinkMetrics.read(address)
                    let counts = "stored \(formatCount(Int(sink.stored))) observations, \(formatCount(Int(sink.deadLetters))) dead letters, \(formatCount(Int(sink.writeRetries))) store write retries since it started"
                    report(!sink.retrying, "sink", sink.retrying
                        ? "at \(address): retrying a store write now (the store refuses or is unreachable; its log says why); \(counts)"
                        : "at \(address): writing; \(counts)")
                } catch {
                    report(false, "sink", "\(error)")
                }
            }
            if configuration.engine == .spark {
                do {
                    report(true, "engine", try await backends.sparkHealth())
                } catch {
                    report(false, "engine", "\(error)")
                }
            }
            switch configuration.source {
            case .synthetic:
                report(true, "source", "synthetic (no network)")
            case .replay:
                if let file = configuration.replayFile, FileManager.default.isReadableFile(atPath: file) {
                    report(true, "source", "replay of \(file)")
                } else {
                    report(false, "source", "replay needs a readable --replay-file (METEO_REPLAY_FILE)")
                }
            case .openMeteo, .openWeatherMap:
                if configuration.source == .openWeatherMap && configuration.openWeatherMapKey == nil {
                    report(false, "source", "openweathermap needs an API key in METEO_OWM_API_KEY")
                } else if offline {
                    report(true, "source", "\(configuration.source.rawValue) not contacted (--offline)")
                } else {
                    do {
                        var probe = configuration
                        probe.maxAttempts = 1
                        probe.httpTimeout = .seconds(10)
                        // The probe counts against the plan like any request.
                        let quota = try SourceFactory.quotaLedger(config: probe, logger: logger)
                        let source = try SourceFactory.make(config: probe, quota: quota, logger: logger)
                        let place = try PlaceCatalogue.bundled().resolve("Strasbourg")
                        let batch = try await source.poll([place])
                        report(batch.observations.count == 1, "source", "\(configuration.source.rawValue) answered for Strasbourg")
                    } catch {
                        report(false, "source", "\(configuration.source.rawValue) unreachable: \(error)")
                    }
                }
            }
            if failed > 0 { throw ExitCode(1) }
        }
    }

    /// Whether the schedule fits the plan.
    private func planReport(_ configuration: MeteoConfiguration, places: Int, logger: Logger) throws -> Bool {
        try Planning.schedule(configuration, places: places).estimate?.fits ?? true
    }

    /// The plan, its limits, whether the schedule fits, and what the quota counts have spent.
    private func planDetail(_ configuration: MeteoConfiguration, places: Int, logger: Logger) throws -> String {
        guard let plan = configuration.providerPlan else { return "no provider" }
        let schedule = try Planning.schedule(configuration, places: places)
        var detail = "\(plan.name) (\(plan.limitsDescription))"
        if let estimate = schedule.estimate {
            detail += estimate.fits
                ? "; every \(LivePlan.duration(schedule.interval.seconds))\(schedule.auto ? " (auto)" : "") fits: \(Planning.headroom(estimate))"
                : "; does not fit: \(estimate.refusal())"
        }
        if let ledger = try SourceFactory.quotaLedger(config: configuration, logger: logger) {
            let spent = try ledger.usage().filter { $0.limit != nil && $0.window != .minute }
                .map { "\(formatCalls($0.spent)) this \($0.window.rawValue)" }
            if !spent.isEmpty { detail += "; spent \(spent.joined(separator: ", "))" }
        }
        return detail
    }
}
