import Foundation
import Logging
import MeteoAnalytics
import MeteoCore
import MeteoEmbedded
import MeteoPipeline
#if Kafka
import MeteoKafka
#endif
#if MongoDB
import MeteoMongo
#endif
import MeteoSpark
import ServiceLifecycle

/// The composition root's view of the configured backends. Only this file knows which
/// adapter stands behind each seam; the commands and the pipeline see the protocols.
struct Backends {
    let configuration: MeteoConfiguration
    let logger: Logger

    var dataDirURL: URL { URL(fileURLWithPath: configuration.dataDir, isDirectory: true) }

    func requireEmbeddedBus() throws {
        guard configuration.bus == .embedded else {
            throw MeteoError(code: .invalidConfiguration, "this command uses the embedded log only; drop --bus kafka")
        }
    }

    func requireSQLiteStore() throws {
        guard configuration.store == .sqlite else {
            throw MeteoError(code: .invalidConfiguration, "this command uses the embedded SQLite store only; drop --store mongodb")
        }
    }

    static var kafkaAvailable: Bool {
        #if Kafka
        true
        #else
        false
        #endif
    }

    func requireKafkaBuild() throws {
        guard Self.kafkaAvailable else {
            throw MeteoError(code: .invalidConfiguration,
                             "--bus kafka needs a build with the Kafka trait: install librdkafka (apt install librdkafka-dev, or brew install librdkafka), then swift build --traits Kafka; or use --bus embedded")
        }
    }

    func openLog() throws -> EmbeddedLog {
        try requireEmbeddedBus()
        return try EmbeddedLog.open(dataDir: dataDirURL, retention: configuration.retention, logger: logger)
    }

    /// The embedded SQLite store, whatever `--store` says (the demo's).
    func openSQLiteStore() throws -> SQLiteStore {
        try SQLiteStore.open(dataDir: dataDirURL, logger: logger)
    }

    /// The configured store: SQLite in the data dir, or MongoDB (which is checked to answer).
    /// The one place resolver of the commands and the server: the configuration's custom
    /// places, the bundled catalogue and the places of `store`.
    func placeResolver(store: any ObservationStore) throws -> PlaceResolver {
        PlaceResolver(custom: configuration.customPlaces, catalogue: try PlaceCatalogue.bundled(), store: store)
    }

    /// Runs `body` with the configured store, and closes the store before returning or
    /// rethrowing: nothing of it is left running in a task while the process exits.
    func withStore<T>(_ body: (any MeteoStore) async throws -> T) async throws -> T {
        let store = try await openStore()
        let result: T
        do {
            result = try await body(store)
        } catch {
            try? await store.close()
            throw error
        }
        try await store.close()
        return result
    }

    func openStore() async throws -> any MeteoStore {
        switch configuration.store {
        case .sqlite:
            return try openSQLiteStore()
        case .mongodb:
            #if MongoDB
            guard let uri = configuration.mongoURI else {
                throw MeteoError(code: .invalidConfiguration,
                                 "--store mongodb needs --mongo-uri (or METEO_MONGO_URI), such as mongodb://root:example@127.0.0.1:27117/?authSource=admin")
            }
            return try await MongoStore.open(configuration: mongoConfiguration(uri), logger: logger)
            #else
            throw MeteoError(code: .invalidConfiguration,
                             "--store mongodb needs a build with the MongoDB trait: install libmongoc (apt install libmongoc-dev, or brew install mongo-c-driver), then swift build --traits MongoDB; or use --store sqlite")
            #endif
        }
    }

    #if MongoDB
    func mongoConfiguration(_ uri: Secret) -> MongoConfiguration {
        MongoConfiguration(uri: uri.value, database: configuration.mongoDatabase, writeConcern: configuration.writeConcern)
    }
    #endif

    /// Where the store lives, for progress lines (never with a password).
    var storeDescription: String {
        switch configuration.store {
        case .sqlite: return "SQLite in \(configuration.dataDir)"
        case .mongodb:
            #if MongoDB
            if let uri = configuration.mongoURI { return "MongoDB \(MongoConfiguration.redact(uri.value)), database \(configuration.mongoDatabase)" }
            #endif
            return "MongoDB"
        }
    }

