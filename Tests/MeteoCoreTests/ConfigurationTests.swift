import Foundation
import MeteoCore
import Testing

@Suite("Layered configuration")
struct ConfigurationTests {
    @Test func defaultsMatchTheOriginalSystem() throws {
        let c = try MeteoConfiguration.resolve(ConfigLayers())
        #expect(c.interval == .seconds(600))
        #expect(c.bus == .embedded)
        #expect(c.store == .sqlite)
        #expect(c.dataDir == "./meteo-data")
        #expect(c.source == .openMeteo)
        let catalogue = try PlaceCatalogue.bundled()
        #expect(try c.selectedPlaces(in: catalogue).count == 1630)
    }

    @Test func flagsBeatEnvironmentBeatFile() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("meteo-config-\(UUID()).json")
        try Data(#"{"interval": 60, "topic": "from-file", "group": "file-group", "places": ["Strasbourg", "Paris,FR"]}"#.utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let layers = try ConfigLayers.load(flags: ["config": file.path, "interval": "10s"],
                                           environment: ["METEO_INTERVAL": "30s", "METEO_TOPIC": "from-env"])
        let c = try MeteoConfiguration.resolve(layers)
        #expect(c.interval == .seconds(10))
        #expect(c.topic == "from-env")
        #expect(c.group == "file-group")
        #expect(c.places == ["Strasbourg", "Paris,FR"])
        let places = try c.selectedPlaces(in: try PlaceCatalogue.bundled())
        #expect(places.map(\.name) == ["Strasbourg", "Paris"])
    }

    @Test func sparkEngineAndAddressComeFromFlagsMeteoSparkOrSparkRemote() throws {
        let spark = try MeteoConfiguration.resolve(try ConfigLayers.load(flags: ["engine": "spark", "lake": "/data/lake"],
                                                                          environment: ["SPARK_REMOTE": "sc://10.0.0.5:15002/;token=T0K"]))
        #expect(spark.engine == .spark && spark.lake == "/data/lake")
        #expect(spark.sparkRemote?.value == "sc://10.0.0.5:15002/;token=T0K")
        let mine = try MeteoConfiguration.resolve(try ConfigLayers.load(flags: [:], environment: [
            "METEO_SPARK": "sc://127.0.0.1:15010", "SPARK_REMOTE": "sc://10.0.0.5:15002", "METEO_ENGINE": "embedded"]))
        #expect(mine.sparkRemote?.value == "sc://127.0.0.1:15010", "Meteo's own setting wins over SPARK_REMOTE")
        #expect(mine.engine == .inProcess, "embedded is another name of the in-process engine")
        #expect(try MeteoConfiguration.resolve(ConfigLayers()).sparkRemote == nil)
        do {
            _ = try MeteoConfiguration.resolve(try ConfigLayers.load(flags: ["spark": "http://h:1/?token=SECRET"], environment: [:]))
            Issue.record("an http:// address was accepted")
        } catch {
            #expect(error.message.contains("sc://") && !error.message.contains("SECRET"))
        }
    }

    @Test func kafkaPropertiesLayerPerPropertyWithLibrdkafkaNames() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("meteo-config-\(UUID()).json")
        try Data(#"{"kafka_property": {"linger.ms": 20, "sasl.mechanism": "PLAIN", "acks": "all"}, "brokers": "k1:9092, k2:9093"}"#.utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let layers = try ConfigLayers.load(
            flags: ["config": file.path, "kafka-property": "acks=1\nssl.ca.location=/etc/ca.pem"],
            environment: ["METEO_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512", "METEO_KAFKA_SASL_PASSWORD": "p=w;d", "METEO_PARTITIONS": "12"])
        let c = try MeteoConfiguration.resolve(layers)
        #expect(c.kafkaProperties == [
            "linger.ms": "20", "sasl.mechanism": "SCRAM-SHA-512", "acks": "1",
            "ssl.ca.location": "/etc/ca.pem", "sasl.password": "p=w;d",
        ])
        #expect(c.brokers == "k1:9092,k2:9093")
        #expect(c.partitions == 12)
        #expect(c.effectiveDeadLetterTopic == "weather.observations.dlq")
    }

    @Test func badKafkaSettingsSayWhatToFix() {
        let cases: [(ConfigLayers, String)] = [
            (ConfigLayers(flags: ["kafka-property": "linger.ms"]), "name=value"),
            (ConfigLayers(flags: ["kafka-property": "bad name=1"]), "librdkafka names"),
            (ConfigLayers(flags: ["brokers": "localhost"]), "host:port"),
            (ConfigLayers(flags: ["brokers": "h:99999"]), "host:port"),
            (ConfigLayers(environment: ["METEO_REPLICATION_FACTOR": "0"]), "-1 for the broker's default"),
            (ConfigLayers(flags: ["partitions": "0"]), "--partitions"),
        ]
        for (layers, expected) in cases {
            #expect(throws: MeteoError.self) { _ = try MeteoConfiguration.resolve(layers) }
            do { _ = try MeteoConfiguration.resolve(layers) } catch {
                #expect(error.message.contains(expected), "\(error.message)")
            }
        }
    }

    @Test func metricsListenTakesAPortOrHostAndPort() throws {
        #expect(try MeteoConfiguration.resolve(ConfigLayers()).metricsListen == nil)
        let cases: [(String, ListenAddress)] = [
            ("9465", ListenAddress(host: "127.0.0.1", port: 9465)),
            ("0.0.0.0:9465", ListenAddress(host: "0.0.0.0", port: 9465)),
            ("metrics.local:80", ListenAddress(host: "metrics.local", port: 80)),
            ("[::1]:9465", ListenAddress(host: "::1", port: 9465)),
        ]
        for (text, address) in cases {
            #expect(try MeteoConfiguration.resolve(ConfigLayers(environment: ["METEO_METRICS_LISTEN": text])).metricsListen == address)
        }
        #expect(ListenAddress(host: "::1", port: 9465).description == "[::1]:9465")
        for bad in ["", "0", "65536", "host:", ":9465", "::1:9465", "a b:1", "9465x"] {
            do {
                _ = try MeteoConfiguration.resolve(ConfigLayers(flags: ["metrics-listen": bad]))
                Issue.record("accepted --metrics-listen '\(bad)'")
            } catch {
                #expect(error.message.contains("--metrics-listen") && error.message.contains("HOST:PORT"), "\(error.message)")
            }
        }
    }

    @Test func badValuesSayWhatAndWhere() throws {
        do {
            _ = try MeteoConfiguration.resolve(ConfigLayers(environment: ["METEO_INTERVAL": "soon"]))
            Issue.record("accepted interval 'soon'")
        } catch {
            #expect(error.message.contains("--interval"))
            #expect(error.message.contains("METEO_INTERVAL"))
            #expect(error.message.contains("10m"))
        }
        #expect(throws: MeteoError.self) { try MeteoConfiguration.resolve(ConfigLayers(flags: ["bus": "rabbit"])) }
        #expect(throws: MeteoError.self) { try MeteoConfiguration.resolve(ConfigLayers(flags: ["regions": "Atlantis"])) }
        #expect(throws: MeteoError.self) { try MeteoConfiguration.resolve(ConfigLayers(flags: ["open-meteo-url": "ftp://x"])) }
        #expect(throws: MeteoError.self) { try MeteoConfiguration.resolve(ConfigLayers(flags: ["batch-size": "0"])) }
    }

    @Test func unknownFileKeysAndBadJSONAreRefused() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("meteo-config-\(UUID()).json")
        defer { try? FileManager.default.removeItem(at: file) }
        try Data(#"{"intervall": 60}"#.utf8).write(to: file)
        #expect(throws: MeteoError.self) { try ConfigLayers.load(flags: ["config": file.path], environment: [:]) }
        try Data(#"{"interval": "#.utf8).write(to: file)
        #expect(throws: MeteoError.self) { try ConfigLayers.load(flags: ["config": file.path], environment: [:]) }
        #expect(throws: MeteoError.self) { try ConfigLayers.load(flags: ["config": "/nonexistent/meteo.json"], environment: [:]) }
    }

    /// A whole number beyond Int64 in the file (found by review and by the config fuzz target)
    /// trapped in `Int64(d)`: it is now a bad value refused with the key and file, as any other.
    @Test func hugeNumbersInTheFileAreRefusedNotTrapped() throws {
        for text in [#"{"interval": 1e300}"#, #"{"interval": -1e300}"#, #"{"batch_size": 9.3e18}"#, #"{"batch_size": 1e19}"#] {
            let file = try ConfigLayers.parseFile(Array(text.utf8), path: "meteo.json")
            let layers = ConfigLayers(file: file, filePath: "meteo.json")
            for key in MeteoConfiguration.keys { _ = layers.value(key) }
            do {
                _ = try MeteoConfiguration.resolve(layers)
                Issue.record("accepted \(text)")
            } catch {
                #expect(error.message.contains("meteo.json"), "\(text): \(error.message)")
            }
        }
        let layers = ConfigLayers(file: try ConfigLayers.parseFile(Array(#"{"interval": 600.0}"#.utf8), path: "meteo.json"))
        #expect(layers.value(ConfigKey("interval", ""))?.0 == "600")
    }

    /// Every config file of the config fuzz target's committed corpus, seeds and reproducers
    /// (Fuzz/Config, scripts/fuzz --target config): resolved, or refused with a reason.
    @Test func everyFuzzCorpusConfigIsResolvedOrRefusedWithAReason() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        var resolved = 0
        var refused = 0
        for folder in ["Seeds", "Corpus", "Crashes"] {
            let dir = root.appendingPathComponent("Fuzz/Config/\(folder)")
            let names = ((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []).sorted()
            for name in names where !name.hasPrefix(".") && !name.hasSuffix(".md") {
                let bytes = Array(try Data(contentsOf: dir.appendingPathComponent(name)))
                let outcome = Result { () throws(MeteoError) in
                    var file = try ConfigLayers.parseFile(bytes, path: name)
                    // As the fuzz target does: no file the input names is read.
                    file["config"] = nil
                    file["places_file"] = nil
                    return try MeteoConfiguration.resolve(ConfigLayers(file: file, filePath: name))
                }
                switch outcome {
                case .success: resolved += 1
                case .failure(let error):
                    #expect(!error.message.isEmpty, "\(folder)/\(name)")
                    refused += 1
                }
            }
        }
        #expect(resolved > 0 && refused > 0, "Fuzz/Config holds \(resolved) valid and \(refused) refused configs")
    }

    @Test func theAPIKeyIsRedacted() throws {
        let c = try MeteoConfiguration.resolve(ConfigLayers(environment: ["METEO_OWM_API_KEY": "sekrit123"]))
        #expect(c.openWeatherMapKey?.value == "sekrit123")
        #expect(!"\(c)".contains("sekrit123"))
        #expect(!String(reflecting: c).contains("sekrit123"))
    }

    @Test func theMongoURIIsASecretAndABadOneIsNotEchoed() throws {
        let c = try MeteoConfiguration.resolve(ConfigLayers(
            flags: ["store": "mongodb", "mongo-database": "weather", "write-concern": "1"],
            environment: ["METEO_MONGO_URI": "mongodb://root:Sup3rSecret@db:27017/?authSource=admin"]))
        #expect(c.store == .mongodb)
        #expect(c.mongoURI?.value == "mongodb://root:Sup3rSecret@db:27017/?authSource=admin")
        #expect(c.mongoDatabase == "weather")
        #expect(c.writeConcern == "1")
        #expect(!"\(c)".contains("Sup3rSecret"))
        do {
            _ = try MeteoConfiguration.resolve(ConfigLayers(flags: ["mongo-uri": "root:Sup3rSecret@db:27017"]))
            Issue.record("a URI without mongodb:// was accepted")
        } catch {
            #expect("\(error)".contains("mongodb://"))
            #expect(!"\(error)".contains("Sup3rSecret"))
        }
        #expect(throws: MeteoError.self) { try MeteoConfiguration.resolve(ConfigLayers(flags: ["write-concern": "most"])) }
    }

    @Test func durationsParse() {
        #expect(parseDuration("600") == .seconds(600))
        #expect(parseDuration("90s") == .seconds(90))
        #expect(parseDuration("10m") == .seconds(600))
        #expect(parseDuration("1h") == .seconds(3600))
        #expect(parseDuration("7d") == .seconds(604_800))
        #expect(parseDuration("250ms") == .milliseconds(250))
        #expect(parseDuration("-5") == nil)
        #expect(parseDuration("soon") == nil)
    }
}
