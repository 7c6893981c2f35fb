import Hummingbird
import Logging
import MeteoCore
import Prometheus
import ServiceLifecycle

/// `/metrics` (Prometheus text format 0.0.4) and `/healthz` on their own port, for the
/// processes that serve no dashboard: `meteo ingest` and `meteo sink` with
/// `--metrics-listen`. A port that cannot be bound stops the process with a message that
/// names it, rather than running unobserved.
public struct MetricsEndpoint: Service {
    let registry: PrometheusCollectorRegistry
    let address: ListenAddress
    let logger: Logger
    let onListening: @Sendable (ListenAddress) -> Void

    /// - Parameter onListening: called once the port is bound (the CLI prints the address then,
    ///   not before a bind that may fail).
    public init(registry: PrometheusCollectorRegistry, address: ListenAddress, logger: Logger,
                onListening: @escaping @Sendable (ListenAddress) -> Void = { _ in }) {
        self.registry = registry
        self.address = address
        self.logger = logger
        self.onListening = onListening
    }

    /// `/healthz` and `/metrics` on `router`: for this endpoint, and for `meteo serve`'s API
    /// (whose `/metrics` is a 404 when metrics are not enabled).
    static func registerProbes(on router: Router<BasicRequestContext>, registry: PrometheusCollectorRegistry?) {
        router.get("/healthz") { _, _ in
            MeteoApp.json(#"{"status":"ok"}"#)
        }
        router.get("/metrics") { _, _ -> Response in
            guard let registry else { return MeteoApp.error("metrics are not enabled", status: .notFound) }
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer())))
        }
    }

    public func run() async throws {
        let router = Router()
        Self.registerProbes(on: router, registry: registry)
        let address = self.address
        let onListening = self.onListening
        let app = Application(router: router, configuration: .init(address: .hostname(address.host, port: address.port)),
                              onServerRunning: { _ in onListening(address) }, logger: logger)
        do {
            try await app.runService()
        } catch {
            throw MeteoError(code: .invalidConfiguration,
                             "cannot serve metrics on \(address) (\(error)): give --metrics-listen (METEO_METRICS_LISTEN) a free port")
        }
    }
}
