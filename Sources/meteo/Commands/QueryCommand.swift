import ArgumentParser
import Foundation
import MeteoCore
import MeteoEmbedded

struct QueryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "query",
        abstract: "Show the latest weather of a place and its history, or the latest of a region.",
        discussion: """
        Places are found in the bundled catalogue (GeoNames): a name, 'Name,CC' when the name \
        is ambiguous (Paris,FR), 'Name,CC,admin1', or a GeoNames id.

        Times are ISO 8601 (2026-11-29T08:00:00Z, 2026-11-29) or an age: 90m, 24h, 7d.

        Examples:
          meteo query --place Strasbourg
          meteo query --place Paris,FR --since 24h --format csv
          meteo query --place Strasbourg --format json
          meteo query --region EuropeW
        """
    )

    @OptionGroup var common: CommonOptions

    @Option(help: "A place: Strasbourg, Paris,FR, or a GeoNames id.")
    var place: String?

    @Option(help: "The latest observation of every place of a region.")
    var region: String?

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
            guard (place == nil) != (region == nil) else {
                throw MeteoError(code: .invalidConfiguration, "give either --place NAME or --region NAME, for example --place Strasbourg")
            }
            guard limit >= 1 else { throw MeteoError(code: .invalidConfiguration, "--limit must be at least 1") }
            let backends = Backends(configuration: configuration, logger: logger)
            let store = try await backends.openStore()
            defer { Task { try? await store.close() } }
            let (sinceDate, untilDate) = try range.dates()

            if let region {
                let regionName = try resolveRegionName(region)
                let latest = try await store.latest(region: regionName)
                guard !latest.isEmpty else {
                    throw MeteoError(code: .unknownPlace, "no observations of region \(regionName) in \(configuration.dataDir): run 'meteo demo' or 'meteo ingest' first")
                }
                try render(latest: nil, rows: latest.sorted { $0.name < $1.name }, title: "Latest weather in \(regionName)")
                return
            }
            let catalogue = try PlaceCatalogue.bundled()
            let target = try catalogue.resolve(place!)
            let history = try await store.observations(ObservationQuery(
                placeIDs: [target.id], since: sinceDate, until: untilDate, newestFirst: true, limit: limit))
            guard let latest = history.first else {
                let window = range.isSet ? " in that time range" : ""
                throw MeteoError(code: .unknownPlace,
                                 "no observations of \(target.name),\(target.country) (id \(target.id))\(window) in \(configuration.dataDir): run 'meteo demo' or 'meteo ingest --places \"\(target.name),\(target.country)\"' first")
            }
            try render(latest: latest, rows: history, title: "\(target.name), \(target.country) (\(String(format: "%.4f", target.latitude)) °N, \(String(format: "%.4f", target.longitude)) °E)")
        }
    }

    private func render(latest: Observation?, rows: [Observation], title: String) throws {
        switch format {
        case .json:
            var w = JSONWriter(capacity: 1024)
            if let latest {
                w.raw("{")
                EventCodec.write(latest, into: &w, leadingComma: false)
                w.key("history")
                EventCodec.writeArray(rows, into: &w)
                w.raw("}")
            } else {
                EventCodec.writeArray(rows, into: &w)
            }
            Terminal.out(String(decoding: w.bytes, as: UTF8.self))
        case .csv:
            Terminal.out(Observation.CodingKeys.allCases.map(\.rawValue).joined(separator: ","))
            for o in rows { Terminal.out(Self.csvRow(o)) }
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
            for o in rows {
                let full = String(ISO8601.string(from: o.observedAt).replacingOccurrences(of: "T", with: " ").dropLast())
                // In the region table the year and seconds are dropped so that it fits 80 columns.
                let time = latest == nil ? String(full.dropFirst(5).dropLast(3)) : full
                var cells = [time, formatValue(o.temperatureC, ""), formatValue(o.humidityPct, "", decimals: 0),
                             formatValue(o.pressureHPa, ""), formatValue(o.windSpeedMS, ""),
                             formatValue(o.rainMM, "", decimals: 2), formatValue(o.snowMM, "", decimals: 2)]
                if latest == nil { cells.insert(String(o.name.prefix(14)), at: 0) }
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

    /// An ISO 8601 time, or an age before now such as `90m`, `24h`, `7d`.
    static func parseTime(_ text: String, flag: String, now: Date = Date()) throws -> Date {
        if let d = ISO8601.date(from: text) { return d }
        if let age = parseDuration(text), text.last?.isLetter == true {
            return now.addingTimeInterval(-age.seconds)
        }
        throw MeteoError(code: .invalidConfiguration, "invalid \(flag) '\(text)': expected an ISO 8601 time such as 2026-11-29T08:00:00Z or an age such as 24h")
    }
}
