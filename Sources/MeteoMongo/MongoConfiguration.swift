import Foundation
import MeteoCore

/// How Meteo talks to MongoDB: a standard connection string plus the names Meteo uses.
///
/// The URI is any MongoDB connection string (`mongodb://user:pass@host:port/?authSource=admin&tls=true`,
/// or `mongodb+srv://…`); its options reach libmongoc as they are. The password is never
/// shown: ``description`` and every error carry ``redactedURI``.
///
/// Document layout (see the README):
/// - database `meteo` (``database``), collection `observations`: one document per place and
///   observed time, `_id` = `"<place_id>@<observed_at ISO 8601>"`;
/// - collection `latest`: the newest observation of each place, `_id` = place id;
/// - collection `dead_letters`: what could not be stored, `_id` = `"<topic>/<partition>/<offset>/<fingerprint>"`
///   (``DeadLetter/fingerprint``: a hash of the payload and the message timestamp).
public struct MongoConfiguration: Sendable, Hashable, CustomStringConvertible {
    /// The connection string.
    public var uri: String
    /// Database of Meteo's collections; default `meteo`.
    public var database: String
    /// Write concern of the sink's bulk writes: `majority` (default) or a number of nodes, at
    /// least 1: `0` (unacknowledged), here or as `w=0` in the URI, is refused by ``validate()``.
    public var writeConcern: String
    /// Application name the server sees in its logs and `currentOp`.
    public var appName: String

    public static let observations = "observations"
    public static let latest = "latest"
    public static let deadLetters = "dead_letters"
    /// One document, `{_id: "observations", n}`: `n` goes up after every write of observations
    /// (``MongoStore/version()``).
    public static let versions = "versions"

    public init(uri: String, database: String = "meteo", writeConcern: String = "majority", appName: String = "meteo") {
        self.uri = uri
        self.database = database
        self.writeConcern = writeConcern
        self.appName = appName
    }

    /// Refuses what is certainly wrong, with a line that says what to fix.
    public func validate() throws(MeteoError) {
        guard uri.hasPrefix("mongodb://") || uri.hasPrefix("mongodb+srv://") else {
            throw MeteoError(code: .invalidConfiguration,
                             "the MongoDB URI \(redactedURI) should start with mongodb:// or mongodb+srv://, as in mongodb://root:example@127.0.0.1:27017/?authSource=admin")
        }
        guard !database.isEmpty, database.utf8.count < 64,
              !database.contains(where: { "/\\. \"$*<>:|?".contains($0) }) else {
            throw MeteoError(code: .invalidConfiguration,
                             "invalid MongoDB database name '\(database.prefix(64))': use letters, digits, - and _, under 64 characters")
        }
        guard writeConcern == "majority" || (Int(writeConcern).map { $0 >= 0 } ?? false) else {
            throw MeteoError(code: .invalidConfiguration,
                             "invalid MongoDB write concern '\(writeConcern.prefix(40))': use majority or a number of nodes such as 1")
        }
        // An unacknowledged write (w=0) returns before the server has it: the sink would commit
        // offsets for writes that may never happen.
        if writeConcern == "0" {
            throw MeteoError(code: .invalidConfiguration,
                             "MongoDB write concern 0 (unacknowledged) is refused: the sink commits offsets only after an acknowledged write; use --write-concern majority (default) or 1")
        }
        if Self.uriOption("w", in: uri) == "0" {
            throw MeteoError(code: .invalidConfiguration,
                             "the MongoDB URI asks for w=0 (unacknowledged writes), which is refused: the sink commits offsets only after an acknowledged write; remove w=0 from the URI")
        }
    }

    /// The value of a connection string option (`?w=0&…`), its name matched without case; nil when absent.
    static func uriOption(_ name: String, in uri: String) -> String? {
        guard let query = uri.firstIndex(of: "?") else { return nil }
        for pair in uri[uri.index(after: query)...].split(whereSeparator: { $0 == "&" || $0 == ";" }) {
            let parts = pair.split(separator: "=", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == name.lowercased() {
                return (parts[1].removingPercentEncoding ?? String(parts[1])).trimmingCharacters(in: .whitespaces)
            }
        }
        return nil
    }

    /// The URI with its password replaced by `***`.
    public var redactedURI: String { Self.redact(uri) }

    public var description: String { "MongoDB \(redactedURI), database \(database), write concern \(writeConcern)" }

    /// Replaces the password of a connection string's credentials (`user:password@`) by `***`,
    /// and the values of options that hold secrets.
    public static func redact(_ uri: String) -> String {
        var text = uri
        if let scheme = text.range(of: "://") {
            let authorityEnd = text[scheme.upperBound...].firstIndex(where: { $0 == "/" || $0 == "?" }) ?? text.endIndex
            let authority = text[scheme.upperBound..<authorityEnd]
            // The credentials end at the last '@' of the authority: a password may hold '@'
            // only percent-encoded, but a careless one must not leak either.
            if let at = authority.lastIndex(of: "@"), let colon = authority[..<at].firstIndex(of: ":") {
                text.replaceSubrange(text.index(after: colon)..<at, with: "***")
            }
        }
        for secret in ["password", "tlsCertificateKeyFilePassword", "sslclientcertificatekeypassword"] {
            var searchFrom = text.startIndex
            while let r = text.range(of: secret + "=", options: .caseInsensitive, range: searchFrom..<text.endIndex) {
                let end = text[r.upperBound...].firstIndex(of: "&") ?? text.endIndex
                text.replaceSubrange(r.upperBound..<end, with: "***")
                searchFrom = text.index(r.upperBound, offsetBy: 3, limitedBy: text.endIndex) ?? text.endIndex
            }
        }
        return text
    }
}
