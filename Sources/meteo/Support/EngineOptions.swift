import ArgumentParser

/// Options that choose and reach the analytics engine.
struct EngineOptions: ParsableArguments {
    @Option(help: ArgumentHelp("""
        Where the analyses run (METEO_ENGINE): auto (on the MongoDB server with --store mongodb, in this process otherwise), \
        in-process (also: embedded), mongodb, or spark (Spark SQL over the lake, through Spark Connect; needs --lake and a build with the Spark trait).
        """, valueName: "engine"))
    var engine: String?

    @Option(help: ArgumentHelp("Spark Connect address for --engine spark (METEO_SPARK, or Spark's own SPARK_REMOTE); a token is never printed. Default sc://127.0.0.1:15002.",
                               valueName: "sc://host:port"))
    var spark: String?

    @Option(help: ArgumentHelp("The data lake folder that meteo sink --lake writes, read by --engine spark (METEO_LAKE); Spark must be able to read it.",
                               valueName: "dir"))
    var lake: String?

    @Option(name: .customLong("lake-format"), help: ArgumentHelp("The lake's files, as meteo sink --lake-format wrote them (METEO_LAKE_FORMAT): parquet (the default) or ndjson.",
                                                                 valueName: "format"))
    var lakeFormat: String?

    /// The flags given, by configuration key.
    var flags: [String: String?] {
        ["engine": engine, "spark": spark, "lake": lake, "lake-format": lakeFormat]
    }
}
