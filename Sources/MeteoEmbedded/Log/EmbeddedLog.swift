import Foundation
import Logging
import MeteoCore
import Metrics
import Synchronization

/// A durable, Kafka-like log in one SQLite file (`<data dir>/bus.sqlite`): topics, keyed
/// appends with increasing offsets, consumer groups with committed offsets, and retention.
///
/// Each append is one row of the `batches` table, holding its messages one after the other
/// (``RecordBatch``, Kafka's record batch in its simplest form); offsets stay per message, and
/// a consumer may start or commit anywhere inside a batch. Logs written before batches (one row
/// per message, the `messages` table) are still read, before the batches: their offsets all come
/// first.
///
/// It is the embedded stand-in for Kafka. Several processes may share the file (one
/// `meteo ingest` and one `meteo sink`, say): SQLite's locks order their transactions. A
/// publish returns only once its transaction has committed, so a `kill -9` of any process
/// loses nothing that was acknowledged. Each topic has one partition, 0.
public final class EmbeddedLog: Sendable {
    /// The file name of the log inside the data dir.
    public static let fileName = "bus.sqlite"

    let connection: SQLiteConnection
    let retention: Duration
    let logger: Logger
    private let lastRetention = Mutex<ContinuousClock.Instant?>(nil)
    private let retentionFailures: Counter
    /// Records deleted by retention before a consumer of this log read them.
    let skippedCounter: Counter
    /// Replaces the retention pass (tests: a retention that fails).
    let retentionOverride: (@Sendable (_ topic: String, _ now: Date) async throws -> Int)?

    init(connection: SQLiteConnection, retention: Duration, logger: Logger, metrics: any MetricsFactory,
         retentionOverride: (@Sendable (String, Date) async throws -> Int)? = nil) {
        self.connection = connection
        self.retention = retention
        self.logger = logger
        self.retentionOverride = retentionOverride
        self.retentionFailures = Counter(label: "meteo_log_retention_failures_total", dimensions: [], factory: metrics)
        self.skippedCounter = Counter(label: "meteo_consumer_skipped_records_total", dimensions: [("bus", "embedded")], factory: metrics)
    }

    /// Opens (creating if needed) the log in `dataDir`.
    /// - Parameter metrics: where its counters go (`meteo_log_retention_failures_total`,
    ///   `meteo_consumer_skipped_records_total{bus="embedded"}`, labelled like the Kafka consumer's: a Prometheus registry refuses one name with and without labels); the process's metrics system by default.
    /// - Parameter synchronous: `.full` (the default): an acknowledged publish survives a power
    ///   cut. `.normal` is for `scripts/bench sink`, which measures what that costs.
    public static func open(dataDir: URL, retention: Duration = .seconds(7 * 86_400), logger: Logger,
                            metrics: any MetricsFactory = MetricsSystem.factory, synchronous: SQLiteSynchronous = .full) throws -> EmbeddedLog {
        try open(dataDir: dataDir, retention: retention, logger: logger, metrics: metrics, retentionOverride: nil, synchronous: synchronous)
    }

