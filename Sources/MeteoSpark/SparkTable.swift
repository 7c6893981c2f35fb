import MeteoArrow
import MeteoCore

/// The result of one Spark query: its columns by name, the Arrow batches of the answer joined.
public struct SparkTable: Sendable, Hashable {
    public var fields: [ArrowField]
    public var columns: [ArrowColumn]
    public var count: Int

    public init(fields: [ArrowField], columns: [ArrowColumn]) {
        self.fields = fields
        self.columns = columns
        self.count = columns.first?.count ?? 0
    }

    /// Joins the Arrow IPC streams of one answer (each `arrow_batch.data` is a stream of its
    /// own). Every stream must have the same schema.
    public init(streams: [[UInt8]]) throws(MeteoError) {
        var fields: [ArrowField]?
        var batches: [ArrowRecordBatch] = []
        for stream in streams {
            let (f, b) = try ArrowStreamReader.read(stream)
            if let fields, fields.map(\.name) != f.map(\.name) {
                throw MeteoError(code: .malformedPayload, "Spark sent result batches with different columns (\(fields.map(\.name)) then \(f.map(\.name)))")
            }
            fields = f
            batches += b
        }
        try self.init(fields: fields ?? [], batches: batches)
    }

    public init(fields: [ArrowField], batches: [ArrowRecordBatch]) throws(MeteoError) {
        var columns: [ArrowColumn] = []
        for (i, field) in fields.enumerated() {
            let parts = batches.map { $0.columns[i] }
            columns.append(try Self.concatenate(parts, name: field.name))
        }
        self.init(fields: fields, columns: columns)
    }

    static func concatenate(_ parts: [ArrowColumn], name: String) throws(MeteoError) -> ArrowColumn {
        guard let first = parts.first else { return .null(count: 0) }
        if parts.count == 1 { return first }
        func mismatch() -> MeteoError {
            MeteoError(code: .malformedPayload, "Spark sent column \(name) with different types in different batches")
        }
        // A batch whose values are all null may be typed null; the others decide the type.
        let typed = parts.first { if case .null = $0 { false } else { true } } ?? first
        func join<T>(_ values: (ArrowColumn) -> [T?]?) throws(MeteoError) -> [T?] {
            var out: [T?] = []
            for part in parts {
                if case .null(let n) = part {
                    out += [T?](repeating: nil, count: n)
                } else if let v = values(part) {
                    out += v
                } else {
                    throw mismatch()
                }
            }
            return out
        }
        switch typed {
        case .int: return .int(try join { if case .int(let v) = $0 { v } else { nil } })
        case .double, .decimal:
            return .double(try join { switch $0 { case .double(let v), .decimal(let v): v; default: nil } })
        case .string: return .string(try join { if case .string(let v) = $0 { v } else { nil } })
        case .bool: return .bool(try join { if case .bool(let v) = $0 { v } else { nil } })
        case .timestampMicros: return .timestampMicros(try join { if case .timestampMicros(let v) = $0 { v } else { nil } })
        case .null: return .null(count: parts.reduce(0) { $0 + $1.count })
        }
    }

    func column(_ name: String) throws(MeteoError) -> ArrowColumn {
        guard let i = fields.firstIndex(where: { $0.name == name }) else {
            throw MeteoError(code: .malformedPayload, "Spark's answer has no column \(name) (it has \(fields.map(\.name).joined(separator: ", ")))")
        }
        return columns[i]
    }

    /// A whole-number column (or null) by name.
    public func ints(_ name: String) throws(MeteoError) -> [Int64?] {
        switch try column(name) {
        case .int(let v): return v
        case .null(let n): return [Int64?](repeating: nil, count: n)
        default: throw MeteoError(code: .malformedPayload, "Spark's column \(name) is not a whole number")
        }
    }

    /// A numeric column as doubles by name.
    public func doubles(_ name: String) throws(MeteoError) -> [Double?] {
        guard let v = try column(name).doubles else {
            throw MeteoError(code: .malformedPayload, "Spark's column \(name) is not a number")
        }
        return v
    }

    /// A text column (or null) by name.
    public func strings(_ name: String) throws(MeteoError) -> [String?] {
        switch try column(name) {
        case .string(let v): return v
        case .null(let n): return [String?](repeating: nil, count: n)
        default: throw MeteoError(code: .malformedPayload, "Spark's column \(name) is not text")
        }
    }
}
