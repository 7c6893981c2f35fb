import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import MeteoAnalytics
import MeteoCore
import MeteoEmbedded
import Metrics
import Prometheus
import ServiceLifecycle
@testable import MeteoServer
import Testing

/// A store with a few places and ticks, one place named as an XSS attempt, and the app's
/// dependencies over it.
struct Fixture: Sendable {
    let dir: URL
    let store: SQLiteStore
    let deps: MeteoApp.Dependencies
    let rows: [Observation]

    static let start = Date(timeIntervalSince1970: 1_764_387_600)
    static let hostileName = "<img src=x onerror=alert(1)>"

    init(places: Int = 10, ticks: Int = 3) async throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("meteo-server-\(UUID().uuidString)")
        store = try SQLiteStore.open(dataDir: dir, logger: Logger(label: "test"))
        var rows: [Observation] = []
        for tick in 0..<ticks {
            for p in 0..<places {
                rows.append(Observation(
                    placeID: "\(1000 + p)", name: p == 1 ? Self.hostileName : "Place \(p)", country: "FR",
                    region: p % 2 == 0 ? "EuropeW" : "EuropeE", latitude: 45 + Double(p) * 0.5, longitude: 2 + Double(p),
                    observedAt: Self.start.addingTimeInterval(Double(tick) * 600), source: "test",
                    temperatureC: Double(p) + Double(tick), feelsLikeC: Double(p) - 1, humidityPct: 50 + Double(p * 3),
                    pressureHPa: 1010 + Double(p), windSpeedMS: Double(p % 4), cloudCoverPct: Double(10 * p),
                    rainMM: p == 2 ? 0.6 : 0, snowMM: p == 3 ? 1.2 : 0))
            }
        }
        _ = try await store.upsert(rows)
        self.rows = rows
        deps = MeteoApp.Dependencies(store: store, deadLetters: store, engine: InProcessEngine(store: store, logger: Logger(label: "test")),
                                     metrics: TestMetrics.registry, feed: LiveFeed(store: store, deadLetters: store, logger: Logger(label: "test")))
    }

    func test(configuration: MeteoApp.Configuration = .init(), _ body: @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        let app = Application(router: MeteoApp.router(deps, configuration: configuration))
        try await app.test(.router, body)
        try? FileManager.default.removeItem(at: dir)
    }
}

/// One Prometheus registry behind swift-metrics for the whole test process.
enum TestMetrics {
    static let registry: PrometheusCollectorRegistry = {
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        return registry
    }()
}

func json(_ response: TestResponse) throws -> JSONValue {
    try JSONValue.parse(Array(response.body.readableBytesView))
}

func errorMessage(_ response: TestResponse) throws -> String {
    guard case .string(let message)? = try json(response)["error"] else { return "" }
    return message
}

@Suite("Web server: the JSON API")
struct APITests {
    @Test func healthOpenAPIAndMetrics() async throws {
        let f = try await Fixture()
        try await f.test { client in
            try await client.execute(uri: "/healthz", method: .get) { response in
                #expect(response.status == .ok)
                let body = try json(response)
                #expect(body["status"] == .string("ok"))
            }
            try await client.execute(uri: "/openapi.json", method: .get) { response in
                #expect(response.status == .ok)
                let doc = try json(response)
                #expect(doc["openapi"] == .string("3.1.0"))
                guard case .object(let paths)? = doc["paths"] else { Issue.record("no paths"); return }
                for path in ["/api/places", "/api/observations", "/api/latest", "/api/analytics", "/api/stream", "/healthz", "/metrics"] {
                    #expect(paths[path] != nil, "\(path) is documented")
                }
            }
            try await client.execute(uri: "/metrics", method: .get) { response in
                #expect(response.status == .ok)
                let text = String(buffer: response.body)
                #expect(text.contains("hb_requests") || text.contains("hb_request"), "the request metrics are exported: \(text.prefix(300))")
            }
        }
    }

