import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import MeteoAnalytics
import MeteoCore
import MeteoEmbedded
@testable import MeteoServer
import Testing

/// A store with custom places (one with a region, one with a hostile name), a place that
/// exists only in the store, two stored places of one name, and a catalogue place; the app's
/// resolver over a small catalogue and the custom places, as `meteo serve` builds it.
struct PlaceFixture: Sendable {
    let dir: URL
    let store: SQLiteStore
    let deps: MeteoApp.Dependencies

    static let start = Date(timeIntervalSince1970: 1_764_387_600)
    static let ventoux = Place(id: "geo:44.1700,5.2800", name: "Mont Ventoux", country: "", latitude: 44.17, longitude: 5.28, region: "Provence")
    static let hostile = Place(id: "geo:1.0000,2.0000", name: "<script>alert(1)</script>", country: "", latitude: 1, longitude: 2)
    static let sandPoint = Place(id: "sandpoint-1", name: "Sand Point", country: "US", latitude: 47.68, longitude: -122.26)
    static let twins = [Place(id: "twin-a", name: "Twin", country: "US", latitude: 30, longitude: -90),
                        Place(id: "twin-b", name: "Twin", country: "US", latitude: 31, longitude: -91)]
    static let strasbourg = Place(id: "2973783", name: "Strasbourg", country: "FR", latitude: 48.58392, longitude: 7.74553, region: "EuropeW")
    static let catalogue = try! PlaceCatalogue.parse(csv: """
        geonameid,name,country,admin1,latitude,longitude,population,timezone
        2973783,Strasbourg,FR,44,48.58392,7.74553,274845,Europe/Paris
        """)

    init() async throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("meteo-server-places-\(UUID().uuidString)")
        store = try SQLiteStore.open(dataDir: dir, logger: Logger(label: "test"))
        var rows: [Observation] = []
        for (i, p) in ([Self.ventoux, Self.hostile, Self.sandPoint, Self.strasbourg] + Self.twins).enumerated() {
            for tick in 0..<3 {
                rows.append(Observation(placeID: p.id, name: p.name, country: p.country, region: p.region,
                                        latitude: p.latitude, longitude: p.longitude,
                                        observedAt: Self.start.addingTimeInterval(Double(tick) * 600), source: "test",
                                        temperatureC: Double(i + tick), humidityPct: 50 + Double(i), pressureHPa: 1010))
            }
        }
        _ = try await store.upsert(rows)
        deps = MeteoApp.Dependencies(store: store, deadLetters: store, engine: InProcessEngine(store: store, logger: Logger(label: "test")),
                                     metrics: nil, feed: LiveFeed(store: store, deadLetters: store, logger: Logger(label: "test")),
                                     places: PlaceResolver(custom: [Self.ventoux, Self.hostile], catalogue: Self.catalogue, store: store))
    }

    func test(_ body: @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        let app = Application(router: MeteoApp.router(deps))
        try await app.test(.router, body)
        try? FileManager.default.removeItem(at: dir)
    }
}

@Suite("Web server: places from the configuration, the catalogue and the store")
struct PlaceLookupTests {
    /// The body of a GET, its status checked (the pages' helper, for the API too).
    func get(_ client: any TestClientProtocol, _ uri: String, status: HTTPResponse.Status = .ok) async throws -> String {
        try await PageTests().html(client, uri, status: status)
    }

    func ids(_ text: String, _ key: String) throws -> [String] {
        guard case .array(let rows)? = try JSONValue.parse(Array(text.utf8))[key] else { return [] }
        return rows.compactMap { if case .string(let id)? = $0["place_id"] { id } else { nil } }
    }

    @Test func apiPlacesFindsCustomAndStoreOnlyPlaces() async throws {
        let f = try await PlaceFixture()
        try await f.test { client in
            for (q, id) in [("ventoux", "geo:44.1700,5.2800"), ("Sand%20Point", "sandpoint-1"), ("SANDPOINT-1", "sandpoint-1"),
                            ("44.17,5.28", "geo:44.1700,5.2800"), ("geo%3A44.1700%2C5.2800", "geo:44.1700,5.2800"),
                            ("sand%20point,us", "sandpoint-1"), ("strasbourg", "2973783")] {
                #expect(try ids(await get(client, "/api/places?q=\(q)"), "places") == [id], "q=\(q)")
            }
            let all = try await get(client, "/api/places")
            #expect(try ids(all, "places").count == 6)
            #expect(try ids(await get(client, "/api/places?region=Provence"), "places") == ["geo:44.1700,5.2800"])
            // The hostile name is data: JSON carries it as it is.
            let hostile = try JSONValue.parse(Array(try await get(client, "/api/places?q=script").utf8))
            guard case .array(let places)? = hostile["places"] else { Issue.record("no places"); return }
            #expect(places.first?["name"] == .string(PlaceFixture.hostile.name))
        }
    }

