import Foundation

/// A parsed JSON document. Meteo parses JSON itself so that every decoder can say exactly
/// which field is wrong, refuse hostile input (deep nesting, invalid UTF-8, huge numbers)
/// with a reason, and keep up with hundreds of thousands of events a second.
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// The deepest nesting the parser accepts.
    public static let maxDepth = 64

    public subscript(key: String) -> JSONValue? {
        if case .object(let o) = self { return o[key] }
        return nil
    }

    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }

    public var isNull: Bool { if case .null = self { true } else { false } }

    /// Parses a complete JSON text.
    public static func parse<Bytes: Collection<UInt8>>(_ bytes: Bytes) throws(MeteoError) -> JSONValue {
        let result: Result<JSONValue, MeteoError> = bytes.withContiguousStorageIfAvailable { buffer in
            var parser = JSONParser(buffer)
            return Result { () throws(MeteoError) in try parser.parseDocument() }
        } ?? {
            let copy = Array(bytes)
            return copy.withUnsafeBufferPointer { buffer in
                var parser = JSONParser(buffer)
                return Result { () throws(MeteoError) in try parser.parseDocument() }
            }
        }()
        return try result.get()
    }

    public static func parse(_ text: String) throws(MeteoError) -> JSONValue {
        try parse(Array(text.utf8))
    }
}

struct JSONParser {
    /// 1e0 ... 1e22, each exact in a Double.
    static let powersOfTen: [Double] = (0...22).map { k in (0..<k).reduce(1.0) { acc, _ in acc * 10 } }

    let bytes: UnsafeBufferPointer<UInt8>
    var i = 0
    var depth = 0

    init(_ bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    func error(_ what: String) -> MeteoError {
        MeteoError(code: .malformedPayload, "malformed JSON: \(what) at byte \(i)")
    }

    mutating func skipSpace() {
        while i < bytes.count {
            switch bytes[i] {
            case 0x20, 0x0A, 0x0D, 0x09: i += 1
            default: return
            }
        }
    }

    mutating func parseDocument() throws(MeteoError) -> JSONValue {
        if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { i = 3 }
        skipSpace()
        if i == bytes.count { throw error("empty input") }
        let v = try parseValue()
        skipSpace()
        guard i == bytes.count else { throw error("unexpected data after the JSON value") }
        return v
    }

    mutating func parseValue() throws(MeteoError) -> JSONValue {
        guard i < bytes.count else { throw error("unexpected end of input") }
        switch bytes[i] {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try parseNumber())
        default: throw error("unexpected character '\(printable(bytes[i]))'")
        }
    }

    func printable(_ b: UInt8) -> String {
        b >= 0x20 && b < 0x7F ? String(UnicodeScalar(b)) : "\\x" + String(b, radix: 16)
    }

    mutating func literal(_ word: StaticString) throws(MeteoError) {
        let n = word.utf8CodeUnitCount
        guard i + n <= bytes.count else { throw error("unexpected end of input") }
        let p = word.utf8Start
        for k in 0..<n where bytes[i + k] != p[k] { throw error("invalid literal") }
        i += n
    }

    mutating func parseObject() throws(MeteoError) -> JSONValue {
        depth += 1
        guard depth <= JSONValue.maxDepth else { throw error("nesting deeper than \(JSONValue.maxDepth) levels") }
        i += 1
        var object = [String: JSONValue]()
        skipSpace()
        if i < bytes.count, bytes[i] == UInt8(ascii: "}") { i += 1; depth -= 1; return .object(object) }
        while true {
            skipSpace()
            guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { throw error("expected a string key") }
            let key = try parseString()
            skipSpace()
            guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { throw error("expected ':'") }
            i += 1
            skipSpace()
            object[key] = try parseValue()
            skipSpace()
            guard i < bytes.count else { throw error("unexpected end of input in an object") }
            if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
            if bytes[i] == UInt8(ascii: "}") { i += 1; break }
            throw error("expected ',' or '}'")
        }
        depth -= 1
        return .object(object)
    }

