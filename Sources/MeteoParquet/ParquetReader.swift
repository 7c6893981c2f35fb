/// Reads a Parquet file from memory, column chunk by column chunk.
///
/// It reads what Meteo writes and the common files of other writers (pyarrow, DuckDB, Polars,
/// Spark) as long as they are flat and uncompressed: REQUIRED and OPTIONAL columns of
/// BOOLEAN, INT32, INT64 (timestamps included), FLOAT, DOUBLE and BYTE_ARRAY; data pages v1
/// and v2; PLAIN, dictionary (PLAIN_DICTIONARY, RLE_DICTIONARY) and RLE-hybrid levels. Any
/// other feature (nesting, a compression codec, another encoding) is refused with a
/// ``ParquetError`` naming it. Every offset, length and count in the file is checked against
/// the bytes before it is used: a corrupt file is an error, never a crash.
public struct ParquetFile: Sendable {
    public let bytes: [UInt8]
    let metadata: FileMetaData
    /// The columns, in the file's order.
    public let fields: [ParquetField]
    /// Rows in the file, and in each row group.
    public var rowCount: Int { Int(metadata.numRows) }
    public var rowGroupRowCounts: [Int] { metadata.rowGroups.map { Int($0.numRows) } }
    /// The footer's key/value metadata.
    public var keyValueMetadata: [(String, String)] { metadata.keyValue }
    public var createdBy: String? { metadata.createdBy }

    public init(bytes: [UInt8]) throws(ParquetError) {
        let magic = Array("PAR1".utf8)
        guard bytes.count >= 12, Array(bytes[0..<4]) == magic, Array(bytes[(bytes.count - 4)...]) == magic else {
            throw ParquetError.corrupt("no PAR1 magic at the start and the end (\(bytes.count) bytes): not a Parquet file, or truncated")
        }
        let n = bytes.count
        let length = Int(UInt32(bytes[n - 8]) | UInt32(bytes[n - 7]) << 8 | UInt32(bytes[n - 6]) << 16 | UInt32(bytes[n - 5]) << 24)
        guard length > 0, length <= n - 12 else { throw ParquetError.corrupt("a footer of \(length) bytes in a file of \(n)") }
        let metadata = try FileMetaData.decode(Array(bytes[(n - 8 - length)..<(n - 8)]))
        self.bytes = bytes
        self.metadata = metadata
        self.fields = try Self.fields(metadata.schema)
        var total: Int64 = 0
        for g in metadata.rowGroups {
            guard g.columns.count == fields.count else {
                throw ParquetError.corrupt("a row group has \(g.columns.count) column chunks for \(fields.count) columns")
            }
            total += g.numRows
        }
        guard total == metadata.numRows else { throw ParquetError.corrupt("row groups hold \(total) rows, the footer says \(metadata.numRows)") }
    }

    private static func fields(_ schema: [SchemaElement]) throws(ParquetError) -> [ParquetField] {
        let root = schema[0]
        guard let children = root.numChildren, Int(children) == schema.count - 1 else {
            throw ParquetError.unsupported("nested columns (the schema is not one level of \(schema.count - 1) columns)")
        }
        var out: [ParquetField] = []
        for e in schema.dropFirst() {
            guard e.numChildren == nil || e.numChildren == 0, let type = e.type else {
                throw ParquetError.unsupported("nested column \(e.name)")
            }
            let nullable: Bool
            switch e.repetition ?? .required {
            case .required: nullable = false
            case .optional: nullable = true
            case .repeated: throw ParquetError.unsupported("repeated column \(e.name)")
            }
            let kind: ParquetKind
            switch type {
            case .double, .float: kind = .double
            case .int32: kind = .int32
            case .boolean: kind = .boolean
            case .byteArray: kind = .string
            case .int64:
                switch e.logicalType {
                case .timestamp(_, .micros)?: kind = .timestampMicros
                case .timestamp(_, let unit)?: throw ParquetError.unsupported("timestamps in \(unit) (column \(e.name)); write microseconds")
                default: kind = e.convertedType == ConvertedType.timestampMicros.rawValue ? .timestampMicros : .int64
                }
            case .int96, .fixedLenByteArray:
                throw ParquetError.unsupported("physical type \(type) (column \(e.name))")
            }
            out.append(ParquetField(e.name, kind, nullable: nullable))
        }
        return out
    }

