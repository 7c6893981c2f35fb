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

        Security: 127.0.0.1 only by default. Another address (--host 0.0.0.0) needs \
        --auth-token (better: METEO_AUTH_TOKEN) or an explicit --insecure. Only GET and HEAD \
        are served, request bodies over 64 KiB are refused, and static files are compiled in.
        """
    )

    @OptionGroup var common: CommonOptions
    @OptionGroup(title: "Store") var storeOptions: StoreOptions
    @OptionGroup(title: "Engine") var engineOptions: EngineOptions

    @Option(help: "Address to bind.")
    var host: String = "127.0.0.1"

    @Option(help: "Port to bind.")
    var port: Int = 8080

    @Option(name: .customLong("auth-token"),
            help: ArgumentHelp("Require this bearer token on every route but /healthz (METEO_AUTH_TOKEN, which ps does not show); at least 16 characters. Needed to bind an address other than 127.0.0.1, unless --insecure.",
                               valueName: "token"))
    var authToken: String?

    @Flag(help: "Allow binding an address other than 127.0.0.1 without a token: anyone who reaches the port reads the data.")
    var insecure = false

    func run() async throws {
        try await runReportingErrors {
            let logger = common.bootstrapLogging()
            let configuration = try common.configuration(extra: storeOptions.flags.merging(engineOptions.flags) { a, _ in a })
            let token = authToken ?? ProcessInfo.processInfo.environment["METEO_AUTH_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
            try await Self.serve(configuration: configuration, host: host, port: port, authToken: token, insecure: insecure, logger: logger)
        }
    }

    static func isLoopback(_ host: String) -> Bool {
        host == "127.0.0.1" || host == "localhost" || host == "::1"
    }

    static func serve(configuration: MeteoConfiguration, host: String, port: Int, authToken: String? = nil, insecure: Bool = false,
                      logger: Logger) async throws {
        if let authToken, authToken.count < 16 || authToken.contains(where: { $0.isWhitespace || !$0.isASCII }) {
            throw MeteoError(code: .invalidConfiguration, "--auth-token must be at least 16 printable ASCII characters without spaces, such as the output of: openssl rand -hex 24")
        }
        guard isLoopback(host) || authToken != nil || insecure else {
            throw MeteoError(code: .invalidConfiguration,
                             "binding \(host) would expose the data beyond this machine: give --auth-token (or METEO_AUTH_TOKEN) so that only holders of the token read it, or --insecure to allow anyone")
        }
        guard (1...65_535).contains(port) else { throw MeteoError(code: .invalidConfiguration, "--port must be between 1 and 65535") }
        let registry = MetricsBootstrap.registry
        let backends = Backends(configuration: configuration, logger: logger)
        let store = try await backends.openStore()
        let feed = LiveFeed(store: store, deadLetters: store, logger: logger)
        let analytics = try backends.analyticsBackend(store: store)
        let deps = MeteoApp.Dependencies(store: store, deadLetters: store, engine: analytics.engine,
                                         metrics: registry, feed: feed, places: try backends.placeResolver(store: store))
        let app = MeteoApp.make(deps, configuration: .init(host: host, port: port, authToken: authToken), logger: logger)
        Terminal.progress("Serving \(backends.storeDescription) on http://\(host):\(port)/ (Ctrl-C to stop)")
        if authToken != nil {
            Terminal.progress("  every route but /healthz needs the token: Authorization: Bearer <token>, or open http://\(host):\(port)/?token=<token> once in a browser")
        } else if !isLoopback(host) {
            Terminal.progress("  warning: --insecure: anyone who reaches \(host):\(port) reads the data")
        }
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
