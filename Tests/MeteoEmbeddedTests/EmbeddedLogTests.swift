import Foundation
import MeteoCore
import MetricsTestKit
@testable import MeteoEmbedded
import Testing

@Suite("Embedded durable log")
struct EmbeddedLogTests {
    let topic = "t"

    @Test func appendsGetIncreasingOffsetsAndArriveInOrder() async throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let log = try EmbeddedLog.open(dataDir: dir, logger: testLogger)
        try await log.publisher().publish((0..<10).map { message($0) }, to: topic)
        try await log.publisher().publish((10..<15).map { message($0) }, to: topic)
        let consumer = try log.consumer(group: "g", topic: topic)
        let first = try await consumer.poll(maxMessages: 8, timeout: .zero)
        let second = try await consumer.poll(maxMessages: 100, timeout: .zero)
        #expect(first.map(\.offset) == Array(0..<8))
        #expect(second.map(\.offset) == Array(8..<15))
        #expect((first + second).map { String(decoding: $0.value, as: UTF8.self) } == (0..<15).map { "m\($0)" })
        #expect(first[3].key == "k3")
        let empty = try await consumer.poll(maxMessages: 10, timeout: .milliseconds(60))
        #expect(empty.isEmpty)
    }

    @Test func headersRoundTrip() async throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let log = try EmbeddedLog.open(dataDir: dir, logger: testLogger)
        try await log.publisher().publish([OutgoingMessage(key: nil, value: [1, 2, 0, 255], headers: ["reason": "bad \"json\""])], to: topic)
        let m = try #require(try await log.consumer(group: "g", topic: topic).poll(maxMessages: 1, timeout: .zero).first)
        #expect(m.key == nil)
        #expect(m.value == [1, 2, 0, 255])
        #expect(m.headers == ["reason": "bad \"json\""])
    }

    @Test func uncommittedMessagesAreDeliveredAgainToTheNextConsumer() async throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let log = try EmbeddedLog.open(dataDir: dir, logger: testLogger)
        try await log.publisher().publish((0..<20).map { message($0) }, to: topic)
        let a = try log.consumer(group: "g", topic: topic)
        let batch1 = try await a.poll(maxMessages: 5, timeout: .zero)
        try await a.commit(batch1.commitPositions)
        _ = try await a.poll(maxMessages: 5, timeout: .zero)  // read, never committed: "crash"
        let b = try log.consumer(group: "g", topic: topic)
        let again = try await b.poll(maxMessages: 100, timeout: .zero)
        #expect(again.first?.offset == 5)
        #expect(again.count == 15)
    }

    /// A closed consumer refuses to poll and commit, and a closed publisher to publish, each
    /// with a message naming what is closed; the log and what was committed stay.
    @Test func closedViewsRefuseAndTheLogGoesOn() async throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let log = try EmbeddedLog.open(dataDir: dir, logger: testLogger)
        let publisher = try log.publisher()
        try await publisher.publish((0..<10).map { message($0) }, to: topic)
        try await publisher.close()
        do {
            try await publisher.publish([message(10)], to: topic)
            Issue.record("a closed publisher published")
        } catch let error as MeteoError {
            #expect(error.message.contains("publisher is closed"), "\(error)")
        }
        let a = try log.consumer(group: "g", topic: topic)
        let batch = try await a.poll(maxMessages: 4, timeout: .zero)
        try await a.commit(batch.commitPositions)
        try await a.close()
        for attempt in ["poll", "commit"] {
            do {
                if attempt == "poll" { _ = try await a.poll(maxMessages: 1, timeout: .zero) } else { try await a.commit(batch.commitPositions) }
                Issue.record("a closed consumer could \(attempt)")
            } catch let error as MeteoError {
                #expect(error.message.contains("consumer of group g is closed"), "\(error)")
            }
        }
        let b = try log.consumer(group: "g", topic: topic)
        #expect(try await b.poll(maxMessages: 100, timeout: .zero).map(\.offset) == Array(4..<10))
        try await log.publisher().publish([message(10)], to: topic)
        #expect(try await b.poll(maxMessages: 100, timeout: .zero).map(\.offset) == [10])
        // Closing the log itself ends its views too; the file keeps everything.
        try await log.close()
        do {
            _ = try await b.poll(maxMessages: 1, timeout: .zero)
            Issue.record("a consumer of a closed log polled")
        } catch let error as MeteoError {
            #expect(error.code == .bus && error.message.contains("was closed"), "\(error)")
        }
        let reopened = try EmbeddedLog.open(dataDir: dir, logger: testLogger)
        #expect(try await reopened.stats(group: "g", topic: topic).messages == 11)
    }

    @Test func groupsAreIndependentAndCommitsNeverMoveBackwards() async throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let log = try EmbeddedLog.open(dataDir: dir, logger: testLogger)
        try await log.publisher().publish((0..<10).map { message($0) }, to: topic)
        let a = try log.consumer(group: "a", topic: topic)
        try await a.commit([CommitPosition(topic: topic, partition: 0, nextOffset: 8)])
        try await a.commit([CommitPosition(topic: topic, partition: 0, nextOffset: 3)])
        #expect(try await log.stats(group: "a", topic: topic).committed == 8)
        #expect(try await log.stats(group: "a", topic: topic).lag == 2)
        #expect(try await log.stats(group: "b", topic: topic).lag == 10)
        let b = try log.consumer(group: "b", topic: topic)
        #expect(try await b.poll(maxMessages: 100, timeout: .zero).count == 10)
    }

    @Test func messagesSurviveClosingAndReopening() async throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        do {
            let log = try EmbeddedLog.open(dataDir: dir, logger: testLogger)
            try await log.publisher().publish((0..<50).map { message($0) }, to: topic)
            let c = try log.consumer(group: "g", topic: topic)
            try await c.commit(try await c.poll(maxMessages: 20, timeout: .zero).commitPositions)
            try await log.close()
        }
        let reopened = try EmbeddedLog.open(dataDir: dir, logger: testLogger)
        let stats = try await reopened.stats(group: "g", topic: topic)
        #expect(stats.messages == 50)
        #expect(stats.endOffset == 50)
        #expect(stats.lag == 30)
        try await reopened.publisher().publish([message(50)], to: topic)
        #expect(try await reopened.stats(group: "g", topic: topic).endOffset == 51)
    }

    @Test func twoConnectionsShareOneFileLikeTwoProcesses() async throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let producerSide = try EmbeddedLog.open(dataDir: dir, logger: testLogger)
        let consumerSide = try EmbeddedLog.open(dataDir: dir, logger: testLogger)
        let consumer = try consumerSide.consumer(group: "g", topic: topic)
        async let produced: Void = {
            for i in 0..<40 {
                try await producerSide.publisher().publish((0..<25).map { message(i * 25 + $0) }, to: topic)
            }
        }()
        var received: [Int64] = []
        let deadline = ContinuousClock.now + .seconds(20)
        while received.count < 1000, ContinuousClock.now < deadline {
            let batch = try await consumer.poll(maxMessages: 100, timeout: .milliseconds(50))
            received += batch.map(\.offset)
            try await consumer.commit(batch.commitPositions)
        }
        try await produced
        #expect(received == Array(0..<1000))
    }

    @Test func retentionDeletesOldMessages() async throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let log = try EmbeddedLog.open(dataDir: dir, retention: .seconds(3600), logger: testLogger)
        try await log.publisher().publish((0..<10).map { message($0) }, to: topic)
        #expect(try await log.deleteExpired(topic: topic, now: Date()) == 0)
        let deleted = try await log.deleteExpired(topic: topic, now: Date().addingTimeInterval(7200))
        #expect(deleted == 10)
        #expect(try await log.stats(group: "g", topic: topic).messages == 0)
        // Offsets keep increasing after retention.
        try await log.publisher().publish([message(10)], to: topic)
        let m = try await log.consumer(group: "g", topic: topic).poll(maxMessages: 10, timeout: .zero)
        #expect(m.map(\.offset) == [10])
    }

    /// An append that committed is stored: a retention pass failing after it is logged and
    /// counted, never thrown at the publisher (which would publish the messages again).
    @Test func anAppendThatCommittedNeverThrowsWhenRetentionFailsAfterIt() async throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let metrics = TestMetrics()
        let log = try EmbeddedLog.open(dataDir: dir, retention: .seconds(3600), logger: testLogger, metrics: metrics) { _, _ in
            throw MeteoError(code: .bus, "disk I/O error during retention")
        }
        try await log.publisher().publish((0..<5).map { message($0) }, to: topic)
        #expect(try await log.stats(group: "g", topic: topic).endOffset == 5)
        #expect(try metrics.expectCounter("meteo_log_retention_failures_total").totalValue == 1)
        let c = try log.consumer(group: "g", topic: topic)
        #expect(try await c.poll(maxMessages: 10, timeout: .zero).map(\.offset) == Array(0..<5))
    }

    /// A consumer whose next offset was deleted by retention says how many records it lost,
    /// and counts them; a group that never committed starts at the earliest record quietly.
    @Test func aConsumerWhoseNextRecordsWereDeletedCountsThem() async throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let metrics = TestMetrics()
        let log = try EmbeddedLog.open(dataDir: dir, retention: .seconds(3600), logger: testLogger, metrics: metrics)
        try await log.publisher().publish((0..<10).map { message($0) }, to: topic)
        let slow = try log.consumer(group: "slow", topic: topic)
        try await slow.commit(try await slow.poll(maxMessages: 3, timeout: .zero).commitPositions)
        #expect(try await log.deleteExpired(topic: topic, now: Date().addingTimeInterval(7200)) == 10)
        try await log.publisher().publish((10..<15).map { message($0) }, to: topic)

        let restarted = try log.consumer(group: "slow", topic: topic)
        #expect(try await restarted.poll(maxMessages: 100, timeout: .zero).map(\.offset) == Array(10..<15))
        #expect(restarted.skippedRecords == 7)
        #expect(try metrics.expectCounter("meteo_consumer_skipped_records_total", [("bus", "embedded")]).totalValue == 7)

        let fresh = try log.consumer(group: "new", topic: topic)
        #expect(try await fresh.poll(maxMessages: 100, timeout: .zero).map(\.offset) == Array(10..<15))
        #expect(fresh.skippedRecords == 0)
        #expect(try metrics.expectCounter("meteo_consumer_skipped_records_total", [("bus", "embedded")]).totalValue == 7)
    }

    /// An acknowledged append survives a power cut: the log commits with synchronous=FULL.
    @Test func theLogSyncsEachCommit() async throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let log = try EmbeddedLog.open(dataDir: dir, logger: testLogger)
        #expect(try await log.connection.perform { try $0.pragma("synchronous") } == 2)
    }

    @Test func anUnwritableDataDirIsAClearError() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("not-a-dir")
        try Data("x".utf8).write(to: file)
        do {
            _ = try EmbeddedLog.open(dataDir: file.appendingPathComponent("data"), logger: testLogger)
            Issue.record("opened a log under a regular file")
        } catch let error as MeteoError {
            #expect(error.message.contains("data dir"))
        }
    }
}
