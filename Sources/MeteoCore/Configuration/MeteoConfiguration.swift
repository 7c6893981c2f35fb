import Foundation

/// Everything that chooses Meteo's backends and behaviour. Each setting can be given as a
/// flag, a `METEO_*` environment variable or a key of the JSON config file (see ``keys``).
public struct MeteoConfiguration: Sendable, Hashable {
    public enum Bus: String, Sendable, CaseIterable { case embedded, kafka }
    /// How the lake's files are written: NDJSON lines (the event JSON) or Parquet.
    public enum LakeFormat: String, Sendable, CaseIterable { case ndjson, parquet }
    public enum Store: String, Sendable, CaseIterable { case sqlite, mongodb }
    /// Where the analyses run: `auto` is on the MongoDB server with `--store mongodb`, in
    /// this process otherwise.
    public enum Engine: String, Sendable, CaseIterable { case auto, inProcess = "in-process", mongodb, spark }
    public enum SourceKind: String, Sendable, CaseIterable {
        case openMeteo = "open-meteo", openWeatherMap = "openweathermap", replay, synthetic
    }

    /// Folder of the embedded log and store. Default `./meteo-data`.
    public var dataDir: String = "./meteo-data"
    /// `embedded` (a durable SQLite log in the data dir) or `kafka`.
    public var bus: Bus = .embedded
    /// `sqlite` (in the data dir) or `mongodb`.
    public var store: Store = .sqlite
    /// The analytics engine.
    public var engine: Engine = .auto
    /// A data lake folder the sink also writes (partitioned Parquet or NDJSON); nil: none.
    public var lake: String? = nil
    /// The lake's file format.
    public var lakeFormat: LakeFormat = .parquet
    /// The topic the ingestor publishes to and the sink reads.
    public var topic: String = "weather.observations"
    /// The sink's consumer group.
    public var group: String = "meteo-sink"
    /// The ingestor's source.
    public var source: SourceKind = .openMeteo
    /// Built-in regions to poll; empty means none unless no other selection is given (then all ten).
    public var regions: [String] = []
    /// User-defined bounding boxes, `lon_min,lat_min,lon_max,lat_max`.
    public var boxes: [BoundingBox] = []
    /// Explicit place names or ids of the catalogue (`Strasbourg`, `Paris,FR`, `2973783`).
    public var places: [String] = []
    /// The user's own places: `LAT,LON` and `Name@LAT,LON` entries of `places`, the config
    /// file's place objects, then the rows of the places file; each id once.
    public var customPlaces: [Place] = []
    /// A CSV of the user's own places (``PlacesFile``), already read into ``customPlaces``.
    public var placesFile: String? = nil
    /// How often the ingestor polls, when ``autoInterval`` is off.
    public var interval: Duration = .seconds(600)
    /// `--interval auto` (the default): the shortest 15-minute step that fits the provider plan
    /// (``QuotaPlanner``); 600 s for the sources without a quota (synthetic, replay).
    public var autoInterval: Bool = true
    /// The provider plan's tier; nil is `auto`: `api-key` when an Open-Meteo key is set, `free` otherwise.
    public var planTier: ProviderPlan.Tier? = nil
    /// `--quota`: limits that replace the plan's own, per window (a nil value lifts that window's limit).
    public var quota: [QuotaWindow: Double?] = [:]
    /// Open-Meteo forecast endpoint (the customer endpoint when an API key is set).
    public var openMeteoURL: String = MeteoConfiguration.openMeteoFreeURL
    /// Open-Meteo historical archive endpoint, for `meteo backfill`.
    public var archiveURL: String = MeteoConfiguration.archiveFreeURL
    /// The Open-Meteo API key; only from the environment (`METEO_OPEN_METEO_API_KEY`).
    public var openMeteoAPIKey: Secret? = nil

