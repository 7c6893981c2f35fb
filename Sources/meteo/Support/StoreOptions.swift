import ArgumentParser

/// Options that choose and reach the store, for the commands that use it.
struct StoreOptions: ParsableArguments {
    @Option(help: "sqlite (a file in the data dir) or mongodb (METEO_STORE).")
    var store: String?

    @Option(name: .customLong("mongo-uri"),
            help: ArgumentHelp("MongoDB connection string for --store mongodb (METEO_MONGO_URI); the password is never printed.",
                               valueName: "mongodb://user:pass@host:port/?authSource=admin"))
    var mongoURI: String?

    @Option(name: .customLong("mongo-database"), help: "Database of Meteo's MongoDB collections (METEO_MONGO_DATABASE); default meteo.")
    var mongoDatabase: String?

    @Option(name: .customLong("write-concern"), help: "Write concern of MongoDB writes: majority or a number of nodes (METEO_WRITE_CONCERN); default majority.")
    var writeConcern: String?

    /// The flags given, by configuration key.
    var flags: [String: String?] {
        ["store": store, "mongo-uri": mongoURI, "mongo-database": mongoDatabase, "write-concern": writeConcern]
    }
}
