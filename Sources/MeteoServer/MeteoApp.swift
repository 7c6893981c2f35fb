import Foundation
import Hummingbird
import Logging
import MeteoAnalytics
import MeteoCore
import Prometheus
import Synchronization

/// The web server: the dashboard's pages (server-rendered HTML with SVG charts drawn in
/// Swift), the JSON API, server-sent events of new data, `/openapi.json`, `/healthz` and
/// `/metrics`, from whichever store and analytics engine the configuration names. It binds
/// 127.0.0.1 unless told otherwise.
public enum MeteoApp {
    public struct Configuration: Sendable {
        public var host: String
        public var port: Int
        /// With a token, every route but `/healthz` requires it (``AccessMiddleware``).
        public var authToken: String?
        /// The largest request body announced that is accepted (the server only reads).
        public var maxBodyBytes: Int

        public init(host: String = "127.0.0.1", port: Int = 8080, authToken: String? = nil, maxBodyBytes: Int = 64 * 1024) {
            self.host = host
            self.port = port
            self.authToken = authToken
            self.maxBodyBytes = maxBodyBytes
        }
    }

    /// What the routes read from.
    public struct Dependencies: Sendable {
        public var store: any ObservationStore
        public var deadLetters: (any DeadLetterStore)?
        public var engine: any AnalyticsEngine
        /// Rendered at `/metrics`; nil answers 404 there.
        public var metrics: PrometheusCollectorRegistry?
        public var feed: LiveFeed
        /// How `place=`, `q=`, `region=` and `/place/ID` find places; by default over the
        /// store's places alone (`meteo serve` adds the configuration's and the catalogue's).
        public var places: PlaceResolver
        /// Runs `engine`'s analyses for the routes: cached per (request, data version), at
        /// most `maxConcurrentAnalyses` at once (``AnalysisCache``).
        public var analyses: AnalysisCache

        public init(store: any ObservationStore, deadLetters: (any DeadLetterStore)?, engine: any AnalyticsEngine,
                    metrics: PrometheusCollectorRegistry?, feed: LiveFeed, places: PlaceResolver? = nil,
                    maxConcurrentAnalyses: Int = 2) {
            self.store = store
            self.deadLetters = deadLetters
            self.engine = engine
            self.analyses = AnalysisCache(engine: engine, maxRunning: maxConcurrentAnalyses)
            self.metrics = metrics
            self.feed = feed
            self.places = places ?? PlaceResolver(store: store)
        }
    }

