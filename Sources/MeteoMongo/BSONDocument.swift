#if MongoDB
import CMongoC
import Foundation
import MeteoCore

/// Owns one libbson document (`bson_t`), built by appending. Internal: the public API of
/// MeteoMongo speaks `Observation`, `DeadLetter` and Swift values only.
final class BSONDocument: @unchecked Sendable {
    /// `bson_t *`: Swift sees bson_t (128-byte aligned in C) as an opaque type.
    let pointer: OpaquePointer

    /// An empty document.
    init() {
        pointer = bson_new()
    }

    /// Takes ownership of a document libbson allocated.
    private init(owning pointer: OpaquePointer) {
        self.pointer = pointer
    }

    deinit {
        bson_destroy(pointer)
    }

    /// Parses extended JSON (`{"$date": …}` and the like). For commands and filters written
    /// as text; documents of data are appended field by field.
    static func make(json: String) throws(MeteoError) -> BSONDocument {
        var error = bson_error_t()
        let parsed = json.withCString { bson_new_from_json(UnsafeRawPointer($0).assumingMemoryBound(to: UInt8.self), -1, &error) }
        guard let parsed else {
            throw MeteoError(code: .internal, "invalid BSON command: \(MongoClient.message(error))")
        }
        return BSONDocument(owning: parsed)
    }

    /// A copy of a document libbson lent (a reply, a cursor's current document).
    static func copy(_ borrowed: OpaquePointer) -> BSONDocument {
        BSONDocument(owning: bson_copy(borrowed))
    }

    /// Runs `body` with a bson_t (or bson_iter_t) sized and aligned as in C, uninitialised;
    /// bson_t and bson_iter_t are 128-byte aligned structs Swift cannot lay out itself.
    static func withScratch<T, E: Error>(_ body: (OpaquePointer) throws(E) -> T) throws(E) -> T {
        let raw = UnsafeMutableRawPointer.allocate(byteCount: 256, alignment: 128)
        defer { raw.deallocate() }
        raw.initializeMemory(as: UInt8.self, repeating: 0, count: 256)
        return try body(OpaquePointer(raw))
    }

    func append(_ key: String, _ value: String) {
        _ = bson_append_utf8(pointer, key, -1, value, Int32(value.utf8.count))
    }

    func append(_ key: String, _ value: Double) {
        _ = bson_append_double(pointer, key, -1, value)
    }

    func append(_ key: String, _ value: Int64) {
        _ = bson_append_int64(pointer, key, -1, value)
    }

    func append(_ key: String, int32 value: Int32) {
        _ = bson_append_int32(pointer, key, -1, value)
    }

    func append(_ key: String, _ value: Bool) {
        _ = bson_append_bool(pointer, key, -1, value)
    }

    func append(_ key: String, date: Date) {
        _ = bson_append_date_time(pointer, key, -1, Int64((date.timeIntervalSince1970 * 1000).rounded()))
    }

    func appendNull(_ key: String) {
        _ = bson_append_null(pointer, key, -1)
    }

    func append(_ key: String, binary: [UInt8]) {
        binary.withUnsafeBufferPointer { b in
            _ = bson_append_binary(pointer, key, -1, BSON_SUBTYPE_BINARY, b.baseAddress, UInt32(b.count))
        }
    }

    func append(_ key: String, _ value: Double?) {
        if let value { append(key, value) } else { appendNull(key) }
    }

    func append(_ key: String, _ value: String?) {
        if let value { append(key, value) } else { appendNull(key) }
    }

    func append(_ key: String, document: BSONDocument) {
        _ = bson_append_document(pointer, key, -1, document.pointer)
    }

    /// Appends an array: a document whose keys are "0", "1", ….
    func append(_ key: String, array: BSONDocument) {
        _ = bson_append_array(pointer, key, -1, array.pointer)
    }

    static func array(_ values: [String]) -> BSONDocument {
        let a = BSONDocument()
        for (i, v) in values.enumerated() { a.append(String(i), v) }
        return a
    }