    /// The index of a column by name.
    public func index(of name: String) -> Int? {
        fields.firstIndex { $0.name == name }
    }

    /// The min and max statistics of a numeric column in a row group, as written (nil when
    /// absent): what lets a reader skip row groups outside a time range.
    public func range(column: Int, rowGroup: Int) -> (min: Int64, max: Int64)? {
        let meta = metadata.rowGroups[rowGroup].columns[column]
        guard meta.type == .int64, let lo = meta.statistics?.minValue, let hi = meta.statistics?.maxValue, lo.count == 8, hi.count == 8 else { return nil }
        return (Int64(bitPattern: Self.u64(lo, 0)), Int64(bitPattern: Self.u64(hi, 0)))
    }

    /// Reads one column chunk.
    public func column(_ column: Int, rowGroup: Int) throws(ParquetError) -> ParquetColumn {
        guard rowGroup >= 0, rowGroup < metadata.rowGroups.count else { throw ParquetError("no row group \(rowGroup)") }
        guard column >= 0, column < fields.count else { throw ParquetError("no column \(column)") }
        let group = metadata.rowGroups[rowGroup]
        let meta = group.columns[column]
        let field = fields[column]
        guard meta.codec == .uncompressed else {
            throw ParquetError.unsupported("\(meta.codec) compression (column \(field.name)); write the file uncompressed")
        }
        let rows = Int(group.numRows)
        guard meta.numValues == group.numRows else {
            throw ParquetError.corrupt("column \(field.name) has \(meta.numValues) values in a row group of \(group.numRows) rows")
        }
        let start = Int(meta.firstPageOffset)
        let end = start + Int(clamping: meta.totalCompressedSize)
        guard start >= 4, meta.totalCompressedSize >= 0, end <= bytes.count - 8 else {
            throw ParquetError.corrupt("column \(field.name)'s chunk (\(meta.firstPageOffset) + \(meta.totalCompressedSize)) lies outside the file")
        }
        var decoder = ChunkDecoder(file: self, field: field, physical: meta.type, rows: rows)
        var position = start
        while decoder.read < rows {
            guard position < end else { throw ParquetError.corrupt("column \(field.name) ends after \(decoder.read) of \(rows) values") }
            let header = try PageHeader.read(bytes, at: &position)
            let size = Int(header.compressedSize)
            guard size == Int(header.uncompressedSize), end - position >= size else {
                throw ParquetError.corrupt("a page of column \(field.name) runs past its chunk")
            }
            try decoder.page(header, position..<(position + size))
            position += size
        }
        return decoder.column()
    }

    static func u64(_ b: [UInt8], _ i: Int) -> UInt64 {
        var v: UInt64 = 0
        for k in 0..<8 { v |= UInt64(b[i + k]) << UInt64(8 * k) }
        return v
    }
}

/// Decodes the pages of one column chunk into values.
private struct ChunkDecoder {
    let file: ParquetFile
    let field: ParquetField
    let physical: PhysicalType
    let rows: Int
    var read = 0
    var dictionary: [String]?
    var numericDictionary: [UInt64]?
    var doubles: [Double?] = []
    var int64s: [Int64?] = []
    var int32s: [Int32?] = []
    var booleans: [Bool?] = []
    var strings: [String?] = []

    init(file: ParquetFile, field: ParquetField, physical: PhysicalType, rows: Int) {
        self.file = file
        self.field = field
        self.physical = physical
        self.rows = rows
    }

    var bytes: [UInt8] { file.bytes }