    public static let openMeteoFreeURL = "https://api.open-meteo.com/v1/forecast"
    public static let openMeteoCustomerURL = "https://customer-api.open-meteo.com/v1/forecast"
    public static let archiveFreeURL = "https://archive-api.open-meteo.com/v1/archive"
    public static let archiveCustomerURL = "https://customer-archive-api.open-meteo.com/v1/archive"
    /// OpenWeatherMap current-weather endpoint.
    public var openWeatherMapURL: String = "https://api.openweathermap.org/data/2.5/weather"
    /// The OpenWeatherMap API key; only from the environment (`METEO_OWM_API_KEY` or `OPENWEATHERMAP_API_KEY`).
    public var openWeatherMapKey: Secret? = nil
    /// Replay source input: NDJSON events, legacy box/city payloads (one per line) or CSV.
    public var replayFile: String? = nil
    /// Seed of the synthetic source.
    public var seed: UInt64 = 42
    /// Maximum events the sink writes in one store transaction.
    public var batchSize: Int = 20_000
    /// How long the sink waits for a partial batch to fill before writing it; zero writes what
    /// has arrived at once (what arrives during a write makes the next batch).
    public var flushInterval: Duration = .zero
    /// How long the embedded log keeps messages.
    public var retention: Duration = .seconds(7 * 86_400)
    /// Where `meteo ingest` and `meteo sink` serve Prometheus `/metrics` (and `meteo doctor`
    /// reads the sink's); nil serves none. `meteo serve` serves them on its own port.
    public var metricsListen: ListenAddress? = nil
    /// Per-request time-out of the HTTP sources.
    public var httpTimeout: Duration = .seconds(30)
    /// Attempts per request of the HTTP sources (first try included).
    public var maxAttempts: Int = 6
    /// Concurrent requests of the HTTP sources.
    public var concurrency: Int = 1
    /// Kafka `bootstrap.servers` for `--bus kafka`.
    public var brokers: String = "127.0.0.1:9092"
    /// librdkafka properties, by their librdkafka names (`--kafka-property`, `METEO_KAFKA_*`,
    /// or the `kafka_property` object of the config file); they win over Meteo's defaults.
    public var kafkaProperties: [String: String] = [:]
    /// Partitions of the Kafka topics Meteo creates.
    public var partitions: Int = 6
    /// Replication factor of the Kafka topics Meteo creates (-1: the broker's default).
    public var replicationFactor: Int = 1
    /// Kafka topic for messages the sink cannot decode; nil means `<topic>.dlq`.
    public var deadLetterTopic: String? = nil

    /// Spark Connect address for `--engine spark` (`--spark`, METEO_SPARK, or Spark's own
    /// SPARK_REMOTE): `sc://host:port/;token=…`. It may hold a token, so it is a ``Secret``.
    public var sparkRemote: Secret? = nil

    /// MongoDB connection string for `--store mongodb` (`--mongo-uri`, METEO_MONGO_URI); it
    /// may hold a password, so it is kept as a ``Secret``.
    public var mongoURI: Secret? = nil
    /// Database of Meteo's MongoDB collections.
    public var mongoDatabase: String = "meteo"
    /// Write concern of the MongoDB sink: `majority` or a number of nodes.
    public var writeConcern: String = "majority"

    /// The plan of the configured source's provider, with `--quota` applied; nil for the
    /// sources that call no API (synthetic, replay).
    public var providerPlan: ProviderPlan? {
        let provider: ProviderPlan.Provider
        let tier: ProviderPlan.Tier
        switch source {
        case .openMeteo:
            provider = .openMeteo
            tier = planTier ?? (openMeteoAPIKey != nil ? .apiKey : .free)
        case .openWeatherMap:
            provider = .openWeatherMap
            tier = planTier ?? .free
        case .replay, .synthetic:
            return nil
        }
        let plan = ProviderPlan.standard(provider, tier)
        return quota.isEmpty ? plan : plan.with(limits: quota)
    }

    /// The dead-letter topic in effect.
    public var effectiveDeadLetterTopic: String { deadLetterTopic ?? topic + ".dlq" }

    public init() {}

