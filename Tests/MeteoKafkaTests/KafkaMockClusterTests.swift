#if Kafka
import Foundation
import Logging
import MeteoCore
import MeteoEmbedded
import MeteoKafka
import MeteoPipeline
import MeteoTestSupport
import MetricsTestKit
import Synchronization
import Testing

/// Fast tests of the producer and the consumer group on librdkafka's in-process mock cluster.
/// The same behaviour is checked against a real broker in ``KafkaBrokerTests``.
@Suite("Kafka on librdkafka's mock cluster", .serialized)
struct KafkaMockClusterTests {
    /// A broker that restarts without its data leaves an idempotent producer failed for good
    /// ("out of order sequence number"); the publisher replaces it, and the publish that met
    /// the failure is delivered by the new producer instead of failing.
    @Test func aProducerFailedForGoodIsReplacedByANewOne() async throws {
        let cluster = try KafkaMockCluster.start(brokers: 1)
        try cluster.createTopic("t", partitions: 2)
        // No topics to create: "t" exists, and CreateTopics times out on the mock cluster of librdkafka 2.0.2.
        let publisher = try await ReplacingKafkaProducer.make(configuration: kafkaConfig(cluster), topics: [], logger: testLogger)
        try await publisher.publish((0..<10).map { message($0) }, to: "t")
        let failed = publisher.producer
        #expect(failed.fatalError == nil)
        cluster.failRequests(.produce, with: .outOfOrderSequenceNumber)
        try await publisher.publish((10..<20).map { message($0) }, to: "t")
        #expect(failed.fatalError != nil, "the broker's answer failed the first producer for good")
        #expect(publisher.replaced == 1)
        #expect(publisher.producer !== failed)
        #expect(publisher.producer.fatalError == nil)
        try await publisher.close()

        let consumer = try KafkaConsumer.make(configuration: kafkaConfig(cluster), group: "g", topics: ["t"], logger: testLogger)
        let got = try await drain(consumer, expecting: 20)
        try await consumer.close()
        #expect(Set(got.map { String(decoding: $0.value, as: UTF8.self) }) == Set((0..<20).map { "m\($0)" }), "all 20 delivered")
    }

    /// The sink's dead-letter producer met the same failure after a broker restart and, before
    /// it was replaced too, failed every dead letter for good (found by scripts/chaos): the
    /// dead letter that meets the failure is delivered by a new producer and the sink goes on.
    @Test func theDeadLetterProducerRecoversFromAFailureForGood() async throws {
        let cluster = try KafkaMockCluster.start()
        try cluster.createTopic("obs", partitions: 2)
        try cluster.createTopic("obs.dlq", partitions: 1)
        let producer = try KafkaProducer.make(configuration: kafkaConfig(cluster), logger: testLogger)
        _ = try await publishWithPoison(producer, count: 100, places: 10)
        try await producer.close()

        // Only the dead-letter producer produces from here on: its first request meets the failure.
        let deadLetters = try await ReplacingKafkaProducer.make(configuration: kafkaConfig(cluster), topics: [], logger: testLogger)
        cluster.failRequests(.produce, with: .outOfOrderSequenceNumber)
        let result = try await runDeadLetterSink(cluster, on: deadLetters, expecting: 101)
        #expect(result.stored == 100)
        #expect(result.deadLetters == 1)
        #expect(deadLetters.replaced == 1, "the failed dead-letter producer was replaced")
        #expect(result.writeRetries == 0, "the dead letter that met the failure was sent again at once, not failed back to the sink")
        try await deadLetters.close()

        let dlq = try KafkaConsumer.make(configuration: kafkaConfig(cluster), group: "inspect", topics: ["obs.dlq"], logger: testLogger)
        let letters = try await drain(dlq, expecting: 1)
        try await dlq.close()
        #expect(letters.map(\.key) == ["bad"], "the dead letter is on its topic once")
    }

