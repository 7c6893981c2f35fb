import Foundation
import ArgumentParser

/// Which places to poll.
struct SelectionOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Built-in regions, comma-separated, or 'all' (METEO_REGIONS). With no selection: all ten.", valueName: "names"))
    var regions: String?

    @Option(help: ArgumentHelp("Bounding boxes lon_min,lat_min,lon_max,lat_max, ';'-separated (METEO_BBOX).", valueName: "boxes"))
    var bbox: String?

    @Option(name: .customLong("places"), help: ArgumentHelp(
        "Places, ';'-separated: catalogue names or ids, LAT,LON, or Name@LAT,LON: 'Strasbourg;Paris,FR;48.58,7.75;Mont Ventoux@44.17,5.28' (METEO_PLACES).",
        valueName: "list"))
    var placeList: String?

    @Option(name: .customLong("places-file"), help: ArgumentHelp(
        "CSV of your own places with a header: name,latitude,longitude and optionally country,region,id (METEO_PLACES_FILE).",
        valueName: "file"))
    var placesFile: String?

    var flags: [String: String?] { ["regions": regions, "bbox": bbox, "places": placeList, "places-file": placesFile] }
}
