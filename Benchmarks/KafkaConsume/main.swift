// Meteo's Kafka consumer on its own: how fast KafkaConsumer reads a topic as a group member,
// without and with decoding the events, against kcat -C on the same broker (scripts/bench
// kafka runs both). Not a test: it reports, it does not assert.
//
//   meteo-kafka-bench --brokers 127.0.0.1:19092 --topic T --events N [--repeat 5]
//
// Prints one JSON object: the fastest of the runs, in seconds, from making the consumer to the
// N-th event (group join included, as kcat's time includes its own start and join).
import Foundation
import Logging
import MeteoCore
#if Kafka
import MeteoKafka
#endif

func option(_ name: String) -> String? {
    let args = CommandLine.arguments
    guard let i = args.firstIndex(of: name), i + 1 < args.count else { return nil }
    return args[i + 1]
}

#if Kafka
guard let brokers = option("--brokers"), let topic = option("--topic"), let events = option("--events").flatMap(Int.init) else {
    FileHandle.standardError.write(Data("usage: meteo-kafka-bench --brokers H:P --topic T --events N [--repeat 5]\n".utf8))
    exit(2)
}
let repeats = option("--repeat").flatMap(Int.init) ?? 5
let logger: Logger = {
    var l = Logger(label: "kafka-bench")
    l.logLevel = .error
    return l
}()
// librdkafka properties from METEO_KAFKA_* as for meteo itself (receive.message.max.bytes, …).
let extra = (try? MeteoConfiguration.resolve(ConfigLayers(environment: ProcessInfo.processInfo.environment)).kafkaProperties) ?? [:]
let configuration = KafkaConfiguration(bootstrapServers: brokers, properties: ["session.timeout.ms": "6000"].merging(extra) { _, e in e })
let clock = ContinuousClock()

/// Reads the topic from the start in a fresh group until `events` came; returns the time from
/// making the consumer, the time from its first event (the group join excluded) and the number
/// of observations decoded (0 when not decoding).
func run(decode: Bool) async throws -> (Duration, Duration, Int) {
    let group = "kafka-bench-\(UUID().uuidString.prefix(8))"
    let start = clock.now
    let consumer = try KafkaConsumer.make(configuration: configuration, group: group, topics: [topic], logger: logger)
    var seen = 0
    var decoded = 0
    var first: ContinuousClock.Instant?
    while seen < events {
        let batch = try await consumer.poll(maxMessages: 10_000, timeout: .milliseconds(100))
        if first == nil && !batch.isEmpty { first = clock.now }
        seen += batch.count
        if decode {
            for m in batch {
                if let results = try? PayloadFormat.event.decode(m.value) {
                    decoded += results.filter { if case .success = $0 { true } else { false } }.count
                }
            }
        }
        if clock.now - start > .seconds(300) {
            throw MeteoError(code: .timeout, "read only \(seen) of \(events) events in 300 s")
        }
    }
    let end = clock.now
    try await consumer.close()
    return (end - start, end - (first ?? start), decoded)
}

var consume: [Double] = []
var consumeSteady: [Double] = []
var consumeDecode: [Double] = []
var consumeDecodeSteady: [Double] = []
var decodedCount = 0
for _ in 0..<repeats {
    let (c, cs, _) = try await run(decode: false)
    consume.append(c.seconds)
    consumeSteady.append(cs.seconds)
    let (d, ds, n) = try await run(decode: true)
    consumeDecode.append(d.seconds)
    consumeDecodeSteady.append(ds.seconds)
    decodedCount = n
}
guard decodedCount == events else {
    FileHandle.standardError.write(Data("decoded \(decodedCount) observations of \(events) events: the topic does not hold only Meteo events\n".utf8))
    exit(1)
}
let json = """
{"events": \(events), "consume_s": \(consume.min()!), "consume_from_first_s": \(consumeSteady.min()!), \
"consume_decode_s": \(consumeDecode.min()!), "consume_decode_from_first_s": \(consumeDecodeSteady.min()!), \
"consume_runs": \(consume), "consume_decode_runs": \(consumeDecode)}
"""
print(json)
#else
FileHandle.standardError.write(Data("meteo-kafka-bench needs the Kafka trait: swift build -c release --traits Kafka --product meteo-kafka-bench\n".utf8))
exit(2)
#endif