    /// A committed offset past the end of its partition (the topic was deleted and created
    /// again, shorter) is reset by auto.offset.reset with one warning and counted. With
    /// `earliest` the new partition is read from its start and nothing known is skipped; with
    /// `latest` its 10 records are passed over, counted as skipped, and what comes next is read.
    @Test(arguments: ["earliest", "latest"])
    func aCommittedOffsetPastTheEndIsResetLoudlyAndCounted(reset: String) async throws {
        let cluster = try KafkaMockCluster.start()
        try cluster.createTopic("r", partitions: 1)
        let producer = try KafkaProducer.make(configuration: kafkaConfig(cluster), logger: testLogger)
        try await producer.publish((0..<10).map { message($0) }, to: "r")
        try await commitPastTheEnd(cluster, topic: "r", group: "g", at: 1000)

        let metrics = TestMetrics()
        let (logger, lines) = CapturingLogHandler.logger(level: .warning)
        var config = kafkaConfig(cluster)
        config.properties["auto.offset.reset"] = reset
        let consumer = try KafkaConsumer.make(configuration: config, group: "g", topics: ["r"], logger: logger, metrics: metrics)
        // Joined and positioned (the reset is made when the partition is assigned), then 3 more records.
        var got: [BusMessage] = []
        while consumer.assignedPartitions.isEmpty { got += try await consumer.poll(maxMessages: 100, timeout: .milliseconds(100)) }
        try await producer.publish((10..<13).map { message($0) }, to: "r")
        let skipped = reset == "latest" ? 10 : 0
        got += try await drain(consumer, expecting: 13 - skipped - got.count)
        got.sort { $0.offset < $1.offset }
        try await consumer.close()
        try await producer.close()
        #expect(got.map(\.offset) == Array(Int64(skipped)..<13))
        let warnings = lines.all.filter { $0.contains("kafka.offset=") }
        #expect(warnings.count == 1, "one warning: \(lines.all)")
        #expect(warnings.first?.contains("past the end") == true, "\(warnings)")
        for count in ["kafka.partition=r[0]", "kafka.offset=1000", "kafka.low=0", "kafka.high=10", "kafka.reset.to=\(skipped)", "kafka.skipped=\(skipped)"] {
            #expect(warnings.first?.contains(count) == true, "\(count) in \(warnings)")
        }
        #expect(metrics.counterTotal(label: "meteo_consumer_offset_resets_total", dimensions: [("bus", "kafka")]) == 1)
        #expect(metrics.counterTotal(label: "meteo_consumer_skipped_records_total", dimensions: [("bus", "kafka")]) == Int64(skipped))
    }

    @Test func everyPublishedEventHasADeliveryReportAndKeepsItsKeyOnOnePartition() async throws {
        let cluster = try KafkaMockCluster.start(brokers: 3)
        try cluster.createTopic("t", partitions: 4)
        let producer = try KafkaProducer.make(configuration: kafkaConfig(cluster), logger: testLogger)
        let reports = producer.deliveryReports()
        let messages = (0..<10_000).map { message($0) }
        try await producer.publish(messages, to: "t")
        try await producer.close()

        var partitionsByKey: [String: Set<Int>] = [:]
        var count = 0
        var offsets = Set<String>()
        for await r in reports {
            #expect(r.error == nil)
            #expect(r.offset >= 0)
            partitionsByKey[r.key ?? "", default: []].insert(r.partition)
            offsets.insert("\(r.partition)/\(r.offset)")
            count += 1
        }
        #expect(count == 10_000)
        #expect(offsets.count == 10_000, "every event got its own place in the log")
        #expect(partitionsByKey.count == 7)
        #expect(partitionsByKey.values.allSatisfy { $0.count == 1 }, "one key, one partition: \(partitionsByKey)")
        #expect(Set(partitionsByKey.values.map { $0.first! }).count > 1, "the keys spread over partitions")
    }

