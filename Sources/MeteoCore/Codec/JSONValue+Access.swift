/// Typed access to JSON fields with errors that name the field and what was found.
extension JSONValue {
    func fail(_ path: String, _ expected: String, _ found: JSONValue?) -> MeteoError {
        MeteoError(code: .malformedPayload, "field '\(path)' should be \(expected), found \(found?.typeName ?? "nothing")")
    }

    /// A required object.
    public func object(_ path: String) throws(MeteoError) -> [String: JSONValue] {
        guard case .object(let o) = self else { throw fail(path, "an object", self) }
        return o
    }

    /// A number, or `nil` when the field is missing or null.
    public func optionalNumber(_ key: String, path: String? = nil) throws(MeteoError) -> Double? {
        switch self[key] {
        case nil, .null?: return nil
        case .number(let d)?: return d
        case let other?: throw fail(path ?? key, "a number or null", other)
        }
    }

    /// A required number.
    public func number(_ key: String, path: String? = nil) throws(MeteoError) -> Double {
        guard case .number(let d)? = self[key] else { throw fail(path ?? key, "a number", self[key]) }
        return d
    }

    /// A string, or `nil` when missing or null.
    public func optionalString(_ key: String, path: String? = nil) throws(MeteoError) -> String? {
        switch self[key] {
        case nil, .null?: return nil
        case .string(let s)?: return s
        case let other?: throw fail(path ?? key, "a string or null", other)
        }
    }

    /// A required string.
    public func string(_ key: String, path: String? = nil) throws(MeteoError) -> String {
        guard case .string(let s)? = self[key] else { throw fail(path ?? key, "a string", self[key]) }
        return s
    }

    /// An integer, or `nil`; a fractional number is refused.
    public func optionalInt(_ key: String, path: String? = nil) throws(MeteoError) -> Int? {
        guard let d = try optionalNumber(key, path: path) else { return nil }
        guard d == d.rounded(), abs(d) < 9e15 else { throw fail(path ?? key, "an integer", .number(d)) }
        return Int(d)
    }

    /// An object or null or missing.
    public func optionalObject(_ key: String, path: String? = nil) throws(MeteoError) -> JSONValue? {
        switch self[key] {
        case nil, .null?: return nil
        case .object?: return self[key]
        case let other?: throw fail(path ?? key, "an object or null", other)
        }
    }
}
