import Foundation
import MeteoArrow
import MeteoCore

// libFuzzer entry point for the Arrow IPC stream reader (Spark Connect's result batches): every
// input is read into batches that agree with their schema, or refused with a non-empty reason;
// anything else stops the fuzzer (fatalError), and so does a trap. See Fuzz/README.md.

@_cdecl("LLVMFuzzerTestOneInput")
public func meteoFuzzArrowTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = size > 0 && data != nil ? Array(UnsafeBufferPointer(start: data, count: size)) : []
    ArrowChecks.run(bytes)
    return 0
}

enum ArrowChecks {
    static func run(_ bytes: [UInt8]) {
        let first = Result { () throws(MeteoError) in try ArrowStreamReader.read(bytes) }
        switch first {
        case .failure(let e):
            guard !e.message.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { fail("refused with an empty reason", bytes) }
        case .success(let (fields, batches)):
            for (b, batch) in batches.enumerated() {
                guard batch.length >= 0 else { fail("batch \(b) has length \(batch.length)", bytes) }
                guard batch.columns.count == fields.count else {
                    fail("batch \(b) has \(batch.columns.count) columns for \(fields.count) fields", bytes)
                }
                for (c, (column, field)) in zip(batch.columns, fields).enumerated() {
                    guard column.count == batch.length else { fail("batch \(b) column \(c) has \(column.count) rows, the batch \(batch.length)", bytes) }
                    guard matches(column, field.type) else { fail("batch \(b) column \(c) is not a \(field.type) column", bytes) }
                }
            }
        }
    }

    /// The column case the reader makes of each field type.
    static func matches(_ column: ArrowColumn, _ type: ArrowType) -> Bool {
        switch (column, type) {
        case (.int, .int), (.double, .float), (.string, .utf8), (.string, .largeUTF8), (.bool, .bool),
             (.timestampMicros, .timestamp), (.decimal, .decimal), (.null, .null): true
        default: false
        }
    }

    static func fail(_ message: String, _ bytes: [UInt8]) -> Never {
        fatalError("MeteoFuzzArrow invariant violated: \(message) (input of \(bytes.count) bytes)")
    }
}
