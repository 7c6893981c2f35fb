import Foundation
import MeteoCore
import Testing

/// The one line reader of every line-based file: LF and CRLF, a byte order mark, no final
/// newline, empty lines kept for line numbers, lone CRs left alone.
@Suite("Text lines")
struct TextLinesTests {
    static let bom = "\u{FEFF}"

    @Test func lfAndCrlfGiveTheSameLines() {
        let expected: [Substring] = ["a,b", "Zürich,1", "", "São Paulo,2"]
        #expect(TextLines.split("a,b\nZürich,1\n\nSão Paulo,2\n") == expected)
        #expect(TextLines.split("a,b\r\nZürich,1\r\n\r\nSão Paulo,2\r\n") == expected)
        #expect(TextLines.split("a,b\r\nZürich,1\n\r\nSão Paulo,2\n") == expected, "mixed endings")
    }

    @Test func aMissingFinalNewlineKeepsTheLastLine() {
        #expect(TextLines.split("one\ntwo") == ["one", "two"])
        #expect(TextLines.split("one\r\ntwo") == ["one", "two"])
        #expect(TextLines.split("one\r\ntwo\r") == ["one", "two"], "a CRLF cut after its CR")
        #expect(TextLines.split("one") == ["one"])
    }

    @Test func aByteOrderMarkIsDropped() {
        #expect(TextLines.split(Self.bom + "place_id,name\r\n1,x\r\n") == ["place_id,name", "1,x"])
        #expect(TextLines.split(Self.bom) == [])
        #expect(TextLines.droppingBOM(Self.bom + "{") == "{")
        // Only at the start: elsewhere it is text.
        #expect(TextLines.split("a\n" + Self.bom + "b") == ["a", Substring(Self.bom + "b")])
    }

    @Test func emptyLinesAreKeptSoLineNumbersAreTheFiles() {
        #expect(TextLines.split("") == [])
        #expect(TextLines.split("\n") == [""])
        #expect(TextLines.split("\r\n") == [""])
        #expect(TextLines.split("\n\nthird") == ["", "", "third"])
        let lines = TextLines.split("h\r\n\r\n  \r\nfourth\r\n")
        #expect(lines.count == 4 && lines[3] == "fourth")
    }

    @Test func loneCarriageReturnsStayInTheLine() {
        #expect(TextLines.split("a\rb\rc") == ["a\rb\rc"])
        #expect(TextLines.split("a\rb\r\nc") == ["a\rb", "c"])
        #expect(TextLines.split("\r") == [""])
        #expect(TextLines.split("\r\r\n") == ["\r"])
        #expect(TextLines.hasLoneCarriageReturns("h1,h2\r1,2\r3,4\r"))
        #expect(TextLines.hasLoneCarriageReturns(Self.bom + "a\rb"))
        #expect(!TextLines.hasLoneCarriageReturns("a\r\nb\r\n"))
        #expect(!TextLines.hasLoneCarriageReturns("one line\r"))
        #expect(!TextLines.hasLoneCarriageReturns("a\rb\nc"), "a file with LFs is read by lines")
    }

    @Test func multibyteTextIsCutOnlyAtNewlines() {
        let text = "🇫🇷,Strasbourg\r\n日本,東京\r\ne\u{301},x"
        #expect(TextLines.split(text) == ["🇫🇷,Strasbourg", "日本,東京", "e\u{301},x"])
        #expect(TextLines.split(text).map { Array($0.utf8) } == [Array("🇫🇷,Strasbourg".utf8), Array("日本,東京".utf8), Array("e\u{301},x".utf8)])
    }

    /// The catalogue loader reads CRLF, a BOM and blank lines, and names the right line.
    @Test func theCatalogueLoaderReadsCrlfAndABomAndCountsLines() throws {
        let header = "geonameid,name,country,admin1,latitude,longitude,population,timezone"
        let good = Self.bom + header + "\r\n2973783,Strasbourg,FR,44,48.58392,7.74553,274845,Europe/Paris\r\n\r\n2950159,Berlin,DE,16,52.52437,13.41053,3426354,Europe/Berlin"
        let catalogue = try PlaceCatalogue.parse(csv: good)
        #expect(catalogue.places.map(\.id) == ["2973783", "2950159"])
        #expect(catalogue.place(id: "2950159")?.timezone == "Europe/Berlin")
        let bad = header + "\r\n2973783,Strasbourg,FR,44,48.58392,7.74553,274845,Europe/Paris\r\n\r\n1,Nowhere,XX,,north,0,1,\r\n"
        let error = try #require(throws: MeteoError.self) { try PlaceCatalogue.parse(csv: bad, origin: "test.csv") }
        #expect(error.message == "line 4 of the place catalogue test.csv is malformed")
    }
}
