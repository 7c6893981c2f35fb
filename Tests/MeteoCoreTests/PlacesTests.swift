import Foundation
import MeteoCore
import Synchronization
import Testing

/// The error a throwing call ends with, or nil when it returned.
private func failure<T>(_ body: () throws(MeteoError) -> T) -> MeteoError? {
    do {
        _ = try body()
        return nil
    } catch {
        return error
    }
}

@Suite("Custom places: ids, --places entries, places files")
struct CustomPlaceTests {
    @Test(arguments: [
        (48.58, 7.75, "geo:48.5800,7.7500"),
        (-33.8688, 151.2093, "geo:-33.8688,151.2093"),
        (-0.0, 0.0, "geo:0.0000,0.0000"),
        (-0.00004, -0.00004, "geo:0.0000,0.0000"),
        (0.00005, -0.00005, "geo:0.0001,-0.0001"),
        (1.23456, 2.99999, "geo:1.2346,3.0000"),
        (-1.23454, -179.99996, "geo:-1.2345,-180.0000"),
        (90, 180, "geo:90.0000,180.0000"),
        (-9.5, 10, "geo:-9.5000,10.0000"),
    ])
    func idsHaveFourDecimalsAndNoNegativeZero(latitude: Double, longitude: Double, id: String) {
        #expect(CustomPlace.id(latitude: latitude, longitude: longitude) == id)
    }

    @Test func idsAreStableAndNeverGeoNamesIds() {
        let a = CustomPlace.id(latitude: 44.17, longitude: 5.28)
        #expect(a == CustomPlace.id(latitude: 44.170_000_01, longitude: 5.279_999_99), "the same place to 4 decimals")
        #expect(a != CustomPlace.id(latitude: 44.1701, longitude: 5.28))
        #expect(!a.allSatisfy { $0.isNumber })
        #expect(CustomPlace.coordinateName(latitude: 48.58, longitude: -7.7) == "48.5800, -7.7000")
    }

    @Test func entriesAreCatalogueNamesCoordinatesOrNamedCoordinates() throws {
        let entries = try PlaceEntry.parseList(" Strasbourg ;48.58, 7.75;Mont Ventoux@44.17,5.28;Paris,FR;2973783;; Paris,US,TX", origin: "flag --places")
        #expect(entries.count == 6)
        #expect(entries[0] == .catalogue("Strasbourg"))
        guard case .custom(let point) = entries[1], case .custom(let ventoux) = entries[2] else {
            Issue.record("coordinates were not read as custom places: \(entries)")
            return
        }
        #expect(point.id == "geo:48.5800,7.7500" && point.name == "48.5800, 7.7500")
        #expect(point.latitude == 48.58 && point.longitude == 7.75 && point.region == nil && point.country == "")
        #expect(ventoux.id == "geo:44.1700,5.2800" && ventoux.name == "Mont Ventoux")
        #expect(entries[3] == .catalogue("Paris,FR"))
        #expect(entries[4] == .catalogue("2973783"), "a lone number is a GeoNames id")
        #expect(entries[5] == .catalogue("Paris,US,TX"))
        guard case .custom(let south) = try PlaceEntry(parsing: "Sydney Harbour@-33.8688,151.2093", origin: "test") else {
            Issue.record("a negative latitude was not a custom place")
            return
        }
        #expect(south.id == "geo:-33.8688,151.2093")
    }