    mutating func parseArray() throws(MeteoError) -> JSONValue {
        depth += 1
        guard depth <= JSONValue.maxDepth else { throw error("nesting deeper than \(JSONValue.maxDepth) levels") }
        i += 1
        var array = [JSONValue]()
        skipSpace()
        if i < bytes.count, bytes[i] == UInt8(ascii: "]") { i += 1; depth -= 1; return .array(array) }
        while true {
            skipSpace()
            array.append(try parseValue())
            skipSpace()
            guard i < bytes.count else { throw error("unexpected end of input in an array") }
            if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
            if bytes[i] == UInt8(ascii: "]") { i += 1; break }
            throw error("expected ',' or ']'")
        }
        depth -= 1
        return .array(array)
    }

    mutating func parseNumber() throws(MeteoError) -> Double {
        let start = i
        let negative = bytes[i] == UInt8(ascii: "-")
        if negative { i += 1 }
        var digits = 0
        // The digits as an integer, for the exact fast path below (while it fits).
        var mantissa: UInt64 = 0
        var significant = 0
        while i < bytes.count, bytes[i] >= 48, bytes[i] <= 57 {
            if significant > 0 || bytes[i] != 48 { significant += 1 }
            if significant <= 19 { mantissa = mantissa &* 10 &+ UInt64(bytes[i] - 48) }
            i += 1
            digits += 1
        }
        guard digits > 0 else { throw error("invalid number") }
        var frac = 0
        if i < bytes.count, bytes[i] == UInt8(ascii: ".") {
            i += 1
            while i < bytes.count, bytes[i] >= 48, bytes[i] <= 57 {
                if significant > 0 || bytes[i] != 48 { significant += 1 }
                if significant <= 19 { mantissa = mantissa &* 10 &+ UInt64(bytes[i] - 48) }
                i += 1
                frac += 1
            }
            guard frac > 0 else { throw error("invalid number") }
        }
        let hasExponent = i < bytes.count && (bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E"))
        // Clinger's fast path: an integer below 2^53 divided by an exact power of ten ≤ 1e22 is
        // correctly rounded by one IEEE division, as strtod would round it.
        if !hasExponent, significant <= 15, frac <= 22, i - start <= 64 {
            let value = Double(mantissa) / JSONParser.powersOfTen[frac]
            return negative ? -value : value
        }
        if hasExponent {
            i += 1
            if i < bytes.count, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") { i += 1 }
            var exp = 0
            while i < bytes.count, bytes[i] >= 48, bytes[i] <= 57 { i += 1; exp += 1 }
            guard exp > 0 else { throw error("invalid number") }
        }
        guard i - start <= 64 else { throw error("number longer than 64 characters") }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self)
        guard let value = Double(text) else { throw error("invalid number") }
        guard value.isFinite else { throw error("number \(text) is out of range") }
        return value
    }

