import Foundation
import Logging
import MeteoCore
import Synchronization

/// The embedded observation store: one SQLite file, `<data dir>/store.sqlite`.
///
/// Observations are keyed on (place id, observed time in Unix seconds), so that writing the
/// same observation again overwrites it. A `latest` table keeps the newest observation of each
/// place (a pointer to its row), updated in the same transaction. Dead letters live in `dead_letters`, unique on
/// (topic, partition, offset, fingerprint) (see ``DeadLetter/fingerprint``).
public final class SQLiteStore: ObservationStore, DeadLetterStore, SinkWriter {
    public static let fileName = "store.sqlite"

    let connection: SQLiteConnection
    let logger: Logger

    init(connection: SQLiteConnection, logger: Logger) {
        self.connection = connection
        self.logger = logger
    }

    /// The columns in table order: the key (place_id, observed_at) first, then the other
    /// fields of ``ObservationSchema`` in its order; `bind` and `observation(from:)` follow it.
    static let columnFields: [ObservationSchema.Field] = {
        let key = ["place_id", "observed_at"]
        return key.compactMap(ObservationSchema.field) + ObservationSchema.fields.filter { !key.contains($0.name) }
    }()

    static let columns = columnFields.map(\.name).joined(separator: ", ")

    static let columnCount = columnFields.count

    static let placeholders = (1...columnCount).map { "?\($0)" }.joined(separator: ", ")

    /// `name = ?3, …` for every column but the key: the update of a row already stored.
    static let assignments = columnFields.enumerated().dropFirst(2).map { "\($1.name) = ?\($0 + 1)" }.joined(separator: ", ")

    /// The columns; `primaryKey` nil keeps SQLite's rowid, so that rows are appended in arrival
    /// order and only the small unique index on (place_id, observed_at) takes random inserts.
    static func columnDefinitions(primaryKey: String?) -> String {
        columnFields.map { f in
            let type = switch f.kind {
            case .text: "TEXT"
            case .real: "REAL"
            case .integer, .time: "INTEGER"
            }
            return "    \(f.name) \(type)" + (f.nullable ? "" : " NOT NULL")
        }.joined(separator: ",\n") + (primaryKey.map { ",\n    PRIMARY KEY (\($0))" } ?? "")
    }

    /// The page size of a new store file: 16 KiB pages make the three indexes shallower and
    /// split less under bulk writes (a backfill) than SQLite's default 4 KiB.
    static let pageSize = 16_384

    /// Opens (creating if needed) the store in `dataDir`.
    /// - Parameter synchronous: `.full` (the default): a write that returned survives a power
    ///   cut. `.normal` is for `scripts/bench sink`, which measures what that costs.
    public static func open(dataDir: URL, logger: Logger, synchronous: SQLiteSynchronous = .full) throws -> SQLiteStore {
        // synchronous=FULL: a write that returned survives a power cut, so the sink may
        // commit the bus offsets of its batch right after it.
        let connection = try SQLiteConnection.open(path: dataDir.appendingPathComponent(fileName).path, errorCode: .store, synchronous: synchronous,
                                                   pageSize: pageSize)
        try connection.execute("""
            CREATE TABLE IF NOT EXISTS observations (
            \(columnDefinitions(primaryKey: nil))
            );
            CREATE UNIQUE INDEX IF NOT EXISTS observations_key ON observations (place_id, observed_at);
            CREATE INDEX IF NOT EXISTS observations_region_time ON observations (region, observed_at);
            CREATE INDEX IF NOT EXISTS observations_time ON observations (observed_at);
            CREATE TABLE IF NOT EXISTS latest (
                place_id TEXT NOT NULL PRIMARY KEY,
                observed_at INTEGER NOT NULL,
                region TEXT
            ) WITHOUT ROWID;
            CREATE INDEX IF NOT EXISTS latest_region ON latest (region);
            """)
        try migrateDeadLetters(connection)
        return SQLiteStore(connection: connection, logger: logger)
    }

    static let deadLettersTable = """
        CREATE TABLE IF NOT EXISTS dead_letters (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            reason TEXT NOT NULL,
            topic TEXT NOT NULL,
            partition INTEGER NOT NULL,
            offset INTEGER NOT NULL,
            key TEXT,
            payload BLOB NOT NULL,
            failed_at_ms INTEGER NOT NULL,
            fingerprint TEXT NOT NULL DEFAULT '',
            UNIQUE (topic, partition, offset, fingerprint)
        );
        """