    static func open(dataDir: URL, retention: Duration, logger: Logger, metrics: any MetricsFactory,
                     retentionOverride: (@Sendable (String, Date) async throws -> Int)?, synchronous: SQLiteSynchronous = .full) throws -> EmbeddedLog {
        let path = dataDir.appendingPathComponent(fileName).path
        // synchronous=FULL: an acknowledged publish survives a power cut, as a Kafka
        // acknowledgement with acks=all survives the loss of a broker. The ingestor counts a
        // message published, and moves on, only once the append has returned.
        let connection = try SQLiteConnection.open(path: path, errorCode: .bus, synchronous: synchronous, pageSize: SQLiteStore.pageSize)
        try connection.execute("""
            CREATE TABLE IF NOT EXISTS messages (
                topic TEXT NOT NULL,
                partition INTEGER NOT NULL,
                offset INTEGER NOT NULL,
                key TEXT,
                value BLOB NOT NULL,
                headers TEXT,
                timestamp_ms INTEGER NOT NULL,
                PRIMARY KEY (topic, partition, offset)
            ) WITHOUT ROWID;
            CREATE INDEX IF NOT EXISTS messages_time ON messages (topic, timestamp_ms);
            CREATE TABLE IF NOT EXISTS topic_ends (
                topic TEXT NOT NULL,
                partition INTEGER NOT NULL,
                next_offset INTEGER NOT NULL,
                PRIMARY KEY (topic, partition)
            ) WITHOUT ROWID;
            CREATE TABLE IF NOT EXISTS batches (
                topic TEXT NOT NULL,
                partition INTEGER NOT NULL,
                first_offset INTEGER NOT NULL,
                count INTEGER NOT NULL,
                timestamp_ms INTEGER NOT NULL,
                records BLOB NOT NULL
            );
            CREATE UNIQUE INDEX IF NOT EXISTS batches_offset ON batches (topic, partition, first_offset);
            CREATE INDEX IF NOT EXISTS batches_time ON batches (topic, timestamp_ms);
            CREATE TABLE IF NOT EXISTS group_offsets (
                group_id TEXT NOT NULL,
                topic TEXT NOT NULL,
                partition INTEGER NOT NULL,
                next_offset INTEGER NOT NULL,
                updated_ms INTEGER NOT NULL,
                PRIMARY KEY (group_id, topic, partition)
            ) WITHOUT ROWID;
            """)
        return EmbeddedLog(connection: connection, retention: retention, logger: logger, metrics: metrics,
                           retentionOverride: retentionOverride)
    }

    /// A publisher on this log.
    public func publisher() throws -> EmbeddedLogPublisher { EmbeddedLogPublisher(log: self) }

    /// A consumer of `topic` in consumer group `group`; it starts at the group's committed offset.
    public func consumer(group: String, topic: String) throws -> EmbeddedLogConsumer {
        EmbeddedLogConsumer(log: self, group: group, topic: topic)
    }

    /// Closes the database once the calls made before are done; later calls (of its
    /// publishers and consumers too) are refused.
    public func close() async throws {
        await connection.close()
    }

    /// Appends messages in one transaction, as one batch, and returns their offsets.
    func append(_ messages: [OutgoingMessage], to topic: String) async throws -> Range<Int64> {
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        // Encoded here, on the caller's task, so the connection's queue only writes.
        let records = RecordBatch.encode(messages)
        let count = Int64(messages.count)
        let range = try await connection.perform { db in
            try db.transaction { () throws -> Range<Int64> in
                let end = try db.statement("SELECT next_offset FROM topic_ends WHERE topic = ?1 AND partition = 0")
                end.bind(1, topic)
                let first: Int64 = try end.step() ? (end.int64(0) ?? 0) : 0
                end.reset()
                let insert = try db.statement(
                    "INSERT INTO batches (topic, partition, first_offset, count, timestamp_ms, records) VALUES (?1, 0, ?2, ?3, ?4, ?5)")
                insert.bind(1, topic)
                insert.bind(2, first)
                insert.bind(3, count)
                insert.bind(4, now)
                insert.bind(5, blob: records)
                try insert.step()
                insert.reset()
                let update = try db.statement("""
                    INSERT INTO topic_ends (topic, partition, next_offset) VALUES (?1, 0, ?2)
                    ON CONFLICT (topic, partition) DO UPDATE SET next_offset = excluded.next_offset
                    """)
                update.bind(1, topic)
                update.bind(2, first + count)
                try update.step()
                return first..<(first + count)
            }
        }
        // The append has committed: from here on nothing may make it look failed.
        await applyRetentionIfDue(topic: topic)
        return range
    }

