/// Thrift's compact protocol, the encoding of Parquet's footer and page headers: the subset
/// Parquet uses (structs, lists, i16/i32/i64, booleans, binary), written and read without a
/// schema compiler. Field ids and types follow `parquet.thrift`.
enum CompactType: UInt8 {
    case stop = 0
    case booleanTrue = 1
    case booleanFalse = 2
    case byte = 3
    case i16 = 4
    case i32 = 5
    case i64 = 6
    case double = 7
    case binary = 8
    case list = 9
    case set = 10
    case map = 11
    case `struct` = 12
}

/// Writes a compact-protocol struct into a byte array: fields in increasing id order (the
/// delta form of the field header needs it), then ``endStruct()``.
struct CompactWriter {
    private(set) var bytes: [UInt8] = []
    private var lastField: [Int16] = [0]

    init(capacity: Int = 256) {
        bytes.reserveCapacity(capacity)
    }

    mutating func varint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    mutating func zigzag(_ value: Int64) {
        varint(UInt64(bitPattern: (value << 1) ^ (value >> 63)))
    }

    private mutating func fieldHeader(_ id: Int16, _ type: CompactType) {
        let delta = Int(id) - Int(lastField[lastField.count - 1])
        if delta > 0 && delta <= 15 {
            bytes.append(UInt8(delta << 4) | type.rawValue)
        } else {
            bytes.append(type.rawValue)
            zigzag(Int64(id))
        }
        lastField[lastField.count - 1] = id
    }

    mutating func i32(_ id: Int16, _ value: Int32) {
        fieldHeader(id, .i32)
        zigzag(Int64(value))
    }

    mutating func i64(_ id: Int16, _ value: Int64) {
        fieldHeader(id, .i64)
        zigzag(value)
    }

    mutating func bool(_ id: Int16, _ value: Bool) {
        fieldHeader(id, value ? .booleanTrue : .booleanFalse)
    }

    mutating func binary(_ id: Int16, _ value: some Collection<UInt8>) {
        fieldHeader(id, .binary)
        varint(UInt64(value.count))
        bytes.append(contentsOf: value)
    }

    mutating func string(_ id: Int16, _ value: String) {
        binary(id, Array(value.utf8))
    }

    /// Opens a struct field; its fields follow, then ``endStruct()``.
    mutating func beginStruct(_ id: Int16) {
        fieldHeader(id, .struct)
        lastField.append(0)
    }

    /// Opens a struct that is an element of a list.
    mutating func beginElement() {
        lastField.append(0)
    }

    /// Ends a struct (the stop byte). The outermost struct ends with it too.
    mutating func endStruct() {
        bytes.append(CompactType.stop.rawValue)
        if lastField.count > 1 { lastField.removeLast() }
    }

    /// A list header: `count` elements of `type` follow (structs through ``beginElement()``).
    mutating func listHeader(_ id: Int16, _ type: CompactType, count: Int) {
        fieldHeader(id, .list)
        if count < 15 {
            bytes.append(UInt8(count << 4) | type.rawValue)
        } else {
            bytes.append(0xF0 | type.rawValue)
            varint(UInt64(count))
        }
    }

    mutating func i32List(_ id: Int16, _ values: [Int32]) {
        listHeader(id, .i32, count: values.count)
        for v in values { zigzag(Int64(v)) }
    }

    mutating func stringList(_ id: Int16, _ values: [String]) {
        listHeader(id, .binary, count: values.count)
        for v in values {
            varint(UInt64(v.utf8.count))
            bytes.append(contentsOf: v.utf8)
        }
    }
}

/// Reads compact-protocol structs from bytes it does not trust: every length and count is
/// checked against what is left, nesting is bounded, and fields it does not know are skipped.
struct CompactReader {
    let bytes: [UInt8]
    private(set) var position: Int
    private var depth = 0
    static let maxDepth = 32

    init(_ bytes: [UInt8], at position: Int = 0) {
        self.bytes = bytes
        self.position = position
    }

    mutating func byte() throws(ParquetError) -> UInt8 {
        guard position < bytes.count else { throw ParquetError.corrupt("the footer ends inside a Thrift value") }
        defer { position += 1 }
        return bytes[position]
    }

