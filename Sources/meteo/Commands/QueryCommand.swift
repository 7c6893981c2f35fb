import ArgumentParser
import Foundation
import MeteoCore
import MeteoEmbedded

struct QueryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "query",
        abstract: "Show the latest weather of a place and its history, the latest of a region, or of the places near a point.",
        discussion: """
        A place is a name, 'Name,CC' when the name is ambiguous (Paris,FR), 'Name,CC,admin1', \
        an id (a GeoNames id, geo:48.5800,7.7500, a places file's id) or LAT,LON. It is looked \
        up in your configured places (--places, METEO_PLACES_FILE), the bundled catalogue \
        (GeoNames) and the places found in the store, replayed and legacy data included; \
        among places of one name, the one with stored data wins (see the README).

        Times are ISO 8601 (2026-11-29T08:00:00Z, 2026-11-29) or an age: 90m, 24h, 7d.

        Examples:
          meteo query --place Strasbourg
          meteo query --place Paris,FR --since 24h --format csv
          meteo query --place Strasbourg --format json
          meteo query --region EuropeW
          meteo query --place 'Mont Ventoux' --since 7d
          meteo query --place geo:44.1700,5.2800
          meteo query --near 48.58,7.75 --radius 100km
          meteo query --near Strasbourg --store mongodb --mongo-uri mongodb://root:example@127.0.0.1:27117/?authSource=admin
        """
    )

    @OptionGroup var common: CommonOptions

    @Option(help: "A place: Strasbourg, Paris,FR, an id, or LAT,LON.")
    var place: String?

    @Option(help: "The latest observation of every place of a region (built-in, or one of your places' regions).")
    var region: String?

    @Option(help: ArgumentHelp("The latest observation of the places near a point: LAT,LON in degrees (48.58,7.75) or a place name; nearest first.", valueName: "point"))
    var near: String?

    @Option(help: ArgumentHelp("Distance around --near: 50km, 20 (km) or 500m.", valueName: "distance"))
    var radius: String = "50km"

    @OptionGroup var range: TimeRangeOptions
    @OptionGroup(title: "Store") var storeOptions: StoreOptions

    @Option(help: "Most history rows.")
    var limit: Int = 24

    @Option(help: "table, json or csv.")
    var format: OutputFormat = .table

    func run() async throws {
        try await runReportingErrors {
            let logger = common.bootstrapLogging()
            let configuration = try common.configuration(extra: storeOptions.flags)
            guard [place, region, near].compactMap({ $0 }).count == 1 else {
                throw MeteoError(code: .invalidConfiguration, "give one of --place NAME, --region NAME or --near LAT,LON, for example --place Strasbourg")
            }
            guard limit >= 1 else { throw MeteoError(code: .invalidConfiguration, "--limit must be at least 1") }
            let backends = Backends(configuration: configuration, logger: logger)
            try await backends.withStore { store in
                let resolver = try backends.placeResolver(store: store)
                let (sinceDate, untilDate) = try range.dates()

                if let near {
                    let point = try await Self.parsePoint(near, resolver: resolver)
                    let km = try Self.parseRadius(radius)
                    let rows = try await store.latest(near: point, radiusKM: km, limit: limit)
                    guard !rows.isEmpty else {
                        throw MeteoError(code: .unknownPlace, "no observed place within \(radius) of \(near) in \(backends.storeDescription): try a larger --radius, or run 'meteo demo' or 'meteo ingest' first")
                    }
                    try render(latest: nil, rows: rows.map(\.observation), distances: rows.map(\.distanceKM),
                               title: "Latest weather within \(radius) of \(String(format: "%.4f", point.latitude)) °N, \(String(format: "%.4f", point.longitude)) °E")
                    return
                }
                if let region {
                    let regionName = try await resolver.resolveRegion(region)
                    let latest = try await store.latest(region: regionName)
                    guard !latest.isEmpty else {
                        throw MeteoError(code: .unknownPlace, "no observations of region \(regionName) in \(configuration.dataDir): run 'meteo demo' or 'meteo ingest' first")
                    }
                    try render(latest: nil, rows: latest.sorted { $0.name < $1.name }, title: "Latest weather in \(regionName)")
                    return
                }
                let target = try await resolver.resolve(place!).place
                let history = try await store.observations(ObservationQuery(
                    placeIDs: [target.id], since: sinceDate, until: untilDate, newestFirst: true, limit: limit))
                guard let latest = history.first else {
                    let window = range.isSet ? " in that time range" : ""
                    throw MeteoError(code: .unknownPlace,
                                     "no observations of \(Self.label(target)) (id \(target.id))\(window) in \(configuration.dataDir): run 'meteo demo' or 'meteo ingest --places \"\(Self.selectionEntry(target))\"' first")
                }
                try render(latest: latest, rows: history, title: "\(Self.label(target)) (\(String(format: "%.4f", target.latitude)) °N, \(String(format: "%.4f", target.longitude)) °E)")
            }
        }
    }

    /// `Name, CC`, or the name alone for a place without country.
    static func label(_ p: Place) -> String {
        p.country.isEmpty ? p.name : "\(p.name), \(p.country)"
    }

    /// What to give `--places` to poll this place: `Name,CC` for a GeoNames place, else
    /// `Name@LAT,LON`.
    static func selectionEntry(_ p: Place) -> String {
        p.id.allSatisfy(\.isNumber) ? (p.country.isEmpty ? p.name : "\(p.name),\(p.country)") : "\(p.name)@\(p.latitude),\(p.longitude)"
    }

    private func render(latest: Observation?, rows: [Observation], distances: [Double]? = nil, title: String) throws {
        switch format {
        case .json:
            var w = JSONWriter(capacity: 1024)
            if let latest {
                w.raw("{")
                EventCodec.write(latest, into: &w, leadingComma: false)
                w.key("history")
                EventCodec.writeArray(rows, into: &w)
                w.raw("}")
            } else if let distances {
                // Each place's fields plus its distance from the point.
                w.raw("[")
                for (i, o) in rows.enumerated() {
                    if i > 0 { w.raw(",") }
                    w.raw("{")
                    EventCodec.write(o, into: &w, leadingComma: false)
                    w.key("distance_km")
                    w.number((distances[i] * 1000).rounded() / 1000)
                    w.raw("}")
                }
                w.raw("]")
            } else {
                EventCodec.writeArray(rows, into: &w)
            }
            Terminal.out(String(decoding: w.bytes, as: UTF8.self))
        case .csv:
            Terminal.out(Observation.CodingKeys.allCases.map(\.rawValue).joined(separator: ",") + (distances == nil ? "" : ",distance_km"))
            for (i, o) in rows.enumerated() {
                Terminal.out(Self.csvRow(o) + (distances.map { "," + String(format: "%.3f", $0[i]) } ?? ""))
            }
        case .table:
            Terminal.out(title)
            if let o = latest {
                Terminal.out("""
                  observed      \(ISO8601.string(from: o.observedAt))  (source: \(o.source))
                  temperature   \(formatValue(o.temperatureC, "°C"))   feels like \(formatValue(o.feelsLikeC, "°C"))
                  humidity      \(formatValue(o.humidityPct, "%", decimals: 0))
                  pressure      \(formatValue(o.pressureHPa, "hPa"))
                  wind          \(formatValue(o.windSpeedMS, "m/s")) from \(formatValue(o.windDirectionDeg, "°", decimals: 0)), gusts \(formatValue(o.windGustMS, "m/s"))
                  cloud cover   \(formatValue(o.cloudCoverPct, "%", decimals: 0))   visibility \(formatValue(o.visibilityM.map { $0 / 1000 }, "km"))
                  rain / snow   \(formatValue(o.rainMM, "mm", decimals: 2)) / \(formatValue(o.snowMM, "mm", decimals: 2)) in the last hour
                  weather code  \(o.weatherCode.map { "\($0) (\(WeatherCodes.describe($0)))" } ?? "–")

                History (newest first)
                """)
            }
            var table = TextTable(headers: latest == nil ? ["place", "UTC", "temp °C", "hum %", "hPa", "wind m/s", "rain mm", "snow mm"]
                                                          : ["observed (UTC)", "temp °C", "hum %", "hPa", "wind m/s", "rain mm", "snow mm"],
                                  rightAligned: latest == nil ? [2, 3, 4, 5, 6, 7] : [1, 2, 3, 4, 5, 6])
            if distances != nil {
                table.headers.insert("km", at: 1)
                table.rightAligned = [1, 3, 4, 5, 6, 7, 8]
            }
            for (index, o) in rows.enumerated() {
                let full = String(ISO8601.string(from: o.observedAt).replacingOccurrences(of: "T", with: " ").dropLast())
                // In the region table the year and seconds are dropped so that it fits 80 columns.
                let time = latest == nil ? String(full.dropFirst(5).dropLast(3)) : full
                var cells = [time, formatValue(o.temperatureC, ""), formatValue(o.humidityPct, "", decimals: 0),
                             formatValue(o.pressureHPa, ""), formatValue(o.windSpeedMS, ""),
                             formatValue(o.rainMM, "", decimals: 2), formatValue(o.snowMM, "", decimals: 2)]
                if latest == nil { cells.insert(String(o.name.prefix(14)), at: 0) }
                if let distances { cells.insert(String(format: "%.1f", distances[index]), at: 1) }
                table.rows.append(cells)
            }
            Terminal.out(table.render())
        }
    }

    static func csvRow(_ o: Observation) -> String {
        func n(_ d: Double?) -> String { d.map { String($0) } ?? "" }
        return [o.placeID, o.name, o.country, o.region ?? "", String(o.latitude), String(o.longitude),
                ISO8601.string(from: o.observedAt), o.source, n(o.temperatureC), n(o.feelsLikeC), n(o.humidityPct),
                n(o.pressureHPa), n(o.windSpeedMS), n(o.windDirectionDeg), n(o.windGustMS), n(o.cloudCoverPct),
                n(o.visibilityM), n(o.rainMM), n(o.snowMM), o.weatherCode.map(String.init) ?? ""]
            .map(CSV.escape).joined(separator: ",")
    }

    /// `LAT,LON` in degrees, or a place the resolver finds.
    static func parsePoint(_ text: String, resolver: PlaceResolver) async throws -> GeoPoint {
        let parts = text.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
        if parts.count == 2, let lat = parts[0], let lon = parts[1] {
            guard (-90...90).contains(lat), (-180...180).contains(lon) else {
                throw MeteoError(code: .invalidConfiguration, "invalid --near '\(text)': the latitude must be within ±90 and the longitude within ±180 degrees")
            }
            return GeoPoint(latitude: lat, longitude: lon)
        }
        let place = try await resolver.resolve(text).place
        return GeoPoint(latitude: place.latitude, longitude: place.longitude)
    }

    /// `50km`, `500m`, or a number of km.
    static func parseRadius(_ text: String) throws -> Double {
        let t = text.trimmingCharacters(in: .whitespaces).lowercased()
        let km: Double?
        if t.hasSuffix("km") { km = Double(t.dropLast(2)) }
        else if t.hasSuffix("m") { km = Double(t.dropLast()).map { $0 / 1000 } }
        else { km = Double(t) }
        guard let km, km > 0, km <= 20_038 else {
            throw MeteoError(code: .invalidConfiguration, "invalid --radius '\(text)': give a distance above 0 and at most 20038 km, such as 50km, 20 or 500m")
        }
        return km
    }

    /// An ISO 8601 time, or an age before now such as `90m`, `24h`, `7d`.
    static func parseTime(_ text: String, flag: String, now: Date = Date()) throws -> Date {
        if let d = ISO8601.date(from: text) { return d }
        if let age = parseDuration(text), text.last?.isLetter == true {
            return now.addingTimeInterval(-age.seconds)
        }
        throw MeteoError(code: .invalidConfiguration, "invalid \(flag) '\(text)': expected an ISO 8601 time such as 2026-11-29T08:00:00Z or an age such as 24h")
    }
}