    /// Creates `dead_letters`, or rebuilds one of a version that was unique on (topic,
    /// partition, offset) alone (SQLite cannot drop a table constraint); its rows keep an
    /// empty fingerprint.
    static func migrateDeadLetters(_ connection: SQLiteConnection) throws {
        let schema = try connection.prepare("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'dead_letters'")
        defer { schema.finalize() }
        let old = try schema.step() ? schema.text(0) : nil
        schema.reset()
        if let old, !old.contains("fingerprint") {
            try connection.execute("""
                BEGIN IMMEDIATE;
                ALTER TABLE dead_letters RENAME TO dead_letters_before_fingerprint;
                \(deadLettersTable)
                INSERT INTO dead_letters (id, reason, topic, partition, offset, key, payload, failed_at_ms)
                    SELECT id, reason, topic, partition, offset, key, payload, failed_at_ms FROM dead_letters_before_fingerprint;
                DROP TABLE dead_letters_before_fingerprint;
                COMMIT;
                """)
        } else {
            try connection.execute(deadLettersTable)
        }
    }

    /// Closes the database once the calls made before are done; later calls are refused.
    public func close() async throws {
        await connection.close()
    }

    // MARK: Writing

    public func upsert(_ observations: [Observation]) async throws -> UpsertSummary {
        try await write(observations, deadLetters: [])
    }

    public func record(_ letters: [DeadLetter]) async throws {
        _ = try await write([], deadLetters: letters)
    }

    /// Upserts the observations and records the dead letters in one transaction.
    public func write(_ observations: [Observation], deadLetters: [DeadLetter]) async throws -> UpsertSummary {
        guard !observations.isEmpty || !deadLetters.isEmpty else { return UpsertSummary() }
        return try await connection.perform { db in
            try db.transaction { () throws -> UpsertSummary in
                var summary = UpsertSummary()
                let insert = try db.statement("INSERT OR IGNORE INTO observations (\(Self.columns)) VALUES (\(Self.placeholders))")
                let update = try db.statement("UPDATE observations SET \(Self.assignments) WHERE place_id = ?1 AND observed_at = ?2")
                var newest: [String: Int] = [:]
                // In time order: the two indexes on time then take each hour's rows side by
                // side, instead of one row in each of the batch's hours place after place (a
                // backfill's order), which splits pages all over them.
                let order = Self.timeOrder(observations)
                // Rows go in groups of `rowsPerInsert` through one multi-row INSERT OR IGNORE; a
                // group in which some keys were already stored (a replay) is then updated row by
                // row, which rewrites the rows just inserted with the same values: the last
                // observation of a key wins, as one row at a time would have it.
                let many = try db.statement(Self.multiRowInsert)
                var start = 0
                while start < order.count {
                    let group = order[start..<min(order.count, start + Self.rowsPerInsert)]
                    start += group.count
                    if group.count == Self.rowsPerInsert {
                        many.rewind()
                        for (r, i) in group.enumerated() { Self.bind(observations[i], to: many, row: r) }
                        try many.step()
                        let inserted = db.changes
                        summary.inserted += inserted
                        if inserted < group.count {
                            summary.updated += group.count - inserted
                            for i in group {
                                update.rewind()
                                Self.bind(observations[i], to: update)
                                try update.step()
                            }
                        }
                    } else {
                        for i in group {
                            insert.rewind()
                            Self.bind(observations[i], to: insert)
                            try insert.step()
                            if db.changes == 1 {
                                summary.inserted += 1
                            } else {
                                update.rewind()
                                Self.bind(observations[i], to: update)
                                try update.step()
                                summary.updated += 1
                            }
                        }
                    }
                    for i in group {
                        let o = observations[i]
                        if let j = newest[o.placeID], observations[j].observedAt > o.observedAt { continue }
                        newest[o.placeID] = i
                    }
                }
                let latest = try db.statement("""
                    INSERT INTO latest (place_id, observed_at, region) VALUES (?1, ?2, ?3)
                    ON CONFLICT (place_id) DO UPDATE SET observed_at = excluded.observed_at, region = excluded.region
                    WHERE excluded.observed_at >= latest.observed_at
                    """)
                for i in newest.values {
                    let o = observations[i]
                    latest.reset()
                    latest.bind(1, o.placeID)
                    latest.bind(2, ObservationKey(placeID: o.placeID, observedAt: o.observedAt).epochSeconds)
                    latest.bind(3, o.region)
                    try latest.step()
                }
                if !deadLetters.isEmpty {
                    let dead = try db.statement("""
                        INSERT OR IGNORE INTO dead_letters (reason, topic, partition, offset, key, payload, failed_at_ms, fingerprint)
                        VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                        """)
                    for d in deadLetters {
                        dead.reset()
                        dead.bind(1, d.reason)
                        dead.bind(2, d.topic)
                        dead.bind(3, Int64(d.partition))
                        dead.bind(4, d.offset)
                        dead.bind(5, d.key)
                        dead.bind(6, blob: d.payload)
                        dead.bind(7, Int64(d.failedAt.timeIntervalSince1970 * 1000))
                        dead.bind(8, d.fingerprint)
                        try dead.step()
                    }
                }
                return summary
            }
        }
    }