    @Test func latestAndPlacesHaveStableShapesAndFilters() async throws {
        let f = try await Fixture()
        try await f.test { client in
            try await client.execute(uri: "/api/latest?region=EuropeW", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "application/json")
                let body = try json(response)
                #expect(body["count"] == .number(5))
                #expect(body["next_cursor"] == .null)
                guard case .array(let rows)? = body["observations"] else { Issue.record("no observations"); return }
                #expect(rows.count == 5)
                #expect(rows.allSatisfy { $0["region"] == .string("EuropeW") && $0["observed_at"] == .string("2025-11-29T04:00:00Z") })
            }
            try await client.execute(uri: "/api/places?q=place%205", method: .get) { response in
                let body = try json(response)
                #expect(body["count"] == .number(1))
                guard case .array(let places)? = body["places"] else { Issue.record("no places"); return }
                #expect(places.first?["place_id"] == .string("1005"))
                #expect(places.first?["last_observed_at"] == .string("2025-11-29T04:00:00Z"))
            }
            try await client.execute(uri: "/api/places", method: .get) { response in
                let body = try json(response)
                #expect(body["count"] == .number(10))
                // JSON carries the hostile name as data, escaped only as JSON requires.
                guard case .array(let places)? = body["places"] else { return }
                #expect(places.contains { $0["name"] == .string(Fixture.hostileName) })
            }
        }
    }

    @Test func observationsPageThroughEveryRowOnceNewestFirst() async throws {
        let f = try await Fixture(places: 10, ticks: 3)
        try await f.test { client in
            var seen: [String] = []
            var uri = "/api/observations?limit=7"
            var pages = 0
            while true {
                var next: String?
                try await client.execute(uri: uri, method: .get) { response in
                    #expect(response.status == .ok)
                    let body = try json(response)
                    guard case .array(let rows)? = body["observations"] else { Issue.record("no observations"); return }
                    for r in rows {
                        guard case .string(let id)? = r["place_id"], case .string(let t)? = r["observed_at"] else { continue }
                        seen.append("\(t) \(id)")
                    }
                    if case .string(let token)? = body["next_cursor"] { next = token }
                }
                pages += 1
                guard let next, pages < 10 else { break }
                uri = "/api/observations?limit=7&cursor=\(next)"
            }
            #expect(pages == 5, "30 rows in pages of 7")
            #expect(seen.count == 30 && Set(seen).count == 30, "every row exactly once")
            let expected = f.rows.map { "\(ISO8601.string(from: $0.observedAt)) \($0.placeID)" }
                .sorted { a, b in a.prefix(20) != b.prefix(20) ? a > b : a < b }
            #expect(seen == expected, "newest first, then by place id")
            try await client.execute(uri: "/api/observations?place=1003&since=2025-11-29T03:50:00Z", method: .get) { response in
                let body = try json(response)
                #expect(body["count"] == .number(2))
            }
        }
    }

    @Test func analyticsIsTheReportOfMeteoAnalyze() async throws {
        let f = try await Fixture()
        let expected = try await f.deps.engine.analyze(AnalysisRequest(region: "EuropeE", windowSeconds: 900, top: 3))
        try await f.test { client in
            try await client.execute(uri: "/api/analytics?region=EuropeE&window=15m&top=3", method: .get) { response in
                #expect(response.status == .ok)
                let got = try json(response)
                let want = try JSONValue.parse(expected.jsonString)
                #expect(got == want)
            }
        }
    }

    @Test(arguments: [
        ("/api/observations?since=yesterday", "since"),
        ("/api/observations?until=2025-13-40", "until"),
        ("/api/observations?limit=0", "limit"),
        ("/api/observations?limit=abc", "limit"),
        ("/api/observations?cursor=%21%21%21", "cursor"),
        ("/api/analytics?window=0", "window"),
        ("/api/analytics?window=soon", "window"),
        ("/api/analytics?top=-1", "top"),
        ("/api/analytics?since=1999", "since"),
        // An empty time or number is not the parameter left out (found by scripts/api-check:
        // `until=` does not match /openapi.json's date-time).
        ("/api/observations?until=", "until"),
        ("/api/observations?limit=", "limit"),
        ("/api/analytics?since=", "since"),
        ("/api/analytics?top=", "top"),
    ])
    func badParametersGet400SayingWhatToFix(uri: String, parameter: String) async throws {
        let f = try await Fixture(places: 2, ticks: 1)
        try await f.test { client in
            try await client.execute(uri: uri, method: .get) { response in
                #expect(response.status == .badRequest)
                #expect(response.headers[.contentType] == "application/json")
                let message = try errorMessage(response)
                #expect(message.contains("'\(parameter)'"), "\(uri): \(message)")
            }
        }
    }
}