    /// Every setting, by its flag / variable / file name.
    public static let keys: [ConfigKey] = [
        ConfigKey("config", "JSON config file (keys as below, with '_' for '-')"),
        ConfigKey("data-dir", "folder of the embedded log and store (default ./meteo-data)"),
        ConfigKey("bus", "embedded | kafka (default embedded)"),
        ConfigKey("store", "sqlite | mongodb (default sqlite)"),
        ConfigKey("lake", "folder of the data lake the sink also writes: DIR/date=YYYY-MM-DD/hour=HH/part-*.parquet (default none)"),
        ConfigKey("lake-format", "parquet | ndjson: the lake's files, part-*.parquet or part-*.jsonl (default parquet)"),
        ConfigKey("engine", "analytics engine: auto | in-process (or embedded) | mongodb | spark (default auto: mongodb with --store mongodb, in-process otherwise)"),
        ConfigKey("spark", "Spark Connect address for --engine spark, sc://host:port[/;token=…] (default SPARK_REMOTE, else sc://127.0.0.1:15002)"),
        ConfigKey("topic", "bus topic (default weather.observations)"),
        ConfigKey("group", "sink consumer group (default meteo-sink)"),
        ConfigKey("source", "open-meteo | openweathermap | replay | synthetic (default open-meteo)"),
        ConfigKey("regions", "built-in regions, comma-separated (default: all ten)"),
        ConfigKey("bbox", "bounding boxes lon_min,lat_min,lon_max,lat_max, ';'-separated"),
        ConfigKey("places", "places, ';'-separated: names or ids of the catalogue, LAT,LON or Name@LAT,LON (Strasbourg;Paris,FR;48.58,7.75;Mont Ventoux@44.17,5.28)"),
        ConfigKey("places-file", "CSV of your own places with a header: name,latitude,longitude and optionally country,region,id"),
        ConfigKey("interval", "polling interval: auto (default: the shortest 15-min step that fits the provider plan; 600s for synthetic and replay), or 90s, 10m, 1h, 5h15m"),
        ConfigKey("plan", "provider plan: auto | free | api-key | self-hosted (default auto: api-key when METEO_OPEN_METEO_API_KEY is set, else free)"),
        ConfigKey("quota", "the plan's limits, replacing its defaults: minute=600,hour=5000,day=10000,month=300000 (any subset; a window =none lifts it; none lifts all)"),
        ConfigKey("open-meteo-url", "Open-Meteo forecast endpoint (default https://api.open-meteo.com/v1/forecast, or the customer endpoint with an API key)"),
        ConfigKey("archive-url", "Open-Meteo historical archive endpoint for meteo backfill (default https://archive-api.open-meteo.com/v1/archive)"),
        ConfigKey("owm-url", "OpenWeatherMap current-weather endpoint"),
        ConfigKey("replay-file", "file for the replay source (NDJSON, legacy box/city lines, or CSV)"),
        ConfigKey("seed", "seed of the synthetic source (default 42)"),
        ConfigKey("batch-size", "events per sink transaction (default 20000)"),
        ConfigKey("flush-interval", "how long the sink lets a partial batch fill before writing it (default 0: at once; 1s, 500ms)"),
        ConfigKey("retention", "how long the embedded log keeps messages (default 7d)"),
        ConfigKey("metrics-listen", "where meteo ingest and meteo sink serve Prometheus /metrics: PORT (on 127.0.0.1) or HOST:PORT (default none); meteo doctor reads the sink's there"),
        ConfigKey("http-timeout", "HTTP request time-out (default 30s)"),
        ConfigKey("max-attempts", "HTTP attempts per request, with backoff (default 6)"),
        ConfigKey("concurrency", "concurrent HTTP requests (default 1)"),
        ConfigKey("brokers", "Kafka bootstrap servers host:port,... (default 127.0.0.1:9092)"),
        ConfigKey("kafka-property", "librdkafka property name=value, repeatable; also METEO_KAFKA_<NAME> (sasl_password → sasl.password)"),
        ConfigKey("partitions", "partitions of the Kafka topics Meteo creates (default 6)"),
        ConfigKey("replication-factor", "replication factor of the Kafka topics Meteo creates (default 1; -1 = broker default)"),
        ConfigKey("dlq-topic", "Kafka dead-letter topic (default <topic>.dlq)"),
        ConfigKey("mongo-uri", "MongoDB connection string for --store mongodb (mongodb://user:pass@host:27017/?authSource=admin)"),
        ConfigKey("mongo-database", "database of Meteo's MongoDB collections (default meteo)"),
        ConfigKey("write-concern", "write concern of the MongoDB sink: majority or a number of nodes, at least 1 (default majority)"),
    ]