    /// Deletes the messages older than the retention, at most once a minute. It runs after an
    /// append has committed, so it never throws: a failure is logged and counted
    /// (`meteo_log_retention_failures_total`), and retried a minute later.
    func applyRetentionIfDue(topic: String) async {
        let now = ContinuousClock.now
        let due = lastRetention.withLock { last -> Bool in
            if let last, now - last < .seconds(60) { return false }
            last = now
            return true
        }
        guard due else { return }
        do {
            let deleted: Int
            if let retentionOverride {
                deleted = try await retentionOverride(topic, Date())
            } else {
                deleted = try await deleteExpired(topic: topic, now: Date())
            }
            if deleted > 0 {
                logger.info("retention deleted old messages", metadata: [LoggingKeys.topic: "\(topic)", LoggingKeys.count: "\(deleted)"])
            }
        } catch {
            retentionFailures.increment()
            logger.error("retention failed; the append itself is stored, retention is tried again in a minute",
                         metadata: [LoggingKeys.topic: "\(topic)", LoggingKeys.error: "\(error)"])
        }
    }

    /// Deletes messages of `topic` older than the retention; returns how many.
    @discardableResult
    public func deleteExpired(topic: String, now: Date) async throws -> Int {
        let cutoff = Int64((now.timeIntervalSince1970 - retention.seconds) * 1000)
        return try await connection.perform { db in
            try db.transaction { () throws -> Int in
                let counted = try db.statement("SELECT coalesce(sum(count), 0) FROM batches WHERE topic = ?1 AND timestamp_ms < ?2")
                counted.bind(1, topic)
                counted.bind(2, cutoff)
                let inBatches = try counted.step() ? Int(counted.int64(0) ?? 0) : 0
                counted.reset()
                let batches = try db.statement("DELETE FROM batches WHERE topic = ?1 AND timestamp_ms < ?2")
                batches.bind(1, topic)
                batches.bind(2, cutoff)
                try batches.step()
                let legacy = try db.statement("DELETE FROM messages WHERE topic = ?1 AND timestamp_ms < ?2")
                legacy.bind(1, topic)
                legacy.bind(2, cutoff)
                try legacy.step()
                return inBatches + db.changes
            }
        }
    }

    /// Reads up to `limit` messages from `offset` on: first from the rows of a log written
    /// before batches, then from the batches (the one that holds `offset` and those after).
    func read(topic: String, from offset: Int64, limit: Int) async throws -> [BusMessage] {
        try await connection.perform { db in
            var out: [BusMessage] = []
            let select = try db.statement("""
                SELECT offset, key, value, headers, timestamp_ms FROM messages
                WHERE topic = ?1 AND partition = 0 AND offset >= ?2 ORDER BY offset LIMIT ?3
                """)
            select.bind(1, topic)
            select.bind(2, offset)
            select.bind(3, Int64(limit))
            while try select.step() {
                out.append(BusMessage(
                    topic: topic, partition: 0, offset: select.int64(0) ?? 0, key: select.text(1),
                    value: select.blob(2), headers: select.text(3).map(Self.decodeHeaders) ?? [:],
                    timestamp: Date(timeIntervalSince1970: Double(select.int64(4) ?? 0) / 1000)))
            }
            select.reset()
            if !out.isEmpty { return out }
            let batches = try db.statement("""
                SELECT first_offset, count, timestamp_ms, records FROM batches
                WHERE topic = ?1 AND partition = 0 AND first_offset >= coalesce(
                    (SELECT max(first_offset) FROM batches WHERE topic = ?1 AND partition = 0 AND first_offset <= ?2), 0)
                ORDER BY first_offset
                """)
            defer { batches.reset() }
            batches.bind(1, topic)
            batches.bind(2, offset)
            while out.count < limit, try batches.step() {
                let first = batches.int64(0) ?? 0
                let count = Int(batches.int64(1) ?? 0)
                guard first + Int64(count) > offset else { continue }
                let timestamp = Date(timeIntervalSince1970: Double(batches.int64(2) ?? 0) / 1000)
                try batches.withBlob(3) { (blob: UnsafeRawBufferPointer) throws(MeteoError) in
                    try RecordBatch.decode(blob, count: count, first: first, from: offset, limit: limit, topic: topic,
                                           timestamp: timestamp, into: &out)
                }
            }
            return out
        }
    }

