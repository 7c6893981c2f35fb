import Foundation

/// The sink's hot path: decodes a well-formed version-1 event straight into an
/// ``Observation``, without building a ``JSONValue`` tree. It returns `nil` on anything
/// unusual, and ``EventCodec/decode(_:)`` then takes the general path, which finds the
/// exact error to report; so both paths accept and refuse the same events.
extension JSONParser {
    /// The keys of a version-1 event, in the order `fastEvent` numbers them: the order
    /// ``EventCodec/encode(_:)`` writes them in.
    static let eventKeys: [[UInt8]] = (["v"] + ObservationSchema.names).map { Array($0.utf8) }

    /// The keys laid end to end, and where each starts: compared as bytes without touching an
    /// array of arrays (and its reference counts) for every key of every event.
    struct KeyTable: Sendable {
        let bytes: [UInt8]
        let starts: [Int]

        init(_ keys: [[UInt8]]) {
            bytes = keys.flatMap { $0 }
            var starts = [0]
            for k in keys { starts.append(starts.last! + k.count) }
            self.starts = starts
        }
    }

    static let eventKeyTable = KeyTable(eventKeys)

    /// Whether `n` bytes at `a` and `b` are equal: inline, eight bytes at a time (keys and
    /// place ids are a few bytes, where a call to memcmp costs more than the comparison).
    @inline(__always)
    static func same(_ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>, _ n: Int) -> Bool {
        var k = 0
        let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b)
        while k + 8 <= n {
            if ra.loadUnaligned(fromByteOffset: k, as: UInt64.self) != rb.loadUnaligned(fromByteOffset: k, as: UInt64.self) { return false }
            k += 8
        }
        while k < n {
            if a[k] != b[k] { return false }
            k += 1
        }
        return true
    }

    /// Reads the object key at `i` and returns its index in ``eventKeys``, or -1 for another key.
    /// Keys are compared as bytes, without making a String, unless they hold escapes. `expected`
    /// is tried first: Meteo writes the keys in ``eventKeys`` order, so it is usually the one.
    mutating func eventKey(expected: Int, table: UnsafeBufferPointer<UInt8>, starts: UnsafeBufferPointer<Int>) throws(MeteoError) -> Int {
        let start = i + 1
        var j = start
        // Plain ASCII only: a key with an escape, a control character or non-ASCII bytes is read by
        // parseString, which refuses what the general path refuses (invalid UTF-8, raw controls).
        while j < bytes.count, bytes[j] != UInt8(ascii: "\""), bytes[j] != UInt8(ascii: "\\"), bytes[j] >= 0x20, bytes[j] < 0x80 { j += 1 }
        guard j < bytes.count, bytes[j] == UInt8(ascii: "\"") else {
            let key = Array(try parseString().utf8)
            return Self.eventKeys.firstIndex(of: key) ?? -1
        }
        i = j + 1
        let length = j - start
        func matches(_ k: Int) -> Bool {
            let from = starts[k]
            guard starts[k + 1] - from == length else { return false }
            return Self.same(table.baseAddress! + from, bytes.baseAddress! + start, length)
        }
        let count = starts.count - 1
        if expected < count, matches(expected) { return expected }
        for k in 0..<count where matches(k) { return k }
        return -1
    }

    /// A string value with no escape, taken from `cache` when the previous event had the same
    /// bytes in this field (a backfill's events repeat their place and source): no new String.
    /// Anything else goes through parseString, which refuses what the general path refuses.
    mutating func cachedString(_ field: Int, _ cache: inout EventStrings) throws(MeteoError) -> String {
        let start = i + 1
        var j = start
        var ascii = true
        while j < bytes.count {
            let b = bytes[j]
            if b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") || b < 0x20 { break }
            if b >= 0x80 { ascii = false }
            j += 1
        }
        guard j < bytes.count, bytes[j] == UInt8(ascii: "\"") else { return try parseString() }
        let slice = UnsafeBufferPointer(rebasing: bytes[start..<j])
        if let cached = cache.lookup(field, slice) {
            i = j + 1
            return cached
        }
        let value: String
        if ascii {
            value = String(decoding: slice, as: UTF8.self)
        } else {
            guard let valid = String(validating: slice, as: UTF8.self) else { throw error("invalid UTF-8 in a string") }
            value = valid
        }
        cache.store(field, slice, value)
        i = j + 1
        return value
    }

    mutating func fastEvent(_ cache: inout EventStrings) -> Observation? {
        let table = Self.eventKeyTable
        return table.bytes.withUnsafeBufferPointer { keyBytes in
            table.starts.withUnsafeBufferPointer { starts in
                fastEvent(cache: &cache, keys: keyBytes, starts: starts)
            }
        }
    }

    mutating func fastEvent(cache: inout EventStrings, keys: UnsafeBufferPointer<UInt8>, starts: UnsafeBufferPointer<Int>) -> Observation? {
        do {
            skipSpace()
            guard i < bytes.count, bytes[i] == UInt8(ascii: "{") else { return nil }
            i += 1
            // The event object is one level, as in parseObject: a value nested inside it gets the
            // same depth limit as on the general path.
            depth = 1
            var version: Double?
            var placeID: String?, name: String?, country: String?, region: String?, source: String?
            var observedAt: Date?
            var latitude: Double?, longitude: Double?
            var values = [Double?](repeating: nil, count: 11)
            var code: Double?
            skipSpace()
            if i < bytes.count, bytes[i] == UInt8(ascii: "}") { return nil }
            var expected = 0
            while true {
                skipSpace()
                guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { return nil }
                let key = try eventKey(expected: expected, table: keys, starts: starts)
                expected = key + 1
                skipSpace()
                guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { return nil }
                i += 1
                skipSpace()
                guard i < bytes.count else { return nil }
                let c = bytes[i]
                func text(_ field: Int) throws(MeteoError) -> String? {
                    if c == UInt8(ascii: "n") { try literal("null"); return nil }
                    guard c == UInt8(ascii: "\"") else { throw error("type") }
                    return try cachedString(field, &cache)
                }
                func number() throws(MeteoError) -> Double? {
                    if c == UInt8(ascii: "n") { try literal("null"); return nil }
                    guard c == UInt8(ascii: "-") || (c >= 48 && c <= 57) else { throw error("type") }
                    return try parseNumber()
                }
                switch key {
                case 0: version = try number()
                case 1: placeID = try text(0)
                case 2: name = try text(1)
                case 3: country = try text(2)
                case 4: region = try text(3)
                case 5: latitude = try number()
                case 6: longitude = try number()
                case 7:
                    // Read from the bytes, without a String; anything unusual takes the general path.
                    guard c == UInt8(ascii: "\"") else { return nil }
                    let start = i + 1
                    var j = start
                    while j < bytes.count, bytes[j] != UInt8(ascii: "\""), bytes[j] != UInt8(ascii: "\\"), bytes[j] >= 0x20, bytes[j] < 0x80 { j += 1 }
                    guard j < bytes.count, bytes[j] == UInt8(ascii: "\""), j - start <= EventCodec.maxTimeLength,
                          let date = ISO8601.date(utf8: UnsafeBufferPointer(rebasing: bytes[start..<j])) else { return nil }
                    observedAt = date
                    i = j + 1
                case 8: source = try text(4)
                case 9...19: values[key - 9] = try number()
                case 20: code = try number()
                default: _ = try parseValue()
                }
                skipSpace()
                guard i < bytes.count else { return nil }
                if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                if bytes[i] == UInt8(ascii: "}") { i += 1; break }
                return nil
            }
            skipSpace()
            guard i == bytes.count, version == 1, let placeID, let name, let source, let observedAt,
                  let latitude, let longitude
            else { return nil }
            var weatherCode: Int?
            if let code {
                guard code == code.rounded(), abs(code) < 1e9 else { return nil }
                weatherCode = Int(code)
            }
            return Observation(
                placeID: placeID, name: name, country: country ?? "", region: region,
                latitude: latitude, longitude: longitude, observedAt: observedAt, source: source,
                temperatureC: values[0], feelsLikeC: values[1], humidityPct: values[2], pressureHPa: values[3],
                windSpeedMS: values[4], windDirectionDeg: values[5], windGustMS: values[6], cloudCoverPct: values[7],
                visibilityM: values[8], rainMM: values[9], snowMM: values[10], weatherCode: weatherCode)
        } catch {
            return nil
        }
    }
}