    mutating func parseString() throws(MeteoError) -> String {
        i += 1
        let start = i
        // Fast path: no escapes. ASCII needs no UTF-8 validation.
        var ascii = true
        while i < bytes.count {
            let b = bytes[i]
            if b == UInt8(ascii: "\"") {
                let slice = UnsafeBufferPointer(rebasing: bytes[start..<i])
                i += 1
                if ascii { return String(decoding: slice, as: UTF8.self) }
                guard let s = String(validating: slice, as: UTF8.self) else { throw error("invalid UTF-8 in a string") }
                return s
            }
            if b >= 0x80 { ascii = false }
            if b == UInt8(ascii: "\\") { break }
            if b < 0x20 { throw error("control character in a string") }
            i += 1
        }
        var out = Array(UnsafeBufferPointer(rebasing: bytes[start..<i]))
        while i < bytes.count {
            let b = bytes[i]
            if b == UInt8(ascii: "\"") {
                i += 1
                guard let s = String(validating: out, as: UTF8.self) else { throw error("invalid UTF-8 in a string") }
                return s
            }
            if b < 0x20 { throw error("control character in a string") }
            if b != UInt8(ascii: "\\") { out.append(b); i += 1; continue }
            i += 1
            guard i < bytes.count else { break }
            let e = bytes[i]
            i += 1
            switch e {
            case UInt8(ascii: "\""): out.append(0x22)
            case UInt8(ascii: "\\"): out.append(0x5C)
            case UInt8(ascii: "/"): out.append(0x2F)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try hex4()
                if (0xD800..<0xDC00).contains(scalar) {
                    guard i + 1 < bytes.count, bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u") else {
                        throw error("unpaired UTF-16 surrogate")
                    }
                    i += 2
                    let low = try hex4()
                    guard (0xDC00..<0xE000).contains(low) else { throw error("unpaired UTF-16 surrogate") }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                } else if (0xDC00..<0xE000).contains(scalar) {
                    throw error("unpaired UTF-16 surrogate")
                }
                guard let u = Unicode.Scalar(scalar) else { throw error("invalid \\u escape") }
                out.append(contentsOf: Array(String(Character(u)).utf8))
            default: throw error("invalid escape '\\\(printable(e))'")
            }
        }
        throw error("unterminated string")
    }

    mutating func hex4() throws(MeteoError) -> UInt32 {
        guard i + 4 <= bytes.count else { throw error("truncated \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = bytes[i]
            let d: UInt32
            switch c {
            case 48...57: d = UInt32(c - 48)
            case 65...70: d = UInt32(c - 55)
            case 97...102: d = UInt32(c - 87)
            default: throw error("invalid \\u escape")
            }
            v = v << 4 | d
            i += 1
        }
        return v
    }
}

/// Writes JSON text into a byte buffer. Numbers are written in their shortest exact form.
public struct JSONWriter: Sendable {
    public private(set) var bytes: [UInt8] = []

    public init(capacity: Int = 512) { bytes.reserveCapacity(capacity) }