    @Test(arguments: [
        ("91,7", "latitude must be a number from -90 to 90"),
        ("48.58,181", "longitude must be a number from -180 to 180"),
        ("48.58,nan", "expected a place name"),
        ("48.58,inf", "expected a place name"),
        ("48.58", nil),
        ("48.58,7.75,3", "expected a place name"),
        ("Mont Ventoux@44.17", "after '@' write LAT,LON"),
        ("@44.17,5.28", "the name before '@' is empty"),
        ("Mont Ventoux@north,east", "after '@' write LAT,LON"),
        ("Bad\u{7}Bell@1,2", "control characters"),
    ] as [(String, String?)])
    func badEntriesAreOneLineNamingTheEntry(entry: String, expected: String?) {
        let error = failure { () throws(MeteoError) in try PlaceEntry(parsing: entry, origin: "flag --places") }
        guard let expected else {
            #expect(error == nil, "'\(entry)' is a catalogue id, found or not at selection")
            return
        }
        guard let error else { Issue.record("'\(entry)' was accepted"); return }
        #expect(error.code == .invalidConfiguration)
        #expect(error.message.hasPrefix("invalid place '\(entry)' (from flag --places): "), "\(error.message)")
        #expect(error.message.contains(expected), "\(error.message)")
        #expect(!error.message.contains("\n"))
    }

    @Test func userIDsAreCheckedForEveryPlaceTheyTravel() {
        #expect(CustomPlace.idProblem("site-12_a.b~c:d,e") == nil)
        #expect(CustomPlace.idProblem(String(repeating: "x", count: 128)) == nil)
        #expect(CustomPlace.idProblem(String(repeating: "x", count: 129)) != nil)
        #expect(CustomPlace.idProblem("") != nil)
        #expect(CustomPlace.idProblem("12345")?.contains("GeoNames") == true)
        #expect(CustomPlace.idProblem("44.17,5.28")?.contains("coordinates") == true, "LAT,LON text always means coordinates")
        #expect(CustomPlace.idProblem("geo:44.1700,5.2800") == nil && CustomPlace.idProblem("1.5") == nil)
        for bad in ["a b", "a\tb", "a/b", "a%2Fb", "a?b", "a#b", "a@b", "a+b", "a;b", "a\"b", "é", "a\u{0}b", "<script>"] {
            #expect(CustomPlace.idProblem(bad) != nil, "'\(bad)' is refused")
        }
    }
}

