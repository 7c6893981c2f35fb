import Foundation
import MeteoCore
import Testing

/// Legacy box/city cities get their country and region from the catalogue.
@Suite("Legacy box/city: country and region from the catalogue")
struct LegacyEnrichmentTests {
    static func city(_ id: Int, _ name: String, lat: Double, lon: Double, extra: String = "") -> String {
        #"{"id":\#(id),"dt":1485784982,"name":"\#(name)","coord":{"Lat":\#(lat),"Lon":\#(lon)},"main":{"temp":9.68}\#(extra)}"#
    }

    static func box(_ cities: [String]) -> [UInt8] {
        Array(#"{"cod":200,"calctime":0.3,"cnt":\#(cities.count),"list":[\#(cities.joined(separator: ","))]}"#.utf8)
    }

    @Test func strasbourgGetsFranceAndEuropeWFromTheBundledCatalogue() throws {
        for format in [PayloadFormat.legacyOWM, .auto] {
            let results = try format.decode(Self.box([Self.city(2973783, "Strasbourg", lat: 48.58392, lon: 7.74553)]))
            let o = try #require(results.first).get()
            #expect(o.country == "FR", "\(format)")
            #expect(o.region == "EuropeW", "\(format)")
            #expect(o.name == "Strasbourg" && o.latitude == 48.58392 && o.longitude == 7.74553, "the payload's own name and coordinates")
        }
    }

    @Test func aPlaceOutsideEveryRegionGetsItsCountryAndNoRegion() throws {
        // Paris (2988507) is west of EuropeW's box, which starts at 3.18° E.
        let o = try #require(try PayloadFormat.legacyOWM.decode(Self.box([Self.city(2988507, "Paris", lat: 48.85341, lon: 2.3488)])).first).get()
        #expect(o.country == "FR")
        #expect(o.region == nil)
    }

    @Test func aPayloadsOwnCountryWinsAndUnknownIDsStayAsTheyAre() throws {
        let cities = [
            Self.city(2973783, "Strasbourg", lat: 48.58392, lon: 7.74553, extra: #","sys":{"country":"DE"}"#),
            Self.city(999_999_999, "Atlantis", lat: 48.6, lon: 7.7),
            // The id of Strasbourg, 6,000 km away: another place, which OWM numbered alike.
            Self.city(2973783, "Elsewhere", lat: 10, lon: -60),
        ]
        let results = try PayloadFormat.legacyOWM.decode(Self.box(cities)).map { try $0.get() }
        #expect(results.map(\.country) == ["DE", "", ""])
        #expect(results.map(\.region) == ["EuropeW", nil, nil])
    }

    @Test func theRegionIsTheFirstBuiltinBoxThatHoldsTheCataloguePlace() {
        let catalogue = PlaceCatalogue(places: [
            Place(id: "1", name: "Inside", country: "FR", latitude: 48.6, longitude: 7.7),
            Place(id: "2", name: "Border", country: "BR", latitude: -20, longitude: -50),
            Place(id: "3", name: "Nowhere", country: "AQ", latitude: -80, longitude: 0),
        ])
        let enrichment = CatalogueEnrichment(catalogue: catalogue)
        func observation(_ id: String, lat: Double, lon: Double, country: String = "", region: String? = nil) -> Observation {
            Observation(placeID: id, name: "n", country: country, region: region, latitude: lat, longitude: lon,
                        observedAt: Date(timeIntervalSince1970: 1_700_000_000), source: "legacy-owm")
        }
        #expect(enrichment.enrich(observation("1", lat: 48.61, lon: 7.71)).region == "EuropeW")
        #expect(enrichment.enrich(observation("2", lat: -20, lon: -50)).region == "AmeriqueS")
        #expect(enrichment.enrich(observation("2", lat: -20, lon: -50)).country == "BR")
        let nowhere = enrichment.enrich(observation("3", lat: -80, lon: 0))
        #expect(nowhere.country == "AQ" && nowhere.region == nil)
        #expect(enrichment.enrich(observation("1", lat: 48.61, lon: 7.71, region: "mine")).region == "mine", "a region given wins")
        let none = CatalogueEnrichment(catalogue: nil).enrich(observation("1", lat: 48.61, lon: 7.71))
        #expect(none.country == "" && none.region == nil)
    }

    @Test func theCataloguePassedInIsUsed() throws {
        let catalogue = PlaceCatalogue(places: [Place(id: "2973783", name: "Strasbourg", country: "ZZ", latitude: 48.58, longitude: 7.75)])
        let json = try JSONValue.parse(Self.box([Self.city(2973783, "Strasbourg", lat: 48.58392, lon: 7.74553)]))
        let o = try #require(try OpenWeatherMapDecoder.decodeLegacyBox(json, catalogue: CatalogueEnrichment(catalogue: catalogue)).first).get()
        #expect(o.country == "ZZ" && o.region == "EuropeW")
    }
}

/// An OpenWeatherMap error body on the original topic is dead-lettered with the provider's message.
@Suite("OpenWeatherMap error bodies")
struct ProviderErrorTests {
    static let invalidKey = #"{"cod":401,"message":"Invalid API key. Please see https://openweathermap.org/faq#error401 for more info."}"#

    static func reason(_ format: PayloadFormat, _ text: String) -> String? {
        do {
            let results = try format.decode(Array(text.utf8))
            return results.count == 1 ? results[0].failure?.message : nil
        } catch {
            return error.message
        }
    }

    @Test func theProvidersMessageIsTheReasonInEveryOWMFormat() {
        let expected = "OpenWeatherMap error 401: Invalid API key. Please see https://openweathermap.org/faq#error401 for more info."
        for format in [PayloadFormat.auto, .legacyOWM, .owmCurrent] {
            #expect(Self.reason(format, Self.invalidKey) == expected, "\(format)")
        }
        #expect(Self.reason(.auto, #"{"cod":"404","message":"city not found"}"#) == "OpenWeatherMap error 404: city not found")
        #expect(Self.reason(.legacyOWM, #"{"cod":"429","message":"Your account is temporary blocked\ndue to exceeding"}"#)
                == "OpenWeatherMap error 429: Your account is temporary blocked due to exceeding", "on one line")
        #expect(Self.reason(.owmCurrent, #"{"cod":500}"#) == "OpenWeatherMap error 500: (no message)")
        #expect(Self.reason(.auto, #"{"cod":401,"message":"bad","list":[]}"#) == "OpenWeatherMap error 401: bad")
        let long = Self.reason(.auto, #"{"cod":400,"message":"\#(String(repeating: "x", count: 5000))"}"#) ?? ""
        #expect(long.hasPrefix("OpenWeatherMap error 400: xxx") && long.count < 400)
    }

    @Test func aCodOf200IsANormalPayload() throws {
        for cod in ["200", #""200""#] {
            let text = #"{"cod":\#(cod),"cnt":1,"list":[{"id":5,"dt":1700000000,"name":"K","coord":{"lat":1,"lon":2},"main":{"temp":12}}]}"#
            for format in [PayloadFormat.auto, .legacyOWM] {
                let o = try #require(try format.decode(Array(text.utf8)).first).get()
                #expect(o.temperatureC == 12, "cod \(cod), \(format)")
            }
        }
        let current = #"{"coord":{"lon":2,"lat":1},"main":{"temp":12},"dt":1700000000,"id":5,"name":"K","cod":200}"#
        #expect(try #require(try PayloadFormat.owmCurrent.decode(Array(current.utf8)).first).get().temperatureC == 12)
    }

    @Test func theEventFormatIsNotAnOWMFormat() {
        #expect(Self.reason(.event, Self.invalidKey) == "the event has no version field 'v'")
    }
}

extension Result {
    var failure: Failure? {
        if case .failure(let e) = self { return e }
        return nil
    }
}