/// The strings of the events decoded last, per field (place id, name, country, region,
/// source), so that a run of events of one place (a backfill's hours) makes its Strings once.
public struct EventStrings: Sendable {
    private var bytes: [[UInt8]] = Array(repeating: [], count: 5)
    private var strings: [String] = Array(repeating: "", count: 5)
    private var filled = [Bool](repeating: false, count: 5)

    public init() {}

    func lookup(_ field: Int, _ slice: UnsafeBufferPointer<UInt8>) -> String? {
        guard filled[field] else { return nil }
        return bytes[field].withUnsafeBufferPointer { cached in
            guard cached.count == slice.count else { return nil }
            guard cached.count == 0 || JSONParser.same(cached.baseAddress!, slice.baseAddress!, cached.count) else { return nil }
            return strings[field]
        }
    }

    mutating func store(_ field: Int, _ slice: UnsafeBufferPointer<UInt8>, _ value: String) {
        bytes[field] = Array(slice)
        strings[field] = value
        filled[field] = true
    }
}

extension EventCodec {
    /// The observation of a plain, valid event, decoded on the fast path, reusing the strings
    /// of the events decoded before with the same `strings`; nil for anything else, which
    /// ``decode(_:)`` (or ``PayloadFormat/decode(_:strings:)``) reads or refuses with a reason.
    public static func decodeIfPlain(_ bytes: [UInt8], strings: inout EventStrings) -> Observation? {
        fastDecode(bytes, cache: &strings)
    }

    /// Decodes with the fast path when the bytes are a plain, valid event.
    static func fastDecode<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> Observation? {
        var cache = EventStrings()
        return fastDecode(bytes, cache: &cache)
    }

    /// ``fastDecode(_:)`` reusing the strings of the previous events.
    static func fastDecode<Bytes: Collection<UInt8>>(_ bytes: Bytes, cache: inout EventStrings) -> Observation? {
        let o: Observation?? = bytes.withContiguousStorageIfAvailable { buffer in
            var parser = JSONParser(buffer)
            return parser.fastEvent(&cache)
        }
        guard let candidate = o ?? nil, (try? candidate.validate()) != nil else { return nil }
        return candidate
    }
}