    mutating func varint() throws(ParquetError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let b = try byte()
            if shift == 63 && b > 1 { throw ParquetError.corrupt("a Thrift varint overflows 64 bits") }
            result |= UInt64(b & 0x7F) << shift
            if b & 0x80 == 0 { return result }
            shift += 7
            if shift > 63 { throw ParquetError.corrupt("a Thrift varint is longer than 10 bytes") }
        }
    }

    mutating func zigzag() throws(ParquetError) -> Int64 {
        let v = try varint()
        return Int64(bitPattern: v >> 1) ^ -Int64(bitPattern: v & 1)
    }

    mutating func i32() throws(ParquetError) -> Int32 {
        let v = try zigzag()
        guard let n = Int32(exactly: v) else { throw ParquetError.corrupt("a Thrift i32 is out of range: \(v)") }
        return n
    }

    mutating func binary() throws(ParquetError) -> ArraySlice<UInt8> {
        let n = try varint()
        guard n <= UInt64(bytes.count - position) else { throw ParquetError.corrupt("a Thrift string of \(n) bytes runs past the footer") }
        defer { position += Int(n) }
        return bytes[position..<position + Int(n)]
    }

    mutating func string() throws(ParquetError) -> String {
        String(decoding: try binary(), as: UTF8.self)
    }

    /// A field header: its id and type, or nil at the struct's stop byte. `last` is the
    /// previous field's id in this struct.
    mutating func fieldHeader(last: inout Int16) throws(ParquetError) -> (id: Int16, type: CompactType)? {
        let b = try byte()
        if b == 0 { return nil }
        guard let type = CompactType(rawValue: b & 0x0F) else { throw ParquetError.corrupt("unknown Thrift type \(b & 0x0F)") }
        let delta = Int16(b >> 4)
        let id: Int16
        if delta == 0 {
            let v = try zigzag()
            guard let i = Int16(exactly: v) else { throw ParquetError.corrupt("a Thrift field id is out of range: \(v)") }
            id = i
        } else {
            id = last &+ delta
        }
        last = id
        return (id, type)
    }

    /// A list header: element type and count (checked against the bytes left: every element
    /// takes at least one byte, but booleans' may take none in a field, never in a list).
    mutating func listHeader() throws(ParquetError) -> (type: CompactType, count: Int) {
        let b = try byte()
        guard let type = CompactType(rawValue: b & 0x0F) else { throw ParquetError.corrupt("unknown Thrift list element type \(b & 0x0F)") }
        var count = UInt64(b >> 4)
        if count == 15 { count = try varint() }
        guard count <= UInt64(bytes.count - position) else { throw ParquetError.corrupt("a Thrift list of \(count) elements runs past the footer") }
        return (type, Int(count))
    }

    /// Reads a struct: `field` is called with each field's id and type, and must read the
    /// value (or call ``skip(_:)``).
    mutating func readStruct(_ field: (inout CompactReader, Int16, CompactType) throws(ParquetError) -> Void) throws(ParquetError) {
        depth += 1
        defer { depth -= 1 }
        guard depth <= Self.maxDepth else { throw ParquetError.corrupt("Thrift structs nested deeper than \(Self.maxDepth)") }
        var last: Int16 = 0
        while let (id, type) = try fieldHeader(last: &last) {
            try field(&self, id, type)
        }
    }

    /// Reads a list of structs, each through `element`.
    mutating func readStructList(_ element: (inout CompactReader) throws(ParquetError) -> Void) throws(ParquetError) {
        let (type, count) = try listHeader()
        guard type == .struct else { throw ParquetError.corrupt("expected a list of structs, found a list of \(type)") }
        for _ in 0..<count { try element(&self) }
    }

    mutating func readI32List() throws(ParquetError) -> [Int32] {
        let (type, count) = try listHeader()
        guard type == .i32 else { throw ParquetError.corrupt("expected a list of i32, found a list of \(type)") }
        var out: [Int32] = []
        out.reserveCapacity(count)
        for _ in 0..<count { out.append(try i32()) }
        return out
    }

    mutating func readStringList() throws(ParquetError) -> [String] {
        let (type, count) = try listHeader()
        guard type == .binary else { throw ParquetError.corrupt("expected a list of strings, found a list of \(type)") }
        var out: [String] = []
        out.reserveCapacity(count)
        for _ in 0..<count { out.append(try string()) }
        return out
    }

    /// Skips a value of `type` (a field this reader does not use).
    mutating func skip(_ type: CompactType) throws(ParquetError) {
        switch type {
        case .booleanTrue, .booleanFalse, .stop:
            return
        case .byte:
            _ = try byte()
        case .i16, .i32, .i64:
            _ = try varint()
        case .double:
            guard bytes.count - position >= 8 else { throw ParquetError.corrupt("the footer ends inside a double") }
            position += 8
        case .binary:
            _ = try binary()
        case .list, .set:
            let (element, count) = try listHeader()
            for _ in 0..<count {
                if element == .booleanTrue || element == .booleanFalse { _ = try byte() } else { try skip(element) }
            }
        case .map:
            let n = try varint()
            guard n > 0 else { return }
            guard n <= UInt64(bytes.count - position) else { throw ParquetError.corrupt("a Thrift map of \(n) entries runs past the footer") }
            let types = try byte()
            guard let k = CompactType(rawValue: types >> 4), let v = CompactType(rawValue: types & 0x0F) else {
                throw ParquetError.corrupt("unknown Thrift map types \(types)")
            }
            for _ in 0..<n {
                try skip(k)
                try skip(v)
            }
        case .struct:
            try readStruct { r, _, t throws(ParquetError) in try r.skip(t) }
        }
    }
}
