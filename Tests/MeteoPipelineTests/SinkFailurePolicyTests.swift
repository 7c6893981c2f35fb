import Foundation
import Logging
import MeteoCore
import MeteoEmbedded
import MeteoPipeline
import MeteoSources
import MetricsTestKit
import Synchronization
import Testing

/// What the sink does when its store fails: transient errors are retried with the consumer
/// paused and kept alive, records the store refuses are isolated and dead-lettered, and a
/// store that refuses everything stops the sink with the store's reason. Over the real
/// embedded log and store; the wrappers only add the failures.
@Suite("Sink: transient, per-record and whole-store failures")
struct SinkFailurePolicyTests {
    let logger = Logger(label: "sink-policy-test")
    let topic = "weather.observations"

    /// The real store behind a rule that may fail a write before it reaches the store.
    struct FailingWriter: SinkWriter {
        let store: SQLiteStore
        let rule: @Sendable ([Observation], [DeadLetter]) throws -> Void
        func write(_ observations: [Observation], deadLetters: [DeadLetter]) async throws -> UpsertSummary {
            try rule(observations, deadLetters)
            return try await store.write(observations, deadLetters: deadLetters)
        }
    }

    /// The real embedded consumer, with its pause, keep-alive and resume calls recorded.
    final class RecordingConsumer: EventConsumer {
        let inner: EmbeddedLogConsumer
        let calls = Mutex<[String]>([])
        init(_ inner: EmbeddedLogConsumer) { self.inner = inner }
        func poll(maxMessages: Int, timeout: Duration) async throws -> [BusMessage] { try await inner.poll(maxMessages: maxMessages, timeout: timeout) }
        func commit(_ positions: [CommitPosition]) async throws { try await inner.commit(positions) }
        func close() async throws { try await inner.close() }
        func pause() async throws { calls.withLock { $0.append("pause") } }
        func keepAlive() async throws { calls.withLock { if $0.last != "keepAlive" { $0.append("keepAlive") } } }
        func resume() async throws { calls.withLock { $0.append("resume") } }
    }

    struct Fixture {
        let dir: URL
        let log: EmbeddedLog
        let store: SQLiteStore
        let observations: [Observation]
    }

    func fixture(_ count: Int) async throws -> Fixture {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("meteo-sink-policy-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let log = try EmbeddedLog.open(dataDir: dir, logger: logger)
        let store = try SQLiteStore.open(dataDir: dir, logger: logger)
        let places = Array(try PlaceCatalogue.bundled().places(in: Region.builtin).prefix(count))
        let observations = SyntheticSource(seed: 5).observations(places: places, tick: 0)
        try await log.publisher().publish(observations.map { OutgoingMessage(key: $0.placeID, value: EventCodec.encode($0)) }, to: topic)
        return Fixture(dir: dir, log: log, store: store, observations: observations)
    }

    func sink(_ f: Fixture, _ consumer: any EventConsumer, _ writer: any SinkWriter, metrics: TestMetrics) -> Sink {
        Sink(consumer: consumer, writer: writer,
             configuration: .init(batchSize: 100, pollTimeout: .milliseconds(20), stopWhenIdle: { true }, maxRetryDelay: .milliseconds(20)),
             logger: logger, metrics: metrics)
    }

    @Test func transientFailuresAreRetriedWithTheConsumerPausedAndNothingIsLost() async throws {
        let f = try await fixture(150)
        defer { try? FileManager.default.removeItem(at: f.dir) }
        let failuresLeft = Mutex(3)
        let writer = FailingWriter(store: f.store) { _, _ in
            let fail = failuresLeft.withLock { n -> Bool in
                guard n > 0 else { return false }
                n -= 1
                return true
            }
            if fail { throw MeteoError(code: .store, "the database is locked by another process", isRetriable: true) }
        }
        let consumer = RecordingConsumer(try f.log.consumer(group: "g", topic: topic))
        let metrics = TestMetrics()
        let s = sink(f, consumer, writer, metrics: metrics)
        try await s.run()
        #expect(try await f.store.count() == 150)
        #expect(s.stats.stored == 150 && s.stats.deadLettered == 0)
        #expect(s.stats.writeRetries == 3)
        #expect(try metrics.expectCounter("meteo_sink_write_retries_total").totalValue == 3)
        let retrying = try metrics.expectGauge("meteo_sink_retrying")
        #expect(retrying.values == [1, 0], "1 while retrying, 0 once written")
        // Paused at the first failure, kept alive while waiting, resumed once written.
        #expect(consumer.calls.withLock { $0 } == ["pause", "keepAlive", "resume"])
        #expect(try await f.log.stats(group: "g", topic: topic).lag == 0)
    }

    @Test func aRecordTheStoreRefusesIsDeadLetteredWithTheReasonAndTheRestIsStoredAndCommitted() async throws {
        let f = try await fixture(150)
        defer { try? FileManager.default.removeItem(at: f.dir) }
        let refused = f.observations[37].placeID
        let writer = FailingWriter(store: f.store) { observations, _ in
            if observations.contains(where: { $0.placeID == refused }) {
                throw MeteoError(code: .store, "CHECK constraint failed: temperature_c for \(refused)")
            }
        }
        let metrics = TestMetrics()
        let s = sink(f, try f.log.consumer(group: "g", topic: topic), writer, metrics: metrics)
        try await s.run()
        #expect(try await f.store.count() == 149)
        #expect(s.stats.stored == 149 && s.stats.deadLettered == 1)
        let letters = try await f.store.deadLetters(limit: 10)
        #expect(letters.count == 1)
        let letter = try #require(letters.first)
        #expect(letter.reason == "the store refused the observation: CHECK constraint failed: temperature_c for \(refused)")
        #expect(try EventCodec.decode(letter.payload).placeID == refused)
        #expect(letter.topic == topic)
        #expect(try metrics.expectCounter("meteo_sink_write_retries_total").totalValue == 0, "a permanent refusal is not retried")
        #expect(try await f.log.stats(group: "g", topic: topic).lag == 0, "the offsets are committed")
    }

    @Test func aStoreThatRefusesEverythingStopsTheSinkWithItsReasonAndCommitsNothing() async throws {
        let f = try await fixture(150)
        defer { try? FileManager.default.removeItem(at: f.dir) }
        let writes = Mutex(0)
        let writer = FailingWriter(store: f.store) { _, _ in
            writes.withLock { $0 += 1 }
            throw MeteoError(code: .store, "store.sqlite: file is not a database (the file is not a Meteo database or is damaged: move it away and start again)")
        }
        let s = sink(f, try f.log.consumer(group: "g", topic: topic), writer, metrics: TestMetrics())
        do {
            try await s.run()
            Issue.record("the sink ran on with a store that refuses everything")
        } catch let error as MeteoError {
            #expect(error.message == "the store refuses every write, nothing was committed: store.sqlite: file is not a database (the file is not a Meteo database or is damaged: move it away and start again)")
            #expect(!error.message.contains("\n"))
        }
        // The first batch (the sink starts small), halved down to one record, then that
        // record's dead letter: a bounded number of writes, not a retry loop.
        #expect(writes.withLock { $0 } <= 2 * 100)
        #expect(s.stats.writeRetries == 0)
        #expect(try await f.log.stats(group: "g", topic: topic).lag == 150, "nothing committed")
        #expect(try await f.store.count() == 0)
    }
}