@Suite("Web server: the live feed")
struct LiveFeedTests {
    /// The SSE events in the bytes received so far.
    func events(_ chunks: [[UInt8]]) -> [(name: String, data: String)] {
        let text = String(decoding: chunks.joined(), as: UTF8.self)
        return text.components(separatedBy: "\n\n").compactMap { block in
            var name: String?, data: String?
            for line in block.split(separator: "\n") {
                if line.hasPrefix("event: ") { name = String(line.dropFirst(7)) }
                if line.hasPrefix("data: ") { data = String(line.dropFirst(6)) }
            }
            guard let name, let data else { return nil }
            return (name, data)
        }
    }

    @Test func aNewObservationReachesEverySubscriberWithTheFigures() async throws {
        let f = try await Fixture(places: 4, ticks: 1)
        defer { try? FileManager.default.removeItem(at: f.dir) }
        let feed = f.deps.feed
        let a = feed.subscribe(), b = feed.subscribe()
        #expect(feed.subscriberCount == 2)
        try await feed.tick()  // the first poll only learns what is there
        var newer = f.rows[2]
        newer.observedAt = Fixture.start.addingTimeInterval(600)
        newer.temperatureC = 31.5
        _ = try await f.store.upsert([newer])
        try await feed.tick()
        feed.stop()
        for stream in [a, b] {
            var chunks: [[UInt8]] = []
            for await chunk in stream { chunks.append(chunk) }
            let got = events(chunks)
            #expect(got.map(\.name) == ["latest", "figures"], "one change, then the figures: \(got.map(\.name))")
            let latest = try JSONValue.parse(got[0].data)
            guard case .array(let rows) = latest else { Issue.record("latest is not an array"); continue }
            #expect(rows.count == 1)
            #expect(rows.first?["place_id"] == .string(newer.placeID))
            #expect(rows.first?["temperature_c"] == .number(31.5))
            #expect(rows.first?["marker_color"] != nil)
            let figures = try JSONValue.parse(got[1].data)
            #expect(figures["observations"] == .number(5))
            #expect(figures["places"] == .number(4))
        }
        #expect(feed.subscriberCount == 0)
    }

    @Test func gracefulShutdownEndsTheFeedAndItsStreams() async throws {
        let f = try await Fixture(places: 2, ticks: 1)
        defer { try? FileManager.default.removeItem(at: f.dir) }
        let stream = f.deps.feed.subscribe()
        let group = ServiceGroup(services: [f.deps.feed], logger: Logger(label: "test"))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            try await Task.sleep(for: .milliseconds(100))
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()  // a feed that kept polling would hang the test here
        }
        var chunks = 0
        for await _ in stream { chunks += 1 }
        #expect(chunks == 1, "the open stream ended after its retry line")
        #expect(f.deps.feed.subscriberCount == 0)
    }

    @Test func theStreamRouteAnswersWithAnEventStream() async throws {
        let f = try await Fixture(places: 2, ticks: 1)
        f.deps.feed.stop()  // so that the stream ends after its first line
        try await f.test { client in
            try await client.execute(uri: "/api/stream", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "text/event-stream")
                #expect(String(buffer: response.body).hasPrefix("retry: 2000"))
            }
        }
    }
}

@Suite("Web server: the pages")
struct PageTests {
    func html(_ client: any TestClientProtocol, _ uri: String, status: HTTPResponse.Status = .ok) async throws -> String {
        try await client.execute(uri: uri, method: .get) { response in
            #expect(response.status == status, "\(uri)")
            return String(buffer: response.body)
        }
    }

