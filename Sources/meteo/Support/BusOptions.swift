import ArgumentParser

/// Options that choose and reach the bus, for the commands that use it.
struct BusOptions: ParsableArguments {
    @Option(help: "embedded (a SQLite log in the data dir) or kafka (METEO_BUS).")
    var bus: String?

    @Option(help: ArgumentHelp("Kafka bootstrap servers (METEO_BROKERS); default 127.0.0.1:9092.", valueName: "host:port,..."))
    var brokers: String?

    @Option(name: .customLong("kafka-property"),
            help: ArgumentHelp("A librdkafka property, by its librdkafka name; repeat for more. Also METEO_KAFKA_<NAME> (METEO_KAFKA_SASL_PASSWORD → sasl.password).",
                               valueName: "name=value"))
    var kafkaProperties: [String] = []

    @Option(help: "Partitions of the Kafka topics Meteo creates (METEO_PARTITIONS); default 6.")
    var partitions: Int?

    @Option(name: .customLong("replication-factor"), help: "Replication factor of the Kafka topics Meteo creates; -1 for the broker's default (METEO_REPLICATION_FACTOR); default 1.")
    var replicationFactor: Int?

    /// The flags given, by configuration key.
    var flags: [String: String?] {
        [
            "bus": bus, "brokers": brokers,
            "kafka-property": kafkaProperties.isEmpty ? nil : kafkaProperties.joined(separator: "\n"),
            "partitions": partitions.map(String.init), "replication-factor": replicationFactor.map(String.init),
        ]
    }
}
