import Foundation

/// Open-Meteo's hourly answer read straight into columns, without building a ``JSONValue``
/// tree: a year of hourly history for a hundred places is a million numbers, which the
/// backfill decodes at the speed of the bytes.
///
/// The document is one location object, or an array of them in request order. Of each object
/// it keeps `utc_offset_seconds`, the `<block>_units` object (variable → unit) and the
/// `<block>` object: `time` (unix seconds, or ISO 8601 text) and one array per variable, of
/// numbers or `null`. Everything else is skipped. Each column is as long as its array:
/// checking that the lengths agree is the caller's.
public struct HourlyColumns: Sendable {
    /// One location of the answer.
    public struct Location: Sendable {
        public var utcOffsetSeconds: Double = 0
        /// The `<block>_units` object: variable → unit.
        public var units: [String: String] = [:]
        /// `time`, as unix seconds (text times are read as UTC; ``timesAreText`` says which).
        public var times: [Int64] = []
        public var timesAreText = false
        /// Whether the object had a `<block>` object at all.
        public var hasBlock = false
        /// Each variable's values; `nan` stands for `null`.
        public var values: [String: [Double]] = [:]

        public init() {}
    }

    public var locations: [Location]
    /// Whether the document was an array (several locations) rather than one object.
    public var isArray: Bool

    /// Reads `bytes`. Throws a ``MeteoError`` naming the first thing that is not JSON or not of
    /// the expected shape, with its path (`[2].hourly.rain[17]`).
    public static func parse(_ bytes: [UInt8], block: String = "hourly") throws(MeteoError) -> HourlyColumns {
        let result: Result<HourlyColumns, MeteoError> = bytes.withUnsafeBufferPointer { buffer in
            var parser = JSONParser(buffer)
            return Result { () throws(MeteoError) in try parser.hourlyDocument(block: block) }
        }
        return try result.get()
    }
}

extension JSONParser {
    mutating func hourlyDocument(block: String) throws(MeteoError) -> HourlyColumns {
        if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { i = 3 }
        skipSpace()
        guard i < bytes.count else { throw error("empty input") }
        var out = HourlyColumns(locations: [], isArray: false)
        switch bytes[i] {
        case UInt8(ascii: "{"):
            out.locations.append(try hourlyLocation(block: block, path: ""))
        case UInt8(ascii: "["):
            out.isArray = true
            i += 1
            skipSpace()
            if i < bytes.count, bytes[i] == UInt8(ascii: "]") {
                i += 1
            } else {
                while true {
                    skipSpace()
                    guard i < bytes.count, bytes[i] == UInt8(ascii: "{") else {
                        throw JSONParser.shape("[\(out.locations.count)]", "should be an object")
                    }
                    out.locations.append(try hourlyLocation(block: block, path: "[\(out.locations.count)]"))
                    skipSpace()
                    guard i < bytes.count else { throw error("unexpected end of input in an array") }
                    if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                    if bytes[i] == UInt8(ascii: "]") { i += 1; break }
                    throw error("expected ',' or ']'")
                }
            }
        default:
            throw MeteoError(code: .malformedPayload, "the answer is \(try parseValue().typeName), expected an object or an array of objects")
        }
        skipSpace()
        guard i == bytes.count else { throw error("unexpected data after the JSON value") }
        return out
    }

    static func shape(_ path: String, _ what: String) -> MeteoError {
        MeteoError(code: .malformedPayload, "field '\(path)' \(what)")
    }

    /// Calls `body` with each key of the object at `i`, the parser on its value; `body` must
    /// consume the value.
    private mutating func eachKey(_ body: (inout JSONParser, String) throws(MeteoError) -> Void) throws(MeteoError) {
        depth += 1
        guard depth <= JSONValue.maxDepth else { throw error("nesting deeper than \(JSONValue.maxDepth) levels") }
        i += 1
        skipSpace()
        if i < bytes.count, bytes[i] == UInt8(ascii: "}") { i += 1; depth -= 1; return }
        while true {
            skipSpace()
            guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { throw error("expected a string key") }
            let key = try parseString()
            skipSpace()
            guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { throw error("expected ':'") }
            i += 1
            skipSpace()
            guard i < bytes.count else { throw error("unexpected end of input") }
            try body(&self, key)
            skipSpace()
            guard i < bytes.count else { throw error("unexpected end of input in an object") }
            if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
            if bytes[i] == UInt8(ascii: "}") { i += 1; break }
            throw error("expected ',' or '}'")
        }
        depth -= 1
    }

