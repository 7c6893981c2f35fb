/// The parts of `parquet.thrift` that Meteo writes and reads, with their Thrift field ids.

/// Physical types (`Type`).
enum PhysicalType: Int32 {
    case boolean = 0, int32 = 1, int64 = 2, int96 = 3, float = 4, double = 5, byteArray = 6, fixedLenByteArray = 7
}

/// `FieldRepetitionType`.
enum Repetition: Int32 {
    case required = 0, optional = 1, repeated = 2
}

/// `Encoding`.
enum Encoding: Int32 {
    case plain = 0, plainDictionary = 2, rle = 3, bitPacked = 4, deltaBinaryPacked = 5, deltaLengthByteArray = 6
    case deltaByteArray = 7, rleDictionary = 8, byteStreamSplit = 9
}

/// `CompressionCodec`.
public enum ParquetCodec: Int32, Sendable, CaseIterable {
    case uncompressed = 0, snappy = 1, gzip = 2, lzo = 3, brotli = 4, lz4 = 5, zstd = 6, lz4Raw = 7
}

/// `PageType`.
enum PageType: Int32 {
    case dataPage = 0, indexPage = 1, dictionaryPage = 2, dataPageV2 = 3
}

/// `ConvertedType` values Meteo writes, for readers older than logical types.
enum ConvertedType: Int32 {
    case utf8 = 0, timestampMillis = 9, timestampMicros = 10
}

/// `LogicalType` (a union) as far as Meteo uses it.
enum LogicalType: Equatable {
    case string
    case timestamp(utc: Bool, unit: TimeUnit)
    /// Any other annotation, kept as its union field id.
    case other(Int16)

    enum TimeUnit: Int16 { case millis = 1, micros = 2, nanos = 3 }

    func write(_ w: inout CompactWriter, id: Int16) {
        w.beginStruct(id)
        switch self {
        case .string:
            w.beginStruct(1)
            w.endStruct()
        case .timestamp(let utc, let unit):
            w.beginStruct(8)
            w.bool(1, utc)
            w.beginStruct(2)
            w.beginStruct(unit.rawValue)
            w.endStruct()
            w.endStruct()
            w.endStruct()
        case .other(let field):
            w.beginStruct(field)
            w.endStruct()
        }
        w.endStruct()
    }

    static func read(_ r: inout CompactReader) throws(ParquetError) -> LogicalType? {
        var result: LogicalType?
        try r.readStruct { r, id, type throws(ParquetError) in
            switch (id, type) {
            case (1, .struct):
                try r.skip(.struct)
                result = .string
            case (8, .struct):
                var utc = false
                var unit: TimeUnit?
                try r.readStruct { r, id, type throws(ParquetError) in
                    switch (id, type) {
                    case (1, .booleanTrue): utc = true
                    case (1, .booleanFalse): utc = false
                    case (2, .struct):
                        try r.readStruct { r, id, type throws(ParquetError) in
                            unit = TimeUnit(rawValue: id)
                            try r.skip(type)
                        }
                    default: try r.skip(type)
                    }
                }
                guard let unit else { throw ParquetError.corrupt("a TIMESTAMP logical type without a unit") }
                result = .timestamp(utc: utc, unit: unit)
            default:
                try r.skip(type)
                result = .other(id)
            }
        }
        return result
    }
}

/// `SchemaElement`.
struct SchemaElement: Equatable {
    var type: PhysicalType?
    var repetition: Repetition?
    var name: String
    var numChildren: Int32?
    var convertedType: Int32?
    var logicalType: LogicalType?

    func write(_ w: inout CompactWriter) {
        w.beginElement()
        if let type { w.i32(1, type.rawValue) }
        if let repetition { w.i32(3, repetition.rawValue) }
        w.string(4, name)
        if let numChildren { w.i32(5, numChildren) }
        if let convertedType { w.i32(6, convertedType) }
        if let logicalType { logicalType.write(&w, id: 10) }
        w.endStruct()
    }

    static func read(_ r: inout CompactReader) throws(ParquetError) -> SchemaElement {
        var e = SchemaElement(name: "")
        var named = false
        try r.readStruct { r, id, type throws(ParquetError) in
            switch (id, type) {
            case (1, .i32):
                let v = try r.i32()
                guard let t = PhysicalType(rawValue: v) else { throw ParquetError.corrupt("unknown physical type \(v)") }
                e.type = t
            case (3, .i32):
                let v = try r.i32()
                guard let rep = Repetition(rawValue: v) else { throw ParquetError.corrupt("unknown repetition \(v)") }
                e.repetition = rep
            case (4, .binary):
                e.name = try r.string()
                named = true
            case (5, .i32): e.numChildren = try r.i32()
            case (6, .i32): e.convertedType = try r.i32()
            case (10, .struct): e.logicalType = try LogicalType.read(&r)
            default: try r.skip(type)
            }
        }
        guard named else { throw ParquetError.corrupt("a schema element without a name") }
        return e
    }
}

