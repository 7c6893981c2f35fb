import Foundation
import Hummingbird
import MeteoAnalytics
import MeteoCore

/// The dashboard's pages, rendered here: HTML with every string from data escaped, charts as
/// SVG drawn in Swift (`Charts/`), and one small script for live updates and table sorting.
enum Pages {
    /// A variable the pages can plot: JSON field, label with its unit, and its value.
    struct Variable: Sendable {
        var field: String
        var label: String
        var short: String
        var decimals: Int
        var value: @Sendable (Observation) -> Double?
    }

    static let variables: [Variable] = [
        .init(field: "temperature_c", label: "Temperature (°C)", short: "T", decimals: 1, value: { $0.temperatureC }),
        .init(field: "feels_like_c", label: "Feels like (°C)", short: "feels", decimals: 1, value: { $0.feelsLikeC }),
        .init(field: "humidity_pct", label: "Relative humidity (%)", short: "RH", decimals: 0, value: { $0.humidityPct }),
        .init(field: "pressure_hpa", label: "Pressure (hPa)", short: "p", decimals: 1, value: { $0.pressureHPa }),
        .init(field: "wind_speed_ms", label: "Wind speed (m/s)", short: "wind", decimals: 1, value: { $0.windSpeedMS }),
        .init(field: "wind_gust_ms", label: "Wind gusts (m/s)", short: "gust", decimals: 1, value: { $0.windGustMS }),
        .init(field: "cloud_cover_pct", label: "Cloud cover (%)", short: "cloud", decimals: 0, value: { $0.cloudCoverPct }),
        .init(field: "visibility_m", label: "Visibility (m)", short: "vis", decimals: 0, value: { $0.visibilityM }),
        .init(field: "rain_mm", label: "Rain, last hour (mm)", short: "rain", decimals: 2, value: { $0.rainMM }),
        .init(field: "snow_mm", label: "Snow, last hour (mm)", short: "snow", decimals: 2, value: { $0.snowMM }),
    ]

    static func variable(_ field: String) -> Variable? { variables.first { $0.field == field } }

    /// The world map, parsed and projected once.
    static let worldMap: WorldMap? = {
        let resources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Resources")
        guard let url = BundledResource.locate("world-110m.topo.json", module: "MeteoServer", sourceResources: resources),
              let data = try? Data(contentsOf: url) else { return nil }
        return try? WorldMap(topoJSON: Array(data))
    }()

