import Foundation
@testable import MeteoParquet
import MeteoTestSupport
import Testing

/// Meteo's Parquet against independent readers and a writer: pyarrow, DuckDB and Polars read
/// Meteo's file and find every value (nulls, hostile strings, UTC timestamps, doubles bit for
/// bit); pyarrow writes the table back (data pages v1 and v2, with and without dictionaries)
/// and Meteo's reader reads those files to the same values. Needs METEO_PYTHON with pyarrow,
/// duckdb and polars (scripts/test installs them).
@Suite("Parquet: pyarrow, DuckDB and Polars read Meteo's files; Meteo reads pyarrow's")
struct ParquetInteropTests {
    static var python: String { ProcessInfo.processInfo.environment["METEO_PYTHON"] ?? "python3" }
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("scripts/parquet_check.py")
    static let readersAvailable: Bool = {
        (try? run([python, "-c", "import pyarrow, duckdb, polars"])) != nil
    }()

    struct Failed: Error, CustomStringConvertible { var description: String }

    /// Runs a command; its stdout, or its stderr as the error.
    @discardableResult
    static func run(_ arguments: [String]) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = arguments
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("parquet-check-\(UUID().uuidString)")
        FileManager.default.createFile(atPath: out.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: out) }
        let handle = try FileHandle(forWritingTo: out)
        p.standardOutput = handle
        p.standardError = handle
        try p.run()
        p.waitUntilExit()
        try handle.close()
        let text = (try? String(contentsOf: out, encoding: .utf8)) ?? ""
        guard p.terminationStatus == 0 else { throw Failed(description: text) }
        return text
    }

    /// EXPECTED.json for scripts/parquet_check.py.
    static func expected(_ fields: [ParquetField], _ groups: [[ParquetColumn]]) throws -> Data {
        var columns: [[String: Any]] = []
        for (c, field) in fields.enumerated() {
            var values: [Any] = []
            for g in groups {
                switch g[c] {
                case .doubles(let v): values += v.map { $0.map { String(format: "%016llx", $0.bitPattern) } ?? NSNull() as Any }
                case .int64s(let v): values += v.map { $0.map { String($0) } ?? NSNull() as Any }
                case .int32s(let v): values += v.map { $0.map { String($0) } ?? NSNull() as Any }
                case .booleans(let v): values += v.map { $0.map { $0 as Any } ?? NSNull() as Any }
                case .strings(let v): values += v.map { $0 ?? NSNull() as Any }
                }
            }
            let kind: String
            switch field.kind {
            case .double: kind = "double"
            case .int64: kind = "int64"
            case .int32: kind = "int32"
            case .boolean: kind = "boolean"
            case .string: kind = "string"
            case .timestampMicros: kind = "timestamp"
            }
            columns.append(["name": field.name, "kind": kind, "values": values])
        }
        return try JSONSerialization.data(withJSONObject: ["columns": columns])
    }

    /// All the rows of one column of a file, its row groups joined.
    static func joined(_ file: ParquetFile, _ column: Int) throws -> ParquetColumn {
        var all = try file.column(column, rowGroup: 0)
        for g in 1..<file.rowGroupRowCounts.count {
            switch (all, try file.column(column, rowGroup: g)) {
            case (.doubles(let a), .doubles(let b)): all = .doubles(a + b)
            case (.int64s(let a), .int64s(let b)): all = .int64s(a + b)
            case (.int32s(let a), .int32s(let b)): all = .int32s(a + b)
            case (.booleans(let a), .booleans(let b)): all = .booleans(a + b)
            case (.strings(let a), .strings(let b)): all = .strings(a + b)
            default: throw Failed(description: "row groups of column \(column) disagree on its kind")
            }
        }
        return all
    }

    @Test(.requires("METEO_PYTHON has no pyarrow, duckdb and polars (scripts/test installs them)") { readersAvailable })
    func independentReadersAgreeWithMeteosFilesAndMeteoReadsTheirs() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("meteo-parquet-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let groups = [sampleColumns(rows: 2_500, seed: 1), sampleColumns(rows: 333, seed: 2)]
        var writer = try ParquetWriter(fields: allKinds)
        for g in groups { try writer.write(rowGroup: g) }
        let file = dir.appendingPathComponent("meteo.parquet")
        try Data(writer.finish()).write(to: file)
        let expected = dir.appendingPathComponent("expected.json")
        try Self.expected(allKinds, groups).write(to: expected)

        let report = try Self.run([Self.python, Self.script.path, file.path, expected.path, dir.path])
        for reader in ["pyarrow", "duckdb", "polars"] {
            #expect(report.contains("\(reader) ") && report.contains("2833 rows × 9 columns equal"), "\(report)")
        }
        let whole = try ParquetFile(bytes: Array(Data(contentsOf: file)))
        for name in ["v1-dict", "v1-plain", "v2-dict", "v2-plain"] {
            let theirs = try ParquetFile(bytes: Array(Data(contentsOf: dir.appendingPathComponent("\(name).parquet"))))
            #expect(theirs.fields == allKinds, "\(name)")
            #expect(theirs.rowGroupRowCounts.count == 3, "\(name): row groups of 1,000 rows")
            for c in 0..<allKinds.count {
                let mine = try Self.joined(whole, c)
                #expect(try Self.joined(theirs, c).identical(to: mine), "\(name), column \(allKinds[c].name)")
            }
        }
    }
}