    @Test func aFullLocalQueueIsBackPressureAndNothingIsDropped() async throws {
        let cluster = try KafkaMockCluster.start()
        try cluster.createTopic("small", partitions: 2)
        var config = kafkaConfig(cluster)
        config.properties["queue.buffering.max.messages"] = "50"
        let producer = try KafkaProducer.make(configuration: config, logger: testLogger)
        try await producer.publish((0..<3000).map { message($0) }, to: "small")
        try await producer.close()

        let consumer = try KafkaConsumer.make(configuration: kafkaConfig(cluster), group: "g", topics: ["small"], logger: testLogger)
        let got = try await drain(consumer, expecting: 3000)
        #expect(got.count == 3000)
        #expect(Set(got.map { String(decoding: $0.value, as: UTF8.self) }).count == 3000)
        try await consumer.close()
    }

    @Test func anEventTheBrokerRefusesFailsThePublishWithTheReason() async throws {
        let cluster = try KafkaMockCluster.start()
        try cluster.createTopic("t", partitions: 1)
        var config = kafkaConfig(cluster)
        config.properties["message.max.bytes"] = "1000"
        let producer = try KafkaProducer.make(configuration: config, logger: testLogger)
        let big = OutgoingMessage(key: "k", value: Array(repeating: 65, count: 5000))
        let error = await #expect(throws: MeteoError.self) {
            try await producer.publish([message(1), big], to: "t")
        }
        #expect(error?.message.contains("topic t") == true, "\(error?.message ?? "")")
        #expect(error?.message.lowercased().contains("size") == true || error?.message.contains("large") == true, "\(error?.message ?? "")")
        try await producer.close()
    }

    @Test func headersAndKeysRoundTrip() async throws {
        let cluster = try KafkaMockCluster.start()
        try cluster.createTopic("h", partitions: 1)
        let producer = try KafkaProducer.make(configuration: kafkaConfig(cluster), logger: testLogger)
        let hostile = "<script>alert(1)</script> {\"$ne\": null} é"
        try await producer.publish([OutgoingMessage(key: hostile, value: Array("v".utf8), headers: ["a": "1", "why": hostile]),
                                    OutgoingMessage(key: nil, value: Array("unkeyed".utf8))], to: "h")
        try await producer.close()
        let consumer = try KafkaConsumer.make(configuration: kafkaConfig(cluster), group: "g", topics: ["h"], logger: testLogger)
        let got = try await drain(consumer, expecting: 2)
        try await consumer.close()
        #expect(got[0].key == hostile)
        #expect(got[0].headers == ["a": "1", "why": hostile])
        #expect(got[1].key == nil)
        #expect(got[1].headers.isEmpty)
        #expect(got.allSatisfy { $0.topic == "h" && $0.partition == 0 })
        #expect(got.map(\.offset) == [0, 1])
    }

    @Test func twoMembersOfAGroupShareThePartitionsAndReadEachEventOnce() async throws {
        let cluster = try KafkaMockCluster.start()
        try cluster.createTopic("shared", partitions: 6)
        let producer = try KafkaProducer.make(configuration: kafkaConfig(cluster), logger: testLogger)
        try await producer.publish((0..<6000).map { message($0, key: "key\($0 % 60)") }, to: "shared")
        try await producer.close()

        let a = try KafkaConsumer.make(configuration: kafkaConfig(cluster), group: "g2", topics: ["shared"], logger: testLogger)
        let b = try KafkaConsumer.make(configuration: kafkaConfig(cluster), group: "g2", topics: ["shared"], logger: testLogger)
        // Both poll until the group has settled with both members and every event is read.
        let seen = Mutex<[String: Int]>([:])
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            async let fromA = a.poll(maxMessages: 1000, timeout: .milliseconds(100))
            async let fromB = b.poll(maxMessages: 1000, timeout: .milliseconds(100))
            let (ma, mb) = try await (fromA, fromB)
            try await a.commit(ma.commitPositions)
            try await b.commit(mb.commitPositions)
            seen.withLock { s in for m in ma + mb { s["\(m.partition)/\(m.offset)", default: 0] += 1 } }
            // A commit the group rebalanced away is skipped and the new owner reads those
            // events again (at-least-once), so wait for the group's commits too, not only for
            // every event to be seen once.
            if seen.withLock({ $0.count }) == 6000, !a.assignedPartitions.isEmpty, !b.assignedPartitions.isEmpty,
               try await a.caughtUp(), try await b.caughtUp() { break }
        }
        #expect(seen.withLock { $0.count } == 6000)
        #expect(!a.assignedPartitions.isEmpty && !b.assignedPartitions.isEmpty, "both members own partitions")
        #expect(Set(a.assignedPartitions).isDisjoint(with: Set(b.assignedPartitions)))
        try await a.close()
        try await b.close()

        // Everything was committed: the group has nothing left, another group reads it all.
        let again = try KafkaConsumer.make(configuration: kafkaConfig(cluster), group: "g2", topics: ["shared"], logger: testLogger)
        let rest = try await drain(again, expecting: 0, quietFor: .seconds(3))
        #expect(rest.isEmpty, "nothing after the committed offsets")
        try await again.close()
        let other = try KafkaConsumer.make(configuration: kafkaConfig(cluster), group: "other", topics: ["shared"], logger: testLogger)
        #expect(try await drain(other, expecting: 6000).count == 6000)
        try await other.close()
    }

    @Test func onlyCommittedEventsAreSkippedAfterARestart() async throws {
        let cluster = try KafkaMockCluster.start()
        try cluster.createTopic("c", partitions: 1)
        let producer = try KafkaProducer.make(configuration: kafkaConfig(cluster), logger: testLogger)
        try await producer.publish((0..<100).map { message($0) }, to: "c")
        try await producer.close()

        let first = try KafkaConsumer.make(configuration: kafkaConfig(cluster), group: "g", topics: ["c"], logger: testLogger)
        let all = try await drain(first, expecting: 100)
        // Only the first 40 were "written": commit just those, then leave.
        try await first.commit(all.prefix(40).commitPositions)
        try await first.close()

        let second = try KafkaConsumer.make(configuration: kafkaConfig(cluster), group: "g", topics: ["c"], logger: testLogger)
        let again = try await drain(second, expecting: 60)
        try await second.close()
        #expect(again.map(\.offset) == Array(40..<100))
    }

    @Test func theSinkWritesKafkaEventsAndSendsPoisonToTheDeadLetterTopic() async throws {
        let cluster = try KafkaMockCluster.start()
        try cluster.createTopic("obs", partitions: 3)
        try cluster.createTopic("obs.dlq", partitions: 1)
        let producer = try KafkaProducer.make(configuration: kafkaConfig(cluster), logger: testLogger)
        let messages = try await publishWithPoison(producer, count: 500, places: 50)
        let result = try await runDeadLetterSink(cluster, on: producer, expecting: 501)
        #expect(result.stored == 500)
        #expect(result.deadLetters == 1)
        #expect(result.deadLettered == 1)
        try await producer.close()

        let dlq = try KafkaConsumer.make(configuration: kafkaConfig(cluster), group: "inspect", topics: ["obs.dlq"], logger: testLogger)
        let letters = try await drain(dlq, expecting: 1)
        try await dlq.close()
        #expect(letters.count == 1)
        let h = letters.first?.headers ?? [:]
        #expect(letters.first?.key == "bad")
        #expect(letters.first?.value == messages[250].value, "the original bytes")
        #expect(h[DeadLetterTopicWriter.Headers.sourceTopic] == "obs")
        #expect(h[DeadLetterTopicWriter.Headers.sourcePartition].flatMap(Int.init).map { (0..<3).contains($0) } == true)
        #expect(h[DeadLetterTopicWriter.Headers.sourceOffset].flatMap(Int64.init) != nil)
        #expect((h[DeadLetterTopicWriter.Headers.reason] ?? "").isEmpty == false)
        #expect(h[DeadLetterTopicWriter.Headers.failedAt].flatMap(ISO8601.date(from:)) != nil)
    }

    @Test func aPropertyLibrdkafkaRefusesIsAClearErrorThatHidesSecrets() throws {
        var config = KafkaConfiguration(bootstrapServers: "127.0.0.1:1")
        config.properties["no.such.property"] = "1"
        let e1 = #expect(throws: MeteoError.self) { _ = try KafkaProducer.make(configuration: config, logger: testLogger) }
        #expect(e1?.message.contains("no.such.property") == true, "\(e1?.message ?? "")")

        config.properties = ["sasl.password": "hunter2-secret", "acks": "banana"]
        let e2 = #expect(throws: MeteoError.self) { _ = try KafkaProducer.make(configuration: config, logger: testLogger) }
        #expect(e2?.message.contains("acks=banana") == true, "\(e2?.message ?? "")")
        #expect(e2?.message.contains("hunter2") == false)
        config.properties = ["my.password": "hunter2-secret"]
        let e3 = #expect(throws: MeteoError.self) { _ = try KafkaProducer.make(configuration: config, logger: testLogger) }
        #expect(e3?.message.contains("my.password") == true, "\(e3?.message ?? "")")
        #expect(e3?.message.contains("hunter2") == false, "a refused secret property does not show its value")
        config.properties = ["sasl.password": "hunter2-secret"]
        #expect(config.description.contains("hunter2") == false)
        #expect(config.description.contains("sasl.password=<redacted>"))
    }

    @Test func theConsumerRefusesAutoCommit() {
        let config = KafkaConfiguration(properties: ["enable.auto.commit": "true"])
        let e = #expect(throws: MeteoError.self) { _ = try config.consumerProperties(group: "g") }
        #expect(e?.message.contains("enable.auto.commit") == true)
        #expect(KafkaConfiguration().producerProperties()["enable.idempotence"] == "true")
        #expect(KafkaConfiguration().producerProperties()["acks"] == "all")
        #expect(KafkaConfiguration(properties: ["acks": "1"]).producerProperties()["acks"] == "1", "user properties win")
        #expect(KafkaConfiguration().producerProperties()["allow.auto.create.topics"] == "false",
                "a producer never makes the broker create a topic with its own default of one partition")
    }

    @Test func theConsumerNoticesARecreatedTopicWithinSeconds() throws {
        // After a broker restarted without its data, the sinks saw the topic vanish and, with
        // librdkafka's default of 5 minutes, only saw it again 4 minutes after the ingestor had
        // created it (found by scripts/chaos).
        #expect(try KafkaConfiguration().consumerProperties(group: "g")["topic.metadata.refresh.interval.ms"] == "10000")
        let user = KafkaConfiguration(properties: ["topic.metadata.refresh.interval.ms": "60000"])
        #expect(try user.consumerProperties(group: "g")["topic.metadata.refresh.interval.ms"] == "60000")
    }
}