    /// Where the bus lives, for progress lines.
    var busDescription: String {
        switch configuration.bus {
        case .embedded: "embedded log in \(configuration.dataDir)"
        case .kafka: "Kafka at \(configuration.brokers)"
        }
    }

    /// A publisher on the configured bus, with the topic created if it is missing (Kafka).
    func makePublisher(topic: String) async throws -> any EventPublisher {
        switch configuration.bus {
        case .embedded:
            return try openLog().publisher()
        case .kafka:
            try requireKafkaBuild()
            #if Kafka
            return try await ReplacingKafkaProducer.make(configuration: kafkaConfiguration, topics: [topic], logger: logger)
            #else
            fatalError("unreachable")
            #endif
        }
    }

    /// What the sink needs from the bus: a group consumer, the writer (with the dead-letter
    /// topic in front of the store on Kafka), and what to close after the sink stops.
    struct SinkParts {
        var consumer: any EventConsumer
        var writer: any SinkWriter
        var close: @Sendable () async throws -> Void
    }

    func makeSinkParts(store: any MeteoStore, group: String, topic: String,
                       onPartitions: @escaping @Sendable (_ assigned: Bool, _ partitions: [String]) -> Void) async throws -> SinkParts {
        switch configuration.bus {
        case .embedded:
            let log = try openLog()
            return SinkParts(consumer: try log.consumer(group: group, topic: topic), writer: store, close: { try await log.close() })
        case .kafka:
            try requireKafkaBuild()
            #if Kafka
            let dlq = configuration.effectiveDeadLetterTopic
            let producer = try await ReplacingKafkaProducer.make(configuration: kafkaConfiguration, topics: [topic, dlq], logger: logger)
            let consumer = try KafkaConsumer.make(configuration: kafkaConfiguration, group: group, topics: [topic], logger: logger) { change in
                switch change {
                case .assigned(let p): onPartitions(true, p.map(\.description))
                case .revoked(let p): onPartitions(false, p.map(\.description))
                }
            }
            return SinkParts(consumer: consumer, writer: DeadLetterTopicWriter(writing: store, deadLettersTo: dlq, on: producer),
                             close: { try await producer.close() })
            #else
            fatalError("unreachable")
            #endif
        }
    }

    #if Kafka
    var kafkaConfiguration: KafkaConfiguration {
        KafkaConfiguration(bootstrapServers: configuration.brokers, properties: configuration.kafkaProperties,
                           partitions: configuration.partitions, replicationFactor: configuration.replicationFactor)
    }
    #endif

    /// One line on the bus's health for `meteo doctor`.
    func busHealth(group: String, topic: String) async throws -> String {
        switch configuration.bus {
        case .embedded:
            let log = try openLog()
            let stats = try await log.stats(group: group, topic: topic)
            try await log.close()
            return "embedded log, topic \(topic): \(formatCount(stats.messages)) messages, group \(group) lag \(formatCount(stats.lag))"
        case .kafka:
            try requireKafkaBuild()
            #if Kafka
            var quick = kafkaConfiguration
            quick.operationTimeout = .seconds(10)
            let info = try await KafkaInspector.cluster(configuration: quick, topic: topic, logger: logger)
            let brokers = info.brokers.map { "\($0.host):\($0.port)" }.joined(separator: ",")
            guard let t = info.topics[topic], t.error == nil, t.partitions > 0 else {
                return "Kafka at \(configuration.brokers): \(info.brokers.count) broker(s) (\(brokers)); topic \(topic) not created yet (meteo ingest creates it)"
            }
            let lag = try await KafkaInspector.lag(configuration: quick, group: group, topic: topic, logger: logger)
            return "Kafka at \(configuration.brokers): \(info.brokers.count) broker(s) (\(brokers)); topic \(topic): \(t.partitions) partitions, \(formatCount(Int(lag.events))) events; group \(group) lag \(formatCount(Int(lag.lag)))"
            #else
            fatalError("unreachable")
            #endif
        }
    }

    static var sparkAvailable: Bool {
        #if Spark
        true
        #else
        false
        #endif
    }