    /// The indexes of `observations` by observed time (stable: ties keep their order).
    static func timeOrder(_ observations: [Observation]) -> [Int] {
        let times = observations.map { $0.observedAt.timeIntervalSince1970 }
        var sorted = true
        for i in times.indices.dropFirst() where times[i] < times[i - 1] {
            sorted = false
            break
        }
        if sorted { return Array(observations.indices) }
        return observations.indices.sorted { times[$0] != times[$1] ? times[$0] < times[$1] : $0 < $1 }
    }

    /// Rows per multi-row INSERT: fewer statement executions per row, and 1,000 parameters,
    /// far below SQLite's limit.
    static let rowsPerInsert = 50

    static let multiRowInsert = "INSERT OR IGNORE INTO observations (\(columns)) VALUES "
        + (0..<rowsPerInsert).map { r in "(" + (1...columnCount).map { "?\(r * columnCount + $0)" }.joined(separator: ", ") + ")" }.joined(separator: ", ")

    /// Binds the observation's 20 columns (``columnFields``, in order) to parameters
    /// `row × 20 + 1` … `row × 20 + 20`.
    static func bind(_ o: Observation, to s: SQLiteStatement, row: Int = 0) {
        let b = Int32(row * columnCount)
        s.bind(b + 1, o.placeID)
        s.bind(b + 2, ObservationKey(placeID: o.placeID, observedAt: o.observedAt).epochSeconds)
        s.bind(b + 3, o.name)
        s.bind(b + 4, o.country)
        s.bind(b + 5, o.region)
        s.bind(b + 6, o.latitude)
        s.bind(b + 7, o.longitude)
        s.bind(b + 8, o.source)
        s.bind(b + 9, o.temperatureC)
        s.bind(b + 10, o.feelsLikeC)
        s.bind(b + 11, o.humidityPct)
        s.bind(b + 12, o.pressureHPa)
        s.bind(b + 13, o.windSpeedMS)
        s.bind(b + 14, o.windDirectionDeg)
        s.bind(b + 15, o.windGustMS)
        s.bind(b + 16, o.cloudCoverPct)
        s.bind(b + 17, o.visibilityM)
        s.bind(b + 18, o.rainMM)
        s.bind(b + 19, o.snowMM)
        s.bind(b + 20, o.weatherCode)
    }

    static func observation(from s: SQLiteStatement) -> Observation {
        Observation(
            placeID: s.text(0) ?? "", name: s.text(2) ?? "", country: s.text(3) ?? "", region: s.text(4),
            latitude: s.double(5) ?? 0, longitude: s.double(6) ?? 0,
            observedAt: Date(timeIntervalSince1970: Double(s.int64(1) ?? 0)), source: s.text(7) ?? "",
            temperatureC: s.double(8), feelsLikeC: s.double(9), humidityPct: s.double(10), pressureHPa: s.double(11),
            windSpeedMS: s.double(12), windDirectionDeg: s.double(13), windGustMS: s.double(14),
            cloudCoverPct: s.double(15), visibilityM: s.double(16), rainMM: s.double(17), snowMM: s.double(18),
            weatherCode: s.int64(19).map { Int($0) })
    }

    // MARK: Reading

