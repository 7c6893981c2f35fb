import ArgumentParser
import Foundation
import Hummingbird
import Logging
import MeteoCore
import MeteoEmbedded
import MeteoServer
import Metrics
import Prometheus
import ServiceLifecycle
import UnixSignals

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the latest weather as a web page and a JSON API.",
        discussion: """
        Binds 127.0.0.1:8080 by default and prints the URL. Pages (live: they update within \
        about a second of new data, with no reload):
          /                 key figures and the map
          /map?region=R     the map, zoomed to a region
          /scatter?x=temperature_c&y=humidity_pct   any two variables of the latest observations
          /heatmap          the correlation matrix
          /series?region=R&variable=temperature_c&window=1h   means per region and time window
          /table            the latest observation of every place: sort, filter, click through
          /place/ID         a place's latest fields and history
          /dead-letters     what could not be stored, with the reason
        JSON API (described at /openapi.json):
          /api/places?region=R&q=TEXT
          /api/observations?place=ID&region=R&since=T&until=T&limit=N&cursor=C
          /api/latest?region=R
          /api/analytics?region=R&since=T&until=T&window=1h&top=5   (as meteo analyze --format json)
          /api/stream       server-sent events of new observations and key figures
          /healthz, /metrics (Prometheus)
        Ctrl-C or SIGTERM stop it gracefully.
        """
    )

    @OptionGroup var common: CommonOptions
    @OptionGroup(title: "Store") var storeOptions: StoreOptions
    @OptionGroup(title: "Engine") var engineOptions: EngineOptions

    @Option(help: "Address to bind.")
    var host: String = "127.0.0.1"

    @Option(help: "Port to bind.")
    var port: Int = 8080

    func run() async throws {
        try await runReportingErrors {
            let logger = common.bootstrapLogging()
            let configuration = try common.configuration(extra: storeOptions.flags.merging(engineOptions.flags) { a, _ in a })
            try await Self.serve(configuration: configuration, host: host, port: port, logger: logger)
        }
    }

    static func serve(configuration: MeteoConfiguration, host: String, port: Int, logger: Logger) async throws {
        guard host == "127.0.0.1" || host == "localhost" || host == "::1" else {
            throw MeteoError(code: .invalidConfiguration, "binding \(host) would expose the data beyond this machine; only 127.0.0.1 is allowed until authentication exists")
        }
        guard (1...65_535).contains(port) else { throw MeteoError(code: .invalidConfiguration, "--port must be between 1 and 65535") }
        let registry = MetricsBootstrap.registry
        let backends = Backends(configuration: configuration, logger: logger)
        let store = try await backends.openStore()
        let feed = LiveFeed(store: store, deadLetters: store, logger: logger)
        let analytics = try backends.analyticsBackend(store: store)
        let deps = MeteoApp.Dependencies(store: store, deadLetters: store, engine: analytics.engine,
                                         metrics: registry, feed: feed)
        let app = MeteoApp.make(deps, configuration: .init(host: host, port: port), logger: logger)
        Terminal.progress("Serving \(backends.storeDescription) on http://\(host):\(port)/ (Ctrl-C to stop)")
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: app), .init(service: feed)] + (analytics.connection.map { [.init(service: $0)] } ?? []),
            gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}

/// The process's Prometheus registry, behind swift-metrics: every counter and timer of the
/// pipeline and the server lands in it, and `/metrics` renders it. Bootstrapped on first use,
/// which must come before the first metric is made (`meteo demo` and `meteo serve` touch it first).
enum MetricsBootstrap {
    static let registry: PrometheusCollectorRegistry = {
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        return registry
    }()
}