    static func key(_ name: String) -> ConfigKey { keys.first { $0.name == name }! }

    /// Resolves the layers into a configuration, or throws a message that names the bad
    /// setting, where it came from and what is expected.
    public static func resolve(_ layers: ConfigLayers) throws(MeteoError) -> MeteoConfiguration {
        var c = MeteoConfiguration()
        func text(_ name: String) -> (String, ConfigOrigin)? { layers.value(key(name)) }
        func bad(_ name: String, _ value: String, _ origin: ConfigOrigin, _ expected: String) -> MeteoError {
            MeteoError(code: .invalidConfiguration, "invalid \(key(name).flag) '\(value)' (from \(origin)): expected \(expected)")
        }
        func choice<T: RawRepresentable & CaseIterable>(_ name: String, _ type: T.Type) throws(MeteoError) -> T? where T.RawValue == String {
            guard let (v, o) = text(name) else { return nil }
            guard let t = T(rawValue: v.lowercased()) else {
                throw bad(name, v, o, T.allCases.map(\.rawValue).joined(separator: " | "))
            }
            return t
        }
        func duration(_ name: String, min: Duration) throws(MeteoError) -> Duration? {
            guard let (v, o) = text(name) else { return nil }
            guard let d = parseDuration(v), d >= min else {
                throw bad(name, v, o, "a duration of at least \(min.seconds) s, such as 600, 90s, 10m, 1h or 7d")
            }
            return d
        }
        func integer(_ name: String, _ range: ClosedRange<Int>) throws(MeteoError) -> Int? {
            guard let (v, o) = text(name) else { return nil }
            guard let i = Int(v.trimmingCharacters(in: .whitespaces)), range.contains(i) else {
                throw bad(name, v, o, "a whole number in \(range.lowerBound)...\(range.upperBound)")
            }
            return i
        }
        func url(_ name: String) throws(MeteoError) -> String? {
            guard let (v, o) = text(name) else { return nil }
            guard let u = URL(string: v), let scheme = u.scheme, ["http", "https"].contains(scheme), u.host != nil else {
                throw bad(name, v, o, "an http:// or https:// URL")
            }
            return v
        }
        func nonEmpty(_ name: String) throws(MeteoError) -> String? {
            guard let (v, o) = text(name) else { return nil }
            let t = v.trimmingCharacters(in: .whitespaces)
            guard !t.isEmpty, t.count <= 249, !t.contains(where: { $0.isWhitespace || $0.isNewline }) else {
                throw bad(name, v, o, "a non-empty name without spaces, at most 249 characters")
            }
            return t
        }

        if let (v, _) = text("data-dir"), !v.isEmpty { c.dataDir = v }
        if let v = try choice("bus", Bus.self) { c.bus = v }
        if let v = try choice("store", Store.self) { c.store = v }
        if let (v, _) = text("engine"), v.trimmingCharacters(in: .whitespaces).lowercased() == "embedded" {
            c.engine = .inProcess
        } else if let v = try choice("engine", Engine.self) {
            c.engine = v
        }
        let sparkText = text("spark") ?? layers.environment["SPARK_REMOTE"].flatMap { $0.isEmpty ? nil : ($0, ConfigOrigin.environment("SPARK_REMOTE")) }
        if let (v, o) = sparkText {
            let t = v.trimmingCharacters(in: .whitespaces)
            guard t.hasPrefix("sc://") else {
                // Never echo the value: it may hold a token.
                throw MeteoError(code: .invalidConfiguration,
                                 "invalid Spark Connect address (from \(o)): expected sc://host:port, such as sc://127.0.0.1:15002")
            }
            c.sparkRemote = Secret(t)
        }
        if let (v, _) = text("lake"), !v.isEmpty { c.lake = v }
        if let v = try choice("lake-format", LakeFormat.self) { c.lakeFormat = v }
        if let v = try nonEmpty("topic") { c.topic = v }
        if let v = try nonEmpty("group") { c.group = v }
        if let v = try choice("source", SourceKind.self) { c.source = v }
        if let (v, o) = text("regions") {
            let names = v.split(whereSeparator: { $0 == "," || $0 == ";" }).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            for n in names where Region.named(n) == nil && n.lowercased() != "all" {
                throw bad("regions", n, o, "built-in region names: \(Region.builtin.map(\.name).joined(separator: ", ")), or 'all'")
            }
            c.regions = names.contains { $0.lowercased() == "all" } ? Region.builtin.map(\.name) : names.compactMap { Region.named($0)?.name }
        }
        if let (v, o) = text("bbox") {
            for part in v.split(separator: ";").map(String.init) where !part.trimmingCharacters(in: .whitespaces).isEmpty {
                do { c.boxes.append(try BoundingBox(parsing: part)) } catch {
                    throw MeteoError(code: .invalidConfiguration, "\(error.message) (from \(o))")
                }
            }
        }
        // Places: the catalogue's names, custom places and the places file.
        let selection = try placeSelection(layers)
        c.places = selection.names
        c.customPlaces = selection.custom
        c.placesFile = selection.file
        if let (v, _) = text("interval"), v.trimmingCharacters(in: .whitespaces).lowercased() == "auto" {
            c.autoInterval = true
        } else if let v = try duration("interval", min: .zero) {
            c.interval = v
            c.autoInterval = false
        }
        if let (v, o) = text("plan") {
            let t = v.trimmingCharacters(in: .whitespaces).lowercased()
            if t != "auto" {
                guard let tier = ProviderPlan.Tier(rawValue: t) else {
                    throw bad("plan", v, o, "auto, free, api-key or self-hosted")
                }
                c.planTier = tier
            }
        }
        if let (v, o) = text("quota") {
            guard let limits = ProviderPlan.parseLimits(v) else {
                throw bad("quota", v, o, "limits per window such as minute=600,hour=5000,day=10000,month=300000 (a window =none lifts it; none lifts all)")
            }
            c.quota = limits
        }
        let apiKey = layers.environment["METEO_OPEN_METEO_API_KEY"].flatMap { $0.isEmpty ? nil : Secret($0) }
        c.openMeteoAPIKey = apiKey
        if apiKey != nil {
            // A key is for the customer endpoints, unless the user names another.
            c.openMeteoURL = openMeteoCustomerURL
            c.archiveURL = archiveCustomerURL
        }
        if let v = try url("open-meteo-url") { c.openMeteoURL = v }
        if let v = try url("archive-url") { c.archiveURL = v }
        if c.planTier == .apiKey && apiKey == nil {
            throw MeteoError(code: .invalidConfiguration,
                             "--plan api-key needs the key in the environment variable METEO_OPEN_METEO_API_KEY (never on the command line); or use --plan free")
        }
        if let v = try url("owm-url") { c.openWeatherMapURL = v }
        if let (v, _) = text("replay-file"), !v.isEmpty { c.replayFile = v }
        if let (v, o) = text("seed") {
            guard let s = UInt64(v.trimmingCharacters(in: .whitespaces)) else { throw bad("seed", v, o, "a whole number ≥ 0") }
            c.seed = s
        }
        if let v = try integer("batch-size", 1...1_000_000) { c.batchSize = v }
        if let v = try duration("flush-interval", min: .zero) {
            guard v <= .seconds(60) else { throw bad("flush-interval", text("flush-interval")!.0, text("flush-interval")!.1, "at most 60 s, such as 0, 500ms or 2s") }
            c.flushInterval = v
        }
        if let v = try duration("retention", min: .seconds(60)) { c.retention = v }
        if let (v, o) = text("metrics-listen") {
            guard let address = ListenAddress(parsing: v) else {
                throw bad("metrics-listen", v, o, "a port (9465, on 127.0.0.1) or HOST:PORT (0.0.0.0:9465), the port in 1...65535")
            }
            c.metricsListen = address
        }
        if let v = try duration("http-timeout", min: .milliseconds(10)) { c.httpTimeout = v }
        if let v = try integer("max-attempts", 1...100) { c.maxAttempts = v }
        if let v = try integer("concurrency", 1...64) { c.concurrency = v }
        if let (v, o) = text("brokers") {
            let servers = v.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            guard !servers.isEmpty, servers.allSatisfy({ s in
                guard let colon = s.lastIndex(of: ":"), let port = Int(s[s.index(after: colon)...]) else { return false }
                return !s[..<colon].isEmpty && (1...65535).contains(port)
            }) else {
                throw bad("brokers", v, o, "host:port[,host:port...], such as 127.0.0.1:9092")
            }
            c.brokers = servers.joined(separator: ",")
        }
        c.kafkaProperties = try kafkaProperties(layers)
        if let v = try integer("partitions", 1...10_000) { c.partitions = v }
        if let (v, o) = text("replication-factor") {
            guard let r = Int(v.trimmingCharacters(in: .whitespaces)), r == -1 || (1...32).contains(r) else {
                throw bad("replication-factor", v, o, "a whole number in 1...32, or -1 for the broker's default")
            }
            c.replicationFactor = r
        }
        if let v = try nonEmpty("dlq-topic") { c.deadLetterTopic = v }
        if let (v, o) = text("mongo-uri") {
            let t = v.trimmingCharacters(in: .whitespaces)
            guard t.hasPrefix("mongodb://") || t.hasPrefix("mongodb+srv://") else {
                // Never echo the value: it may hold a password.
                throw MeteoError(code: .invalidConfiguration,
                                 "invalid \(key("mongo-uri").flag) (from \(o)): expected a MongoDB connection string starting with mongodb:// or mongodb+srv://")
            }
            c.mongoURI = Secret(t)
        }
        if let v = try nonEmpty("mongo-database") { c.mongoDatabase = v }
        if let (v, o) = text("write-concern") {
            let t = v.trimmingCharacters(in: .whitespaces).lowercased()
            guard t == "majority" || (Int(t).map { $0 >= 0 } ?? false) else { throw bad("write-concern", v, o, "majority or a number of nodes such as 1") }
            // w=0 is unacknowledged: the sink must not commit offsets for writes nobody confirmed.
            guard t != "0" else { throw bad("write-concern", v, o, "majority or a number of nodes of at least 1 (0, unacknowledged, cannot come before an offset commit)") }
            c.writeConcern = t
        }
        let keyVariable = ["METEO_OWM_API_KEY", "OPENWEATHERMAP_API_KEY"].first { !(layers.environment[$0] ?? "").isEmpty }
        if let keyVariable { c.openWeatherMapKey = Secret(layers.environment[keyVariable]!) }
        return c
    }