    /// The group's committed next offset, or nil when it never committed.
    func committed(group: String, topic: String) async throws -> Int64? {
        try await connection.perform { db in
            let select = try db.statement("SELECT next_offset FROM group_offsets WHERE group_id = ?1 AND topic = ?2 AND partition = 0")
            select.bind(1, group)
            select.bind(2, topic)
            let value = try select.step() ? select.int64(0) : nil
            select.reset()
            return value
        }
    }

    /// Records the group's position; never moves it backwards.
    func commit(group: String, positions: [CommitPosition]) async throws {
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        try await connection.perform { db in
            try db.transaction {
                let upsert = try db.statement("""
                    INSERT INTO group_offsets (group_id, topic, partition, next_offset, updated_ms) VALUES (?1, ?2, ?3, ?4, ?5)
                    ON CONFLICT (group_id, topic, partition) DO UPDATE SET
                        next_offset = max(next_offset, excluded.next_offset), updated_ms = excluded.updated_ms
                    """)
                for p in positions {
                    upsert.reset()
                    upsert.bind(1, group)
                    upsert.bind(2, p.topic)
                    upsert.bind(3, Int64(p.partition))
                    upsert.bind(4, p.nextOffset)
                    upsert.bind(5, now)
                    try upsert.step()
                }
            }
        }
    }

    /// Size and lag of a topic for a group.
    public struct Stats: Sendable, Hashable {
        /// Messages held (after retention).
        public var messages: Int
        /// The offset the next published message gets.
        public var endOffset: Int64
        /// The group's committed next offset (0 when it never committed).
        public var committed: Int64
        /// Messages held that the group has not committed yet.
        public var lag: Int
    }

    public func stats(group: String, topic: String) async throws -> Stats {
        try await connection.perform { db in
            func scalar(_ sql: String, _ binds: (SQLiteStatement) -> Void) throws -> Int64 {
                let s = try db.statement(sql)
                binds(s)
                let v = try s.step() ? (s.int64(0) ?? 0) : 0
                s.reset()
                return v
            }
            let messages = try scalar("SELECT count(*) FROM messages WHERE topic = ?1") { $0.bind(1, topic) }
                + scalar("SELECT coalesce(sum(count), 0) FROM batches WHERE topic = ?1") { $0.bind(1, topic) }
            let end = try scalar("SELECT next_offset FROM topic_ends WHERE topic = ?1 AND partition = 0") { $0.bind(1, topic) }
            let committed = try scalar("SELECT next_offset FROM group_offsets WHERE group_id = ?1 AND topic = ?2 AND partition = 0") {
                $0.bind(1, group)
                $0.bind(2, topic)
            }
            let lag = try scalar("SELECT count(*) FROM messages WHERE topic = ?1 AND partition = 0 AND offset >= ?2") {
                $0.bind(1, topic)
                $0.bind(2, committed)
            } + scalar("""
                SELECT coalesce(sum(CASE WHEN first_offset >= ?2 THEN count ELSE max(0, first_offset + count - ?2) END), 0)
                FROM batches WHERE topic = ?1 AND partition = 0
                """) {
                $0.bind(1, topic)
                $0.bind(2, committed)
            }
            return Stats(messages: Int(messages), endOffset: end, committed: committed, lag: Int(lag))
        }
    }

    static func encodeHeaders(_ headers: [String: String]) -> String {
        var w = JSONWriter()
        w.value(.object(headers.mapValues { .string($0) }))
        return String(decoding: w.bytes, as: UTF8.self)
    }

    static func decodeHeaders(_ text: String) -> [String: String] {
        guard case .object(let o)? = try? JSONValue.parse(text) else { return [:] }
        return o.compactMapValues { if case .string(let s) = $0 { s } else { nil } }
    }
}
