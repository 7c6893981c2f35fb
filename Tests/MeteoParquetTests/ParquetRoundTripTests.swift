import Foundation
@testable import MeteoParquet
import MeteoTestSupport
import Testing

/// The fields of a file with every kind, nullable and not.
let allKinds: [ParquetField] = [
    ParquetField("place_id", .string, nullable: false),
    ParquetField("region", .string, nullable: true),
    ParquetField("observed_at", .timestampMicros, nullable: false),
    ParquetField("temperature_c", .double, nullable: true),
    ParquetField("latitude", .double, nullable: false),
    ParquetField("weather_code", .int32, nullable: true),
    ParquetField("count", .int64, nullable: true),
    ParquetField("raining", .boolean, nullable: true),
    ParquetField("humidity_pct", .double, nullable: true),
]

/// Columns of `rows` rows for ``allKinds``: hostile strings, NaN, ±0, ±∞, extremes, runs and
/// nulls in every nullable column.
func sampleColumns(rows: Int, seed: UInt64) -> [ParquetColumn] {
    var g = SplitMix64(state: seed)
    let names = ["Strasbourg", "<script>alert(1)</script>", "Zürich", "東京", "", "a\u{0}b", "Ærøskøbing \"quoted\", comma", "🌧️"]
    let specials: [Double] = [0.0, -0.0, .nan, .infinity, -.infinity, .greatestFiniteMagnitude, -.leastNonzeroMagnitude, 1e-300]
    func maybe<T>(_ v: T) -> T? { Int.random(in: 0..<5, using: &g) == 0 ? nil : v }
    return [
        .strings((0..<rows).map { "p\($0 % 37)" }),
        .strings((0..<rows).map { _ in maybe(names.randomElement(using: &g)!) }),
        .int64s((0..<rows).map { Int64(1_700_000_000 + $0 / 10 * 600) * 1_000_000 }),
        .doubles((0..<rows).map { i in maybe(i % 11 == 0 ? specials[i / 11 % specials.count] : Double.random(in: -60...60, using: &g)) }),
        .doubles((0..<rows).map { _ in Double.random(in: -90...90, using: &g) }),
        .int32s((0..<rows).map { i in maybe(i % 7 == 0 ? Int32.min : Int32.random(in: 0...99, using: &g)) }),
        .int64s((0..<rows).map { i in maybe(i % 13 == 0 ? Int64.max : Int64.random(in: -5...5, using: &g)) }),
        .booleans((0..<rows).map { _ in maybe(Bool.random(using: &g)) }),
        // Few distinct values, as measurements to a unit or a tenth are: dictionary-encoded.
        .doubles((0..<rows).map { _ in maybe(Double(Int.random(in: 0...20, using: &g)) * 5) }),
    ]
}

@Suite("Parquet: the writer and the reader")
struct ParquetRoundTripTests {
    @Test(arguments: [1, 7, 8, 9, 100, 4_099])
    func everyKindRoundTripsBitForBit(rows: Int) throws {
        var writer = try ParquetWriter(fields: allKinds, metadata: [("meteo.schema", "1")])
        let groups = [sampleColumns(rows: rows, seed: UInt64(rows)), sampleColumns(rows: rows / 2 + 1, seed: 99)]
        for g in groups { try writer.write(rowGroup: g) }
        let file = try ParquetFile(bytes: writer.finish())
        #expect(file.fields == allKinds)
        #expect(file.rowCount == rows + rows / 2 + 1)
        #expect(file.rowGroupRowCounts == [rows, rows / 2 + 1])
        #expect(file.keyValueMetadata.map(\.0) == ["meteo.schema"] && file.keyValueMetadata.map(\.1) == ["1"])
        for (g, columns) in groups.enumerated() {
            for (c, expected) in columns.enumerated() {
                let read = try file.column(c, rowGroup: g)
                #expect(read.identical(to: expected), "column \(allKinds[c].name), row group \(g)")
            }
        }
        // Numbers that repeat are dictionary-encoded (the times, the codes, the humidity);
        // random doubles are not. (At 100 rows the codes' 0...99 are too many to pay.)
        if rows >= 1_000 {
            let encodings = file.metadata.rowGroups[0].columns.map(\.encodings)
            for name in ["observed_at", "weather_code", "count", "humidity_pct"] {
                #expect(encodings[file.index(of: name)!].contains(.rleDictionary), "\(name): \(encodings)")
            }
            #expect(!encodings[file.index(of: "temperature_c")!].contains(.rleDictionary))
        }
        // Statistics of the time column: what lets a reader skip a row group by time.
        let t = try #require(file.index(of: "observed_at"))
        guard case .int64s(let times) = groups[0][t] else { Issue.record("no times"); return }
        let range = try #require(file.range(column: t, rowGroup: 0))
        #expect(range.min == times.compactMap { $0 }.min() && range.max == times.compactMap { $0 }.max())
    }