let testLogger: Logger = {
    var l = Logger(label: "kafka-test")
    l.logLevel = ProcessInfo.processInfo.environment["METEO_TEST_LOG"].flatMap(Logger.Level.init(rawValue:)) ?? .critical
    return l
}()

/// `count` observations of `places` places on "obs", with an undecodable message in the middle;
/// returns the messages as sent.
func publishWithPoison(_ producer: KafkaProducer, count: Int, places: Int) async throws -> [OutgoingMessage] {
    var messages = (0..<count).map { i in sample("p\(i % places)", at: 1_700_000_000 + Double(i / places) * 600) }
        .map { OutgoingMessage(key: $0.placeID, value: EventCodec.encode($0)) }
    messages.insert(OutgoingMessage(key: "bad", value: Array(#"{"v":1,"place_id":"x","humidity_pct":"#.utf8)), at: count / 2)
    try await producer.publish(messages, to: "obs")
    return messages
}

/// Runs a sink of group "sink" from "obs" into a fresh SQLite store, with its dead letters on
/// "obs.dlq" through `publisher`, until `expecting` messages are through (or after 30 s of
/// empty polls, to fail instead of hang). Returns the store's counts and the sink's.
func runDeadLetterSink(_ cluster: KafkaMockCluster, on publisher: any EventPublisher, expecting: Int)
    async throws -> (stored: Int, deadLetters: Int, deadLettered: Int, writeRetries: Int) {
    let dir = temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let store = try SQLiteStore.open(dataDir: dir, logger: testLogger)
    let consumer = try KafkaConsumer.make(configuration: kafkaConfig(cluster), group: "sink", topics: ["obs"], logger: testLogger)
    let progress = Mutex((consumed: 0, idle: 0))
    let sink = Sink(consumer: consumer, writer: DeadLetterTopicWriter(writing: store, deadLettersTo: "obs.dlq", on: publisher),
                    configuration: .init(batchSize: 200, pollTimeout: .milliseconds(200), stopWhenIdle: { @Sendable in
                        progress.withLock { $0.idle += 1; return $0.consumed >= expecting || $0.idle > 150 }
                    }), logger: testLogger,
                    onBatch: { stats in progress.withLock { $0.consumed = stats.consumed } })
    try await sink.run()
    let result = (try await store.count(), try await store.deadLetterCount(), sink.stats.deadLettered, sink.stats.writeRetries)
    try await store.close()
    return result
}

/// Reads `topic` once as `group`, then commits `offset` on its partition 0, beyond its end:
/// what a group has committed when its topic is deleted and created again with fewer records.
func commitPastTheEnd(_ cluster: KafkaMockCluster, topic: String, group: String, at offset: Int64) async throws {
    let consumer = try KafkaConsumer.make(configuration: kafkaConfig(cluster), group: group, topics: [topic], logger: testLogger)
    _ = try await drain(consumer, expecting: 1, quietFor: .seconds(1))
    try await consumer.commit([CommitPosition(topic: topic, partition: 0, nextOffset: offset)])
    try await consumer.close()
}


func kafkaConfig(_ cluster: KafkaMockCluster) -> KafkaConfiguration {
    KafkaConfiguration(bootstrapServers: cluster.bootstrapServers, properties: ["session.timeout.ms": "6000"], partitions: 3)
}

func message(_ i: Int, key: String? = nil) -> OutgoingMessage {
    OutgoingMessage(key: key ?? "k\(i % 7)", value: Array("m\(i)".utf8))
}

func temporaryDirectory() -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("meteo-kafka-\(UUID().uuidString)")
    try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

func sample(_ id: String, at seconds: Double) -> Observation {
    Observation(placeID: id, name: "Place \(id)", country: "FR", region: "EuropeW", latitude: 48.5, longitude: 7.7,
                observedAt: Date(timeIntervalSince1970: seconds), source: "test", temperatureC: 10,
                humidityPct: 80, pressureHPa: 1012.5, windSpeedMS: 3)
}

/// Polls until `expecting` messages came, or nothing came for `quietFor` (or 60 s passed).
func drain(_ consumer: KafkaConsumer, expecting: Int, quietFor: Duration = .seconds(20)) async throws -> [BusMessage] {
    var out: [BusMessage] = []
    let clock = ContinuousClock()
    var lastProgress = clock.now
    let deadline = clock.now + .seconds(60)
    while out.count < max(expecting, 1) && clock.now < deadline {
        let got = try await consumer.poll(maxMessages: 1000, timeout: .milliseconds(200))
        if got.isEmpty {
            // Quiet time counts only once the group has given this member its partitions.
            if consumer.assignedPartitions.isEmpty { lastProgress = clock.now }
            if clock.now - lastProgress > quietFor { break }
            continue
        }
        lastProgress = clock.now
        out += got
    }
    return out.sorted { ($0.partition, $0.offset) < ($1.partition, $1.offset) }
}
#endif