    @Test func observationsAndAnalyticsTakeANameOrAnID() async throws {
        let f = try await PlaceFixture()
        let expected = try await f.deps.engine.analyze(AnalysisRequest(placeIDs: ["sandpoint-1"]))
        try await f.test { client in
            for place in ["Mont%20Ventoux", "geo:44.1700,5.2800", "geo%3A44.1700%2C5.2800", "44.17,5.28", "mont%20ventoux"] {
                let got = try ids(await get(client, "/api/observations?place=\(place)"), "observations")
                #expect(got == Array(repeating: "geo:44.1700,5.2800", count: 3), "place=\(place)")
            }
            for place in ["Sand%20Point", "sandpoint-1", "Sand%20Point,US"] {
                #expect(try ids(await get(client, "/api/observations?place=\(place)"), "observations").count == 3, "place=\(place)")
                let report = try JSONValue.parse(Array(try await get(client, "/api/analytics?place=\(place)").utf8))
                #expect(report == (try JSONValue.parse(expected.jsonString)), "place=\(place)")
                #expect(report["observations"] != nil)
            }
            let unknown = try await get(client, "/api/observations?place=Sand%20Pont", status: .notFound)
            #expect(unknown.contains("no place named 'Sand Pont'") && unknown.contains("did you mean 'Sand Point'"), "\(unknown)")
            let ambiguous = try await get(client, "/api/analytics?place=Twin", status: .badRequest)
            #expect(ambiguous.contains("is ambiguous") && ambiguous.contains("twin-a") && ambiguous.contains("twin-b"), "\(ambiguous)")
        }
    }

    @Test func placePagesTakeIDsWithColonsAndCommasAndNames() async throws {
        let f = try await PlaceFixture()
        try await f.test { client in
            for uri in ["/place/geo:44.1700,5.2800", "/place/geo%3A44.1700%2C5.2800", "/place/Mont%20Ventoux", "/place/44.17,5.28"] {
                let page = try await get(client, uri)
                #expect(page.contains("<h1>Mont Ventoux") && page.contains("id geo:44.1700,5.2800") && page.contains("Provence"), "\(uri)")
            }
            for uri in ["/place/sandpoint-1", "/place/Sand%20Point"] {
                #expect(try await get(client, uri).contains("<h1>Sand Point, US</h1>"), "\(uri)")
            }
            // The table links each place by its id, and every link leads to its page.
            let table = try await get(client, "/table")
            let links = table.components(separatedBy: "href=\"/place/").dropFirst().map { String($0.prefix { $0 != "\"" }) }
            #expect(links.contains("geo:44.1700,5.2800") && links.contains("sandpoint-1"), "\(links)")
            #expect(links.count == 6)
            #expect(Pages.placePath("a/b?c#d%e f&g") == "/place/a%2Fb%3Fc%23d%25e%20f&amp;g", "a stored id of any text stays one path segment")
            for link in links {
                let page = try await get(client, "/place/\(link)")
                #expect(page.contains("observations shown"), "/place/\(link)")
            }
            let filtered = try await get(client, "/table?q=Sand%20Point,US")
            #expect(filtered.components(separatedBy: "<tr data-place=").count - 1 == 1)
        }
    }

    @Test func customRegionsWorkOnThePagesAndHostileNamesStayText() async throws {
        let f = try await PlaceFixture()
        try await f.test { client in
            let map = try await get(client, "/map?region=Provence")
            #expect(map.components(separatedBy: "class=\"marker\"").count - 1 == 1)
            #expect(map.contains("href=\"/map?region=Provence\""), "the region is offered beside the built-in ones")
            #expect(try await get(client, "/table?region=provence").contains("Mont Ventoux"))
            let bad = try await get(client, "/map?region=Provance", status: .badRequest)
            #expect(bad.contains("parameter &#39;region&#39; must be one of") && bad.contains("Provence"))
            for uri in ["/place/geo:1.0000,2.0000", "/table", "/map", "/place/%3Cscript%3Ealert(2)%3C%2Fscript%3E", "/place/%3Cscript%3Ealert"] {
                let page = try await client.execute(uri: uri, method: .get) { String(buffer: $0.body) }
                #expect(!page.contains("<script>alert"), "\(uri) escapes the name")
            }
            let hostile = try await get(client, "/place/geo:1.0000,2.0000")
            #expect(hostile.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
            let unknown = try await get(client, "/place/%3Cscript%3Ealert", status: .notFound)
            #expect(unknown.contains("no place named &#39;&lt;script&gt;alert&#39;"), "\(unknown)")
        }
    }
}