    mutating func page(_ header: PageHeader, _ range: Range<Int>) throws(ParquetError) {
        switch header.type {
        case .dictionaryPage:
            guard let d = header.dictionaryPage, d.numValues >= 0 else { throw ParquetError.corrupt("a dictionary page without its header") }
            guard d.encoding == .plain || d.encoding == .plainDictionary else { throw ParquetError.unsupported("dictionary encoding \(d.encoding)") }
            var p = range.lowerBound
            let n = Int(d.numValues)
            guard n <= range.count else { throw ParquetError.corrupt("a dictionary of \(n) values in \(range.count) bytes") }
            if physical == .byteArray {
                var values: [String] = []
                values.reserveCapacity(n)
                for _ in 0..<n { values.append(try byteArray(&p, range.upperBound)) }
                dictionary = values
            } else {
                var values: [UInt64] = []
                values.reserveCapacity(n)
                for _ in 0..<n { values.append(try fixed(&p, range.upperBound)) }
                numericDictionary = values
            }
        case .dataPage:
            guard let d = header.dataPage else { throw ParquetError.corrupt("a data page without its header") }
            let n = Int(d.numValues)
            guard n >= 0, n <= rows - read else { throw ParquetError.corrupt("a data page of \(n) values past the chunk's \(rows)") }
            var p = range.lowerBound
            var present: [Bool]?
            if field.nullable {
                guard d.definitionEncoding == .rle else { throw ParquetError.unsupported("definition levels in \(d.definitionEncoding)") }
                guard range.upperBound - p >= 4 else { throw ParquetError.corrupt("a data page ends before its definition levels") }
                let length = Int(UInt32(bytes[p]) | UInt32(bytes[p + 1]) << 8 | UInt32(bytes[p + 2]) << 16 | UInt32(bytes[p + 3]) << 24)
                p += 4
                guard length <= range.upperBound - p else { throw ParquetError.corrupt("definition levels of \(length) bytes past their page") }
                present = try Hybrid.decode(bytes, p..<(p + length), bitWidth: 1, count: n, maxValue: 1).map { $0 == 1 }
                p += length
            }
            try values(n, present: present, encoding: d.encoding, p..<range.upperBound)
        case .dataPageV2:
            guard let d = header.dataPageV2 else { throw ParquetError.corrupt("a data page v2 without its header") }
            let n = Int(d.numValues)
            guard n >= 0, n <= rows - read else { throw ParquetError.corrupt("a data page of \(n) values past the chunk's \(rows)") }
            guard d.repetitionLength == 0 else { throw ParquetError.unsupported("repetition levels") }
            let length = Int(d.definitionLength)
            guard length >= 0, length <= range.count else { throw ParquetError.corrupt("definition levels of \(length) bytes past their page") }
            var present: [Bool]?
            if field.nullable {
                present = try Hybrid.decode(bytes, range.lowerBound..<(range.lowerBound + length), bitWidth: 1, count: n, maxValue: 1).map { $0 == 1 }
            }
            try values(n, present: present, encoding: d.encoding, (range.lowerBound + length)..<range.upperBound)
        case .indexPage:
            return
        }
    }

