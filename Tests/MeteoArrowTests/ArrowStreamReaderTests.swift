import Foundation
import MeteoArrow
import MeteoCore
import Testing

/// The reader against streams written by pyarrow (an independent implementation), with every
/// supported type, nulls, two batches, and the errors for what is not read.
@Suite("Arrow IPC stream reader", .enabled(if: ArrowFixtures.pyarrowAvailable, "needs pyarrow in METEO_PYTHON (scripts/test installs it)"))
struct ArrowStreamReaderTests {
    @Test func everyTypeWithNullsReadsBackAsPyarrowWroteIt() throws {
        let bytes = try ArrowFixtures.stream("""
        import decimal, datetime
        t = pa.table({
          "i32": pa.array([1, None, -3], pa.int32()),
          "i64": pa.array([2**40, None, -1], pa.int64()),
          "i8": pa.array([-128, 127, None], pa.int8()),
          "f64": pa.array([1.5, None, -2.25e-300], pa.float64()),
          "f32": pa.array([0.5, -1.25, None], pa.float32()),
          "s": pa.array(["Strasbourg", None, "Zürich <x> \\"q\\""], pa.string()),
          "b": pa.array([True, None, False], pa.bool_()),
          "ts": pa.array([datetime.datetime(2026, 11, 29, 8, 10, tzinfo=datetime.timezone.utc), None,
                          datetime.datetime(1970, 1, 1, 0, 0, 1, 500, tzinfo=datetime.timezone.utc)], pa.timestamp("us", tz="UTC")),
          "ms": pa.array([1000, None, -1], pa.timestamp("ms")),
          "d": pa.array([decimal.Decimal("12.34"), None, decimal.Decimal("-0.05")], pa.decimal128(10, 2)),
          "n": pa.array([None, None, None], pa.null()),
        })
        with pa.ipc.new_stream(sink, t.schema) as w:
            w.write_table(t)
        """)
        let (fields, batches) = try ArrowStreamReader.read(bytes)
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

    @Test func severalBatchesOfManyRowsComeInOrder() throws {
        let bytes = try ArrowFixtures.stream("""
        schema = pa.schema([("k", pa.int64()), ("v", pa.float64())])
        with pa.ipc.new_stream(sink, schema) as w:
            for start in (0, 10000):
                ks = list(range(start, start + 10000))
                w.write_batch(pa.record_batch([pa.array(ks), pa.array([None if k % 97 == 0 else k / 4 for k in ks])], schema=schema))
        """)
        let (_, batches) = try ArrowStreamReader.read(bytes)
        #expect(batches.map(\.length) == [10_000, 10_000])
        var keys: [Int64?] = []
        var values: [Double?] = []
        for b in batches {
            if case .int(let k) = b.columns[0] { keys += k }
            values += b.columns[1].doubles ?? []
        }
        #expect(keys == (0..<20_000).map { Int64($0) })
        let expected: [Double?] = (0..<20_000).map { (k: Int) -> Double? in k % 97 == 0 ? nil : Double(k) / 4 }
        #expect(values == expected)
    }

    @Test func unsupportedTypesAndCorruptStreamsAreClearErrors() throws {
        let list = try ArrowFixtures.stream("""
        t = pa.table({"xs": pa.array([[1, 2], None], pa.list_(pa.int64()))})
        with pa.ipc.new_stream(sink, t.schema) as w:
            w.write_table(t)
        """)
        do {
            _ = try ArrowStreamReader.read(list)
            Issue.record("a list column was read")
        } catch let error as MeteoError {
            #expect(error.message.contains("'xs'") && error.message.contains("list"), "\(error.message)")
        }
        let good = try ArrowFixtures.stream("""
        t = pa.table({"s": pa.array(["a" * 50] * 100)})
        with pa.ipc.new_stream(sink, t.schema) as w:
            w.write_table(t)
        """)
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
}

enum ArrowFixtures {
    static var python: String { ProcessInfo.processInfo.environment["METEO_PYTHON"] ?? "python3" }

    static let pyarrowAvailable: Bool = {
        (try? run("import pyarrow", output: nil)) != nil
    }()

    /// Runs `body` with `pa` (pyarrow) and `sink` (a BufferOutputStream) defined; returns the bytes.
    static func stream(_ body: String) throws -> [UInt8] {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("arrow-\(UUID().uuidString).arrows")
        defer { try? FileManager.default.removeItem(at: out) }
        let script = "import pyarrow as pa, sys\nsink = pa.BufferOutputStream()\n" + body
            + "\nopen(sys.argv[1], 'wb').write(sink.getvalue().to_pybytes())\n"
        try run(script, output: out)
        return Array(try Data(contentsOf: out))
    }

    struct Failure: Error, CustomStringConvertible { var description: String }

    static func run(_ script: String, output: URL?) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = [python, "-c", script] + (output.map { [$0.path] } ?? [])
        let errors = Pipe()
        p.standardError = errors
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        let stderr = errors.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw Failure(description: String(decoding: stderr, as: UTF8.self)) }
    }
}
