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

    public init(registry: PrometheusCollectorRegistry, address: ListenAddress, logger: Logger) {
        self.registry = registry
        self.address = address
        self.logger = logger
    }

    static func router(_ registry: PrometheusCollectorRegistry) -> Router<BasicRequestContext> {
        let router = Router()
        router.get("/healthz") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: #"{"status":"ok"}"#)))
        }
        router.get("/metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                     body: .init(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer())))
        }
        return router
    }

    public func run() async throws {
        let app = Application(router: Self.router(registry), configuration: .init(address: .hostname(address.host, port: address.port)),
                              logger: logger)
        do {
            try await app.runService()
        } catch {
            throw MeteoError(code: .invalidConfiguration,
                             "cannot serve metrics on \(address) (\(error)): give --metrics-listen (METEO_METRICS_LISTEN) a free port")
        }
    }
}
