import Foundation
import ArgumentParser

/// Which places to poll.
struct SelectionOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Built-in regions, comma-separated, or 'all' (METEO_REGIONS). With no selection: all ten.", valueName: "names"))
    var regions: String?

    @Option(help: ArgumentHelp("Bounding boxes lon_min,lat_min,lon_max,lat_max, ';'-separated (METEO_BBOX).", valueName: "boxes"))
    var bbox: String?

    @Option(name: .customLong("places"), help: ArgumentHelp("Place names or ids, ';'-separated: 'Strasbourg;Paris,FR' (METEO_PLACES).", valueName: "list"))
    var placeList: String?

    var flags: [String: String?] { ["regions": regions, "bbox": bbox, "places": placeList] }
}
