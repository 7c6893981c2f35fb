import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import MeteoCore
import MeteoEmbedded
import MeteoServer
import Testing

@Suite("Web server: JSON API and the latest-weather page")
struct ServerTests {
    func storeWithData() async throws -> (SQLiteStore, URL) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("meteo-server-\(UUID().uuidString)")
        let store = try SQLiteStore.open(dataDir: dir, logger: Logger(label: "test"))
        let base = Observation(placeID: "2973783", name: "Strasbourg", country: "FR", region: "EuropeW",
                               latitude: 48.58, longitude: 7.75, observedAt: Date(timeIntervalSince1970: 1_764_387_600),
                               source: "test", temperatureC: 4, humidityPct: 80, rainMM: 0.4)
        var hostile = base
        hostile.placeID = "666"
        hostile.name = "<script>alert(1)</script>"
        hostile.temperatureC = 6
        hostile.humidityPct = 60
        hostile.rainMM = 0
        _ = try await store.upsert([base, hostile])
        return (store, dir)
    }

    @Test func healthAndLatestJSON() async throws {
        let (store, dir) = try await storeWithData()
        defer { try? FileManager.default.removeItem(at: dir) }
        let app = Application(router: MeteoApp.router(store: store, deadLetters: store))
        try await app.test(.router) { client in
            try await client.execute(uri: "/healthz", method: .get) { response in
                #expect(response.status == .ok)
            }
            try await client.execute(uri: "/api/latest?region=EuropeW", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "application/json")
                let json = try JSONValue.parse(Array(response.body.readableBytesView))
                guard case .array(let rows) = json else { Issue.record("not an array"); return }
                #expect(rows.count == 2)
                #expect(rows.contains { $0["name"] == .string("<script>alert(1)</script>") })
                #expect(rows.allSatisfy { $0["temperature_c"] != nil && $0["observed_at"] != nil })
            }
        }
    }

    @Test func badParametersGet400WithWhatToFix() async throws {
        let (store, dir) = try await storeWithData()
        defer { try? FileManager.default.removeItem(at: dir) }
        let app = Application(router: MeteoApp.router(store: store, deadLetters: store))
        try await app.test(.router) { client in
            try await client.execute(uri: "/api/observations?since=yesterday", method: .get) { response in
                #expect(response.status == .badRequest)
                let json = try JSONValue.parse(Array(response.body.readableBytesView))
                guard case .string(let message)? = json["error"] else { Issue.record("no error field"); return }
                #expect(message.contains("since"))
            }
            try await client.execute(uri: "/api/observations?limit=0", method: .get) { response in
                #expect(response.status == .badRequest)
            }
            try await client.execute(uri: "/api/observations?place=2973783&limit=5", method: .get) { response in
                #expect(response.status == .ok)
                let json = try JSONValue.parse(Array(response.body.readableBytesView))
                guard case .array(let rows) = json else { Issue.record("not an array"); return }
                #expect(rows.count == 1)
            }
        }
    }

    @Test func thePageEscapesHostileNamesAndShowsKeyFigures() async throws {
        let (store, dir) = try await storeWithData()
        defer { try? FileManager.default.removeItem(at: dir) }
        let app = Application(router: MeteoApp.router(store: store, deadLetters: store))
        try await app.test(.router) { client in
            try await client.execute(uri: "/", method: .get) { response in
                #expect(response.status == .ok)
                let html = String(buffer: response.body)
                #expect(!html.contains("<script>alert(1)</script>"))
                #expect(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
                #expect(html.contains("Strasbourg"))
                #expect(html.contains("5.0 °C"), "mean of 4 and 6 °C")
                #expect(html.contains("70.0 %"), "mean of 80 and 60 %")
                #expect(html.contains("places with rain<b>1</b>"))
            }
        }
    }
}