    @Test func aRequiredColumnRefusesNullsAndMismatchedColumnsAreRefused() throws {
        var writer = try ParquetWriter(fields: [ParquetField("a", .double, nullable: false)])
        #expect(throws: ParquetError("column a is REQUIRED but row 1 is null")) { try writer.write(rowGroup: [.doubles([1, nil])]) }
        #expect(throws: ParquetError.self) { try writer.write(rowGroup: [.strings(["x"])]) }
        #expect(throws: ParquetError("a row group needs 1 columns, got 2")) { try writer.write(rowGroup: [.doubles([1]), .doubles([2])]) }
        #expect(throws: ParquetError.self) { try ParquetWriter(fields: [ParquetField("a", .double, nullable: false), ParquetField("a", .int64, nullable: false)]) }
    }

    @Test func anAllNullColumnAndASingleDistinctStringRoundTrip() throws {
        let fields = [ParquetField("s", .string, nullable: true), ParquetField("d", .double, nullable: true), ParquetField("one", .string, nullable: false)]
        var writer = try ParquetWriter(fields: fields)
        let columns: [ParquetColumn] = [.strings(Array(repeating: nil, count: 50)), .doubles(Array(repeating: nil, count: 50)),
                                        .strings(Array(repeating: "same", count: 50))]
        try writer.write(rowGroup: columns)
        let file = try ParquetFile(bytes: writer.finish())
        for c in 0..<3 { #expect(try file.column(c, rowGroup: 0) == columns[c]) }
    }

    /// The hybrid encoding round-trips runs, bit-packed stretches and their mixes at every bit
    /// width, and refuses a value above the maximum it is told.
    @Test func theHybridEncodingRoundTripsAtEveryWidth() throws {
        var g = SplitMix64(state: 7)
        for width in 1...32 {
            let maxValue: UInt32 = width == 32 ? .max : (1 << UInt32(width)) - 1
            for length in [0, 1, 7, 8, 9, 63, 64, 65, 1_000] {
                var values: [UInt32] = []
                while values.count < length {
                    let v = UInt32.random(in: 0...maxValue, using: &g)
                    let run = Bool.random(using: &g) ? Int.random(in: 1...20, using: &g) : 1
                    values += Array(repeating: v, count: min(run, length - values.count))
                }
                var out: [UInt8] = []
                Hybrid.encode(values, bitWidth: width, into: &out)
                let back = try Hybrid.decode(out, 0..<out.count, bitWidth: width, count: values.count, maxValue: maxValue)
                #expect(back == values, "width \(width), length \(length)")
                if width < 32, let big = values.max(), big > 0 {
                    #expect(throws: ParquetError.self) { try Hybrid.decode(out, 0..<out.count, bitWidth: width, count: values.count, maxValue: big - 1) }
                }
            }
        }
    }

    /// A footer written by the writer decodes to the same metadata.
    @Test func theFooterRoundTripsThroughThriftsCompactProtocol() throws {
        var writer = try ParquetWriter(fields: allKinds, metadata: [("k", "v"), ("empty", "")])
        try writer.write(rowGroup: sampleColumns(rows: 20, seed: 3))
        let bytes = writer.finish()
        let file = try ParquetFile(bytes: bytes)
        let again = try FileMetaData.decode(file.metadata.encoded())
        #expect(again == file.metadata)
        #expect(file.createdBy == ParquetWriter.createdBy)
    }

    /// Every truncation and thousands of corrupted copies of a file are refused with an error
    /// or read; none crashes the reader or makes it loop.
    @Test func truncatedAndCorruptedFilesAreErrorsNeverCrashes() throws {
        var writer = try ParquetWriter(fields: allKinds)
        try writer.write(rowGroup: sampleColumns(rows: 40, seed: 5))
        let bytes = writer.finish()
        func readAll(_ b: [UInt8]) throws {
            let file = try ParquetFile(bytes: b)
            for g in 0..<file.rowGroupRowCounts.count {
                for c in 0..<file.fields.count { _ = try file.column(c, rowGroup: g) }
            }
        }
        for n in 0..<bytes.count {
            #expect(throws: ParquetError.self) { try readAll(Array(bytes[0..<n])) }
        }
        var g = SplitMix64(state: 11)
        var refused = 0
        for _ in 0..<3_000 {
            var b = bytes
            for _ in 0..<Int.random(in: 1...4, using: &g) {
                b[Int.random(in: 0..<b.count, using: &g)] = UInt8.random(in: 0...255, using: &g)
            }
            do { try readAll(b) } catch { refused += 1 }
        }
        #expect(refused > 0)
        #expect(throws: ParquetError.self) { try readAll(Array("PAR1".utf8) + [0xFF, 0xFF, 0xFF, 0x7F] + Array("PAR1".utf8)) }
    }
}