    /// The WHERE clauses of a query and a function that binds their parameters, numbered from `first`.
    static func filter(_ query: ObservationQuery, firstParameter first: Int) -> (clauses: [String], bind: @Sendable (SQLiteStatement) -> Void) {
        var clauses: [String] = []
        let ids = query.placeIDs ?? []
        if query.placeIDs != nil {
            clauses.append(ids.isEmpty ? "0" : "place_id IN (\(ids.indices.map { "?\($0 + first)" }.joined(separator: ", ")))")
        }
        var next = first + ids.count
        var regionAt: Int32?
        var sinceAt: Int32?
        var untilAt: Int32?
        if query.region != nil { clauses.append("region = ?\(next)"); regionAt = Int32(next); next += 1 }
        if query.since != nil { clauses.append("observed_at >= ?\(next)"); sinceAt = Int32(next); next += 1 }
        if query.until != nil { clauses.append("observed_at < ?\(next)"); untilAt = Int32(next); next += 1 }
        var afterAt: Int32?
        if query.after != nil {
            // Keyset: past the cursor in the (time, place id) order of the query.
            clauses.append("(observed_at \(query.newestFirst ? "<" : ">") ?\(next) OR (observed_at = ?\(next) AND place_id > ?\(next + 1)))")
            afterAt = Int32(next)
            next += 2
        }
        let (r, a, b, c) = (regionAt, sinceAt, untilAt, afterAt)
        return (clauses, { s in
            for (i, id) in ids.enumerated() { s.bind(Int32(i + first), id) }
            if let r { s.bind(r, query.region) }
            if let a, let since = query.since { s.bind(a, Int64(since.timeIntervalSince1970.rounded(.up))) }
            if let b, let until = query.until { s.bind(b, Int64(until.timeIntervalSince1970.rounded(.up))) }
            if let c, let after = query.after {
                s.bind(c, after.epochSeconds)
                s.bind(c + 1, after.placeID)
            }
        })
    }

    public func observations(_ query: ObservationQuery) async throws -> [Observation] {
        if let ids = query.placeIDs, ids.isEmpty { return [] }
        let (clauses, bind) = Self.filter(query, firstParameter: 1)
        var sql = "SELECT \(Self.columns) FROM observations"
        if !clauses.isEmpty { sql += " WHERE " + clauses.joined(separator: " AND ") }
        sql += query.newestFirst ? " ORDER BY observed_at DESC, place_id" : " ORDER BY observed_at, place_id"
        if let limit = query.limit { sql += " LIMIT \(max(0, limit))" }
        let statementSQL = sql
        return try await connection.perform { db in
            let s = try db.prepare(statementSQL)
            defer { s.finalize() }
            bind(s)
            var out: [Observation] = []
            while try s.step() { out.append(Self.observation(from: s)) }
            return out
        }
    }

    /// Pages through the table in rowid order (keyset pagination: each page is one short read
    /// that seeks past the last rowid seen), so that memory holds one page at a time.
    public func scan(_ query: ObservationQuery, batchSize: Int) -> AsyncThrowingStream<[Observation], any Error> {
        let size = max(1, batchSize)
        let (clauses, bind) = Self.filter(query, firstParameter: 2)
        let sql = "SELECT \(Self.columns), rowid FROM observations WHERE "
            + (["rowid > ?1"] + clauses).joined(separator: " AND ") + " ORDER BY rowid LIMIT \(size)"
        let cursor = ScanCursor()
        let connection = self.connection
        return AsyncThrowingStream {
            guard let after = cursor.next() else { return nil }
            let (page, last) = try await connection.perform { db -> ([Observation], Int64?) in
                let s = try db.statement(sql)
                defer { s.reset() }
                s.bind(1, after)
                bind(s)
                var out: [Observation] = []
                out.reserveCapacity(size)
                var last: Int64?
                while try s.step() {
                    out.append(Self.observation(from: s))
                    last = s.int64(Int32(Self.columnCount))
                }
                return (out, last)
            }
            cursor.advance(to: page.count < size ? nil : last)
            return page.isEmpty ? nil : page
        }
    }

    /// One query over the unique index on (place_id, observed_at), which covers it and gives
    /// the rows in (place, time) order: each place's hours are merged into runs as they come,
    /// without the temporary B-tree a `GROUP BY place_id, observed_at / 3600` would sort in.
    public func observedHours(_ query: ObservationQuery) async throws -> [String: [Range<Int64>]] {
        if let ids = query.placeIDs, ids.isEmpty { return [:] }
        var selection = query
        selection.after = nil
        let (clauses, bind) = Self.filter(selection, firstParameter: 1)
        let sql = "SELECT place_id, observed_at / 3600 FROM observations INDEXED BY observations_key"
            + (clauses.isEmpty ? "" : " WHERE " + clauses.joined(separator: " AND "))
            + " ORDER BY place_id, observed_at"
        return try await connection.perform { db in
            let s = try db.prepare(sql)
            defer { s.finalize() }
            bind(s)
            var out: [String: [Range<Int64>]] = [:]
            var place: [UInt8] = []
            var runs: [Range<Int64>] = []
            func flush() {
                if !runs.isEmpty { out[String(decoding: place, as: UTF8.self)] = runs }
                runs.removeAll(keepingCapacity: true)
            }
            while try s.step() {
                let hour = s.int64(1) ?? 0
                if !s.textEquals(0, place) {
                    flush()
                    place = s.textBytes(0)
                }
                if let last = runs.last, hour < last.upperBound {
                    continue  // another observation in the same hour
                } else if let last = runs.last, last.upperBound == hour {
                    runs[runs.count - 1] = last.lowerBound..<(hour + 1)
                } else {
                    runs.append(hour..<(hour + 1))
                }
            }
            flush()
            return out
        }
    }