    public mutating func raw(_ s: StaticString) {
        bytes.append(contentsOf: UnsafeBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount))
    }

    public mutating func string(_ s: String) {
        bytes.append(UInt8(ascii: "\""))
        // Most strings need no escape: copy them whole.
        var plain = s
        let copied = plain.withUTF8 { utf8 -> Bool in
            guard !utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) else { return false }
            bytes.append(contentsOf: utf8)
            return true
        }
        if copied {
            bytes.append(UInt8(ascii: "\""))
            return
        }
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "\""): raw("\\\"")
            case UInt8(ascii: "\\"): raw("\\\\")
            case 0x0A: raw("\\n")
            case 0x0D: raw("\\r")
            case 0x09: raw("\\t")
            case 0..<0x20:
                raw("\\u00")
                let hex: [UInt8] = Array("0123456789abcdef".utf8)
                bytes.append(hex[Int(b >> 4)])
                bytes.append(hex[Int(b & 0xF)])
            default: bytes.append(b)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    /// Writes a finite number, or `null` for a non-finite one.
    public mutating func number(_ d: Double) {
        guard d.isFinite else { raw("null"); return }
        let written = withUnsafeTemporaryAllocation(of: UInt8.self, capacity: Self.maxShortNumber) { buffer -> Bool in
            guard let n = Self.shortNumber(d, to: buffer.baseAddress!) else { return false }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[..<n]))
            return true
        }
        if !written { bytes.append(contentsOf: d.description.utf8) }
    }

    public mutating func number(_ i: Int) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: Self.maxShortNumber) { buffer in
            let n = Self.decimal(Int64(i), decimals: 0, to: buffer.baseAddress!)
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[..<n]))
        }
    }

    /// The most bytes ``shortNumber(_:to:)`` and ``decimal(_:decimals:to:)`` write.
    static let maxShortNumber = 32

    /// Writes a finite number as ``number(_:)-(Double)`` does, at `p`, and returns the bytes
    /// written; nil when it takes the standard library's form.
    ///
    /// Integers and values of up to 4 decimals (most weather values) are written digit by
    /// digit: the first k for which n = d·10^k rounded gives back exactly d as n / 10^k.
    /// Dividing an integer below 2^53 by an exact power of ten is correctly rounded, so the text
    /// parses back to the same Double, and the smallest such k makes it the shortest text with
    /// that many decimals. Anything else takes the standard library's shortest round-trip form.
    @inline(__always)
    static func shortNumber(_ d: Double, to p: UnsafeMutablePointer<UInt8>) -> Int? {
        guard abs(d) < 1e15 else { return nil }
        var scale = 1.0
        for k in 0...4 {
            let scaled = (d * scale).rounded()
            if abs(scaled) < 9_007_199_254_740_992, scaled / scale == d {
                return decimal(Int64(scaled), decimals: k, to: p)
            }
            scale *= 10
        }
        return nil
    }

    /// Writes n · 10^-decimals at `p` (`-0.05` for (-5, 2), `12.3` for (123, 1), `7` for (7, 0))
    /// and returns the bytes written (at most ``maxShortNumber``).
    @inline(__always)
    static func decimal(_ n: Int64, decimals k: Int, to p: UnsafeMutablePointer<UInt8>) -> Int {
        // Digits from the right into a scratch area, then moved to the front.
        var scratch: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        return withUnsafeMutableBytes(of: &scratch) { raw -> Int in
            let buffer = raw.bindMemory(to: UInt8.self)
            var i = buffer.count
            var m = n.magnitude
            var written = 0
            repeat {
                if written == k && k > 0 {
                    i -= 1
                    buffer[i] = UInt8(ascii: ".")
                }
                i -= 1
                buffer[i] = UInt8(ascii: "0") + UInt8(truncatingIfNeeded: m % 10)
                m /= 10
                written += 1
            } while m > 0 || written <= k
            if n < 0 {
                i -= 1
                buffer[i] = UInt8(ascii: "-")
            }
            let count = buffer.count - i
            p.update(from: buffer.baseAddress! + i, count: count)
            return count
        }
    }

    public mutating func optional(_ d: Double?) {
        if let d { number(d) } else { raw("null") }
    }

    /// Appends bytes that are already JSON (a fragment written earlier by a writer).
    public mutating func raw(bytes fragment: [UInt8]) {
        bytes.append(contentsOf: fragment)
    }

    /// A time as an ISO 8601 string (``ISO8601/string(from:)``), written without a String.
    public mutating func time(_ date: Date) {
        bytes.append(UInt8(ascii: "\""))
        ISO8601.write(date, into: &bytes)
        bytes.append(UInt8(ascii: "\""))
    }

    public mutating func key(_ k: String, first: Bool = false) {
        if !first { bytes.append(UInt8(ascii: ",")) }
        string(k)
        bytes.append(UInt8(ascii: ":"))
    }


    public mutating func value(_ v: JSONValue) {
        switch v {
        case .null: raw("null")
        case .bool(let b): if b { raw("true") } else { raw("false") }
        case .number(let d): number(d)
        case .string(let s): string(s)
        case .array(let a):
            bytes.append(UInt8(ascii: "["))
            for (n, e) in a.enumerated() {
                if n > 0 { bytes.append(UInt8(ascii: ",")) }
                value(e)
            }
            bytes.append(UInt8(ascii: "]"))
        case .object(let o):
            bytes.append(UInt8(ascii: "{"))
            for (n, k) in o.keys.sorted().enumerated() {
                key(k, first: n == 0)
                value(o[k]!)
            }
            bytes.append(UInt8(ascii: "}"))
        }
    }
}
