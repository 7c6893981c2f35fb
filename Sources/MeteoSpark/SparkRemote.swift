import Foundation
import MeteoCore

/// Where a Spark Connect server is, in the connection string that Spark's own clients take:
///
///     sc://host[:port][/;param=value;param=value...]
///
/// Parameters: `token` (a bearer token; it turns TLS on unless `use_ssl=false` is given),
/// `use_ssl` (`true`/`false`), `user_id`, `user_agent` and `session_id` (a UUID; a new one is made
/// otherwise). The port defaults to 15002. `SPARK_REMOTE` holds the same string.
public struct SparkRemote: Sendable, Hashable, CustomStringConvertible {
    public static let defaultPort = 15002

    public var host: String
    public var port: Int
    public var token: String?
    public var useTLS: Bool
    public var userID: String
    public var userAgent: String
    /// The session's id: every call of one client uses it, so temporary views live across calls.
    public var sessionID: String

    public init(host: String, port: Int = SparkRemote.defaultPort, token: String? = nil, useTLS: Bool = false,
                userID: String = "meteo", userAgent: String = "meteo", sessionID: String = UUID().uuidString.lowercased()) {
        self.host = host
        self.port = port
        self.token = token
        self.useTLS = useTLS
        self.userID = userID
        self.userAgent = userAgent
        self.sessionID = sessionID
    }

    /// Parses a connection string; the error says what is wrong with it (never echoing a token).
    public init(parsing text: String) throws(MeteoError) {
        func bad(_ why: String) -> MeteoError {
            MeteoError(code: .invalidConfiguration,
                       "invalid Spark Connect address \(SparkRemote.redact(text)): \(why); expected sc://host:port, for example sc://127.0.0.1:15002")
        }
        guard text.hasPrefix("sc://") else { throw bad("it must start with sc://") }
        let rest = text.dropFirst(5)
        let (authority, parameters): (Substring, Substring?) = {
            if let slash = rest.firstIndex(of: "/") {
                return (rest[..<slash], rest[rest.index(after: slash)...])
            }
            return (rest, nil)
        }()
        guard !authority.isEmpty else { throw bad("the host is missing") }
        var host = String(authority)
        var port = Self.defaultPort
        if authority.hasPrefix("[") {
            // An IPv6 literal: [::1]:15002.
            guard let close = authority.firstIndex(of: "]") else { throw bad("an IPv6 address needs its closing ]") }
            host = String(authority[authority.index(after: authority.startIndex)..<close])
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":"), let p = Int(after.dropFirst()) else { throw bad("the port must be a number") }
                port = p
            }
        } else if let colon = authority.lastIndex(of: ":") {
            host = String(authority[..<colon])
            guard let p = Int(authority[authority.index(after: colon)...]) else { throw bad("the port must be a number") }
            port = p
        }
        guard !host.isEmpty else { throw bad("the host is missing") }
        guard (1...65535).contains(port) else { throw bad("the port must be between 1 and 65535") }
        self.init(host: host, port: port)
        var tls: Bool?
        for item in (parameters ?? "").split(separator: ";") where !item.isEmpty {
            guard let eq = item.firstIndex(of: "=") else { throw bad("parameter \(item.prefix(40)) needs a value (name=value)") }
            let name = item[..<eq], value = String(item[item.index(after: eq)...])
            switch name {
            case "token":
                guard !value.isEmpty else { throw bad("the token is empty") }
                token = value
            case "use_ssl":
                switch value.lowercased() {
                case "true": tls = true
                case "false": tls = false
                default: throw bad("use_ssl must be true or false")
                }
            case "user_id": userID = value
            case "user_agent": userAgent = value
            case "session_id":
                guard UUID(uuidString: value) != nil else { throw bad("session_id must be a UUID") }
                sessionID = value.lowercased()
            default:
                throw bad("unknown parameter \(name.prefix(40)) (known: token, use_ssl, user_id, user_agent, session_id)")
            }
        }
        // As in Spark's clients: a token is only sent over TLS unless told otherwise.
        useTLS = tls ?? (token != nil)
    }

    /// `SPARK_REMOTE` from the environment, if set and not empty.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws(MeteoError) -> SparkRemote? {
        guard let text = environment["SPARK_REMOTE"], !text.isEmpty else { return nil }
        return try SparkRemote(parsing: text)
    }

    /// The address with the token masked, for logs and errors.
    public var description: String {
        var text = "sc://\(host.contains(":") ? "[\(host)]" : host):\(port)"
        var parameters: [String] = []
        if token != nil { parameters.append("token=***") }
        if useTLS != (token != nil) { parameters.append("use_ssl=\(useTLS)") }
        if !parameters.isEmpty { text += "/;" + parameters.joined(separator: ";") }
        return text
    }

    /// A connection string with any token value replaced by `***`.
    static func redact(_ text: String) -> String {
        guard let range = text.range(of: "token=") else { return text }
        let end = text[range.upperBound...].firstIndex(of: ";") ?? text.endIndex
        return text[..<range.upperBound] + "***" + text[end...]
    }
}
