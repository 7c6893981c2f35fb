/// Writes a Parquet file in memory: `PAR1`, row groups of column chunks, the Thrift footer,
/// its length and `PAR1` again.
///
/// Flat schemas only (a column is REQUIRED or OPTIONAL, never nested or repeated). Data pages
/// are version 1, one per column chunk, uncompressed: definition levels in the RLE / bit-packing
/// hybrid; strings dictionary-encoded (a PLAIN dictionary page, then the indices in the hybrid),
/// numbers too when they repeat enough (see `fixedWidth`), PLAIN otherwise. Numeric chunks carry min, max and null count statistics, so that readers can
/// skip row groups.
public struct ParquetWriter: Sendable {
    public let fields: [ParquetField]
    private let keyValue: [(String, String)]
    private var bytes: [UInt8] = Array("PAR1".utf8)
    private var rowGroups: [RowGroupMetaData] = []
    private var rows: Int64 = 0
    /// Written into the footer's `created_by`.
    public static let createdBy = "meteo-parquet version 1.0"

    /// - Parameter metadata: key/value pairs for the footer (the writer, the schema version).
    public init(fields: [ParquetField], metadata: [(String, String)] = []) throws(ParquetError) {
        guard !fields.isEmpty else { throw ParquetError("a Parquet file needs at least one column") }
        let names = fields.map(\.name)
        guard Set(names).count == names.count else { throw ParquetError("column names must be unique: \(names)") }
        guard names.allSatisfy({ !$0.isEmpty }) else { throw ParquetError("a column name cannot be empty") }
        self.fields = fields
        self.keyValue = metadata
    }

    /// Appends one row group: one column per field, in the fields' order, all of one length.
    public mutating func write(rowGroup columns: [ParquetColumn]) throws(ParquetError) {
        guard columns.count == fields.count else {
            throw ParquetError("a row group needs \(fields.count) columns, got \(columns.count)")
        }
        let count = columns[0].count
        guard count > 0 else { return }
        var chunks: [ColumnMetaData] = []
        chunks.reserveCapacity(fields.count)
        for (field, column) in zip(fields, columns) {
            guard column.count == count else {
                throw ParquetError("column \(field.name) has \(column.count) values, the row group \(count)")
            }
            chunks.append(try writeChunk(field, column))
        }
        let total = chunks.reduce(Int64(0)) { $0 + $1.totalUncompressedSize }
        rowGroups.append(RowGroupMetaData(columns: chunks, totalByteSize: total, numRows: Int64(count)))
        rows += Int64(count)
    }

    /// The whole file. The writer is spent after it.
    public mutating func finish() -> [UInt8] {
        var schema = [SchemaElement(name: "schema", numChildren: Int32(fields.count))]
        for f in fields {
            var e = SchemaElement(type: f.kind.physical, repetition: f.nullable ? .optional : .required, name: f.name)
            switch f.kind {
            case .string:
                e.convertedType = ConvertedType.utf8.rawValue
                e.logicalType = .string
            case .timestampMicros:
                e.convertedType = ConvertedType.timestampMicros.rawValue
                e.logicalType = .timestamp(utc: true, unit: .micros)
            default:
                break
            }
            schema.append(e)
        }
        let footer = FileMetaData(version: 1, schema: schema, numRows: rows, rowGroups: rowGroups, keyValue: keyValue,
                                  createdBy: Self.createdBy).encoded()
        var out = bytes
        out.append(contentsOf: footer)
        appendLE(UInt32(footer.count), to: &out)
        out.append(contentsOf: Array("PAR1".utf8))
        bytes = []
        return out
    }

    // MARK: Column chunks