    /// librdkafka properties from the config file's `kafka_property` (an object, or a list of
    /// `name=value`), then `METEO_KAFKA_<NAME>` variables, then `--kafka-property` flags
    /// (newline-separated `name=value`); later layers win per property.
    static func kafkaProperties(_ layers: ConfigLayers) throws(MeteoError) -> [String: String] {
        var out: [String: String] = [:]
        let flag = key("kafka-property")
        func add(_ item: String, _ origin: ConfigOrigin) throws(MeteoError) {
            let t = item.trimmingCharacters(in: .whitespaces)
            guard !t.isEmpty else { return }
            guard let eq = t.firstIndex(of: "=") else {
                throw MeteoError(code: .invalidConfiguration, "invalid \(flag.flag) '\(t.prefix(60))' (from \(origin)): expected name=value with a librdkafka property name, such as security.protocol=SASL_SSL")
            }
            try set(String(t[..<eq]), String(t[t.index(after: eq)...]), origin)
        }
        func set(_ rawName: String, _ value: String, _ origin: ConfigOrigin) throws(MeteoError) {
            let name = rawName.trimmingCharacters(in: .whitespaces)
            guard !name.isEmpty, name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "_" || $0 == "-") }) else {
                throw MeteoError(code: .invalidConfiguration, "invalid Kafka property name '\(name.prefix(60))' (from \(origin)): librdkafka names look like sasl.mechanism or linger.ms")
            }
            out[name] = value
        }
        if let v = layers.file[flag.fileKey] {
            let origin = ConfigOrigin.file(layers.filePath ?? "config file", key: flag.fileKey)
            switch v {
            case .object(let o):
                for (name, value) in o {
                    switch value {
                    case .string(let s): try set(name, s, origin)
                    case .number(let d): try set(name, d == d.rounded() ? String(Int64(d)) : String(d), origin)
                    case .bool(let b): try set(name, b ? "true" : "false", origin)
                    default: throw MeteoError(code: .invalidConfiguration, "Kafka property \(name) (from \(origin)) must be a string, number or boolean")
                    }
                }
            case .array(let a):
                for e in a {
                    guard case .string(let s) = e else { throw MeteoError(code: .invalidConfiguration, "\(origin) must list \"name=value\" strings") }
                    try add(s, origin)
                }
            case .string(let s): try add(s, origin)
            default: throw MeteoError(code: .invalidConfiguration, "\(origin) must be an object of librdkafka properties, such as {\"sasl.mechanism\": \"PLAIN\"}")
            }
        }
        let prefix = "METEO_KAFKA_"
        for name in layers.environment.keys.sorted() where name.hasPrefix(prefix) && name != flag.environmentVariable {
            let property = name.dropFirst(prefix.count).lowercased().replacingOccurrences(of: "_", with: ".")
            try set(property, layers.environment[name]!, .environment(name))
        }
        if let v = layers.environment[flag.environmentVariable] {
            for item in v.split(whereSeparator: { $0 == "\n" || $0 == ";" }) { try add(String(item), .environment(flag.environmentVariable)) }
        }
        if let v = layers.flags[flag.name] {
            for item in v.split(separator: "\n") { try add(String(item), .flag(flag.flag)) }
        }
        return out
    }

    /// The places this configuration selects: its regions, boxes and named places of the
    /// catalogue, then its custom places, each id once. With no selection at all, the ten
    /// built-in regions (1,630 places).
    public func selectedPlaces(in catalogue: PlaceCatalogue) throws(MeteoError) -> [Place] {
        var out: [Place] = []
        var seen = Set<String>()
        let noSelection = regions.isEmpty && boxes.isEmpty && places.isEmpty && customPlaces.isEmpty
        let regionList = noSelection ? Region.builtin : regions.compactMap(Region.named)
        for p in catalogue.places(in: regionList) where seen.insert(p.id).inserted { out.append(p) }
        for (i, box) in boxes.enumerated() {
            for p in catalogue.places(in: box, region: "bbox\(i + 1)") where seen.insert(p.id).inserted { out.append(p) }
        }
        for name in places {
            let p = try catalogue.resolve(name)
            if seen.insert(p.id).inserted { out.append(p) }
        }
        return out + selectedCustomPlaces(after: out)
    }
}