    /// Builds the router; public so that tests can drive it without a socket.
    public static func router(_ deps: Dependencies, configuration: Configuration = .init()) -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: MetricsMiddleware())
        router.add(middleware: AccessMiddleware(token: configuration.authToken.map { Array($0.utf8) }, maxBodyBytes: configuration.maxBodyBytes))
        API.register(on: router, deps)
        Pages.register(on: router, deps)
        return router
    }

    /// The application, a ServiceLifecycle `Service`: run it and `deps.feed` in the
    /// composition root's group.
    public static func make(_ deps: Dependencies, configuration: Configuration, logger: Logger) -> some ApplicationProtocol {
        Application(router: router(deps, configuration: configuration),
                    configuration: .init(address: .hostname(configuration.host, port: configuration.port)),
                    logger: logger)
    }

    static func json(_ text: String) -> Response {
        json(Array(text.utf8))
    }

    static func json(_ bytes: [UInt8], status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    static func html(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    /// 400 with `{"error": message}`: the message says what to fix.
    static func badRequest(_ message: String) -> Response {
        error(message, status: .badRequest)
    }

    static func error(_ message: String, status: HTTPResponse.Status) -> Response {
        var w = JSONWriter()
        w.raw("{")
        w.key("error", first: true)
        w.string(message)
        w.raw("}")
        return json(w.bytes, status: status)
    }
}

/// A request's parameters, checked: each accessor throws a ``ParameterError`` that becomes a
/// 400 saying what to fix.
struct Parameters {
    let values: [String: String]
    /// Whether an empty time or number (`until=`) is refused, as the JSON API's document says,
    /// rather than taken as absent, as the pages' forms send their blank fields.
    let strict: Bool

    /// - Parameter strict: true for the JSON API (see ``strict``).
    init(_ request: Request, strict: Bool = false) {
        var values: [String: String] = [:]
        for (k, v) in request.uri.queryParameters { values[String(k)] = String(v) }
        self.values = values
        self.strict = strict
    }

    /// Refuses `name=` with nothing after it, under ``strict``.
    func refuseEmpty(_ name: String, _ expected: String) throws {
        if strict, values[name] == "" { throw ParameterError(message: "parameter '\(name)' is empty: give \(expected), or leave it out") }
    }

    struct ParameterError: Error {
        var message: String
    }

    func text(_ name: String, maxLength: Int = 200) throws -> String? {
        guard let v = values[name], !v.isEmpty else { return nil }
        guard v.count <= maxLength else { throw ParameterError(message: "parameter '\(name)' is longer than \(maxLength) characters") }
        return v
    }

    func time(_ name: String) throws -> Date? {
        try refuseEmpty(name, "an ISO 8601 time such as 2026-11-29T08:00:00Z")
        guard let v = try text(name) else { return nil }
        guard let d = ISO8601.date(from: v) else {
            throw ParameterError(message: "parameter '\(name)' must be an ISO 8601 time such as 2026-11-29T08:00:00Z")
        }
        return d
    }

    func integer(_ name: String, _ range: ClosedRange<Int>) throws -> Int? {
        try refuseEmpty(name, "a whole number from \(range.lowerBound) to \(range.upperBound)")
        guard let v = try text(name) else { return nil }
        guard let n = Int(v), range.contains(n) else {
            throw ParameterError(message: "parameter '\(name)' must be a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return n
    }

    func choice(_ name: String, _ allowed: [String]) throws -> String? {
        guard let v = try text(name) else { return nil }
        guard allowed.contains(v) else {
            throw ParameterError(message: "parameter '\(name)' must be one of \(allowed.joined(separator: ", "))")
        }
        return v
    }

    /// A duration in seconds: `900`, `15m`, `1h`, `1d`.
    func seconds(_ name: String, _ range: ClosedRange<Int>) throws -> Int? {
        guard let v = try text(name) else { return nil }
        guard let d = parseDuration(v), d.seconds.rounded() == d.seconds, range.contains(Int(d.seconds)) else {
            throw ParameterError(message: "parameter '\(name)' must be a whole number of seconds from \(range.lowerBound) to \(range.upperBound), or 15m, 1h, 1d")
        }
        return Int(d.seconds)
    }
}

/// The JSON API. Every response has a stable shape, with units in the field names (as
/// `meteo query --format json`); a bad parameter is a 400 with `{"error": …}`.
enum API {
    static func register(on router: Router<BasicRequestContext>, _ deps: MeteoApp.Dependencies) {
        let store = deps.store
        MetricsEndpoint.registerProbes(on: router, registry: deps.metrics)
        router.get("/openapi.json") { _, _ in
            MeteoApp.json(OpenAPIDocument.json)
        }
        router.get("/api/places") { request, _ -> Response in
            try await handling {
                let p = Parameters(request, strict: true)
                let region = try p.text("region")
                var rows: [StoredPlace]
                if let q = try p.text("q") { rows = try await deps.places.search(q) } else { rows = try await deps.places.storedPlaces() }
                if let region { rows = rows.filter { $0.region == region } }
                rows.sort { ($0.name, $0.id) < ($1.name, $1.id) }
                var w = JSONWriter(capacity: rows.count * 160 + 64)
                w.raw("{")
                w.key("count", first: true)
                w.number(rows.count)
                w.key("places")
                w.raw("[")
                for (i, o) in rows.enumerated() {
                    if i > 0 { w.raw(",") }
                    w.raw("{")
                    w.key("place_id", first: true); w.string(o.id)
                    w.key("name"); w.string(o.name)
                    w.key("country"); w.string(o.country)
                    w.key("region"); if let r = o.region { w.string(r) } else { w.raw("null") }
                    w.key("latitude"); w.number(o.latitude)
                    w.key("longitude"); w.number(o.longitude)
                    w.key("last_observed_at"); w.string(ISO8601.string(from: o.lastObservedAt))
                    w.raw("}")
                }
                w.raw("]}")
                return MeteoApp.json(w.bytes)
            }
        }
        let latestCache = ResponseCache(lifetime: .seconds(1))
        router.get("/api/latest") { request, _ -> Response in
            try await handling {
                let region = try Parameters(request, strict: true).text("region")
                // The latest of a region changes at most once a poll; under load, one read of
                // the store a second serves every request (the live feed pushes changes anyway).
                let bytes = try await latestCache.value(for: region ?? "") {
                    observationsJSON(try await store.latest(region: region), next: nil)
                }
                return MeteoApp.json(bytes)
            }
        }
        router.get("/api/observations") { request, _ -> Response in
            try await handling {
                let p = Parameters(request, strict: true)
                var query = ObservationQuery(limit: 100)
                if let place = try p.text("place") { query.placeIDs = [try await deps.places.resolve(place).place.id] }
                query.region = try p.text("region")
                query.since = try p.time("since")
                query.until = try p.time("until")
                let limit = try p.integer("limit", 1...10_000) ?? 100
                if let token = try p.text("cursor", maxLength: 400) {
                    guard let cursor = ObservationCursor(token: token) else {
                        throw Parameters.ParameterError(message: "parameter 'cursor' is not a cursor of this API: pass the next_cursor of the previous page as it is")
                    }
                    query.after = cursor
                }
                // One row more than asked tells whether there is a next page.
                query.limit = limit + 1
                var rows = try await store.observations(query)
                var next: ObservationCursor?
                if rows.count > limit {
                    rows.removeLast(rows.count - limit)
                    next = rows.last.map(ObservationCursor.init)
                }
                return MeteoApp.json(observationsJSON(rows, next: next))
            }
        }
        router.get("/api/analytics") { request, _ -> Response in
            try await handling {
                let report = try await deps.analyses.report(try await analysisRequest(Parameters(request, strict: true), places: deps.places))
                return MeteoApp.json(report.jsonString)
            }
        }
        router.get("/api/stream") { _, _ -> Response in
            let stream = deps.feed.subscribe()
            return Response(status: .ok,
                            headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
                            body: .init(asyncSequence: stream.map { ByteBuffer(bytes: $0) }))
        }
    }

    /// Runs a handler; a parameter error or an ambiguous place becomes a 400 that says what to
    /// fix, and a place that cannot be found a 404 that says what comes close.
    static func handling(_ body: () async throws -> Response) async throws -> Response {
        do {
            return try await body()
        } catch let error as Parameters.ParameterError {
            return MeteoApp.badRequest(error.message)
        } catch let error as MeteoError where error.code == .unknownPlace {
            return MeteoApp.error(error.message, status: .notFound)
        } catch let error as MeteoError where error.code == .ambiguousPlace {
            return MeteoApp.badRequest(error.message)
        } catch let error as AnalysisCache.Busy {
            var response = MeteoApp.error(error.description, status: .serviceUnavailable)
            response.headers[.retryAfter] = "\(AnalysisCache.Busy.retryAfterSeconds)"
            return response
        }
    }

    static func analysisRequest(_ p: Parameters, places: PlaceResolver) async throws -> AnalysisRequest {
        var request = AnalysisRequest()
        request.region = try p.text("region")
        if let place = try p.text("place") { request.placeIDs = [try await places.resolve(place).place.id] }
        request.since = try p.time("since")
        request.until = try p.time("until")
        request.windowSeconds = try p.seconds("window", 1...(366 * 86_400)) ?? 3600
        request.top = try p.integer("top", 0...1000) ?? 5
        return request
    }

    /// `{"count": n, "observations": [...], "next_cursor": token|null}`.
    static func observationsJSON(_ rows: [Observation], next: ObservationCursor?) -> [UInt8] {
        var w = JSONWriter(capacity: rows.count * 420 + 64)
        w.raw("{")
        w.key("count", first: true)
        w.number(rows.count)
        w.key("observations")
        EventCodec.writeArray(rows, into: &w)
        w.key("next_cursor")
        if let next { w.string(next.token) } else { w.raw("null") }
        w.raw("}")
        return w.bytes
    }
}

/// Encoded responses kept for a short lifetime, by key: a burst of identical requests costs
/// one store read. Concurrent misses of one key may each read; the last one is kept.
final class ResponseCache: Sendable {
    let lifetime: Duration
    private let entries = Mutex([String: (bytes: [UInt8], expires: ContinuousClock.Instant)]())

    init(lifetime: Duration) {
        self.lifetime = lifetime
    }

    func value(for key: String, _ make: () async throws -> [UInt8]) async throws -> [UInt8] {
        let now = ContinuousClock.now
        if let hit = entries.withLock({ $0[key] }), hit.expires > now { return hit.bytes }
        let bytes = try await make()
        entries.withLock { e in
            if e.count > 256 { e = e.filter { $0.value.expires > now } }
            e[key] = (bytes, now + lifetime)
        }
        return bytes
    }
}