/// `Statistics`: min and max as PLAIN-encoded bytes, and the null count.
struct Statistics: Equatable {
    var nullCount: Int64?
    var minValue: [UInt8]?
    var maxValue: [UInt8]?

    func write(_ w: inout CompactWriter, id: Int16) {
        w.beginStruct(id)
        if let nullCount { w.i64(3, nullCount) }
        if let maxValue { w.binary(5, maxValue) }
        if let minValue { w.binary(6, minValue) }
        w.endStruct()
    }

    static func read(_ r: inout CompactReader) throws(ParquetError) -> Statistics {
        var s = Statistics()
        try r.readStruct { r, id, type throws(ParquetError) in
            switch (id, type) {
            case (3, .i64): s.nullCount = try r.zigzag()
            case (5, .binary): s.maxValue = Array(try r.binary())
            case (6, .binary): s.minValue = Array(try r.binary())
            default: try r.skip(type)
            }
        }
        return s
    }
}

/// `ColumnMetaData` (inside `ColumnChunk`).
struct ColumnMetaData: Equatable {
    var type: PhysicalType
    var encodings: [Encoding]
    var path: [String]
    var codec: ParquetCodec
    var numValues: Int64
    var totalUncompressedSize: Int64
    var totalCompressedSize: Int64
    var dataPageOffset: Int64
    var dictionaryPageOffset: Int64?
    var statistics: Statistics?

    /// The offset of the chunk's first page.
    var firstPageOffset: Int64 { dictionaryPageOffset.map { min($0, dataPageOffset) } ?? dataPageOffset }

    func write(_ w: inout CompactWriter, id: Int16) {
        w.beginStruct(id)
        w.i32(1, type.rawValue)
        w.i32List(2, encodings.map(\.rawValue))
        w.stringList(3, path)
        w.i32(4, codec.rawValue)
        w.i64(5, numValues)
        w.i64(6, totalUncompressedSize)
        w.i64(7, totalCompressedSize)
        w.i64(9, dataPageOffset)
        if let dictionaryPageOffset { w.i64(11, dictionaryPageOffset) }
        if let statistics { statistics.write(&w, id: 12) }
        w.endStruct()
    }

    static func read(_ r: inout CompactReader) throws(ParquetError) -> ColumnMetaData {
        var type: PhysicalType?
        var encodings: [Encoding] = []
        var path: [String] = []
        var codec: ParquetCodec?
        var numValues: Int64?
        var uncompressed: Int64 = 0
        var compressed: Int64?
        var dataPageOffset: Int64?
        var dictionaryPageOffset: Int64?
        var statistics: Statistics?
        try r.readStruct { r, id, t throws(ParquetError) in
            switch (id, t) {
            case (1, .i32):
                let v = try r.i32()
                guard let p = PhysicalType(rawValue: v) else { throw ParquetError.corrupt("unknown physical type \(v)") }
                type = p
            case (2, .list): encodings = try r.readI32List().compactMap(Encoding.init(rawValue:))
            case (3, .list): path = try r.readStringList()
            case (4, .i32):
                let v = try r.i32()
                guard let c = ParquetCodec(rawValue: v) else { throw ParquetError.unsupported("compression codec \(v)") }
                codec = c
            case (5, .i64): numValues = try r.zigzag()
            case (6, .i64): uncompressed = try r.zigzag()
            case (7, .i64): compressed = try r.zigzag()
            case (9, .i64): dataPageOffset = try r.zigzag()
            case (11, .i64): dictionaryPageOffset = try r.zigzag()
            case (12, .struct): statistics = try Statistics.read(&r)
            default: try r.skip(t)
            }
        }
        guard let type, let codec, let numValues, let compressed, let dataPageOffset else {
            throw ParquetError.corrupt("column metadata without its type, codec, value count, size or data page offset")
        }
        return ColumnMetaData(type: type, encodings: encodings, path: path, codec: codec, numValues: numValues,
                              totalUncompressedSize: uncompressed, totalCompressedSize: compressed, dataPageOffset: dataPageOffset,
                              dictionaryPageOffset: dictionaryPageOffset, statistics: statistics)
    }
}

/// `RowGroup`, its `ColumnChunk`s reduced to their metadata.
struct RowGroupMetaData: Equatable {
    var columns: [ColumnMetaData]
    var totalByteSize: Int64
    var numRows: Int64

    func write(_ w: inout CompactWriter) {
        w.beginElement()
        w.listHeader(1, .struct, count: columns.count)
        for c in columns {
            w.beginElement()
            w.i64(2, c.firstPageOffset)
            c.write(&w, id: 3)
            w.endStruct()
        }
        w.i64(2, totalByteSize)
        w.i64(3, numRows)
        if let first = columns.first { w.i64(5, first.firstPageOffset) }
        w.i64(6, columns.reduce(0) { $0 + $1.totalCompressedSize })
        w.endStruct()
    }

