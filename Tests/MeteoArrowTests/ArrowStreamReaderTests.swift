import Foundation
import MeteoArrow
import MeteoCore
import MeteoTestSupport
import Testing

/// The reader against streams written by pyarrow (an independent implementation), committed in
/// Fixtures/ (written by Fixtures/make.py): every supported type, nulls, two batches, and the
/// errors for what is not read. No Python is needed to run these.
@Suite("Arrow IPC stream reader")
struct ArrowStreamReaderTests {
    @Test func everyTypeWithNullsReadsBackAsPyarrowWroteIt() throws {
        let (fields, batches) = try ArrowStreamReader.read(try ArrowFixtures.load("every-type"))
        #expect(fields.map(\.name) == ["i32", "i64", "i8", "f64", "f32", "s", "b", "ts", "ms", "d", "n"])
        #expect(fields[7].type == .timestamp(unit: 2, timezone: "UTC"))
        #expect(fields[9].type == .decimal(precision: 10, scale: 2, bits: 128))
        #expect(batches.count == 1 && batches[0].length == 3)
        let c = batches[0].columns
        #expect(c[0] == .int([1, nil, -3]))
        #expect(c[1] == .int([1 << 40, nil, -1]))
        #expect(c[2] == .int([-128, 127, nil]))
        #expect(c[3] == .double([1.5, nil, -2.25e-300]))
        #expect(c[4] == .double([0.5, -1.25, nil]))
        #expect(c[5] == .string(["Strasbourg", nil, "Zürich <x> \"q\""]))
        #expect(c[6] == .bool([true, nil, false]))
        #expect(c[7] == .timestampMicros([1_795_939_800_000_000, nil, 1_000_500]))
        #expect(c[8] == .timestampMicros([1_000_000, nil, -1_000]))
        #expect(c[9] == .decimal([12.34, nil, -0.05]))
        #expect(c[10] == .null(count: 3))
        #expect(c[9].doubles == [12.34, nil, -0.05])
    }

    @Test func severalBatchesComeInOrder() throws {
        let (_, batches) = try ArrowStreamReader.read(try ArrowFixtures.load("two-batches"))
        #expect(batches.map(\.length) == [200, 200])
        var keys: [Int64?] = []
        var values: [Double?] = []
        for b in batches {
            if case .int(let k) = b.columns[0] { keys += k }
            values += b.columns[1].doubles ?? []
        }
        #expect(keys == (0..<400).map { Int64($0) })
        let expected: [Double?] = (0..<400).map { (k: Int) -> Double? in k % 97 == 0 ? nil : Double(k) / 4 }
        #expect(values == expected)
    }

    @Test func unsupportedTypesAndCorruptStreamsAreClearErrors() throws {
        do {
            _ = try ArrowStreamReader.read(try ArrowFixtures.load("list"))
            Issue.record("a list column was read")
        } catch let error as MeteoError {
            #expect(error.message.contains("'xs'") && error.message.contains("list"), "\(error.message)")
        }
        let good = try ArrowFixtures.load("strings")
        #expect(try ArrowStreamReader.read(good).batches.first?.columns.first == .string(Array(repeating: String(repeating: "a", count: 20), count: 100)))
        // Every truncation and a flipped byte in each position of the first 400: an error or a
        // result, never a crash.
        for cut in stride(from: 0, to: good.count, by: 7) {
            _ = try? ArrowStreamReader.read(Array(good.prefix(cut)))
        }
        for i in 0..<min(400, good.count) {
            var bad = good
            bad[i] ^= 0xFF
            _ = try? ArrowStreamReader.read(bad)
        }
        #expect(throws: MeteoError.self) { try ArrowStreamReader.read(Array(good.prefix(good.count / 2))) }
    }

    /// A record batch whose row count is negative or beyond Arrow's 2^31 - 1 (the batch's and
    /// the column's alike, so they agree): a negative count trapped on `0..<rows`, a huge one on
    /// `rows * width`. Both are now a corrupt stream.
    @Test(arguments: [Int64(-1), Int64(-7), Int64(Int32.max) + 1, Int64.max / 8, Int64.max, Int64.min])
    func aCorruptRowCountIsAnErrorNotATrap(rows: Int64) throws {
        let good = try ArrowFixtures.load("seven-rows")
        #expect(try ArrowStreamReader.read(good).batches.first?.columns.first == .int((0..<7).map { Int64($0) }))
        let bad = try ArrowFixtures.replacingInt64(7, with: rows, in: good, expectedCount: 2)
        do {
            _ = try ArrowStreamReader.read(bad)
            Issue.record("a batch of \(rows) rows was read")
        } catch {
            #expect(error.message.contains("corrupt") && error.message.contains("\(rows) rows"), "\(error.message)")
        }
    }

