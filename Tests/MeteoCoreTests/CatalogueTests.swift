import Foundation
import MeteoCore
import Testing

@Suite("Place catalogue")
struct CatalogueTests {
    @Test func loadsTheBundledGeoNamesExtract() throws {
        let catalogue = try PlaceCatalogue.bundled()
        #expect(catalogue.places.count == 34_006)
        let strasbourg = try catalogue.resolve("Strasbourg")
        #expect(strasbourg.id == "2973783")
        #expect(strasbourg.country == "FR")
        #expect(abs(strasbourg.latitude - 48.58392) < 1e-9)
    }

    @Test func theTenOriginalRegionsHold1630Places() throws {
        let catalogue = try PlaceCatalogue.bundled()
        #expect(Region.builtin.count == 10)
        let places = catalogue.places(in: Region.builtin)
        #expect(places.count == 1630)
        #expect(Set(places.map(\.id)).count == 1630)
        #expect(places.allSatisfy { $0.region != nil })
        #expect(places.first { $0.name == "Strasbourg" }?.region == "EuropeW")
    }

    @Test func ambiguousNamesListTheCandidates() throws {
        let catalogue = try PlaceCatalogue.bundled()
        do {
            _ = try catalogue.resolve("Paris")
            Issue.record("Paris resolved without a country")
        } catch {
            #expect(error.code == .ambiguousPlace)
            #expect(error.message.contains("ambiguous"))
            #expect(error.message.contains("Paris,FR"))
            #expect(error.message.contains("Paris,US"))
        }
        #expect(try catalogue.resolve("Paris,FR").id == "2988507")
        #expect(try catalogue.resolve("paris, fr").id == "2988507")
        #expect(try catalogue.resolve("2988507").name == "Paris")
    }

    @Test func unknownNamesSuggestCloseMatches() throws {
        let catalogue = try PlaceCatalogue.bundled()
        do {
            _ = try catalogue.resolve("Strasbourgg")
            Issue.record("a misspelt name resolved")
        } catch {
            #expect(error.message.contains("'Strasbourg'"))
        }
        #expect(throws: MeteoError.self) { try catalogue.resolve("<script>alert(1)</script>") }
    }

    @Test func boundingBoxesAreValidated() throws {
        let box = try BoundingBox(parsing: "7.5,48.4,8,48.7")
        #expect(box.contains(latitude: 48.58, longitude: 7.74))
        #expect(throws: MeteoError.self) { try BoundingBox(parsing: "1,2,3") }
        #expect(throws: MeteoError.self) { try BoundingBox(parsing: "8,48,7,49") }
        #expect(throws: MeteoError.self) { try BoundingBox(parsing: "0,0,200,10") }
        let catalogue = try PlaceCatalogue.bundled()
        #expect(catalogue.places(in: box).contains { $0.name == "Strasbourg" })
    }

    @Test func csvFieldsAndLinesByBytes() {
        #expect(CSV.fields("a,,b,") == ["a", "", "b", ""])
        #expect(CSV.fields("") == [""])
        #expect(CSV.fields("Zürich,CH,47.37") == ["Zürich", "CH", "47.37"])
        #expect(CSV.fields(#"x,"a, ""quoted"" name",y"#) == ["x", #"a, "quoted" name"#, "y"])
        #expect(CSV.fields(#""",z"#) == ["", "z"])
        let text = "h1,h2\r\nZürich,1\n\n\r\nSão Paulo,2\r\na\rb,3"
        #expect(CSV.lines(text) == ["h1,h2", "Zürich,1", "São Paulo,2", "a\rb,3"])
        #expect(CSV.lines("") == [])
        #expect(CSV.lines("one") == ["one"])
        #expect(CSV.lines("🇫🇷,\n") == ["🇫🇷,"])
    }
}
