import ArgumentParser
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Logging
import MeteoCore
import MeteoServer
import ServiceLifecycle

/// `--metrics-listen ADDRESS`: Prometheus `/metrics` (and `/healthz`) of a long-running
/// process without a dashboard (`meteo ingest`, `meteo sink`), and where `meteo doctor` reads
/// the sink's state.
struct MetricsOptions: ParsableArguments {
    @Option(name: .customLong("metrics-listen"), help: ArgumentHelp(
        "Where meteo ingest and meteo sink serve Prometheus /metrics and /healthz while they run (METEO_METRICS_LISTEN): a port (9465, on 127.0.0.1) or HOST:PORT, one per process; meteo doctor reads the sink's there.",
        valueName: "address"))
    var metricsListen: String?

    var flags: [String: String?] { ["metrics-listen": metricsListen] }

    /// The endpoint as a service of the process's group, when configured. Bootstraps the
    /// process's metrics, so call it before the pipeline makes its counters.
    static func services(_ configuration: MeteoConfiguration, logger: Logger) -> [ServiceGroupConfiguration.ServiceConfiguration] {
        guard let address = configuration.metricsListen else { return [] }
        return [.init(service: MetricsEndpoint(registry: MetricsBootstrap.registry, address: address, logger: logger) { address in
            Terminal.progress("  metrics on http://\(address)/metrics")
        })]
    }
}

/// What `meteo doctor` reads of a running sink from its `/metrics`.
struct SinkMetrics: Equatable {
    var stored: Double
    var deadLetters: Double
    var writeRetries: Double
    var retrying: Bool

    /// The values of Prometheus text format samples without labels, by metric name.
    static func samples(_ text: String) -> [String: Double] {
        var out: [String: Double] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            let parts = line.split(separator: " ")
            guard parts.count >= 2, !parts[0].contains("{"), let value = Double(parts[1]) else { continue }
            out[String(parts[0])] = value
        }
        return out
    }

    init?(prometheusText text: String) {
        let s = Self.samples(text)
        guard let stored = s["meteo_sink_observations_stored_total"] else { return nil }
        self.stored = stored
        deadLetters = s["meteo_sink_dead_letters_total"] ?? 0
        writeRetries = s["meteo_sink_write_retries_total"] ?? 0
        retrying = (s["meteo_sink_retrying"] ?? 0) > 0
    }

    /// Reads `http://address/metrics` (5 s time-out).
    static func read(_ address: ListenAddress) async throws -> SinkMetrics {
        let url = URL(string: "http://\(address)/metrics")!
        var request = URLRequest(url: url)
        request.timeoutInterval = 5
        let data: Data
        do {
            (data, _) = try await URLSession.shared.data(for: request)
        } catch {
            throw MeteoError(code: .connection, "cannot read \(url) (\(error.localizedDescription)): is meteo sink running with --metrics-listen \(address)?")
        }
        guard let metrics = SinkMetrics(prometheusText: String(decoding: data, as: UTF8.self)) else {
            throw MeteoError(code: .connection, "\(url) answers, but not with a sink's metrics (no meteo_sink_observations_stored_total): is it meteo sink's address?")
        }
        return metrics
    }
}