    private mutating func values(_ n: Int, present: [Bool]?, encoding: Encoding, _ range: Range<Int>) throws(ParquetError) {
        let nonNull = present.map { $0.reduce(0) { $0 + ($1 ? 1 : 0) } } ?? n
        var p = range.lowerBound
        let end = range.upperBound
        // The non-null values, in order, as raw 64-bit patterns or strings.
        var raw: [UInt64] = []
        var texts: [String] = []
        switch encoding {
        case .plain:
            if physical == .byteArray {
                texts.reserveCapacity(nonNull)
                for _ in 0..<nonNull { texts.append(try byteArray(&p, end)) }
            } else if physical == .boolean {
                guard (nonNull + 7) / 8 <= end - p else { throw ParquetError.corrupt("a page of \(nonNull) booleans in \(end - p) bytes") }
                for i in 0..<nonNull { raw.append(UInt64(bytes[p + i / 8] >> UInt8(i % 8) & 1)) }
            } else {
                raw.reserveCapacity(nonNull)
                for _ in 0..<nonNull { raw.append(try fixed(&p, end)) }
            }
        case .rle where physical == .boolean:
            // Booleans in the hybrid at bit width 1, after a 4-byte length (data pages v2).
            guard end - p >= 4 else { throw ParquetError.corrupt("an RLE boolean page without its length") }
            let length = Int(UInt32(bytes[p]) | UInt32(bytes[p + 1]) << 8 | UInt32(bytes[p + 2]) << 16 | UInt32(bytes[p + 3]) << 24)
            p += 4
            guard length <= end - p else { throw ParquetError.corrupt("RLE booleans of \(length) bytes past their page") }
            raw = try Hybrid.decode(bytes, p..<(p + length), bitWidth: 1, count: nonNull, maxValue: 1).map(UInt64.init)
        case .plainDictionary, .rleDictionary:
            guard p < end else { throw ParquetError.corrupt("a dictionary-encoded page without its bit width") }
            let width = Int(bytes[p])
            p += 1
            let size = physical == .byteArray ? dictionary?.count : numericDictionary?.count
            guard let size else { throw ParquetError.corrupt("dictionary indices without a dictionary page") }
            guard size > 0 || nonNull == 0 else { throw ParquetError.corrupt("dictionary indices into an empty dictionary") }
            let indices = try Hybrid.decode(bytes, p..<end, bitWidth: width, count: nonNull, maxValue: UInt32(max(size, 1) - 1))
            if physical == .byteArray, let dictionary {
                texts = indices.map { dictionary[Int($0)] }
            } else if let numericDictionary {
                raw = indices.map { numericDictionary[Int($0)] }
            }
        default:
            throw ParquetError.unsupported("\(encoding) encoding (column \(field.name))")
        }
        var k = 0
        for i in 0..<n {
            let isPresent = present?[i] ?? true
            switch field.kind {
            case .double:
                if !isPresent { doubles.append(nil); continue }
                let bits = raw[k]
                doubles.append(physical == .float ? Double(Float(bitPattern: UInt32(truncatingIfNeeded: bits))) : Double(bitPattern: bits))
            case .int64, .timestampMicros:
                int64s.append(isPresent ? Int64(bitPattern: raw[k]) : nil)
            case .int32:
                int32s.append(isPresent ? Int32(truncatingIfNeeded: Int64(bitPattern: raw[k])) : nil)
            case .boolean:
                booleans.append(isPresent ? raw[k] != 0 : nil)
            case .string:
                strings.append(isPresent ? texts[k] : nil)
            }
            if isPresent { k += 1 }
        }
        read += n
    }

    /// A PLAIN fixed-width value (4 or 8 bytes) as a 64-bit pattern; INT32 sign-extended.
    private func fixed(_ p: inout Int, _ end: Int) throws(ParquetError) -> UInt64 {
        let width = (physical == .int32 || physical == .float) ? 4 : 8
        guard end - p >= width else { throw ParquetError.corrupt("column \(field.name) ends inside a value") }
        var v: UInt64 = 0
        for k in 0..<width { v |= UInt64(bytes[p + k]) << UInt64(8 * k) }
        p += width
        if physical == .int32 { return UInt64(bitPattern: Int64(Int32(truncatingIfNeeded: v))) }
        return v
    }

    /// A PLAIN byte array: a 4-byte length, then the bytes (UTF-8; invalid sequences repaired).
    private func byteArray(_ p: inout Int, _ end: Int) throws(ParquetError) -> String {
        guard end - p >= 4 else { throw ParquetError.corrupt("column \(field.name) ends inside a string length") }
        let length = Int(UInt32(bytes[p]) | UInt32(bytes[p + 1]) << 8 | UInt32(bytes[p + 2]) << 16 | UInt32(bytes[p + 3]) << 24)
        p += 4
        guard length <= end - p else { throw ParquetError.corrupt("a string of \(length) bytes past its page (column \(field.name))") }
        defer { p += length }
        return String(decoding: bytes[p..<(p + length)], as: UTF8.self)
    }

    func column() -> ParquetColumn {
        switch field.kind {
        case .double: .doubles(doubles)
        case .int64, .timestampMicros: .int64s(int64s)
        case .int32: .int32s(int32s)
        case .boolean: .booleans(booleans)
        case .string: .strings(strings)
        }
    }
}