/// A secret such as an API key: it prints as `<redacted>` wherever it is logged or interpolated.
public struct Secret: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible {
    public let value: String
    public init(_ value: String) { self.value = value }
    public var description: String { "<redacted>" }
    public var debugDescription: String { "<redacted>" }
}

/// A TCP address to listen on: a host name or IP address, and a port.
public struct ListenAddress: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// `PORT` (on 127.0.0.1), `HOST:PORT`, or `[IPv6]:PORT`; nil when malformed.
    public init?(parsing text: String) {
        let t = text.trimmingCharacters(in: .whitespaces)
        var host = "127.0.0.1"
        var portText = Substring(t)
        if t.hasPrefix("["), let close = t.firstIndex(of: "]") {
            host = String(t[t.index(after: t.startIndex)..<close])
            let rest = t[t.index(after: close)...]
            guard rest.hasPrefix(":") else { return nil }
            portText = rest.dropFirst()
        } else if let colon = t.lastIndex(of: ":") {
            host = String(t[..<colon])
            portText = t[t.index(after: colon)...]
            guard !host.contains(":") else { return nil }  // an IPv6 address needs its brackets
        }
        guard !host.isEmpty, !host.contains(where: { $0.isWhitespace || $0 == "/" }),
              let port = Int(portText), (1...65_535).contains(port) else { return nil }
        self.host = host
        self.port = port
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
