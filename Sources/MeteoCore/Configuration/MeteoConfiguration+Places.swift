import Foundation

/// The place settings: `places` (catalogue names and ids, `LAT,LON`, `Name@LAT,LON`; in the
/// config file also objects `{"name", "latitude", "longitude", "country"?, "region"?, "id"?}`)
/// and `places_file` (``PlacesFile``).
extension MeteoConfiguration {
    /// What the place settings select.
    struct PlaceSelection {
        var names: [String] = []
        var custom: [Place] = []
        var file: String?
    }

    /// Reads `places` from the layer that sets it and the places file, if any. Custom places
    /// come in the order given, `places` first; a repeated id keeps its first place.
    static func placeSelection(_ layers: ConfigLayers) throws(MeteoError) -> PlaceSelection {
        var selection = PlaceSelection()
        let placesKey = key("places")
        var entries: [PlaceEntry] = []
        if layers.flags[placesKey.name] == nil, layers.environment[placesKey.environmentVariable] == nil,
           case .array(let items)? = layers.file[placesKey.fileKey] {
            let path = layers.filePath ?? "config file"
            for (i, item) in items.enumerated() {
                let origin = "item \(i + 1) of key '\(placesKey.fileKey)' of \(path)"
                switch item {
                case .string(let s): entries += try PlaceEntry.parseList(s, origin: origin)
                case .object(let o): entries.append(.custom(try customPlace(o, origin: origin)))
                default:
                    throw MeteoError(code: .invalidConfiguration,
                                     "invalid \(origin): expected a place name such as \"Paris,FR\" or an object such as {\"name\": \"Mont Ventoux\", \"latitude\": 44.17, \"longitude\": 5.28}")
                }
            }
        } else if let (v, o) = layers.value(placesKey) {
            entries = try PlaceEntry.parseList(v, origin: o.description)
        }
        var seen = Set<String>()
        for entry in entries {
            switch entry {
            case .catalogue(let name): selection.names.append(name)
            case .custom(let place): if seen.insert(place.id).inserted { selection.custom.append(place) }
            }
        }
        if let (v, o) = layers.value(key("places-file")), !v.trimmingCharacters(in: .whitespaces).isEmpty {
            selection.file = v
            for place in try PlacesFile.load(path: v, origin: o.description) where seen.insert(place.id).inserted {
                selection.custom.append(place)
            }
        }
        return selection
    }

    /// A place object of the config file.
    static func customPlace(_ object: [String: JSONValue], origin: String) throws(MeteoError) -> Place {
        func bad(_ why: String) -> MeteoError { MeteoError(code: .invalidConfiguration, "invalid \(origin): \(why)") }
        let known = ["name", "latitude", "longitude", "country", "region", "id"]
        if let unknown = object.keys.sorted().first(where: { !known.contains($0) }) {
            throw bad("unknown field '\(unknown)': a place object has name, latitude, longitude and optionally country, region, id")
        }
        func text(_ field: String) throws(MeteoError) -> String? {
            switch object[field] {
            case nil, .null?: return nil
            case .string(let s)?: return s
            default: throw bad("'\(field)' must be a string")
            }
        }
        func degrees(_ field: String) throws(MeteoError) -> Double {
            guard case .number(let d)? = object[field] else { throw bad("'\(field)' must be a number of degrees, such as 44.17") }
            return d
        }
        guard let name = try text("name"), !name.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw bad("'name' is missing: give each place a name")
        }
        switch CustomPlace.make(name: name, latitude: try degrees("latitude"), longitude: try degrees("longitude"),
                                country: try text("country"), region: try text("region"), id: try text("id")) {
        case .success(let place): return place
        case .failure(let problem): throw bad(problem.message)
        }
    }

    /// The custom places whose ids are not among `selected`, each id once.
    func selectedCustomPlaces(after selected: [Place]) -> [Place] {
        var seen = Set(selected.map(\.id))
        return customPlaces.filter { seen.insert($0.id).inserted }
    }
}
