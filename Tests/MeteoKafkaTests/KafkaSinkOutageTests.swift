#if Kafka
import Foundation
import Logging
import MeteoCore
import MeteoEmbedded
@testable import MeteoKafka
import MeteoPipeline
import MeteoTestSupport
import Synchronization
import Testing

/// A sink whose store is down for longer than `max.poll.interval.ms` stays in its group (it
/// pauses its partitions and keeps polling while it retries) and stores everything once the
/// store is back; a commit for a topic deleted under the consumer is skipped with a warning,
/// not retried forever. Against a real broker (METEO_TEST_KAFKA, as ``KafkaBrokerTests``).
// The two tests run one after the other: deleting a topic on the broker (the second test) while
// the first one's store is down made noida-db rebalance the first one's group, 0.4 s after the
// deletion (CI, 2026-12-07: revoked at 10.9 s, the deletion at about 10.5 s): a rebalance
// with another cause than the one the first test rules out (a member that stops polling).
@Suite("Kafka: a sink through outages (its store down, its topic deleted)", .serialized,
       .requires(environment: "METEO_TEST_KAFKA", "host:port of a running broker; scripts/test starts one"))
struct KafkaSinkOutageTests {
    /// Fails every write with a transient error until `outage` after its first write.
    final class DownForAWhile: SinkWriter {
        let store: SQLiteStore
        let outage: Duration
        let firstWrite = Mutex<ContinuousClock.Instant?>(nil)
        init(store: SQLiteStore, outage: Duration) {
            self.store = store
            self.outage = outage
        }
        func write(_ observations: [Observation], deadLetters: [DeadLetter]) async throws -> UpsertSummary {
            let now = ContinuousClock.now
            let first = firstWrite.withLock { f in
                if f == nil { f = now }
                return f!
            }
            if now - first < outage { throw MeteoError(code: .store, "cannot reach the store (test outage)", isRetriable: true) }
            return try await store.write(observations, deadLetters: deadLetters)
        }
    }

    @Test func aStoreDownLongerThanMaxPollIntervalLosesNeitherTheGroupNorAnEvent() async throws {
        let brokers = try #require(ProcessInfo.processInfo.environment["METEO_TEST_KAFKA"])
        let topic = "outage-\(UInt32.random(in: 0...UInt32.max))"
        // max.poll.interval.ms 7 s: without polls while it retries, the member would leave the
        // group 7 s into the 15 s outage, and its partitions would be revoked.
        let config = KafkaConfiguration(bootstrapServers: brokers,
                                        properties: ["session.timeout.ms": "6000", "max.poll.interval.ms": "7000"], partitions: 3)
        let producer = try await ReplacingKafkaProducer.make(configuration: config, topics: [topic], logger: testLogger)
        let observations = (0..<600).map { sample("p\($0 % 60)", at: 1_700_000_000 + Double($0 / 60) * 600) }
        try await producer.publish(observations.map { OutgoingMessage(key: $0.placeID, value: EventCodec.encode($0)) }, to: topic)
        try await producer.close()

        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try SQLiteStore.open(dataDir: dir, logger: testLogger)
        let rebalances = Mutex<[String]>([])
        let started = ContinuousClock.now
        let consumer = try KafkaConsumer.make(configuration: config, group: "\(topic)-sink", topics: [topic], logger: testLogger) { change in
            rebalances.withLock { $0.append("\(change) at \(ContinuousClock.now - started)") }
        }
        let progress = Mutex((consumed: 0, idle: 0))
        let writer = DownForAWhile(store: store, outage: .seconds(15))
        let sink = Sink(consumer: consumer, writer: writer,
                        configuration: .init(batchSize: 1000, pollTimeout: .milliseconds(200), stopWhenIdle: { @Sendable in
                            progress.withLock { $0.idle += 1; return $0.consumed >= 600 || $0.idle > 300 }
                        }, maxRetryDelay: .seconds(1)),
                        logger: testLogger, onBatch: { stats in progress.withLock { $0.consumed = stats.consumed } })
        try await sink.run()
        #expect(sink.stats.writeRetries > 5, "the store was down for 15 s")
        #expect(try await store.count() == 600)
        #expect(sink.stats.consumed == 600, "no event read twice: the partitions never moved")
        // Assigned once: the partitions were never taken away and given back. (Leaving the
        // group at the end, in close(), revokes them.)
        let changes = rebalances.withLock { $0 }
        let writes = writer.firstWrite.withLock { $0 }.map { "\($0 - started)" } ?? "none"
        #expect(changes.filter { $0.hasPrefix("assigned") }.count == 1 && changes.dropLast().allSatisfy { $0.hasPrefix("assigned") },
                "\(changes); first write at \(writes)")
        // Its commits landed: a member that had fallen out of the group would have had them
        // refused (assignment lost), and the group would read every event again.
        let next = try KafkaConsumer.make(configuration: config, group: "\(topic)-sink", topics: [topic], logger: testLogger)
        let again = try await drain(next, expecting: 0, quietFor: .seconds(5))
        try await next.close()
        #expect(again.isEmpty, "\(again.count) events read again: the sink's commits were refused")
        try await store.close()
    }

    /// A topic deleted under a consumer that has read from it: committing the offsets of what
    /// it read can never succeed (the partitions are gone, UNKNOWN_TOPIC_OR_PART). The commit
    /// returns with one warning that says so, instead of failing for the sink to retry until
    /// the group revokes the partitions.
    @Test func aCommitForADeletedTopicIsSkippedWithAWarning() async throws {
        let brokers = try #require(ProcessInfo.processInfo.environment["METEO_TEST_KAFKA"])
        let topic = "deleted-\(UInt32.random(in: 0...UInt32.max))"
        let config = KafkaConfiguration(bootstrapServers: brokers, partitions: 3)
        let producer = try await ReplacingKafkaProducer.make(configuration: config, topics: [topic], logger: testLogger)
        let observations = (0..<90).map { sample("p\($0 % 30)", at: 1_700_000_000 + Double($0 / 30) * 600) }
        try await producer.publish(observations.map { OutgoingMessage(key: $0.placeID, value: EventCodec.encode($0)) }, to: topic)
        try await producer.close()

        let (logger, logs) = CapturingLogHandler.logger(level: .info)
        let consumer = try KafkaConsumer.make(configuration: config, group: "\(topic)-sink", topics: [topic], logger: logger)
        let read = try await drain(consumer, expecting: 90, quietFor: .seconds(5))
        #expect(read.count == 90)
        let admin = try KafkaClient.make(kind: .producer, properties: ["bootstrap.servers": brokers], callbacks: KafkaCallbacks(logger: testLogger))
        try KafkaAdmin.deleteTopic(admin, name: topic, timeout: .seconds(10))
        try await consumer.commit(read.commitPositions)
        let warnings = logs.all.filter { $0.hasPrefix("warning commit skipped: the topic's partitions no longer exist") }
        #expect(warnings.count == 1, "\(logs.all)")
        try await consumer.close()
    }
}
#endif