    /// A second schema after a batch (found by scripts/fuzz --target arrow): the stream was read
    /// with the second schema's fields and the first one's batches, which did not match them.
    @Test func aSecondSchemaIsAnError() throws {
        let ints = try ArrowFixtures.load("seven-rows")
        let strings = try ArrowFixtures.load("strings")
        // Each stream: a continuation marker, the schema's length, its metadata (no body), the
        // batch, and the 8-byte end marker.
        func schemaMessage(_ stream: [UInt8]) -> ArraySlice<UInt8> {
            let length = Int(stream[4]) | Int(stream[5]) << 8 | Int(stream[6]) << 16 | Int(stream[7]) << 24
            return stream[0..<(8 + length)]
        }
        let twice = Array(ints.dropLast(8)) + schemaMessage(strings) + ints.suffix(8)
        do {
            let (fields, batches) = try ArrowStreamReader.read(twice)
            Issue.record("read as \(fields) with \(batches)")
        } catch {
            #expect(error.message.contains("a second schema"), "\(error.message)")
        }
    }

    /// A message body length near Int64.max overflowed `position + bodyLength`.
    @Test func aHugeBodyLengthIsAnErrorNotATrap() throws {
        let good = try ArrowFixtures.load("seven-rows")
        // The record batch's body, 7 int64 values: 56 bytes, in its message's bodyLength and in
        // the values buffer's length.
        let bad = try ArrowFixtures.replacingInt64(56, with: Int64.max - 4, in: good, expectedCount: 2)
        #expect(throws: MeteoError.self) { try ArrowStreamReader.read(bad) }
    }

    /// Every input of the Arrow fuzz target's committed corpus, seeds and reproducers
    /// (Fuzz/Arrow, scripts/fuzz --target arrow): read, or refused with a reason.
    @Test func everyFuzzCorpusInputIsReadOrRefusedWithAReason() throws {
        let root = ArrowFixtures.directory.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        var read = 0
        var refused = 0
        for folder in ["Seeds", "Corpus", "Crashes"] {
            let dir = root.appendingPathComponent("Fuzz/Arrow/\(folder)")
            let names = ((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []).sorted()
            for name in names where !name.hasPrefix(".") && !name.hasSuffix(".md") {
                let bytes = Array(try Data(contentsOf: dir.appendingPathComponent(name)))
                switch Result(catching: { () throws(MeteoError) in try ArrowStreamReader.read(bytes) }) {
                case .success: read += 1
                case .failure(let error):
                    #expect(!error.message.isEmpty, "\(folder)/\(name)")
                    refused += 1
                }
            }
        }
        #expect(read > 0 && refused > 0, "Fuzz/Arrow holds \(read) readable and \(refused) refused inputs")
    }

    /// The committed fixtures are what pyarrow writes: Fixtures/make.py run again gives the same
    /// bytes. Needs a Python with pyarrow (METEO_PYTHON); skipped without one, failed under
    /// METEO_TEST_REQUIRE_ALL=1.
    @Test(.requires("METEO_PYTHON has no pyarrow (scripts/test installs it)") { ArrowFixtures.pyarrowAvailable })
    func fixturesAreWhatPyarrowWrites() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("arrow-fixtures-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try ArrowFixtures.python([ArrowFixtures.directory.appendingPathComponent("make.py").path, dir.path])
        let names = try FileManager.default.contentsOfDirectory(atPath: ArrowFixtures.directory.path).filter { $0.hasSuffix(".arrows") }
        #expect(names.count == 5)
        for name in names {
            let written = try Data(contentsOf: dir.appendingPathComponent(name))
            #expect(written == (try Data(contentsOf: ArrowFixtures.directory.appendingPathComponent(name))), "\(name) differs from pyarrow's")
        }
    }
}

enum ArrowFixtures {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    static func load(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: directory.appendingPathComponent("\(name).arrows")))
    }

    /// `bytes` with every 8-byte-aligned little-endian int64 `old` replaced by `new`; there must
    /// be `expectedCount` of them, so that a changed fixture cannot make the test vacuous.
    static func replacingInt64(_ old: Int64, with new: Int64, in bytes: [UInt8], expectedCount: Int) throws -> [UInt8] {
        func le(_ v: Int64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
        let (from, to) = (le(old), le(new))
        var out = bytes
        var count = 0
        for start in stride(from: 0, through: bytes.count - 8, by: 8) where Array(bytes[start..<(start + 8)]) == from {
            out.replaceSubrange(start..<(start + 8), with: to)
            count += 1
        }
        try #require(count == expectedCount, "\(count) int64 \(old)s in the fixture, expected \(expectedCount)")
        return out
    }

    static var pythonPath: String { ProcessInfo.processInfo.environment["METEO_PYTHON"] ?? "python3" }

    static let pyarrowAvailable: Bool = {
        (try? python(["-c", "import pyarrow"])) != nil
    }()

    struct Failure: Error, CustomStringConvertible { var description: String }

    static func python(_ arguments: [String]) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = [pythonPath] + arguments
        let errors = Pipe()
        p.standardError = errors
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        // stdout goes to /dev/null: only one pipe to drain.
        let stderr = errors.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw Failure(description: String(decoding: stderr, as: UTF8.self)) }
    }
}