    static func register(on router: Router<BasicRequestContext>, _ deps: MeteoApp.Dependencies) {
        let store = deps.store
        router.get("/static/meteo.css") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/css; charset=utf-8", .cacheControl: "max-age=3600"],
                     body: .init(byteBuffer: ByteBuffer(string: Assets.css)))
        }
        router.get("/static/meteo.js") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/javascript; charset=utf-8", .cacheControl: "max-age=3600"],
                     body: .init(byteBuffer: ByteBuffer(string: Assets.js)))
        }
        router.get("/") { _, _ -> Response in
            let latest = try await store.latest(region: nil)
            let figures = KeyFigures(latest: latest, observations: try await store.count(), deadLetters: try await deps.deadLetters?.deadLetterCount())
            let body = """
            <h1>Overview</h1>
            \(figuresHTML(figures))
            <div class="card">\(mapSVG(latest, focus: nil))</div>
            <p class="muted">Markers are coloured by temperature; hover one for its weather, or see the <a href="/table">table</a>.</p>
            """
            return MeteoApp.html(layout(title: "Overview", active: "/", body: body))
        }
        router.get("/map") { request, _ -> Response in
            try await page {
                let region = try await regionParameter(Parameters(request), places: deps.places)
                let regions = await regionNames(deps.places)
                let latest = try await store.latest(region: region?.name)
                let body = """
                <h1>Map\(region.map { " — " + HTML.escape($0.name) } ?? "")</h1>
                \(regionLinks("/map", current: region?.name, regions: regions))
                <div class="card">\(mapSVG(latest, focus: region?.box))</div>
                <p class="muted">\(latest.count) places. Equal Earth projection; land and borders: Natural Earth.</p>
                """
                return layout(title: "Map", active: "/map", body: body)
            }
        }
        router.get("/scatter") { request, _ -> Response in
            try await page {
                let p = Parameters(request)
                let fields = variables.map(\.field)
                let x = variable(try p.choice("x", fields) ?? "temperature_c")!
                let y = variable(try p.choice("y", fields) ?? "humidity_pct")!
                let region = try await regionParameter(p, places: deps.places)
                let regions = await regionNames(deps.places)
                let latest = try await store.latest(region: region?.name)
                let points = latest.compactMap { o -> ScatterPlot.Point? in
                    guard let vx = x.value(o), let vy = y.value(o) else { return nil }
                    return .init(x: vx, y: vy, label: "\(o.name), \(o.country): \(format(vx, x.decimals)) / \(format(vy, y.decimals))",
                                 colorValue: o.temperatureC)
                }
                let chart = ScatterPlot(title: "\(y.label) against \(x.label)", xLabel: x.label, yLabel: y.label,
                                        points: points, showsFit: true).render()
                func options(_ chosen: String) -> String {
                    variables.map { "<option value=\"\($0.field)\"\($0.field == chosen ? " selected" : "")>\(HTML.escape($0.label))</option>" }.joined()
                }
                let body = """
                <h1>Scatterplot</h1>
                <form class="controls" method="get" action="/scatter">
                <label>x<select name="x">\(options(x.field))</select></label>
                <label>y<select name="y">\(options(y.field))</select></label>
                <label>region<select name="region">\(regionOptions(region?.name, regions: regions))</select></label>
                <button type="submit">Plot</button></form>
                <div class="card narrow">\(chart)</div>
                <p class="muted">The latest observation of each place (\(points.count) with both values); colour: temperature.</p>
                """
                return layout(title: "Scatterplot", active: "/scatter", body: body)
            }
        }
        router.get("/heatmap") { request, _ -> Response in
            try await page {
                let region = try await regionParameter(Parameters(request), places: deps.places)
                let regions = await regionNames(deps.places)
                let report = try await deps.analyses.report(AnalysisRequest(region: region?.name))
                let names = report.correlation.variables
                let heatmap = Heatmap(
                    title: "Correlation of the weather variables (Pearson r)",
                    variables: names.map { name in Heatmap.Variable(name: variable(name)?.label ?? name, shortLabel: variable(name)?.short ?? name) },
                    values: report.correlation.matrix, counts: report.correlation.n).render()
                let body = """
                <h1>Correlations\(region.map { " — " + HTML.escape($0.name) } ?? "")</h1>
                \(regionLinks("/heatmap", current: region?.name, regions: regions))
                <div class="card narrow">\(heatmap)</div>
                <p class="muted">Over \(report.summary.observations) observations, pairwise-complete; – where undefined (a constant or missing variable). Computed by the \(HTML.escape(report.engine)) engine.</p>
                """
                return layout(title: "Correlations", active: "/heatmap", body: body)
            }
        }
        router.get("/series") { request, _ -> Response in
            try await page {
                let p = Parameters(request)
                let region = try await regionParameter(p, places: deps.places)
                let regions = await regionNames(deps.places)
                let choices = ["temperature_c", "humidity_pct", "pressure_hpa", "wind_speed_ms"]
                let field = try p.choice("variable", choices) ?? "temperature_c"
                let window = try p.seconds("window", 60...(31 * 86_400)) ?? 3600
                let report = try await deps.analyses.report(AnalysisRequest(region: region?.name, windowSeconds: window))
                var byRegion: [String: [LineChart.Point]] = [:]
                for w in report.windows.series {
                    let value: Double?
                    switch field {
                    case "humidity_pct": value = w.humidityPct
                    case "pressure_hpa": value = w.pressureHPa
                    case "wind_speed_ms": value = w.windSpeedMS
                    default: value = w.temperatureC
                    }
                    byRegion[w.region ?? "no region", default: []].append(.init(time: Double(w.start), value: value))
                }
                let v = variable(field)!
                let chart = LineChart(title: "\(v.label), mean per region and window", yLabel: v.label,
                                      series: byRegion.keys.sorted().map { LineChart.Series(name: $0, points: byRegion[$0]!) },
                                      valueDecimals: v.decimals).render()
                let variableOptions = choices.map { "<option value=\"\($0)\"\($0 == field ? " selected" : "")>\(HTML.escape(variable($0)!.label))</option>" }.joined()
                let windowOptions = [(900, "15 min"), (3600, "1 hour"), (21_600, "6 hours"), (86_400, "1 day")]
                    .map { "<option value=\"\($0.0)\"\($0.0 == window ? " selected" : "")>\($0.1)</option>" }.joined()
                let body = """
                <h1>Time series</h1>
                <form class="controls" method="get" action="/series">
                <label>variable<select name="variable">\(variableOptions)</select></label>
                <label>window<select name="window">\(windowOptions)</select></label>
                <label>region<select name="region">\(regionOptions(region?.name, regions: regions))</select></label>
                <button type="submit">Show</button></form>
                <div class="card">\(chart)</div>
                """
                return layout(title: "Time series", active: "/series", body: body)
            }
        }
        router.get("/table") { request, _ -> Response in
            try await page {
                let p = Parameters(request)
                let region = try await regionParameter(p, places: deps.places)
                let regions = await regionNames(deps.places)
                let q = try p.text("q") ?? ""
                var latest = try await store.latest(region: region?.name).sorted { ($0.name, $0.placeID) < ($1.name, $1.placeID) }
                if !q.isEmpty {
                    // As /api/places?q=: a part of the name, the id, or what the text resolves to.
                    let found = Set(try await deps.places.search(q).map(\.id))
                    latest = latest.filter { found.contains($0.placeID) }
                }
                let body = """
                <h1>Latest observations</h1>
                \(regionLinks("/table", current: region?.name, regions: regions))
                <form class="controls" method="get" action="/table"><label>filter<input id="table-filter" name="q" value="\(HTML.escape(q))" placeholder="place name"></label></form>
                \(latestTable(latest))
                <p class="muted">\(latest.count) places. Click a column to sort; click a place for its history.</p>
                """
                return layout(title: "Table", active: "/table", body: body)
            }
        }
        router.get("/place/:id") { request, context -> Response in
            let raw = context.parameters.get("id") ?? ""
            let text = raw.removingPercentEncoding ?? raw
            // An id (`/place/geo:48.5800,7.7500`, percent-encoded or not), or a name.
            let id: String
            do {
                id = try await deps.places.resolve(text).place.id
            } catch let error as MeteoError where error.code == .unknownPlace || error.code == .ambiguousPlace {
                return MeteoApp.html(layout(title: "Unknown place", active: "", body: "<h1>No place \(HTML.escape(text))</h1><p>\(HTML.escape(error.message))</p><p><a href=\"/table\">All places</a></p>"),
                                     status: error.code == .unknownPlace ? .notFound : .badRequest)
            }
            let history = try await store.observations(ObservationQuery(placeIDs: [id], newestFirst: true, limit: 500))
            guard let latest = history.first else {
                return MeteoApp.html(layout(title: "Unknown place", active: "", body: "<h1>No observations of place \(HTML.escape(id))</h1><p><a href=\"/table\">All places</a></p>"),
                                     status: .notFound)
            }
            func series(_ v: Variable) -> LineChart.Series {
                .init(name: v.label, points: history.reversed().map { .init(time: $0.observedAt.timeIntervalSince1970, value: v.value($0)) })
            }
            let temperature = LineChart(title: "Temperature", yLabel: "Temperature (°C)",
                                        series: [series(variables[0]), series(variables[1])]).render()
            let humidity = LineChart(title: "Relative humidity", yLabel: "Relative humidity (%)", series: [series(variables[2])], valueDecimals: 0).render()
            let fields = variables.map { v in
                "<div><span>\(HTML.escape(v.label))</span><b>\(format(v.value(latest), v.decimals))</b></div>"
            }.joined() + """
                <div><span>Wind direction (°)</span><b>\(format(latest.windDirectionDeg, 0))</b></div>
                <div><span>Weather code (WMO)</span><b>\(latest.weatherCode.map(String.init) ?? "–")</b></div>
                <div><span>Observed (UTC)</span><b>\(HTML.escape(ISO8601.string(from: latest.observedAt)))</b></div>
                <div><span>Source</span><b>\(HTML.escape(latest.source))</b></div>
                """
            let body = """
            <h1>\(HTML.escape(latest.name))\(latest.country.isEmpty ? "" : ", " + HTML.escape(latest.country))</h1>
            <p class="muted">\(HTML.escape(latest.region ?? "no region")) · \(format(latest.latitude, 4)) °N, \(format(latest.longitude, 4)) °E · id \(HTML.escape(latest.placeID)) · \(history.count) observations shown</p>
            <div class="card fields">\(fields)</div>
            <div class="card">\(temperature)</div>
            <div class="card">\(humidity)</div>
            """
            return MeteoApp.html(layout(title: latest.name, active: "", body: body))
        }
        router.get("/dead-letters") { _, _ -> Response in
            let letters = try await deps.deadLetters?.deadLetters(limit: 200) ?? []
            var rows = ""
            for d in letters {
                let payload = String(decoding: d.payload.prefix(400), as: UTF8.self)
                rows += "<tr><td>\(HTML.escape(ISO8601.string(from: d.failedAt)))</td><td>\(HTML.escape(d.topic))</td><td class=n>\(d.partition)</td><td class=n>\(d.offset)</td>"
                rows += "<td>\(HTML.escape(d.key ?? "–"))</td><td style=\"white-space:normal\">\(HTML.escape(d.reason))</td><td><pre>\(HTML.escape(payload))\(d.payload.count > 400 ? "…" : "")</pre></td></tr>\n"
            }
            let body = """
            <h1>Dead letters</h1>
            <p class="muted">Messages that could not be stored, newest first (at most 200), with the reason and the start of the original bytes.</p>
            <table class="sortable"><thead><tr><th>failed (UTC)</th><th>topic</th><th class=n>partition</th><th class=n>offset</th><th>key</th><th>reason</th><th>payload</th></tr></thead>
            <tbody>\(rows.isEmpty ? "<tr><td colspan=7>None.</td></tr>" : rows)</tbody></table>
            """
            return MeteoApp.html(layout(title: "Dead letters", active: "/dead-letters", body: body))
        }
    }

    /// Renders a page; a bad parameter is a 400 page that says what to fix.
    static func page(_ body: () async throws -> String) async throws -> Response {
        do {
            return MeteoApp.html(try await body())
        } catch let error as Parameters.ParameterError {
            return MeteoApp.html(layout(title: "Bad request", active: "", body: "<h1>Bad request</h1><p>\(HTML.escape(error.message))</p>"), status: .badRequest)
        } catch let error as AnalysisCache.Busy {
            var response = MeteoApp.html(layout(title: "Busy", active: "", body: "<h1>Busy</h1><p>\(HTML.escape(error.description)).</p>"),
                                         status: .serviceUnavailable)
            response.headers[.retryAfter] = "\(AnalysisCache.Busy.retryAfterSeconds)"
            return response
        }
    }

    /// The region a page shows: its name and the box to zoom the map to (nil: the world).
    struct PageRegion {
        var name: String
        var box: BoundingBox?
    }

    /// A built-in region, or a region of the stored or configured places (such as a places
    /// file's), zoomed to its places.
    static func regionParameter(_ p: Parameters, places: PlaceResolver) async throws -> PageRegion? {
        guard let text = try p.text("region") else { return nil }
        let name: String
        do { name = try await places.resolveRegion(text) } catch let error as MeteoError {
            throw Parameters.ParameterError(message: "parameter 'region' must be one of the known regions: \(error.message)")
        }
        if let region = Region.named(name) { return PageRegion(name: region.name, box: region.box) }
        let members = try await places.storedPlaces().filter { $0.region == name }
        return PageRegion(name: name, box: extent(of: members))
    }

    /// The box around some places with a margin of a degree, or nil for none.
    static func extent(of places: [StoredPlace]) -> BoundingBox? {
        let lats = places.map(\.latitude), lons = places.map(\.longitude)
        guard let latMin = lats.min(), let latMax = lats.max(), let lonMin = lons.min(), let lonMax = lons.max() else { return nil }
        return try? BoundingBox(lonMin: max(-180, lonMin - 1), latMin: max(-90, latMin - 1),
                                lonMax: min(180, lonMax + 1), latMax: min(90, latMax + 1))
    }

    /// The built-in regions, then the others of the stored and configured places.
    static func regionNames(_ places: PlaceResolver) async -> [String] {
        Region.builtin.map(\.name) + ((try? await places.customRegions()) ?? [])
    }

    static func format(_ value: Double?, _ decimals: Int) -> String {
        value.map { String(format: "%.\(decimals)f", $0) } ?? "–"
    }

    static let navigation = [("/", "Overview"), ("/map", "Map"), ("/scatter", "Scatter"), ("/heatmap", "Correlations"),
                             ("/series", "Time series"), ("/table", "Table"), ("/dead-letters", "Dead letters")]

    static func layout(title: String, active: String, body: String, live: Bool = true) -> String {
        let links = navigation.map { "<a href=\"\($0.0)\"\($0.0 == active ? " class=\"active\"" : "")>\($0.1)</a>" }.joined()
        return """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(HTML.escape(title)) · Meteo</title>
        <link rel="icon" href="data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'%3E%3Ccircle cx='8' cy='8' r='7' fill='%231f6feb'/%3E%3C/svg%3E">
        <link rel="stylesheet" href="/static/meteo.css"></head>
        <body data-live="\(live ? "on" : "off")">
        <header><span class="brand">Meteo</span><nav>\(links)</nav><span id="live-status">static</span></header>
        <main>
        \(body)
        </main>
        <footer>Places: GeoNames (geonames.org), CC BY 4.0 · Map: Natural Earth · JSON API: <a href="/openapi.json">/openapi.json</a></footer>
        <script src="/static/meteo.js"></script>
        </body></html>
        """
    }

    static func figuresHTML(_ f: KeyFigures) -> String {
        func item(_ key: String, _ label: String, _ value: String) -> String {
            "<div>\(label)<b data-figure=\"\(key)\">\(HTML.escape(value))</b></div>"
        }
        return """
        <section class="figures">
        \(item("places", "places", formatCount(f.places)))
        \(item("observations", "observations", formatCount(f.observations)))
        \(item("last_update", "last update (UTC)", f.lastUpdate.map { ISO8601.string(from: $0).replacingOccurrences(of: "T", with: " ").replacingOccurrences(of: "Z", with: "") } ?? "–"))
        \(item("mean_temperature_c", "mean temperature", format(f.meanTemperatureC, 1) + " °C"))
        \(item("mean_humidity_pct", "mean humidity", format(f.meanHumidityPct, 1) + " %"))
        \(item("rain_places", "places with rain", formatCount(f.rainPlaces)))
        \(item("snow_places", "places with snow", formatCount(f.snowPlaces)))
        \(item("dead_letters", "dead letters", f.deadLetters.map(formatCount) ?? "–"))
        </section>
        """
    }

    static func mapSVG(_ latest: [Observation], focus: BoundingBox?) -> String {
        guard let map = worldMap else { return "<p>The world map is missing from this build.</p>" }
        let markers = latest.map { o in
            WorldMap.Marker(placeID: o.placeID, name: o.name, latitude: o.latitude, longitude: o.longitude, temperatureC: o.temperatureC,
                            tooltip: "\(o.name), \(o.country): \(format(o.temperatureC, 1)) °C, \(format(o.humidityPct, 0)) %")
        }
        return map.render(markers: markers, focus: focus)
    }

    static func regionLinks(_ path: String, current: String?, regions: [String]) -> String {
        var links = "<a href=\"\(path)\"\(current == nil ? " class=\"active\"" : "")>all</a>"
        for name in regions {
            let query = name.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? name
            links += "<a href=\"\(path)?region=\(HTML.escape(query))\"\(current == name ? " class=\"active\"" : "")>\(HTML.escape(name))</a>"
        }
        return "<p class=\"regions\">\(links)</p>"
    }

    static func regionOptions(_ current: String?, regions: [String]) -> String {
        "<option value=\"\">all</option>" + regions.map {
            "<option value=\"\(HTML.escape($0))\"\($0 == current ? " selected" : "")>\(HTML.escape($0))</option>"
        }.joined()
    }

    /// The characters a place id keeps in its page's path: a path segment's (RFC 3986 pchar,
    /// `:` included, so `/place/geo:48.5800,7.7500` reads as it is), never `/`.
    static let placePathAllowed: CharacterSet = {
        var allowed = CharacterSet.urlPathAllowed
        allowed.insert(":")
        allowed.remove("/")
        return allowed
    }()

    /// `/place/<id>`, the id percent-encoded as one path segment, HTML-escaped for an attribute.
    static func placePath(_ id: String) -> String {
        HTML.escape("/place/" + (id.addingPercentEncoding(withAllowedCharacters: placePathAllowed) ?? id))
    }

    static func latestTable(_ rows: [Observation]) -> String {
        let columns: [(String, String, Int)] = [("temperature_c", "temp °C", 1), ("feels_like_c", "feels °C", 1), ("humidity_pct", "hum %", 0),
                                                ("pressure_hpa", "hPa", 1), ("wind_speed_ms", "wind m/s", 1), ("cloud_cover_pct", "cloud %", 0),
                                                ("rain_mm", "rain mm", 2), ("snow_mm", "snow mm", 2)]
        var html = "<table class=\"sortable\"><thead><tr><th>place</th><th>country</th><th>region</th><th>observed (UTC)</th>"
        html += columns.map { "<th class=n>\($0.1)</th>" }.joined() + "</tr></thead><tbody>\n"
        for o in rows {
            let id = HTML.escape(o.placeID)
            html += "<tr data-place=\"\(id)\"><td><a href=\"\(placePath(o.placeID))\">\(HTML.escape(o.name))</a></td>"
            html += "<td>\(HTML.escape(o.country))</td><td>\(HTML.escape(o.region ?? ""))</td>"
            html += "<td data-field=\"observed_at\">\(HTML.escape(ISO8601.string(from: o.observedAt).replacingOccurrences(of: "T", with: " ").replacingOccurrences(of: "Z", with: "")))</td>"
            for (field, _, decimals) in columns {
                let value = variable(field)!.value(o)
                html += "<td class=n data-field=\"\(field)\" data-value=\"\(value.map { String($0) } ?? "")\">\(format(value, decimals))</td>"
            }
            html += "</tr>\n"
        }
        return html + "</tbody></table>"
    }
}

