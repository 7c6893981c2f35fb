import Foundation
import ArgumentParser
import MeteoCore
import MeteoEmbedded

struct PlacesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "places",
        abstract: "List the places of a region, a bounding box or a search.",
        discussion: """
        The catalogue is the GeoNames extract of the 34,006 places with at least 15,000 \
        inhabitants, bundled with Meteo. \(PlaceCatalogue.attribution)

        Built-in regions (the original system's ten boxes, 1,630 places): \
        \(Region.builtin.map(\.name).joined(separator: ", ")).

        Examples:
          meteo places                         the ten regions, with their place counts
          meteo places --region EuropeW        the places of one region
          meteo places --bbox 7.5,48.4,8,48.7  the places in a box (lon_min,lat_min,lon_max,lat_max)
          meteo places --search Paris          every place of that name, with the form to pick one
        """
    )

    @OptionGroup var common: CommonOptions

    @Option(help: "A built-in region.")
    var region: String?

    @Option(help: ArgumentHelp("A box: lon_min,lat_min,lon_max,lat_max.", valueName: "box"))
    var bbox: String?

    @Option(help: "Places whose name starts with this text.")
    var search: String?

    @Option(help: "Most places to print.")
    var limit: Int = 50

    @Option(help: "table, json or csv.")
    var format: OutputFormat = .table

    func run() async throws {
        try await runReportingErrors {
            let catalogue = try PlaceCatalogue.bundled()
            var places: [Place]
            if let region {
                guard let r = Region.named(region) else {
                    throw MeteoError(code: .invalidConfiguration,
                                     "unknown region '\(region)': the built-in regions are \(Region.builtin.map(\.name).joined(separator: ", "))")
                }
                places = catalogue.places(in: r.box, region: r.name)
            } else if let bbox {
                places = catalogue.places(in: try BoundingBox(parsing: bbox))
            } else if let search {
                let folded = search.lowercased()
                places = catalogue.places.filter { $0.name.lowercased().hasPrefix(folded) }
            } else {
                var table = TextTable(headers: ["region", "places", "box (lon_min,lat_min,lon_max,lat_max)"], rightAligned: [1])
                var total = 0
                for r in Region.builtin {
                    let n = catalogue.places(in: r.box).count
                    total += n
                    table.rows.append([r.name, formatCount(n), r.box.description])
                }
                table.rows.append(["all", formatCount(total), ""])
                Terminal.out(table.render())
                Terminal.out("\n\(PlaceCatalogue.attribution)")
                return
            }
            let shown = places.prefix(max(0, limit))
            switch format {
            case .json:
                var w = JSONWriter()
                w.raw("[")
                for (i, p) in shown.enumerated() {
                    if i > 0 { w.raw(",") }
                    w.raw("{")
                    w.key("id", first: true); w.string(p.id)
                    w.key("name"); w.string(p.name)
                    w.key("country"); w.string(p.country)
                    w.key("admin1"); if let a = p.admin1 { w.string(a) } else { w.raw("null") }
                    w.key("region"); if let r = p.region { w.string(r) } else { w.raw("null") }
                    w.key("latitude"); w.number(p.latitude)
                    w.key("longitude"); w.number(p.longitude)
                    w.key("population"); if let n = p.population { w.number(n) } else { w.raw("null") }
                    w.raw("}")
                }
                w.raw("]")
                Terminal.out(String(decoding: w.bytes, as: UTF8.self))
            case .csv:
                Terminal.out("id,name,country,admin1,latitude,longitude,population")
                for p in shown {
                    Terminal.out([p.id, p.name, p.country, p.admin1 ?? "", String(p.latitude), String(p.longitude),
                                  p.population.map(String.init) ?? ""].map(CSV.escape).joined(separator: ","))
                }
            case .table:
                var table = TextTable(headers: ["id", "name", "country", "lat °N", "lon °E", "population"], rightAligned: [3, 4, 5])
                for p in shown {
                    table.rows.append([p.id, "\(p.name),\(p.country)", p.country, String(format: "%.3f", p.latitude),
                                       String(format: "%.3f", p.longitude), p.population.map(formatCount) ?? "–"])
                }
                Terminal.out(table.render())
                if places.count > shown.count {
                    Terminal.out("… \(formatCount(places.count - shown.count)) more (use --limit)")
                }
                Terminal.out("\(formatCount(places.count)) places. \(PlaceCatalogue.attribution)")
            }
        }
    }
}

enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case table, json, csv
}
