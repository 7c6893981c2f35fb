import Foundation
import MeteoCore
@testable import MeteoEmbedded
import Testing

/// The log's batches: one row per append, offsets per message, reads and commits anywhere
/// inside a batch, and logs written before batches (one row a message) still read first.
@Suite("Embedded log: record batches")
struct RecordBatchTests {
    let topic = "t"

    @Test func readsAndCommitsInsideABatchAndCountsTheLag() async throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let log = try EmbeddedLog.open(dataDir: dir, logger: testLogger)
        try await log.publisher().publish((0..<100).map { message($0) }, to: topic)
        try await log.publisher().publish((100..<150).map { message($0) }, to: topic)
        let rows = try await log.connection.perform { db -> Int64 in
            let s = try db.statement("SELECT count(*) FROM batches")
            defer { s.reset() }
            return try s.step() ? (s.int64(0) ?? 0) : 0
        }
        #expect(rows == 2, "one row per append")

        let a = try log.consumer(group: "g", topic: topic)
        let first = try await a.poll(maxMessages: 30, timeout: .zero)
        #expect(first.map(\.offset) == Array(0..<30))
        try await a.commit(first.commitPositions)
        #expect(try await log.stats(group: "g", topic: topic).lag == 120)
        // A new member starts inside the first batch and reads across into the second.
        let b = try log.consumer(group: "g", topic: topic)
        let next = try await b.poll(maxMessages: 100, timeout: .zero)
        #expect(next.map(\.offset) == Array(30..<130))
        #expect(next.map { String(decoding: $0.value, as: UTF8.self) } == (30..<130).map { "m\($0)" })
        #expect(next.map(\.key) == (30..<130).map { "k\($0 % 7)" })
        try await b.commit(next.commitPositions)
        let stats = try await log.stats(group: "g", topic: topic)
        #expect(stats.messages == 150 && stats.lag == 20 && stats.endOffset == 150)
        try await log.close()
    }

    @Test func aLogWrittenBeforeBatchesIsReadFirst() async throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let log = try EmbeddedLog.open(dataDir: dir, logger: testLogger)
        // Three messages as the log wrote them before batches: one row each, and the topic's end.
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        try await log.connection.perform { db in
            try db.execute("""
                INSERT INTO messages (topic, partition, offset, key, value, headers, timestamp_ms) VALUES
                    ('t', 0, 0, 'a', X'6F6C6430', NULL, \(now)), ('t', 0, 1, 'b', X'6F6C6431', '{"h":"v"}', \(now)),
                    ('t', 0, 2, NULL, X'6F6C6432', NULL, \(now));
                INSERT INTO topic_ends (topic, partition, next_offset) VALUES ('t', 0, 3);
                """)
        }
        try await log.publisher().publish((3..<6).map { message($0) }, to: topic)
        let consumer = try log.consumer(group: "g", topic: topic)
        var all: [BusMessage] = []
        while true {
            let batch = try await consumer.poll(maxMessages: 2, timeout: .zero)
            if batch.isEmpty { break }
            all += batch
        }
        #expect(all.map(\.offset) == Array(0..<6))
        #expect(all.map { String(decoding: $0.value, as: UTF8.self) } == ["old0", "old1", "old2", "m3", "m4", "m5"])
        #expect(all[1].headers == ["h": "v"] && all[2].key == nil)
        #expect(try await log.stats(group: "g", topic: topic).messages == 6)
        // Retention takes both kinds of rows.
        #expect(try await log.deleteExpired(topic: topic, now: Date().addingTimeInterval(30 * 86_400)) == 6)
        #expect(try await log.stats(group: "g", topic: topic).messages == 0)
        try await log.close()
    }

    @Test func aDamagedBatchIsAClearError() async throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let log = try EmbeddedLog.open(dataDir: dir, logger: testLogger)
        try await log.publisher().publish((0..<3).map { message($0) }, to: topic)
        try await log.connection.perform { db in try db.execute("UPDATE batches SET records = substr(records, 1, 10)") }
        let error = await #expect(throws: MeteoError.self) {
            _ = try await log.consumer(group: "g", topic: topic).poll(maxMessages: 10, timeout: .zero)
        }
        #expect(error?.message.contains("damaged") == true)
        try await log.close()
    }
}
