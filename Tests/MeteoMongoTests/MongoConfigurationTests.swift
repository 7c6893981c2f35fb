import MeteoCore
import MeteoMongo
import Testing

@Suite("MongoDB configuration")
struct MongoConfigurationTests {
    @Test func passwordsNeverShow() {
        let cases: [(String, String)] = [
            ("mongodb://root:example@127.0.0.1:27117/?authSource=admin", "mongodb://root:***@127.0.0.1:27117/?authSource=admin"),
            ("mongodb://u:p%40ss@h1:1,h2:2/meteo?tls=true", "mongodb://u:***@h1:1,h2:2/meteo?tls=true"),
            ("mongodb://u:careless@pass@host/", "mongodb://u:***@host/"),
            ("mongodb+srv://u:s3cret@cluster0.example.net/", "mongodb+srv://u:***@cluster0.example.net/"),
            ("mongodb://host:27017/?tlsCertificateKeyFilePassword=hunter2&appname=x", "mongodb://host:27017/?tlsCertificateKeyFilePassword=***&appname=x"),
            ("mongodb://127.0.0.1:27017", "mongodb://127.0.0.1:27017"),
            ("mongodb://onlyuser@127.0.0.1", "mongodb://onlyuser@127.0.0.1"),
        ]
        for (uri, expected) in cases {
            let c = MongoConfiguration(uri: uri)
            #expect(c.redactedURI == expected)
            #expect(!c.description.contains("example") || !uri.contains(":example@"))
        }
        let secret = MongoConfiguration(uri: "mongodb://root:TopSecret1@db:27017/")
        #expect(!secret.description.contains("TopSecret1"))
        #expect(!"\(secret)".contains("TopSecret1"))
    }

    @Test func invalidSettingsSayWhatToFix() {
        #expect(throws: MeteoError.self) { try MongoConfiguration(uri: "http://db:27017").validate() }
        #expect(throws: MeteoError.self) { try MongoConfiguration(uri: "mongodb://db", database: "a.b").validate() }
        #expect(throws: MeteoError.self) { try MongoConfiguration(uri: "mongodb://db", writeConcern: "most").validate() }
        do {
            try MongoConfiguration(uri: "postgres://root:TopSecret1@db").validate()
            Issue.record("a non-MongoDB URI was accepted")
        } catch {
            #expect("\(error)".contains("mongodb://"))
            #expect(!"\(error)".contains("TopSecret1"))
        }
        #expect((try? MongoConfiguration(uri: "mongodb://db", writeConcern: "1").validate()) != nil)
    }
}

@Suite("MongoDB write concern")
struct MongoWriteConcernTests {
    /// An unacknowledged write cannot be the condition for an offset commit.
    @Test func unacknowledgedWritesAreRefusedWithWhatToFix() {
        for (configuration, fix) in [
            (MongoConfiguration(uri: "mongodb://db", writeConcern: "0"), "--write-concern majority"),
            (MongoConfiguration(uri: "mongodb://root:TopSecret1@db/?authSource=admin&w=0"), "remove w=0"),
            (MongoConfiguration(uri: "mongodb://db/?W=0&appname=x"), "remove w=0"),
        ] {
            do {
                try configuration.validate()
                Issue.record("w=0 was accepted: \(configuration)")
            } catch {
                #expect(error.code == .invalidConfiguration)
                #expect(error.message.contains(fix), "\(error.message)")
                #expect(!error.message.contains("TopSecret1"))
                #expect(!error.message.contains("\n"))
            }
        }
        for accepted in [MongoConfiguration(uri: "mongodb://db/?w=1"), MongoConfiguration(uri: "mongodb://db/?w=majority&wtimeoutMS=0"),
                         MongoConfiguration(uri: "mongodb://db", writeConcern: "1")] {
            #expect((try? accepted.validate()) != nil, "\(accepted)")
        }
    }

    @Test func theConfigurationRefusesWriteConcernZero() {
        #expect(throws: MeteoError.self) { try MeteoConfiguration.resolve(ConfigLayers(flags: ["write-concern": "0"])) }
        #expect(throws: MeteoError.self) { try MeteoConfiguration.resolve(ConfigLayers(environment: ["METEO_WRITE_CONCERN": " 0"])) }
    }
}
