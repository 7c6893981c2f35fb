import Foundation
import MeteoCore

/// The column types Meteo reads from Arrow: what Spark's results of the analyses hold.
public enum ArrowType: Sendable, Hashable, CustomStringConvertible {
    case int(bits: Int, signed: Bool)
    case float(bits: Int)
    case utf8
    case largeUTF8
    case bool
    /// `unit`: 0 seconds, 1 milliseconds, 2 microseconds, 3 nanoseconds.
    case timestamp(unit: Int, timezone: String?)
    case decimal(precision: Int, scale: Int, bits: Int)
    case null

    public var description: String {
        switch self {
        case .int(let bits, let signed): "\(signed ? "" : "u")int\(bits)"
        case .float(let bits): "float\(bits)"
        case .utf8: "utf8"
        case .largeUTF8: "large_utf8"
        case .bool: "bool"
        case .timestamp(let unit, let tz): "timestamp[\(["s", "ms", "us", "ns"][min(3, max(0, unit))])\(tz.map { ", \($0)" } ?? "")]"
        case .decimal(let p, let s, let bits): "decimal\(bits)(\(p), \(s))"
        case .null: "null"
        }
    }
}

public struct ArrowField: Sendable, Hashable {
    public var name: String
    public var type: ArrowType
    public var nullable: Bool

    public init(name: String, type: ArrowType, nullable: Bool) {
        self.name = name
        self.type = type
        self.nullable = nullable
    }
}

/// One column of a record batch; nil is a null.
public enum ArrowColumn: Sendable, Hashable {
    case int([Int64?])
    case double([Double?])
    case string([String?])
    case bool([Bool?])
    /// Microseconds since 1970 (UTC), whatever the unit on the wire.
    case timestampMicros([Int64?])
    /// Decimals as doubles: the unscaled 128-bit integer divided by 10^scale.
    case decimal([Double?])
    case null(count: Int)

    public var count: Int {
        switch self {
        case .int(let v): v.count
        case .double(let v): v.count
        case .string(let v): v.count
        case .bool(let v): v.count
        case .timestampMicros(let v): v.count
        case .decimal(let v): v.count
        case .null(let n): n
        }
    }

    /// A numeric column as doubles (ints, doubles, decimals); nil for other types.
    public var doubles: [Double?]? {
        switch self {
        case .int(let v): v.map { $0.map(Double.init) }
        case .double(let v), .decimal(let v): v
        case .null(let n): [Double?](repeating: nil, count: n)
        default: nil
        }
    }
}

public struct ArrowRecordBatch: Sendable, Hashable {
    public var length: Int
    public var columns: [ArrowColumn]

    public init(length: Int, columns: [ArrowColumn]) {
        self.length = length
        self.columns = columns
    }
}

/// Reads an Arrow IPC stream (the format of Spark Connect's `arrow_batch.data`): an optional
/// continuation marker and a length before each FlatBuffers `Message`, its body, and an end
/// marker. Schema and record batch messages are read; the types are those of ``ArrowType``,
/// flat (no nested columns), uncompressed. Anything else throws an error that names it.
public enum ArrowStreamReader {
    public static func read(_ bytes: [UInt8]) throws(MeteoError) -> (fields: [ArrowField], batches: [ArrowRecordBatch]) {
        var position = 0
        var fields: [ArrowField]?
        var batches: [ArrowRecordBatch] = []
        func int32(at p: Int) throws(MeteoError) -> Int32 {
            guard p >= 0, p + 4 <= bytes.count else { throw corrupt("the stream ends inside a message length at byte \(p)") }
            return Int32(bitPattern: UInt32(bytes[p]) | UInt32(bytes[p + 1]) << 8 | UInt32(bytes[p + 2]) << 16 | UInt32(bytes[p + 3]) << 24)
        }
        while position < bytes.count {
            let start = position
            var length = Int(try int32(at: position))
            position += 4
            if length == -1 {  // continuation marker, then the length
                length = Int(try int32(at: position))
                position += 4
            }
            if length == 0 { break }  // end of stream
            guard length > 0, position + length <= bytes.count else { throw corrupt("a message of \(length) bytes at byte \(position) runs past the stream's \(bytes.count)") }
            let metadata = FlatBuffer(Array(bytes[position..<(position + length)]))
            position += length
            let message = try metadata.root()
            let headerType = try message.scalar(1, UInt8.self, default: 0)
            let bodyLength = Int(try message.scalar(3, Int64.self, default: 0))
            guard bodyLength >= 0, bodyLength <= bytes.count - position else { throw corrupt("a message body of \(bodyLength) bytes runs past the stream") }
            let body = position..<(position + bodyLength)
            position += bodyLength
            guard let header = try message.table(2) else { throw corrupt("a message has no header") }
            switch headerType {
            case 1:
                // One schema per stream, first: batches already read belong to the first one.
                guard fields == nil else { throw corrupt("a second schema message at byte \(start)") }
                fields = try schema(header)
            case 3:
                guard let fields else { throw corrupt("a record batch comes before the schema") }
                batches.append(try recordBatch(header, fields: fields, body: bytes[body]))
            case 2:
                throw MeteoError(code: .malformedPayload, "Arrow dictionary batches are not supported (a dictionary-encoded column): cast the column to a plain type in the query")
            default:
                throw MeteoError(code: .malformedPayload, "Arrow message type \(headerType) is not supported (only schema and record batch)")
            }
        }
        guard let fields else { throw corrupt("the stream has no schema") }
        return (fields, batches)
    }