    static func array(_ values: [Double]) -> BSONDocument {
        let a = BSONDocument()
        for (i, v) in values.enumerated() { a.append(String(i), v) }
        return a
    }

    /// Relaxed extended JSON, for logs, errors and tests.
    var json: String {
        var length = 0
        guard let text = bson_as_relaxed_extended_json(pointer, &length) else { return "{}" }
        defer { bson_free(text) }
        return String(cString: text)
    }

    /// The fields of the document, read into Swift values (nested documents and arrays as
    /// ``BSONValue/document(_:)`` and ``BSONValue/array(_:)``).
    var fields: [(key: String, value: BSONValue)] {
        let pointer = self.pointer
        return Self.withScratch { iter in
            guard bson_iter_init(iter, pointer) else { return [] }
            return Self.read(iter)
        }
    }

    /// The value of a top-level field, if present.
    subscript(key: String) -> BSONValue? {
        let pointer = self.pointer
        return Self.withScratch { iter in
            guard bson_iter_init_find(iter, pointer, key) else { return nil }
            return Self.value(iter)
        }
    }

    private static func read(_ iter: OpaquePointer) -> [(key: String, value: BSONValue)] {
        var out: [(key: String, value: BSONValue)] = []
        while bson_iter_next(iter) {
            out.append((String(cString: bson_iter_key(iter)), value(iter)))
        }
        return out
    }

    private static func value(_ iter: OpaquePointer) -> BSONValue {
        let type = bson_iter_type(iter)
        switch type {
        case BSON_TYPE_DOUBLE: return .double(bson_iter_double(iter))
        case BSON_TYPE_INT32: return .int(Int64(bson_iter_int32(iter)))
        case BSON_TYPE_INT64: return .int(bson_iter_int64(iter))
        case BSON_TYPE_BOOL: return .bool(bson_iter_bool(iter))
        case BSON_TYPE_NULL: return .null
        case BSON_TYPE_DATE_TIME: return .date(Date(timeIntervalSince1970: Double(bson_iter_date_time(iter)) / 1000))
        case BSON_TYPE_UTF8:
            var length: UInt32 = 0
            guard let text = bson_iter_utf8(iter, &length) else { return .null }
            return .string(String(decoding: UnsafeRawBufferPointer(start: text, count: Int(length)), as: UTF8.self))
        case BSON_TYPE_DOCUMENT, BSON_TYPE_ARRAY:
            return withScratch { child in
                guard bson_iter_recurse(iter, child) else { return .null }
                let fields = read(child)
                return type == BSON_TYPE_ARRAY ? .array(fields.map(\.value)) : .document(fields)
            }
        case BSON_TYPE_BINARY:
            var subtype = BSON_SUBTYPE_BINARY
            var length: UInt32 = 0
            var data: UnsafePointer<UInt8>?
            bson_iter_binary(iter, &subtype, &length, &data)
            guard let data else { return .binary([]) }
            return .binary(Array(UnsafeBufferPointer(start: data, count: Int(length))))
        default:
            return .other
        }
    }
}

/// A BSON value read back from the server.
enum BSONValue: Sendable {
    case double(Double)
    case int(Int64)
    case bool(Bool)
    case string(String)
    case date(Date)
    case binary([UInt8])
    case document([(key: String, value: BSONValue)])
    case array([BSONValue])
    case null
    /// A type Meteo does not read (ObjectId, Decimal128, …).
    case other

    var double: Double? {
        switch self {
        case .double(let d): d
        case .int(let i): Double(i)
        default: nil
        }
    }

    var int: Int64? {
        switch self {
        case .int(let i): i
        case .double(let d) where d == d.rounded() && abs(d) < 9e15: Int64(d)
        default: nil
        }
    }

    var string: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    var date: Date? {
        if case .date(let d) = self { return d }
        return nil
    }

    subscript(key: String) -> BSONValue? {
        if case .document(let fields) = self { return fields.first(where: { $0.key == key })?.value }
        return nil
    }
}
#endif