    private mutating func writeChunk(_ field: ParquetField, _ column: ParquetColumn) throws(ParquetError) -> ColumnMetaData {
        let chunkStart = Int64(bytes.count)
        var levels: [UInt32] = []
        var values: [UInt8] = []
        var encoding = Encoding.plain
        var dictionary: (page: [UInt8], count: Int)?
        var statistics = Statistics()
        var nulls: Int64 = 0

        func presence<T>(_ vs: [T?]) throws(ParquetError) {
            if field.nullable {
                levels.reserveCapacity(vs.count)
                for v in vs {
                    levels.append(v == nil ? 0 : 1)
                    if v == nil { nulls += 1 }
                }
                statistics.nullCount = nulls
            } else if let row = vs.firstIndex(where: { $0 == nil }) {
                throw ParquetError("column \(field.name) is REQUIRED but row \(row) is null")
            }
        }

        switch (field.kind, column) {
        case (.double, .doubles(let vs)):
            try presence(vs)
            var bits: [UInt64] = []
            bits.reserveCapacity(vs.count)
            var lo = Double.infinity, hi = -Double.infinity
            for case let v? in vs {
                bits.append(v.bitPattern)
                if !v.isNaN { lo = min(lo, v); hi = max(hi, v) }
            }
            if lo <= hi {
                // -0.0 and +0.0 compare equal: the spec asks for -0.0 as the min and +0.0 as the max.
                statistics.minValue = le((lo == 0 ? -0.0 : lo).bitPattern)
                statistics.maxValue = le((hi == 0 ? 0.0 : hi).bitPattern)
            }
            (values, encoding, dictionary) = fixedWidth(bits, width: 8)
        case (.int64, .int64s(let vs)), (.timestampMicros, .int64s(let vs)):
            try presence(vs)
            (values, encoding, dictionary) = fixedWidth(integers(vs, statistics: &statistics), width: 8)
        case (.int32, .int32s(let vs)):
            try presence(vs)
            (values, encoding, dictionary) = fixedWidth(integers(vs, statistics: &statistics), width: 4)
        case (.boolean, .booleans(let vs)):
            try presence(vs)
            var bit = 0
            for case let v? in vs {
                if bit == 0 { values.append(0) }
                if v { values[values.count - 1] |= UInt8(1 << bit) }
                bit = (bit + 1) & 7
            }
        case (.string, .strings(let vs)):
            try presence(vs)
            var index: [String: UInt32] = [:]
            var page: [UInt8] = []
            var indices: [UInt32] = []
            indices.reserveCapacity(vs.count)
            for case let v? in vs {
                if let i = index[v] {
                    indices.append(i)
                } else {
                    let i = UInt32(index.count)
                    index[v] = i
                    let utf8 = Array(v.utf8)
                    appendLE(UInt32(utf8.count), to: &page)
                    page.append(contentsOf: utf8)
                    indices.append(i)
                }
            }
            let width = max(1, Hybrid.bitWidth(UInt32(max(index.count, 1) - 1)))
            values.append(UInt8(width))
            Hybrid.encode(indices, bitWidth: width, into: &values)
            encoding = .rleDictionary
            dictionary = (page, index.count)
        default:
            throw ParquetError("column \(field.name) is \(field.kind) but was given \(column)")
        }

        var dictionaryOffset: Int64?
        var uncompressed: Int64 = 0
        if let dictionary {
            dictionaryOffset = Int64(bytes.count)
            let header = PageHeader(type: .dictionaryPage, uncompressedSize: Int32(dictionary.page.count), compressedSize: Int32(dictionary.page.count),
                                    dictionaryPage: (Int32(dictionary.count), .plain)).encoded()
            bytes.append(contentsOf: header)
            bytes.append(contentsOf: dictionary.page)
            uncompressed += Int64(header.count + dictionary.page.count)
        }
        var body: [UInt8] = []
        if field.nullable {
            var encoded: [UInt8] = []
            Hybrid.encode(levels, bitWidth: 1, into: &encoded)
            appendLE(UInt32(encoded.count), to: &body)
            body.append(contentsOf: encoded)
        }
        body.append(contentsOf: values)
        let dataOffset = Int64(bytes.count)
        let header = PageHeader(type: .dataPage, uncompressedSize: Int32(body.count), compressedSize: Int32(body.count),
                                dataPage: (Int32(column.count), encoding, .rle)).encoded()
        bytes.append(contentsOf: header)
        bytes.append(contentsOf: body)
        uncompressed += Int64(header.count + body.count)
        let size = Int64(bytes.count) - chunkStart
        let encodings: [Encoding] = dictionary == nil ? [.plain, .rle] : [.plain, .rle, .rleDictionary]
        let hasStatistics = statistics.nullCount != nil || statistics.minValue != nil
        return ColumnMetaData(type: field.kind.physical, encodings: encodings, path: [field.name], codec: .uncompressed,
                              numValues: Int64(column.count), totalUncompressedSize: uncompressed, totalCompressedSize: size,
                              dataPageOffset: dataOffset, dictionaryPageOffset: dictionaryOffset, statistics: hasStatistics ? statistics : nil)
    }
}

/// The non-null integers as 64-bit patterns, and their min and max in `statistics`.
private func integers<T: FixedWidthInteger>(_ vs: [T?], statistics: inout Statistics) -> [UInt64] {
    var bits: [UInt64] = []
    bits.reserveCapacity(vs.count)
    var lo = T.max, hi = T.min
    for case let v? in vs {
        bits.append(UInt64(truncatingIfNeeded: v))
        lo = min(lo, v)
        hi = max(hi, v)
    }
    if lo <= hi {
        statistics.minValue = le(lo)
        statistics.maxValue = le(hi)
    }
    return bits
}

/// Fixed-width values (`width` bytes of each pattern), dictionary-encoded when they repeat
/// enough to pay (at most one distinct value in two, and 65,536 in all: a temperature to a
/// tenth of a degree, a weather code, the batch's few times), PLAIN otherwise.
private func fixedWidth(_ bits: [UInt64], width: Int) -> (values: [UInt8], encoding: Encoding, dictionary: (page: [UInt8], count: Int)?) {
    func plain(_ patterns: [UInt64]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(patterns.count * width)
        for b in patterns {
            if width == 8 { appendLE(b, to: &out) } else { appendLE(UInt32(truncatingIfNeeded: b), to: &out) }
        }
        return out
    }
    let limit = min(bits.count / 2, 65_536)
    if bits.count >= 16 {
        var index: [UInt64: UInt32] = [:]
        var distinct: [UInt64] = []
        var indices: [UInt32] = []
        indices.reserveCapacity(bits.count)
        var fits = true
        for b in bits {
            if let i = index[b] {
                indices.append(i)
                continue
            }
            guard distinct.count < limit else { fits = false; break }
            index[b] = UInt32(distinct.count)
            indices.append(UInt32(distinct.count))
            distinct.append(b)
        }
        if fits {
            let bitWidth = max(1, Hybrid.bitWidth(UInt32(distinct.count - 1)))
            var values: [UInt8] = [UInt8(bitWidth)]
            Hybrid.encode(indices, bitWidth: bitWidth, into: &values)
            return (values, .rleDictionary, (plain(distinct), distinct.count))
        }
    }
    return (plain(bits), .plain, nil)
}

extension ParquetKind {
    var physical: PhysicalType {
        switch self {
        case .double: .double
        case .int64, .timestampMicros: .int64
        case .int32: .int32
        case .boolean: .boolean
        case .string: .byteArray
        }
    }
}

func appendLE<T: FixedWidthInteger>(_ value: T, to out: inout [UInt8]) {
    withUnsafeBytes(of: value.littleEndian) { out.append(contentsOf: $0) }
}

func le<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
    var out: [UInt8] = []
    appendLE(value, to: &out)
    return out
}