    /// The analytics engine and, for Spark, the client connection it needs running.
    struct AnalyticsBackend {
        var engine: any AnalyticsEngine
        /// A connection to run beside the engine (a `Service`), and how to end it.
        var connection: (any Service)?
        var close: @Sendable () async -> Void = {}
    }

    /// The analytics engine: on the MongoDB server when the store is MongoDB (unless
    /// `--engine in-process`), on Spark with `--engine spark`, in this process otherwise.
    func analyticsBackend(store: any ObservationStore) throws -> AnalyticsBackend {
        switch configuration.engine {
        case .inProcess:
            return AnalyticsBackend(engine: InProcessEngine(store: store, logger: logger))
        case .spark:
            #if Spark
            let (client, lake) = try sparkClient()
            return AnalyticsBackend(engine: SparkEngine(session: client, lake: lake, format: configuration.lakeFormat, logger: logger), connection: client,
                                    close: { await client.close() })
            #else
            _ = try sparkClientSettings()
            fatalError("unreachable")
            #endif
        case .auto, .mongodb:
            #if MongoDB
            if let mongo = store as? MongoStore { return AnalyticsBackend(engine: MongoAnalyticsEngine(store: mongo, logger: logger)) }
            #endif
            guard configuration.engine == .auto else {
                throw MeteoError(code: .invalidConfiguration, "--engine mongodb runs the analyses on the MongoDB store: add --store mongodb --mongo-uri URI, or use --engine in-process")
            }
            return AnalyticsBackend(engine: InProcessEngine(store: store, logger: logger))
        }
    }

    /// One line on Spark for `meteo doctor`: the server's version (an `AnalyzePlan` call) and
    /// whether the lake folder is there.
    func sparkHealth() async throws -> String {
        #if Spark
        let (client, lake) = try sparkClient()
        let version = try await withRunning(client, close: { await client.close() }) { try await client.sparkVersion() }
        let present = lake.contains("://") || FileManager.default.fileExists(atPath: lake)
        return "Spark \(version) at \(client.remote), lake \(lake)\(present ? "" : " (missing: write it with meteo sink --lake DIR)")"
        #else
        _ = try sparkClientSettings()
        fatalError("unreachable")
        #endif
    }

    /// The Spark address and the lake, or an error that says what is missing.
    func sparkClientSettings() throws -> (SparkRemote, String) {
        guard Self.sparkAvailable else {
            throw MeteoError(code: .invalidConfiguration,
                             "--engine spark needs a build with the Spark trait: swift build --traits Spark (it builds grpc-swift-2, a few minutes the first time); or use --engine in-process")
        }
        guard let lake = configuration.lake else {
            throw MeteoError(code: .invalidConfiguration,
                             "--engine spark reads the data lake: give --lake DIR (or METEO_LAKE), the folder that meteo sink --lake DIR writes")
        }
        let remote = try configuration.sparkRemote.map { text throws(MeteoError) in try SparkRemote(parsing: text.value) }
            ?? SparkRemote(host: "127.0.0.1")
        return (remote, lake)
    }

    #if Spark
    func sparkClient() throws -> (SparkConnectClient, String) {
        let (remote, lake) = try sparkClientSettings()
        return (try SparkConnectClient(remote: remote, logger: logger), lake)
    }
    #endif

    /// Runs `body` with the configured engine, its connection (Spark) running beside it and
    /// closed after.
    func withAnalyticsEngine<T: Sendable>(store: any ObservationStore, _ body: (any AnalyticsEngine) async throws -> T) async throws -> T {
        try await withAnalyticsEngine(try analyticsBackend(store: store), body)
    }

    func withAnalyticsEngine<T: Sendable>(_ backend: AnalyticsBackend, _ body: (any AnalyticsEngine) async throws -> T) async throws -> T {
        guard let connection = backend.connection else { return try await body(backend.engine) }
        return try await withRunning(connection, close: backend.close) { try await body(backend.engine) }
    }

    /// Runs `body` with `connection` running beside it, then `close` (which ends the
    /// connection), also after an error.
    func withRunning<T: Sendable>(_ connection: any Service, close: @Sendable () async -> Void, _ body: () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await connection.run() }
            do {
                let result = try await body()
                await close()
                try await group.waitForAll()
                return result
            } catch {
                await close()
                group.cancelAll()
                throw error
            }
        }
    }
}