    public func latest(region: String?) async throws -> [Observation] {
        try await connection.perform { db in
            let columns = Self.columns.split(separator: ",").map { "o." + $0.trimmingCharacters(in: .whitespaces) }.joined(separator: ", ")
            let join = "FROM latest l JOIN observations o ON o.place_id = l.place_id AND o.observed_at = l.observed_at"
            let s = try db.prepare(region == nil
                ? "SELECT \(columns) \(join) ORDER BY l.place_id"
                : "SELECT \(columns) \(join) WHERE l.region = ?1 ORDER BY l.place_id")
            defer { s.finalize() }
            if let region { s.bind(1, region) }
            var out: [Observation] = []
            while try s.step() { out.append(Self.observation(from: s)) }
            return out
        }
    }

    /// The place columns of each place's latest row, by the `latest` table.
    public func places() async throws -> [StoredPlace] {
        try await connection.perform { db in
            let s = try db.prepare("""
                SELECT o.place_id, o.name, o.country, o.region, o.latitude, o.longitude, o.observed_at
                FROM latest l JOIN observations o ON o.place_id = l.place_id AND o.observed_at = l.observed_at
                ORDER BY l.place_id
                """)
            defer { s.finalize() }
            var out: [StoredPlace] = []
            while try s.step() {
                out.append(StoredPlace(id: s.text(0) ?? "", name: s.text(1) ?? "", country: s.text(2) ?? "", region: s.text(3),
                                       latitude: s.double(4) ?? 0, longitude: s.double(5) ?? 0,
                                       lastObservedAt: Date(timeIntervalSince1970: Double(s.int64(6) ?? 0))))
            }
            return out
        }
    }

    public func count() async throws -> Int {
        try await scalar("SELECT count(*) FROM observations")
    }

    /// `<data_version>.<total_changes>`: SQLite's `PRAGMA data_version` changes when another
    /// connection (another process) commits, and `total_changes()` counts the rows this
    /// connection wrote; together they change on every write, from anywhere, and cost no I/O.
    public func version() async throws -> String? {
        try await connection.perform { db in
            let s = try db.statement("SELECT total_changes()")
            defer { s.reset() }
            let p = try db.statement("PRAGMA data_version")
            defer { p.reset() }
            let changes = try s.step() ? (s.int64(0) ?? 0) : 0
            let data = try p.step() ? (p.int64(0) ?? 0) : 0
            return "\(data).\(changes)"
        }
    }

    public func deadLetterCount() async throws -> Int {
        try await scalar("SELECT count(*) FROM dead_letters")
    }

    public func deadLetters(limit: Int) async throws -> [DeadLetter] {
        try await connection.perform { db in
            let s = try db.statement("""
                SELECT reason, topic, partition, offset, key, payload, failed_at_ms FROM dead_letters ORDER BY id DESC LIMIT ?1
                """)
            s.bind(1, Int64(max(0, limit)))
            var out: [DeadLetter] = []
            while try s.step() {
                out.append(DeadLetter(reason: s.text(0) ?? "", topic: s.text(1) ?? "", partition: Int(s.int64(2) ?? 0),
                                      offset: s.int64(3) ?? 0, key: s.text(4), payload: s.blob(5),
                                      failedAt: Date(timeIntervalSince1970: Double(s.int64(6) ?? 0) / 1000)))
            }
            s.reset()
            return out
        }
    }

    private func scalar(_ sql: String) async throws -> Int {
        try await connection.perform { db in
            let s = try db.statement(sql)
            let v = try s.step() ? (s.int64(0) ?? 0) : 0
            s.reset()
            return Int(v)
        }
    }
}

/// Where a scan stands: the last rowid read, or finished.
final class ScanCursor: Sendable {
    private let state = Mutex<Int64?>(0)

    /// The rowid to read after, or nil when the scan is over.
    func next() -> Int64? { state.withLock { $0 } }

    func advance(to last: Int64?) { state.withLock { $0 = last } }
}