    /// The most rows a record batch may have: the Arrow format's cap for portable lengths.
    static let maxLength = Int(Int32.max)

    static func corrupt(_ what: String) -> MeteoError {
        MeteoError(code: .malformedPayload, "the Arrow IPC stream is corrupt: \(what)")
    }

    static func schema(_ table: FlatBuffer.Table) throws(MeteoError) -> [ArrowField] {
        try table.tables(1).map { f throws(MeteoError) -> ArrowField in
            let name = try f.string(0) ?? ""
            if try f.table(4) != nil {
                throw MeteoError(code: .malformedPayload, "Arrow column '\(name)' is dictionary-encoded, which is not supported: cast it to a plain type")
            }
            let typeID = try f.scalar(2, UInt8.self, default: 0)
            let t = try f.table(3)
            let type: ArrowType
            switch typeID {
            case 1: type = .null
            case 2:
                type = .int(bits: Int(try t?.scalar(0, Int32.self, default: 0) ?? 0), signed: try t?.bool(1, default: false) ?? false)
            case 3:
                type = .float(bits: [16, 32, 64][min(2, max(0, Int(try t?.scalar(0, Int16.self, default: 0) ?? 0)))])
            case 5: type = .utf8
            case 20: type = .largeUTF8
            case 6: type = .bool
            case 7:
                type = .decimal(precision: Int(try t?.scalar(0, Int32.self, default: 0) ?? 0), scale: Int(try t?.scalar(1, Int32.self, default: 0) ?? 0),
                                bits: Int(try t?.scalar(2, Int32.self, default: 128) ?? 128))
            case 10:
                type = .timestamp(unit: Int(try t?.scalar(0, Int16.self, default: 0) ?? 0), timezone: try t?.string(1))
            default:
                let names = [4: "binary", 8: "date", 9: "time", 11: "interval", 12: "list", 13: "struct", 14: "union", 15: "fixed_size_binary",
                             16: "fixed_size_list", 17: "map", 18: "duration", 19: "large_binary", 21: "large_list"]
                throw MeteoError(code: .malformedPayload,
                                 "Arrow column '\(name)' has type \(names[Int(typeID)] ?? "#\(typeID)"), which Meteo does not read: cast it to a number, string, boolean, timestamp or decimal in the query")
            }
            if case .int(let bits, _) = type, ![8, 16, 32, 64].contains(bits) { throw corrupt("column '\(name)' has an int of \(bits) bits") }
            if case .decimal(_, _, let bits) = type, bits != 128 {
                throw MeteoError(code: .malformedPayload, "Arrow column '\(name)' is a \(bits)-bit decimal; only 128-bit decimals are read")
            }
            if case .float(let bits) = type, bits == 16 {
                throw MeteoError(code: .malformedPayload, "Arrow column '\(name)' is a half-precision float, which Meteo does not read: cast it to double")
            }
            return ArrowField(name: name, type: type, nullable: try f.bool(1, default: false))
        }
    }

    static func recordBatch(_ table: FlatBuffer.Table, fields: [ArrowField], body: ArraySlice<UInt8>) throws(MeteoError) -> ArrowRecordBatch {
        if try table.table(3) != nil {
            throw MeteoError(code: .malformedPayload, "compressed Arrow record batches are not supported: set spark.sql.execution.arrow… compression off")
        }
        let length = Int(try table.scalar(0, Int64.self, default: 0))
        // Arrow lengths are 64-bit, but the format caps them at 2^31 - 1 for portability; within
        // that cap every size below (rows × 16 bytes at most) fits an Int, so no product traps.
        guard length >= 0, length <= maxLength else { throw corrupt("a record batch claims \(length) rows") }
        guard let (nodeCount, nodeStart) = try table.vector(1), nodeCount == fields.count else {
            throw corrupt("a record batch does not have one node per column")
        }
        let buffer = table.buffer
        var buffers: [(offset: Int, length: Int)] = []
        if let (count, start) = try table.vector(2) {
            for i in 0..<count {
                buffers.append((Int(try buffer.read(Int64.self, at: start + 16 * i)), Int(try buffer.read(Int64.self, at: start + 16 * i + 8))))
            }
        }
        let base = body.startIndex
        var next = 0
        func take() throws(MeteoError) -> ArraySlice<UInt8> {
            guard next < buffers.count else { throw corrupt("a record batch has fewer buffers than its columns need") }
            let b = buffers[next]
            next += 1
            guard b.offset >= 0, b.length >= 0, b.offset <= body.count, b.length <= body.count - b.offset else {
                throw corrupt("a buffer (\(b.offset), \(b.length)) runs past the \(body.count)-byte body")
            }
            return body[(base + b.offset)..<(base + b.offset + b.length)]
        }
        var columns: [ArrowColumn] = []
        for (i, field) in fields.enumerated() {
            let rows = Int(try buffer.read(Int64.self, at: nodeStart + 16 * i))
            let nulls = Int(try buffer.read(Int64.self, at: nodeStart + 16 * i + 8))
            guard rows == length else { throw corrupt("column '\(field.name)' has \(rows) rows, the batch \(length)") }
            if case .null = field.type {
                columns.append(.null(count: rows))
                continue
            }
            let validity = try take()
            guard nulls == 0 || validity.count * 8 >= rows else { throw corrupt("column '\(field.name)' has a short validity bitmap") }
            func valid(_ row: Int) -> Bool {
                nulls == 0 || validity.isEmpty || validity[validity.startIndex + row / 8] & (1 << UInt8(row % 8)) != 0
            }
            switch field.type {
            case .int(let bits, let signed):
                let values = try take()
                let width = bits / 8
                guard values.count >= rows * width else { throw corrupt("column '\(field.name)' has too few values") }
                columns.append(.int((0..<rows).map { r -> Int64? in
                    guard valid(r) else { return nil }
                    return integer(values, at: r * width, width: width, signed: signed)
                }))
            case .float(let bits):
                let values = try take()
                let width = bits / 8
                guard values.count >= rows * width else { throw corrupt("column '\(field.name)' has too few values") }
                columns.append(.double((0..<rows).map { r -> Double? in
                    guard valid(r) else { return nil }
                    let raw = UInt64(bitPattern: integer(values, at: r * width, width: width, signed: false))
                    return width == 8 ? Double(bitPattern: raw) : Double(Float(bitPattern: UInt32(truncatingIfNeeded: raw)))
                }))
            case .bool:
                let values = try take()
                guard values.count * 8 >= rows else { throw corrupt("column '\(field.name)' has too few values") }
                columns.append(.bool((0..<rows).map { r -> Bool? in
                    valid(r) ? values[values.startIndex + r / 8] & (1 << UInt8(r % 8)) != 0 : nil
                }))
            case .utf8, .largeUTF8:
                let offsets = try take()
                let data = try take()
                let width = field.type == .utf8 ? 4 : 8
                guard offsets.count >= (rows + 1) * width else { throw corrupt("column '\(field.name)' has too few offsets") }
                var strings: [String?] = []
                strings.reserveCapacity(rows)
                for r in 0..<rows {
                    guard valid(r) else { strings.append(nil); continue }
                    let from = Int(integer(offsets, at: r * width, width: width, signed: true))
                    let to = Int(integer(offsets, at: (r + 1) * width, width: width, signed: true))
                    guard from >= 0, from <= to, to <= data.count else { throw corrupt("column '\(field.name)' has a string outside its data") }
                    strings.append(String(decoding: data[(data.startIndex + from)..<(data.startIndex + to)], as: UTF8.self))
                }
                columns.append(.string(strings))
            case .timestamp(let unit, _):
                let values = try take()
                guard values.count >= rows * 8 else { throw corrupt("column '\(field.name)' has too few values") }
                columns.append(.timestampMicros((0..<rows).map { r -> Int64? in
                    guard valid(r) else { return nil }
                    let v = integer(values, at: r * 8, width: 8, signed: true)
                    switch unit {
                    case 0: return v.multipliedReportingOverflow(by: 1_000_000).overflow ? nil : v * 1_000_000
                    case 1: return v.multipliedReportingOverflow(by: 1_000).overflow ? nil : v * 1_000
                    case 3: return v / 1_000
                    default: return v
                    }
                }))
            case .decimal(_, let scale, _):
                let values = try take()
                guard values.count >= rows * 16 else { throw corrupt("column '\(field.name)' has too few values") }
                let divisor = pow(10.0, Double(scale))
                columns.append(.decimal((0..<rows).map { r -> Double? in
                    guard valid(r) else { return nil }
                    let low = UInt64(bitPattern: integer(values, at: r * 16, width: 8, signed: false))
                    let high = integer(values, at: r * 16 + 8, width: 8, signed: true)
                    // Exact when the unscaled value fits 64 bits (the sign extends into high).
                    let small = Int64(bitPattern: low)
                    if (high == 0 && small >= 0) || (high == -1 && small < 0) { return Double(small) / divisor }
                    return (Double(high) * 18_446_744_073_709_551_616.0 + Double(low)) / divisor
                }))
            case .null:
                break
            }
        }
        return ArrowRecordBatch(length: length, columns: columns)
    }

    /// A little-endian integer of `width` bytes at `offset` of `bytes`.
    static func integer(_ bytes: ArraySlice<UInt8>, at offset: Int, width: Int, signed: Bool) -> Int64 {
        var v: UInt64 = 0
        let start = bytes.startIndex + offset
        for i in 0..<width { v |= UInt64(bytes[start + i]) << (8 * UInt64(i)) }
        if signed && width < 8 && v & (1 << (8 * UInt64(width) - 1)) != 0 { v |= ~0 << (8 * UInt64(width)) }
        return Int64(bitPattern: v)
    }
}