    static func read(_ r: inout CompactReader) throws(ParquetError) -> RowGroupMetaData {
        var columns: [ColumnMetaData] = []
        var total: Int64 = 0
        var rows: Int64?
        try r.readStruct { r, id, type throws(ParquetError) in
            switch (id, type) {
            case (1, .list):
                try r.readStructList { r throws(ParquetError) in
                    var meta: ColumnMetaData?
                    try r.readStruct { r, id, type throws(ParquetError) in
                        switch (id, type) {
                        case (1, .binary): throw ParquetError.unsupported("column chunks in other files (file_path)")
                        case (3, .struct): meta = try ColumnMetaData.read(&r)
                        default: try r.skip(type)
                        }
                    }
                    guard let meta else { throw ParquetError.corrupt("a column chunk without metadata") }
                    columns.append(meta)
                }
            case (2, .i64): total = try r.zigzag()
            case (3, .i64): rows = try r.zigzag()
            default: try r.skip(type)
            }
        }
        guard let rows, rows >= 0 else { throw ParquetError.corrupt("a row group without a row count") }
        return RowGroupMetaData(columns: columns, totalByteSize: total, numRows: rows)
    }
}

/// `FileMetaData`, the footer.
struct FileMetaData: Equatable {
    var version: Int32 = 1
    var schema: [SchemaElement]
    var numRows: Int64
    var rowGroups: [RowGroupMetaData]
    var keyValue: [(String, String)] = []
    var createdBy: String?

    static func == (a: FileMetaData, b: FileMetaData) -> Bool {
        a.version == b.version && a.schema == b.schema && a.numRows == b.numRows && a.rowGroups == b.rowGroups
            && a.keyValue.map(\.0) == b.keyValue.map(\.0) && a.keyValue.map(\.1) == b.keyValue.map(\.1) && a.createdBy == b.createdBy
    }

    func encoded() -> [UInt8] {
        var w = CompactWriter(capacity: 4096)
        w.i32(1, version)
        w.listHeader(2, .struct, count: schema.count)
        for e in schema { e.write(&w) }
        w.i64(3, numRows)
        w.listHeader(4, .struct, count: rowGroups.count)
        for g in rowGroups { g.write(&w) }
        if !keyValue.isEmpty {
            w.listHeader(5, .struct, count: keyValue.count)
            for (k, v) in keyValue {
                w.beginElement()
                w.string(1, k)
                w.string(2, v)
                w.endStruct()
            }
        }
        if let createdBy { w.string(6, createdBy) }
        w.endStruct()
        return w.bytes
    }

    static func decode(_ bytes: [UInt8]) throws(ParquetError) -> FileMetaData {
        var r = CompactReader(bytes)
        var version: Int32 = 1
        var schema: [SchemaElement] = []
        var numRows: Int64?
        var groups: [RowGroupMetaData] = []
        var keyValue: [(String, String)] = []
        var createdBy: String?
        try r.readStruct { r, id, type throws(ParquetError) in
            switch (id, type) {
            case (1, .i32): version = try r.i32()
            case (2, .list): try r.readStructList { r throws(ParquetError) in schema.append(try SchemaElement.read(&r)) }
            case (3, .i64): numRows = try r.zigzag()
            case (4, .list): try r.readStructList { r throws(ParquetError) in groups.append(try RowGroupMetaData.read(&r)) }
            case (5, .list):
                try r.readStructList { r throws(ParquetError) in
                    var key = "", value = ""
                    try r.readStruct { r, id, type throws(ParquetError) in
                        switch (id, type) {
                        case (1, .binary): key = try r.string()
                        case (2, .binary): value = try r.string()
                        default: try r.skip(type)
                        }
                    }
                    keyValue.append((key, value))
                }
            case (6, .binary): createdBy = try r.string()
            default: try r.skip(type)
            }
        }
        guard let numRows, numRows >= 0 else { throw ParquetError.corrupt("the footer has no row count") }
        guard !schema.isEmpty else { throw ParquetError.corrupt("the footer has no schema") }
        return FileMetaData(version: version, schema: schema, numRows: numRows, rowGroups: groups, keyValue: keyValue, createdBy: createdBy)
    }
}

/// `PageHeader` with the data page (v1 and v2) and dictionary page headers.
struct PageHeader: Equatable {
    var type: PageType
    var uncompressedSize: Int32
    var compressedSize: Int32
    /// Data page v1: values (nulls included), their encoding, the levels' encoding.
    var dataPage: (numValues: Int32, encoding: Encoding, definitionEncoding: Encoding)?
    /// Data page v2: values, nulls, rows, encoding, the levels' byte lengths, compressed or not.
    var dataPageV2: (numValues: Int32, numNulls: Int32, numRows: Int32, encoding: Encoding, definitionLength: Int32, repetitionLength: Int32, isCompressed: Bool)?
    var dictionaryPage: (numValues: Int32, encoding: Encoding)?