@Suite("Places files")
struct PlacesFileTests {
    @Test func columnsInAnyOrderQuotedNamesAndOptionalFields() throws {
        let text = #"""
            Longitude,ID,Name,Region,latitude,COUNTRY
            7.75,,Strasbourg centre,Alsace,48.58,fr
            151.2093,syd-1,"Sydney, Harbour",,-33.8688,AU
            5.28,,"<script>alert(1)</script> ""peak""",,44.17,
            """#
        let places = try PlacesFile.parse(text, file: "mine.csv")
        #expect(places.count == 3)
        #expect(places[0] == Place(id: "geo:48.5800,7.7500", name: "Strasbourg centre", country: "FR", latitude: 48.58, longitude: 7.75, region: "Alsace"))
        #expect(places[1].id == "syd-1" && places[1].name == "Sydney, Harbour" && places[1].region == nil && places[1].country == "AU")
        #expect(places[2].name == #"<script>alert(1)</script> "peak""#, "a hostile name is kept as text")
        #expect(places[2].id == "geo:44.1700,5.2800" && places[2].country == "")
    }

    @Test func crlfBomBlankLinesAndNoFinalNewline() throws {
        let text = "\u{FEFF}name,latitude,longitude\r\nA,1,2\r\n\r\nB,3,4"
        let places = try PlacesFile.parse(text, file: "f.csv")
        #expect(places.map(\.name) == ["A", "B"])
        #expect(places.map(\.id) == ["geo:1.0000,2.0000", "geo:3.0000,4.0000"])
        let withNewline = try PlacesFile.parse("name,latitude,longitude\nA,1,2\n", file: "f.csv")
        #expect(withNewline.map(\.name) == ["A"])
    }

    @Test(arguments: [
        ("", "the places file f.csv is empty"),
        ("\u{FEFF}\r\n\r\n", "the places file f.csv is empty"),
        ("name,latitude,longitude\r\n", "has a header but no places"),
        ("name,lat,longitude\nA,1,2", "line 1 of the places file f.csv: unknown column 'lat'"),
        ("name,latitude\nA,1", "line 1 of the places file f.csv: the header has no 'longitude' column"),
        ("name,latitude,longitude,name\nA,1,2,B", "the column 'name' appears twice"),
        ("name,latitude,longitude\nA,1,2\nB,abc,2", "line 3 of the places file f.csv: latitude 'abc' is not a number"),
        ("name,latitude,longitude\n\nA,1,2\nB,95,2", "line 4 of the places file f.csv: the latitude must be a number from -90 to 90"),
        ("name,latitude,longitude\nParis, Texas,33.66,-95.55", "line 2 of the places file f.csv: 4 fields where the header has 3: quote a field"),
        ("name,latitude,longitude\n,1,2", "line 2 of the places file f.csv: the name is empty"),
        ("name,latitude,longitude,id\nA,1,2,a b", "line 2 of the places file f.csv: an id may hold only"),
        ("name,latitude,longitude,id\nA,1,2,4242", "line 2 of the places file f.csv: an id of digits only is a GeoNames id"),
        ("name,latitude,longitude,id\nA,1,2,\"geo:3.0000,4.0000\"", "is a geo: id of other coordinates"),
        ("name,latitude,longitude,id\nA,1,2,x\nB,3,4,y\nC,5,6,x", "line 4 of the places file f.csv: the id x is already on line 2"),
        ("name,latitude,longitude\nA,1,2\nB,1.00001,2", "line 3 of the places file f.csv: the id geo:1.0000,2.0000 is already on line 2"),
        ("name,latitude,longitude,country\nA,1,2,France", "a country must be an ISO 3166-1 code"),
    ])
    func badFilesSayWhereAndWhatToFix(text: String, expected: String) {
        let error = failure { () throws(MeteoError) in try PlacesFile.parse(text, file: "f.csv") }
        guard let error else { Issue.record("accepted: \(text)"); return }
        #expect(error.code == .invalidConfiguration)
        #expect(error.message.contains(expected), "\(error.message)")
        #expect(!error.message.contains("\n"))
    }

    @Test func aMissingFileNamesTheSetting() {
        let error = failure { () throws(MeteoError) in try PlacesFile.load(path: "/nonexistent/places.csv", origin: "flag --places-file") }
        #expect(error?.message.contains("cannot read the places file /nonexistent/places.csv (from flag --places-file)") == true, "\(String(describing: error))")
    }
}

@Suite("Place settings")
struct PlaceSettingsTests {
    static func temporaryFile(_ text: String, suffix: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("meteo-places-\(UUID())\(suffix)")
        try Data(text.utf8).write(to: url)
        return url
    }

    @Test func placesFlagMixesCatalogueNamesAndCoordinates() throws {
        let c = try MeteoConfiguration.resolve(try ConfigLayers.load(
            flags: ["places": "Strasbourg;48.58,7.75;Mont Ventoux@44.17,5.28;Paris,FR;44.17,5.28"], environment: [:]))
        #expect(c.places == ["Strasbourg", "Paris,FR"])
        #expect(c.customPlaces.map(\.id) == ["geo:48.5800,7.7500", "geo:44.1700,5.2800"], "one place per id, the first kept")
        #expect(c.customPlaces.last?.name == "Mont Ventoux")
        let selected = try c.selectedPlaces(in: try PlaceCatalogue.bundled())
        #expect(selected.map(\.id) == ["2973783", "2988507", "geo:48.5800,7.7500", "geo:44.1700,5.2800"])
    }

    @Test func customPlacesAloneAreTheWholeSelection() throws {
        let file = try Self.temporaryFile("name,latitude,longitude,region,id\nA,1,2,Mine,a-1\nB,3,4,,\n", suffix: ".csv")
        defer { try? FileManager.default.removeItem(at: file) }
        let c = try MeteoConfiguration.resolve(try ConfigLayers.load(flags: [:], environment: ["METEO_PLACES_FILE": file.path]))
        #expect(c.placesFile == file.path)
        let selected = try c.selectedPlaces(in: try PlaceCatalogue.bundled())
        #expect(selected.map(\.id) == ["a-1", "geo:3.0000,4.0000"], "not the ten regions")
        #expect(selected.map(\.region) == ["Mine", nil])
        let regionsToo = try MeteoConfiguration.resolve(try ConfigLayers.load(flags: ["places-file": file.path, "regions": "EuropeW"], environment: [:]))
        let both = try regionsToo.selectedPlaces(in: try PlaceCatalogue.bundled())
        #expect(both.count == (try PlaceCatalogue.bundled().places(in: [Region.named("EuropeW")!]).count) + 2)
        #expect(both.suffix(2).map(\.id) == ["a-1", "geo:3.0000,4.0000"])
    }

    @Test func configFilePlacesMayBeObjects() throws {
        let config = try Self.temporaryFile("""
            {"places": ["Strasbourg", {"name": "Mont Ventoux", "latitude": 44.17, "longitude": 5.28, "region": "Provence", "country": "fr"},
                        {"name": "Station 7", "latitude": -33.8688, "longitude": 151.2093, "id": "st-7"}, "1.5,2.5"]}
            """, suffix: ".json")
        defer { try? FileManager.default.removeItem(at: config) }
        let c = try MeteoConfiguration.resolve(try ConfigLayers.load(flags: ["config": config.path], environment: [:]))
        #expect(c.places == ["Strasbourg"])
        #expect(c.customPlaces.map(\.id) == ["geo:44.1700,5.2800", "st-7", "geo:1.5000,2.5000"])
        #expect(c.customPlaces[0].region == "Provence" && c.customPlaces[0].country == "FR")
        // A flag wins over the file, objects included.
        let flagged = try MeteoConfiguration.resolve(try ConfigLayers.load(flags: ["config": config.path, "places": "Paris,FR"], environment: [:]))
        #expect(flagged.places == ["Paris,FR"] && flagged.customPlaces.isEmpty)
    }

    @Test(arguments: [
        (#"{"places": [{"name": "X", "latitude": "44", "longitude": 5}]}"#, "item 1 of key 'places' of", "'latitude' must be a number"),
        (#"{"places": ["Strasbourg", {"latitude": 44, "longitude": 5}]}"#, "item 2 of key 'places' of", "'name' is missing"),
        (#"{"places": [{"name": "X", "latitude": 44, "longitude": 5, "elevation": 1912}]}"#, "item 1", "unknown field 'elevation'"),
        (#"{"places": [{"name": "X", "latitude": 44, "longitude": 500}]}"#, "item 1", "the longitude must be a number from -180 to 180"),
        (#"{"places": [true]}"#, "item 1", "expected a place name"),
        (#"{"places": ["Bad@1"]}"#, "item 1", "invalid place 'Bad@1'"),
    ])
    func badConfigPlacesNameTheItem(json: String, origin: String, expected: String) throws {
        let config = try Self.temporaryFile(json, suffix: ".json")
        defer { try? FileManager.default.removeItem(at: config) }
        let layers = try ConfigLayers.load(flags: ["config": config.path], environment: [:])
        let error = failure { () throws(MeteoError) in try MeteoConfiguration.resolve(layers) }
        guard let error else { Issue.record("accepted: \(json)"); return }
        #expect(error.message.contains(origin) && error.message.contains(expected), "\(error.message)")
    }

    @Test func aBadEnvironmentEntrySaysWhereItCameFrom() {
        let error = failure { () throws(MeteoError) in
            try MeteoConfiguration.resolve(try ConfigLayers.load(flags: [:], environment: ["METEO_PLACES": "Strasbourg;95,1"]))
        }
        #expect(error?.message == "invalid place '95,1' (from environment variable METEO_PLACES): the latitude must be a number from -90 to 90")
    }
}

@Suite("The place resolver")
struct PlaceResolverTests {
    /// A small catalogue: two Springfields in the US (two states), one Paris in France and
    /// one in the US, and a unique Lyon.
    static let catalogue: PlaceCatalogue = {
        let csv = """
            geonameid,name,country,admin1,latitude,longitude,population,timezone
            2988507,Paris,FR,11,48.85341,2.3488,2138551,Europe/Paris
            4717560,Paris,US,TX,33.66094,-95.55551,24782,America/Chicago
            4409896,Springfield,US,MO,37.21533,-93.29824,166810,America/Chicago
            4250542,Springfield,US,IL,39.80172,-89.64371,116565,America/Chicago
            2996944,Lyon,FR,84,45.74846,4.84671,472317,Europe/Paris
            6822137,"Misato, Saitama",JP,34,35.84373,139.88347,142145,Asia/Tokyo
            """
        return try! PlaceCatalogue.parse(csv: csv)
    }()

    static let ventoux = Place(id: "geo:44.1700,5.2800", name: "Mont Ventoux", country: "", latitude: 44.17, longitude: 5.28, region: "Provence")

    static func stored(_ id: String, _ name: String, country: String = "US", region: String? = nil) -> StoredPlace {
        StoredPlace(id: id, name: name, country: country, region: region, latitude: 47.27, longitude: -122.26,
                    lastObservedAt: Date(timeIntervalSince1970: 1_764_387_600))
    }

    static let store = [
        stored("sandpoint-1", "Sand Point"),
        stored("4250542", "Springfield", region: "legacy"),
        stored("2988507", "Paris", country: "FR", region: "EuropeW"),
        stored("owm-1", "Lyon", country: "FR"),
        stored("geo:44.1700,5.2800", "Mont Ventoux", country: "", region: "Provence"),
        stored("dup-a", "Twin"), stored("dup-b", "Twin"),
    ]

    func resolver(custom: [Place] = [ventoux], stored: [StoredPlace] = store) -> PlaceResolver {
        PlaceResolver(custom: custom, catalogue: Self.catalogue, storedPlaces: { stored })
    }

    @Test func exactIDsFirstInAnySource() async throws {
        let r = resolver()
        #expect(try await r.resolve("4717560").place.name == "Paris")
        #expect(try await r.resolve("sandpoint-1").place.name == "Sand Point")
        let ventoux = try await r.resolve("geo:44.1700,5.2800")
        #expect(ventoux.place == Self.ventoux)
        #expect(try await r.resolve(" 44.17, 5.28 ").place.id == Self.ventoux.id, "LAT,LON is the geo: id")
        let both = try r.resolve("geo:44.1700,5.2800", stored: Self.store)
        #expect(both.sources == [.configuration, .store] && both.isStored && both.lastObservedAt != nil)
    }

    @Test func storeOnlyPlacesAreFoundByName() async throws {
        let r = resolver(custom: [])
        let sand = try await r.resolve("sand point")
        #expect(sand.place.id == "sandpoint-1" && sand.sources == [.store])
        #expect(try await r.resolve("Sand Point,US").place.id == "sandpoint-1")
        let error = failure { () throws(MeteoError) in try r.resolve("Sand Point,FR", stored: Self.store) }
        #expect(error?.code == .unknownPlace)
    }

    @Test func precedenceAmongPlacesOfOneName() throws {
        let r = resolver()
        // The catalogue alone is ambiguous, but one of its Paris is stored.
        #expect(try r.resolve("Paris", stored: Self.store).place.id == "2988507")
        // Two Springfields in the catalogue; the stored one wins.
        #expect(try r.resolve("Springfield", stored: Self.store).place.id == "4250542")
        // The stored Lyon (legacy id) has data; the catalogue's has none.
        #expect(try r.resolve("Lyon", stored: Self.store).place.id == "owm-1")
        // Without the store, the only catalogue Lyon.
        #expect(try r.resolve("Lyon", stored: []).place.id == "2996944")
        #expect(try r.resolve("lyon,fr,84", stored: []).place.id == "2996944")
        // A configured place beats a stored one of the same name.
        let other = Place(id: "peak-2", name: "Sand Point", country: "US", latitude: 1, longitude: 2)
        #expect(try resolver(custom: [other]).resolve("Sand Point", stored: Self.store).place.id == "peak-2")
        // A name with a comma is a name first.
        #expect(try r.resolve("Misato, Saitama", stored: []).place.id == "6822137")
    }

    @Test func ambiguousNamesListWhatResolvesToEach() throws {
        let r = resolver()
        let springfield = failure { () throws(MeteoError) in try r.resolve("Springfield", stored: []) }
        #expect(springfield?.code == .ambiguousPlace)
        #expect(springfield?.message.contains("Springfield,US,MO; Springfield,US,IL") == true, "\(String(describing: springfield))")
        let twin = failure { () throws(MeteoError) in try r.resolve("Twin", stored: Self.store) }
        #expect(twin?.message.contains("(dup-a; dup-b)") == true, "the ids when nothing else tells them apart: \(String(describing: twin))")
        for label in ["Springfield,US,MO", "dup-b"] {
            #expect(try r.resolve(label, stored: Self.store).place.name != "", "\(label) resolves")
        }
    }

    @Test func unknownNamesSuggestFromEverySource() {
        let r = resolver()
        let error = failure { () throws(MeteoError) in try r.resolve("Sand Pont", stored: Self.store) }
        #expect(error?.code == .unknownPlace)
        #expect(error?.message.hasPrefix("no place named 'Sand Pont' in the configured places, the catalogue or the store: did you mean 'Sand Point'") == true,
                "\(String(describing: error))")
        let ventoux = failure { () throws(MeteoError) in try r.resolve("Mont Ventou", stored: []) }
        #expect(ventoux?.message.contains("'Mont Ventoux'") == true, "a configured name is suggested")
        let point = failure { () throws(MeteoError) in try r.resolve("1,2", stored: Self.store) }
        #expect(point?.message.contains("no place at 1.0000, 2.0000 (id geo:1.0000,2.0000)") == true, "\(String(describing: point))")
        let hostile = failure { () throws(MeteoError) in try r.resolve("<script>alert(1)</script>", stored: Self.store) }
        #expect(hostile?.code == .unknownPlace)
    }

    @Test func regionsIncludeTheStoresAndTheConfigurations() async throws {
        let r = resolver()
        #expect(try await r.resolveRegion("europew") == "EuropeW")
        #expect(try await r.resolveRegion("World") == "world")
        #expect(try await r.resolveRegion("Provence") == "Provence")
        #expect(try await r.resolveRegion("LEGACY") == "legacy")
        #expect(try await r.customRegions() == ["Provence", "legacy"])
        do {
            _ = try await r.resolveRegion("Provance")
            Issue.record("a misspelt region resolved")
        } catch let error as MeteoError {
            #expect(error.message.hasPrefix("unknown region 'Provance': the built-in regions are EuropeW"))
            #expect(error.message.contains("did you mean 'Provence'"), "\(error.message)")
        }
    }

    @Test func searchFindsPartsOfNamesIDsAndResolvedPlaces() async throws {
        let r = resolver()
        #expect(try await r.search("point").map(\.id) == ["sandpoint-1"])
        #expect(try await r.search("SANDPOINT-1").map(\.id) == ["sandpoint-1"])
        #expect(try await r.search("Paris,FR").map(\.id) == ["2988507"])
        #expect(try await r.search("44.17,5.28").map(\.id) == ["geo:44.1700,5.2800"])
        #expect(try await r.search("nowhere").isEmpty)
    }

    @Test func theStoreIsReadOnlyWhenALookupNeedsIt() async throws {
        let reads = Counter()
        let r = PlaceResolver(custom: [Self.ventoux], catalogue: Self.catalogue, storedPlaces: {
            reads.increment()
            return Self.store
        }, refresh: .seconds(60))
        _ = try await r.resolve("2988507")
        _ = try await r.resolve("geo:44.1700,5.2800")
        #expect(reads.value == 0, "ids of the configuration and the catalogue need no store")
        _ = try await r.resolve("Sand Point")
        _ = try await r.resolve("Paris")
        #expect(reads.value == 1, "the list is kept for the refresh time")
    }
}

/// A count shared across tasks.
final class Counter: Sendable {
    private let count = Mutex(0)
    func increment() { count.withLock { $0 += 1 } }
    var value: Int { count.withLock { $0 } }
}