    @Test func everyPageRendersWithTheHostileNameAsText() async throws {
        let f = try await Fixture()
        try await f.store.record([DeadLetter(reason: "bad JSON <u>", topic: "weather.observations", partition: 0, offset: 7,
                                             key: "<script>", payload: Array("<script>alert(1)</script>".utf8), failedAt: Fixture.start)])
        try await f.test { client in
            for uri in ["/", "/map", "/map?region=EuropeW", "/scatter", "/scatter?x=pressure_hpa&y=wind_speed_ms&region=EuropeE",
                        "/heatmap", "/series", "/series?variable=humidity_pct&window=900", "/table", "/table?q=place", "/place/1001", "/dead-letters"] {
                let page = try await html(client, uri)
                #expect(page.hasPrefix("<!doctype html>"), "\(uri)")
                #expect(!page.contains("<img src=x") && !page.contains("<script>alert") && !page.contains("<u>"), "\(uri) escapes data")
                #expect(page.contains("/static/meteo.js"), "\(uri)")
            }
            let table = try await html(client, "/table")
            #expect(table.contains("&lt;img src=x onerror=alert(1)&gt;"))
            #expect(table.components(separatedBy: "<tr data-place=").count - 1 == 10, "one row per place")
            let dead = try await html(client, "/dead-letters")
            #expect(dead.contains("bad JSON &lt;u&gt;") && dead.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
        }
    }

    @Test func theMapHasOneMarkerPerPlaceAndZoomsToARegion() async throws {
        let f = try await Fixture()
        try await f.test { client in
            let all = try await html(client, "/map")
            #expect(all.components(separatedBy: "class=\"marker\"").count - 1 == 10)
            #expect(all.contains("data-place=\"1001\""))
            let west = try await html(client, "/map?region=EuropeW")
            #expect(west.components(separatedBy: "class=\"marker\"").count - 1 == 5)
            func viewBox(_ page: String) -> String? {
                page.range(of: "viewBox=\"").map { String(page[$0.upperBound...].prefix { $0 != "\"" }) }
            }
            #expect(viewBox(all) != nil && viewBox(all) != viewBox(west), "the region zooms the map")
        }
    }

    @Test func overviewFiguresAndTheHeatmapShowTheData() async throws {
        let f = try await Fixture()
        try await f.test { client in
            let overview = try await html(client, "/")
            #expect(overview.contains("data-figure=\"places\">10<"))
            #expect(overview.contains("data-figure=\"observations\">30<"))
            #expect(overview.contains("data-figure=\"rain_places\">1<") && overview.contains("data-figure=\"snow_places\">1<"))
            // Latest tick: temperatures p + 2 for p in 0..<10, mean 6.5 °C.
            #expect(overview.contains("data-figure=\"mean_temperature_c\">6.5 °C<"))
            let heatmap = try await html(client, "/heatmap")
            #expect(heatmap.contains("1.00"), "the diagonal is written in its cells")
            let place = try await html(client, "/place/1004")
            #expect(place.contains("Place 4") && place.contains("<svg"))
        }
    }

    @Test func badParametersAndUnknownPlacesAreClearErrors() async throws {
        let f = try await Fixture(places: 2, ticks: 1)
        try await f.test { client in
            let badRegion = try await html(client, "/map?region=Atlantis", status: .badRequest)
            #expect(badRegion.contains("parameter &#39;region&#39; must be one of"))
            let badVariable = try await html(client, "/scatter?x=colour", status: .badRequest)
            #expect(badVariable.contains("parameter &#39;x&#39;"))
            let unknown = try await html(client, "/place/%3Cscript%3E", status: .notFound)
            #expect(unknown.contains("&lt;script&gt;") && !unknown.contains("<script>alert"))
            let js = try await html(client, "/static/meteo.js")
            #expect(js.contains("EventSource"))
        }
    }
}

@Suite("Web server: access rules")
struct AccessTests {
    static let token = "0123456789abcdef-TOKEN"