    static func == (a: PageHeader, b: PageHeader) -> Bool {
        a.type == b.type && a.uncompressedSize == b.uncompressedSize && a.compressedSize == b.compressedSize
            && a.dataPage.map { "\($0)" } == b.dataPage.map { "\($0)" } && a.dictionaryPage.map { "\($0)" } == b.dictionaryPage.map { "\($0)" }
            && a.dataPageV2.map { "\($0)" } == b.dataPageV2.map { "\($0)" }
    }

    func encoded() -> [UInt8] {
        var w = CompactWriter(capacity: 48)
        w.i32(1, type.rawValue)
        w.i32(2, uncompressedSize)
        w.i32(3, compressedSize)
        if let d = dataPage {
            w.beginStruct(5)
            w.i32(1, d.numValues)
            w.i32(2, d.encoding.rawValue)
            w.i32(3, d.definitionEncoding.rawValue)
            w.i32(4, Encoding.rle.rawValue)
            w.endStruct()
        }
        if let d = dictionaryPage {
            w.beginStruct(7)
            w.i32(1, d.numValues)
            w.i32(2, d.encoding.rawValue)
            w.endStruct()
        }
        w.endStruct()
        return w.bytes
    }

    /// Reads a page header at `position`, and moves it past the header.
    static func read(_ bytes: [UInt8], at position: inout Int) throws(ParquetError) -> PageHeader {
        var r = CompactReader(bytes, at: position)
        var type: PageType?
        var uncompressed: Int32?
        var compressed: Int32?
        var header = PageHeader(type: .dataPage, uncompressedSize: 0, compressedSize: 0)
        func encoding(_ r: inout CompactReader) throws(ParquetError) -> Encoding {
            let v = try r.i32()
            guard let e = Encoding(rawValue: v) else { throw ParquetError.unsupported("page encoding \(v)") }
            return e
        }
        try r.readStruct { r, id, t throws(ParquetError) in
            switch (id, t) {
            case (1, .i32):
                let v = try r.i32()
                guard let p = PageType(rawValue: v) else { throw ParquetError.corrupt("unknown page type \(v)") }
                type = p
            case (2, .i32): uncompressed = try r.i32()
            case (3, .i32): compressed = try r.i32()
            case (5, .struct):
                var n: Int32?, e: Encoding?, d: Encoding = .rle
                try r.readStruct { r, id, t throws(ParquetError) in
                    switch (id, t) {
                    case (1, .i32): n = try r.i32()
                    case (2, .i32): e = try encoding(&r)
                    case (3, .i32): d = try encoding(&r)
                    default: try r.skip(t)
                    }
                }
                guard let n, let e else { throw ParquetError.corrupt("a data page header without its value count or encoding") }
                header.dataPage = (n, e, d)
            case (7, .struct):
                var n: Int32?, e: Encoding = .plain
                try r.readStruct { r, id, t throws(ParquetError) in
                    switch (id, t) {
                    case (1, .i32): n = try r.i32()
                    case (2, .i32): e = try encoding(&r)
                    default: try r.skip(t)
                    }
                }
                guard let n else { throw ParquetError.corrupt("a dictionary page header without its value count") }
                header.dictionaryPage = (n, e)
            case (8, .struct):
                var n: Int32?, nulls: Int32 = 0, rows: Int32 = 0, e: Encoding?, dl: Int32 = 0, rl: Int32 = 0, compressed = true
                try r.readStruct { r, id, t throws(ParquetError) in
                    switch (id, t) {
                    case (1, .i32): n = try r.i32()
                    case (2, .i32): nulls = try r.i32()
                    case (3, .i32): rows = try r.i32()
                    case (4, .i32): e = try encoding(&r)
                    case (5, .i32): dl = try r.i32()
                    case (6, .i32): rl = try r.i32()
                    case (7, .booleanTrue): compressed = true
                    case (7, .booleanFalse): compressed = false
                    default: try r.skip(t)
                    }
                }
                guard let n, let e else { throw ParquetError.corrupt("a data page v2 header without its value count or encoding") }
                header.dataPageV2 = (n, nulls, rows, e, dl, rl, compressed)
            default: try r.skip(t)
            }
        }
        guard let type, let uncompressed, let compressed, uncompressed >= 0, compressed >= 0 else {
            throw ParquetError.corrupt("a page header without its type or sizes")
        }
        header.type = type
        header.uncompressedSize = uncompressed
        header.compressedSize = compressed
        position = r.position
        return header
    }
}
