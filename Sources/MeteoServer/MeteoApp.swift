import Foundation
import Hummingbird
import Logging
import MeteoCore

/// The web server: a JSON API and a server-rendered page of the latest weather, from
/// whichever store the configuration names. It binds 127.0.0.1 unless told otherwise.
///
/// This is the first cut of the dashboard: key figures and the live table. The map,
/// scatterplots, heatmap and event stream come with the dashboard issue.
public enum MeteoApp {
    public struct Configuration: Sendable {
        public var host: String
        public var port: Int

        public init(host: String = "127.0.0.1", port: Int = 8080) {
            self.host = host
            self.port = port
        }
    }

    /// Builds the router; public so that tests can drive it without a socket.
    public static func router(store: any ObservationStore, deadLetters: (any DeadLetterStore)?) -> Router<BasicRequestContext> {
        let router = Router()
        router.get("/healthz") { _, _ in
            json(#"{"status":"ok"}"#)
        }
        router.get("/api/latest") { request, _ -> Response in
            let region = request.uri.queryParameters.get("region")
            let rows = try await store.latest(region: region)
            return json(observationsJSON(rows))
        }
        router.get("/api/observations") { request, _ -> Response in
            let q = request.uri.queryParameters
            var query = ObservationQuery(limit: 100)
            if let place = q.get("place") { query.placeIDs = [place] }
            if let region = q.get("region") { query.region = region }
            for (name, keyPath) in [("since", \ObservationQuery.since), ("until", \ObservationQuery.until)] {
                if let text = q.get(name) {
                    guard let date = ISO8601.date(from: text) else {
                        return badRequest("parameter '\(name)' must be an ISO 8601 time such as 2026-11-29T08:00:00Z")
                    }
                    query[keyPath: keyPath] = date
                }
            }
            if let text = q.get("limit") {
                guard let limit = Int(text), (1...10_000).contains(limit) else {
                    return badRequest("parameter 'limit' must be a whole number from 1 to 10000")
                }
                query.limit = limit
            }
            return json(observationsJSON(try await store.observations(query)))
        }
        router.get("/") { request, _ -> Response in
            let region = request.uri.queryParameters.get("region")
            let rows = try await store.latest(region: region)
            let total = try await store.count()
            let dead = try await deadLetters?.deadLetterCount()
            let html = page(latest: rows, total: total, deadLetters: dead, region: region)
            return Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(string: html)))
        }
        return router
    }

    /// The application, a ServiceLifecycle `Service`: run it in the composition root's group.
    public static func make(store: any ObservationStore, deadLetters: (any DeadLetterStore)?,
                            configuration: Configuration, logger: Logger) -> some ApplicationProtocol {
        Application(router: router(store: store, deadLetters: deadLetters),
                    configuration: .init(address: .hostname(configuration.host, port: configuration.port)),
                    logger: logger)
    }

    static func json(_ text: String) -> Response {
        json(Array(text.utf8))
    }

    static func json(_ bytes: [UInt8]) -> Response {
        Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    static func badRequest(_ message: String) -> Response {
        var w = JSONWriter()
        w.raw("{")
        w.key("error", first: true)
        w.string(message)
        w.raw("}")
        return Response(status: .badRequest, headers: [.contentType: "application/json"],
                        body: .init(byteBuffer: ByteBuffer(bytes: w.bytes)))
    }

    static func observationsJSON(_ rows: [Observation]) -> [UInt8] {
        var w = JSONWriter(capacity: rows.count * 420 + 2)
        EventCodec.writeArray(rows, into: &w)
        return w.bytes
    }

    static func page(latest: [Observation], total: Int, deadLetters: Int?, region: String?) -> String {
        func mean(_ values: [Double?]) -> String {
            let v = values.compactMap { $0 }
            return v.isEmpty ? "–" : String(format: "%.1f", v.reduce(0, +) / Double(v.count))
        }
        func cell(_ d: Double?, _ decimals: Int = 1) -> String {
            d.map { String(format: "%.\(decimals)f", $0) } ?? "–"
        }
        let rain = latest.filter { ($0.rainMM ?? 0) > 0 }.count
        let snow = latest.filter { ($0.snowMM ?? 0) > 0 }.count
        let last = latest.map(\.observedAt).max().map(ISO8601.string(from:)) ?? "–"
        var rows = ""
        for o in latest.sorted(by: { $0.name < $1.name }) {
            rows += "<tr><td>\(HTML.escape(o.name))</td><td>\(HTML.escape(o.country))</td><td>\(HTML.escape(o.region ?? ""))</td>"
            rows += "<td>\(HTML.escape(ISO8601.string(from: o.observedAt)))</td><td class=n>\(cell(o.temperatureC))</td>"
            rows += "<td class=n>\(cell(o.humidityPct, 0))</td><td class=n>\(cell(o.pressureHPa))</td><td class=n>\(cell(o.windSpeedMS))</td>"
            rows += "<td class=n>\(cell(o.rainMM, 2))</td><td class=n>\(cell(o.snowMM, 2))</td></tr>\n"
        }
        let title = region.map { "Meteo — \(HTML.escape($0))" } ?? "Meteo"
        return """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="30">
        <title>\(title)</title>
        <style>
        body{font-family:system-ui,sans-serif;margin:1.5rem;color:#222}
        .figures{display:flex;gap:1rem;flex-wrap:wrap}.figures div{background:#f2f5f9;padding:.6rem 1rem;border-radius:6px}
        .figures b{display:block;font-size:1.4rem}table{border-collapse:collapse;margin-top:1rem;font-size:.9rem}
        td,th{padding:.2rem .6rem;border-bottom:1px solid #ddd;text-align:left}.n{text-align:right}
        footer{margin-top:1rem;font-size:.8rem;color:#666}
        </style></head><body>
        <h1>\(title)</h1>
        <section class="figures">
        <div>places<b>\(latest.count)</b></div>
        <div>observations<b>\(total)</b></div>
        <div>last update (UTC)<b>\(HTML.escape(last))</b></div>
        <div>mean temperature<b>\(mean(latest.map(\.temperatureC))) °C</b></div>
        <div>mean humidity<b>\(mean(latest.map(\.humidityPct))) %</b></div>
        <div>places with rain<b>\(rain)</b></div>
        <div>places with snow<b>\(snow)</b></div>
        <div>dead letters<b>\(deadLetters.map(String.init) ?? "–")</b></div>
        </section>
        <table><thead><tr><th>place</th><th>country</th><th>region</th><th>observed</th><th>temp °C</th><th>hum %</th>
        <th>hPa</th><th>wind m/s</th><th>rain mm</th><th>snow mm</th></tr></thead>
        <tbody>
        \(rows)</tbody></table>
        <footer>The page refreshes every 30 s. JSON: <a href="/api/latest">/api/latest</a>. Places: GeoNames (geonames.org), CC BY 4.0.</footer>
        </body></html>
        """
    }
}