    @Test func withATokenEveryRouteButHealthNeedsIt() async throws {
        let f = try await Fixture()
        try await f.test(configuration: .init(authToken: Self.token)) { client in
            for uri in ["/", "/api/latest", "/metrics", "/static/meteo.css", "/openapi.json", "/api/stream"] where uri != "/api/stream" {
                try await client.execute(uri: uri, method: .get) { response in
                    #expect(response.status == .unauthorized, "\(uri)")
                    #expect(response.headers[.wwwAuthenticate] == "Bearer")
                    #expect(!String(buffer: response.body).contains(Self.token), "the token is never echoed")
                }
            }
            try await client.execute(uri: "/healthz", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/api/latest", method: .get, headers: [.authorization: "Bearer \(Self.token)"]) {
                #expect($0.status == .ok)
            }
            for wrong in ["Bearer \(Self.token)x", "Bearer \(Self.token.dropLast())", "Basic \(Self.token)", "Bearer "] {
                try await client.execute(uri: "/api/latest", method: .get, headers: [.authorization: wrong]) {
                    #expect($0.status == .unauthorized, "\(wrong)")
                }
            }
            // A browser: ?token= once sets an HttpOnly cookie, which then suffices.
            var cookie = ""
            try await client.execute(uri: "/?token=\(Self.token)", method: .get) { response in
                #expect(response.status == .ok)
                let set = response.headers[.setCookie] ?? ""
                #expect(set.contains("HttpOnly") && set.contains("SameSite=Strict"))
                cookie = String(set.split(separator: ";").first ?? "")
            }
            try await client.execute(uri: "/table", method: .get, headers: [.cookie: "other=1; \(cookie)"]) { #expect($0.status == .ok) }
            try await client.execute(uri: "/table", method: .get, headers: [.cookie: "meteo_token=guess"]) { #expect($0.status == .unauthorized) }
        }
    }

    @Test func onlyReadsAndNoLargeBodies() async throws {
        let f = try await Fixture()
        try await f.test { client in
            for method in [HTTPRequest.Method.post, .put, .delete, .patch] {
                try await client.execute(uri: "/api/latest", method: method) { response in
                    #expect(response.status == .methodNotAllowed, "\(method)")
                    #expect(response.headers[.allow] == "GET, HEAD")
                }
            }
            try await client.execute(uri: "/api/latest", method: .get, headers: [.contentLength: "10000000"]) { response in
                #expect(response.status == .contentTooLarge)
                let message = try errorMessage(response)
                #expect(message.contains("over the limit"))
            }
            try await client.execute(uri: "/api/latest", method: .get) { #expect($0.status == .ok) }
        }
    }

    @Test func staticPathsNeverReachTheFileSystem() async throws {
        let f = try await Fixture()
        try await f.test { client in
            for uri in ["/static/../Package.swift", "/static/%2e%2e/%2e%2e/etc/passwd", "/static/..%2f..%2fetc%2fpasswd",
                        "/static/meteo.css/../../../etc/passwd", "/static//etc/passwd", "/static/meteo.css%00.txt"] {
                try await client.execute(uri: uri, method: .get) { response in
                    #expect(response.status == .notFound || response.status == .badRequest, "\(uri): \(response.status)")
                    #expect(!String(buffer: response.body).contains("root:"), "\(uri)")
                }
            }
            try await client.execute(uri: "/static/meteo.css", method: .get) { #expect($0.status == .ok) }
        }
    }

    @Test func tokensCompareByValueOnly() {
        #expect(AccessMiddleware.equal(Array("abc".utf8), Array("abc".utf8)))
        #expect(!AccessMiddleware.equal(Array("abc".utf8), Array("abd".utf8)))
        #expect(!AccessMiddleware.equal(Array("abc".utf8), Array("abcd".utf8)))
        #expect(!AccessMiddleware.equal([], Array("a".utf8)))
        #expect(AccessMiddleware.cookieValue("a=1; meteo_token=xyz; b=2") == "xyz")
        #expect(AccessMiddleware.cookieValue("a=1") == nil)
    }
}