    private mutating func hourlyLocation(block: String, path: String) throws(MeteoError) -> HourlyColumns.Location {
        func p(_ k: String) -> String { path.isEmpty ? k : "\(path).\(k)" }
        var location = HourlyColumns.Location()
        let unitsKey = block + "_units"
        try eachKey { (parser: inout JSONParser, key: String) throws(MeteoError) in
            switch key {
            case "utc_offset_seconds":
                let v = try parser.parseValue()
                guard case .number(let seconds) = v else { throw JSONParser.shape(p(key), "should be a number, found \(v.typeName)") }
                location.utcOffsetSeconds = seconds
            case unitsKey:
                guard parser.bytes[parser.i] == UInt8(ascii: "{") else { throw JSONParser.shape(p(key), "should be an object, found \(try parser.parseValue().typeName)") }
                try parser.eachKey { (inner: inout JSONParser, variable: String) throws(MeteoError) in
                    let v = try inner.parseValue()
                    guard case .string(let unit) = v else { throw JSONParser.shape(p("\(key).\(variable)"), "should be a string, found \(v.typeName)") }
                    location.units[variable] = unit
                }
            case block:
                guard parser.bytes[parser.i] == UInt8(ascii: "{") else { throw JSONParser.shape(p(key), "should be an object, found \(try parser.parseValue().typeName)") }
                location.hasBlock = true
                try parser.eachKey { (inner: inout JSONParser, variable: String) throws(MeteoError) in
                    if variable == "time" {
                        try inner.timeColumn(into: &location, path: p("\(block).time"))
                    } else {
                        location.values[variable] = try inner.numberColumn(path: p("\(block).\(variable)"), capacity: location.times.count)
                    }
                }
            default:
                _ = try parser.parseValue()
            }
        }
        return location
    }

    /// An array of numbers and nulls (`nan`).
    private mutating func numberColumn(path: String, capacity: Int) throws(MeteoError) -> [Double] {
        guard bytes[i] == UInt8(ascii: "[") else { throw JSONParser.shape(path, "should be an array, found \(try parseValue().typeName)") }
        i += 1
        var out: [Double] = []
        out.reserveCapacity(capacity)
        skipSpace()
        if i < bytes.count, bytes[i] == UInt8(ascii: "]") { i += 1; return out }
        while true {
            skipSpace()
            guard i < bytes.count else { throw error("unexpected end of input in an array") }
            let c = bytes[i]
            if c == UInt8(ascii: "n") {
                try literal("null")
                out.append(.nan)
            } else if c == UInt8(ascii: "-") || (c >= 48 && c <= 57) {
                out.append(try parseNumber())
            } else {
                let found = try parseValue().typeName
                throw JSONParser.shape("\(path)[\(out.count)]", "should be a number or null, found \(found)")
            }
            skipSpace()
            guard i < bytes.count else { throw error("unexpected end of input in an array") }
            if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
            if bytes[i] == UInt8(ascii: "]") { i += 1; return out }
            throw error("expected ',' or ']'")
        }
    }

    /// `time`: unix seconds, or ISO 8601 text (`2026-12-07T10:00`, read as UTC).
    private mutating func timeColumn(into location: inout HourlyColumns.Location, path: String) throws(MeteoError) {
        guard bytes[i] == UInt8(ascii: "[") else { throw JSONParser.shape(path, "should be an array, found \(try parseValue().typeName)") }
        i += 1
        var out: [Int64] = []
        skipSpace()
        if i < bytes.count, bytes[i] == UInt8(ascii: "]") { i += 1; location.times = out; return }
        while true {
            skipSpace()
            guard i < bytes.count else { throw error("unexpected end of input in an array") }
            let c = bytes[i]
            if c == UInt8(ascii: "\"") {
                let text = try parseString()
                guard let date = ISO8601.date(from: text) else { throw JSONParser.shape("\(path)[\(out.count)]", "is not a time: '\(text.prefix(40))'") }
                location.timesAreText = true
                out.append(Int64(date.timeIntervalSince1970.rounded(.down)))
            } else if c == UInt8(ascii: "-") || (c >= 48 && c <= 57) {
                let t = try parseNumber()
                guard t.isFinite, abs(t) < 1e12 else { throw JSONParser.shape("\(path)[\(out.count)]", "is not a time: \(t)") }
                out.append(Int64(t.rounded(.down)))
            } else {
                let found = try parseValue().typeName
                throw JSONParser.shape("\(path)[\(out.count)]", "should be unix seconds or an ISO 8601 time, found \(found)")
            }
            skipSpace()
            guard i < bytes.count else { throw error("unexpected end of input in an array") }
            if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
            if bytes[i] == UInt8(ascii: "]") { i += 1; break }
            throw error("expected ',' or ']'")
        }
        location.times = out
    }
}
