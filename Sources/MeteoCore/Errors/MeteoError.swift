/// The one error type of Meteo. Its ``description`` says what to fix and never holds a secret.
public struct MeteoError: Error, Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    /// What kind of failure this is. A struct, not an enum, so that codes can be added freely.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        public var description: String { name }

        /// A flag, variable or config file value is wrong.
        public static let invalidConfiguration = Code("invalid-configuration")
        /// A place name or id is found in no source of places (or has no observations).
        public static let unknownPlace = Code("unknown-place")
        /// A place name matches several places: the message lists them.
        public static let ambiguousPlace = Code("ambiguous-place")
        /// A payload could not be decoded (bad JSON, wrong types, unknown version).
        public static let malformedPayload = Code("malformed-payload")
        /// A decoded observation is physically impossible.
        public static let invalidObservation = Code("invalid-observation")
        /// A weather API answered with an error status.
        public static let apiError = Code("api-error")
        /// A weather API or server did not answer in time.
        public static let timeout = Code("timeout")
        /// A network connection could not be made or broke.
        public static let connection = Code("connection")
        /// The bus failed (embedded log or Kafka).
        public static let bus = Code("bus")
        /// The store failed (SQLite or MongoDB).
        public static let store = Code("store")
        /// The analytics engine (Spark) refused or failed a query.
        public static let analytics = Code("analytics")
        /// A file could not be read or written.
        public static let io = Code("io")
        /// Something Meteo did not expect; a bug.
        public static let `internal` = Code("internal")
    }

    public var code: Code
    /// What went wrong and what to do about it. Never contains secrets.
    public var message: String
    /// Whether trying the same thing again later may succeed (429, 5xx, time-outs, a server down).
    public var isRetriable: Bool
    /// Extra detail for logs (response bodies are trimmed, secrets redacted).
    public var detail: String?

    public init(code: Code, _ message: String, isRetriable: Bool = false, detail: String? = nil) {
        self.code = code
        self.message = message
        self.isRetriable = isRetriable
        self.detail = detail
    }

    public var description: String { message }
    public var debugDescription: String {
        "MeteoError(\(code)\(isRetriable ? ", retriable" : "")): \(message)" + (detail.map { " [\($0)]" } ?? "")
    }
}
