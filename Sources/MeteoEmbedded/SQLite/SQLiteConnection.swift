import Dispatch
import Foundation
import MeteoCore
// SQLite is the copy that the sqlite-nio package vendors (every symbol prefixed with
// `sqlite_nio_`), so a fresh machine needs nothing but the Swift toolchain. Meteo calls its C
// API directly rather than through SQLiteNIO's futures: the sink's batched upserts need
// prepared statements reused inside one transaction, on a thread of their own.
import VaporCSQLite

/// How far a SQLite commit goes before it returns (SQLite's `PRAGMA synchronous`, in WAL mode).
public enum SQLiteSynchronous: String, Sendable, CaseIterable {
    /// The WAL is fsynced at each commit: a committed transaction survives a power cut or an OS
    /// crash. What the store and the log use.
    case full = "FULL"
    /// The WAL is fsynced only at checkpoints: a commit survives a process crash (`kill -9`), but
    /// a power cut may lose the last ones. Only for `scripts/bench sink`, to show what FULL costs.
    case normal = "NORMAL"
}

/// One SQLite database connection, owned by this object and used only in its lane.
///
/// Every call into SQLite happens inside ``perform(_:)``, which runs in the connection's lane
/// of ``BlockingExecutor/shared`` (one call at a time, in order), never on Swift's cooperative
/// thread pool.
final class SQLiteConnection: @unchecked Sendable {
    private let handle: OpaquePointer
    private let lane: BlockingExecutor.Lane
    private var cache: [String: SQLiteStatement] = [:]
    /// Checkpoints the WAL in the background instead of inside commits.
    private var checkpointer: WALCheckpointer?
    let path: String
    /// The error code used for failures of this database (`.bus` or `.store`).
    let errorCode: MeteoError.Code

    private init(handle: OpaquePointer, path: String, errorCode: MeteoError.Code) {
        self.handle = handle
        self.path = path
        self.errorCode = errorCode
        self.lane = BlockingExecutor.shared.lane("meteo.sqlite.\(URL(fileURLWithPath: path).lastPathComponent)")
    }

    /// How long a statement waits for another process's write lock: two processes share a store
    /// or log (ingest and sink, two sinks), and on a loaded machine a batch's transaction can
    /// hold the lock for seconds.
    static let defaultBusyTimeout = Duration.seconds(60)

    /// Opens (creating if needed) a database in WAL mode, safe to share with other processes.
    /// - Parameter pageSize: the page size of a new database file (an existing one keeps its
    ///   own): larger pages make fewer, shallower B-tree levels and fewer page splits for bulk
    ///   writes.
    /// - Parameter walCheckpoint: the frames of the WAL from which it is checkpointed in the
    ///   background, and from which the writer checkpoints it itself (``WALCheckpointer``).
    static func open(path: String, errorCode: MeteoError.Code, synchronous: SQLiteSynchronous = .full, busyTimeout: Duration = defaultBusyTimeout,
                     pageSize: Int? = nil, walCheckpoint: (threshold: Int32, ceiling: Int32) = (1_000, 20_000)) throws(MeteoError) -> SQLiteConnection {
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent()
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw MeteoError(code: errorCode, "cannot create the data dir \(directory.path): check that its parent exists and is writable (\(error.localizedDescription))")
        }
        var db: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        let rc = sqlite_nio_sqlite3_open_v2(path, &db, flags, nil)
        guard rc == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite_nio_sqlite3_errmsg($0)) } ?? "out of memory"
            if let db { sqlite_nio_sqlite3_close_v2(db) }
            throw SQLiteConnection.error(rc, message, path: path, code: errorCode)
        }
        // A file SQLite could only open read-only (a read-only disk or file) would stay so for
        // the life of the connection, even once the disk is writable again: every write would
        // fail until a restart. Refused here, with the reason, so that the process stops.
        if sqlite_nio_sqlite3_db_readonly(db, "main") == 1 {
            sqlite_nio_sqlite3_close_v2(db)
            throw SQLiteConnection.error(SQLITE_READONLY, "the database can only be opened read-only", path: path, code: errorCode)
        }
        let connection = SQLiteConnection(handle: db, path: path, errorCode: errorCode)
        sqlite_nio_sqlite3_busy_timeout(db, Int32(busyTimeout.seconds * 1000))
        // Only takes effect on a database without tables yet, before it is in WAL mode.
        if let pageSize { try connection.execute("PRAGMA page_size=\(pageSize)") }
        try connection.execute("PRAGMA journal_mode=WAL")
        // In WAL mode, FULL fsyncs the WAL at each commit, so that a commit that returned
        // survives a power cut (NORMAL survives only a process crash).
        try connection.execute("PRAGMA synchronous=\(synchronous.rawValue)")
        try connection.execute("PRAGMA temp_store=MEMORY")
        try connection.execute("PRAGMA cache_size=-65536")
        // Checkpoint the WAL less often: fewer, larger writes back into the database file.
        try connection.execute("PRAGMA wal_autocheckpoint=10000")
        // And not inside the commits: in a lane of its own, from 1,000 frames on (16 MB of
        // 16 KiB pages); the writer takes over at 20,000.
        if let checkpointer = WALCheckpointer.open(path: path, label: URL(fileURLWithPath: path).lastPathComponent,
                                                   threshold: walCheckpoint.threshold, ceiling: walCheckpoint.ceiling) {
            checkpointer.install(on: db)
            connection.checkpointer = checkpointer
        }
        return connection
    }

    deinit {
        release()
    }

    /// Whether ``close()`` ran (read and written only in the lane, or in `deinit`).
    private var closed = false

    /// Finalizes the statements and closes the database (and the checkpointer's).
    private func release() {
        guard !closed else { return }
        closed = true
        for statement in cache.values { statement.finalize() }
        cache = [:]
        if let checkpointer { checkpointer.remove(from: handle) }
        checkpointer = nil
        sqlite_nio_sqlite3_close_v2(handle)
    }

    /// Closes the database, in the lane, after the calls submitted before; later calls are
    /// refused with a message.
    func close() async {
        await lane.run { self.release() }
    }

    /// Runs `body` in the connection's lane, off the cooperative pool.
    func perform<T: Sendable>(_ body: @escaping @Sendable (SQLiteConnection) throws -> T) async throws -> T {
        try await lane.run { () throws -> T in
            guard !self.closed else { throw MeteoError(code: self.errorCode, "\(self.path) was closed: a store or log is used after close()") }
            return try body(self)
        }
    }

    /// Runs statements that return no rows.
    func execute(_ sql: String) throws(MeteoError) {
        var message: UnsafeMutablePointer<CChar>?
        let rc = sqlite_nio_sqlite3_exec(handle, sql, nil, nil, &message)
        if rc != SQLITE_OK {
            let text = message.map { String(cString: $0) } ?? lastMessage
            sqlite_nio_sqlite3_free(message)
            throw Self.error(rc, text, path: path, code: errorCode)
        }
    }

    /// A prepared statement, cached for the life of the connection.
    func statement(_ sql: String) throws(MeteoError) -> SQLiteStatement {
        if let cached = cache[sql] {
            cached.reset()
            return cached
        }
        let prepared = try prepare(sql)
        cache[sql] = prepared
        return prepared
    }

    /// A prepared statement the caller finalizes (for one-off dynamic queries).
    func prepare(_ sql: String) throws(MeteoError) -> SQLiteStatement {
        var stmt: OpaquePointer?
        let rc = sqlite_nio_sqlite3_prepare_v2(handle, sql, -1, &stmt, nil)
        guard rc == SQLITE_OK, let stmt else { throw Self.error(rc, lastMessage, path: path, code: errorCode) }
        return SQLiteStatement(stmt, connection: self)
    }

    /// Runs `body` in a write transaction (`BEGIN IMMEDIATE`), rolling back if it throws.
    func transaction<T>(_ body: () throws -> T) throws -> T {
        try execute("BEGIN IMMEDIATE")
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    /// The value of an integer pragma (`PRAGMA synchronous`: 1 NORMAL, 2 FULL).
    func pragma(_ name: String) throws(MeteoError) -> Int64? {
        let s = try prepare("PRAGMA \(name)")
        defer { s.finalize() }
        return try s.step() ? s.int64(0) : nil
    }

    /// Rows changed by the last statement.
    var changes: Int { Int(sqlite_nio_sqlite3_changes(handle)) }

    var lastMessage: String { String(cString: sqlite_nio_sqlite3_errmsg(handle)) }

    func check(_ rc: Int32) throws(MeteoError) {
        guard rc == SQLITE_OK else { throw Self.error(rc, lastMessage, path: path, code: errorCode) }
    }

    /// Turns a SQLite result code into an error that says what to do.
    static func error(_ rc: Int32, _ message: String, path: String, code: MeteoError.Code) -> MeteoError {
        let primary = rc & 0xFF
        let hint: String
        var retriable = false
        switch primary {
        case SQLITE_BUSY, SQLITE_LOCKED:
            hint = "the database is locked by another process; it was retried for \(defaultBusyTimeout.components.seconds) s"
            retriable = true
        case SQLITE_FULL:
            hint = "the disk is full: free space where the data dir is"
            retriable = true
        case SQLITE_READONLY, SQLITE_PERM:
            hint = "the file is read-only: check the permissions of the data dir"
            retriable = true
        case SQLITE_CANTOPEN:
            hint = "the file cannot be opened: check that the data dir exists and is writable"
        case SQLITE_IOERR:
            hint = "a disk I/O error: check the disk and its free space"
            retriable = true
        case SQLITE_CORRUPT, SQLITE_NOTADB:
            hint = "the file is not a Meteo database or is damaged: move it away and start again"
        default:
            hint = "SQLite error \(rc)"
        }
        return MeteoError(code: code, "\(path): \(message) (\(hint))", isRetriable: retriable)
    }
}

/// A prepared statement. Column and parameter indexes are 0-based for columns and 1-based for
/// parameters, as in SQLite.
final class SQLiteStatement {
    private let stmt: OpaquePointer
    private unowned let connection: SQLiteConnection
    // SQLITE_TRANSIENT: SQLite copies the bound bytes before the bind call returns.
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
    nonisolated(unsafe) private static let empty: UnsafePointer<CChar> = {
        let p = UnsafeMutablePointer<CChar>.allocate(capacity: 1)
        p.initialize(to: 0)
        return UnsafePointer(p)
    }()

    fileprivate init(_ stmt: OpaquePointer, connection: SQLiteConnection) {
        self.stmt = stmt
        self.connection = connection
    }

    func finalize() { sqlite_nio_sqlite3_finalize(stmt) }

    func reset() {
        sqlite_nio_sqlite3_reset(stmt)
        sqlite_nio_sqlite3_clear_bindings(stmt)
    }

    /// Resets without clearing the bindings: for a statement whose every parameter is bound
    /// again before each step (the store's inserts).
    func rewind() {
        sqlite_nio_sqlite3_reset(stmt)
    }

    func bind(_ index: Int32, _ value: Double?) {
        if let value { sqlite_nio_sqlite3_bind_double(stmt, index, value) } else { sqlite_nio_sqlite3_bind_null(stmt, index) }
    }

    func bind(_ index: Int32, _ value: Int64?) {
        if let value { sqlite_nio_sqlite3_bind_int64(stmt, index, value) } else { sqlite_nio_sqlite3_bind_null(stmt, index) }
    }

    func bind(_ index: Int32, _ value: Int?) { bind(index, value.map(Int64.init)) }

    func bind(_ index: Int32, _ value: String?) {
        guard let value else { sqlite_nio_sqlite3_bind_null(stmt, index); return }
        var copy = value
        copy.withUTF8 { buffer in
            buffer.withMemoryRebound(to: CChar.self) { chars in
                _ = sqlite_nio_sqlite3_bind_text(stmt, index, chars.baseAddress ?? Self.empty, Int32(chars.count), Self.transient)
            }
        }
    }

    func bind(_ index: Int32, blob: [UInt8]) {
        blob.withUnsafeBytes { buffer in
            _ = sqlite_nio_sqlite3_bind_blob(stmt, index, buffer.baseAddress ?? UnsafeRawPointer(bitPattern: 1), Int32(buffer.count), Self.transient)
        }
    }

    /// Steps once: true when a row is ready, false when done.
    @discardableResult
    func step() throws(MeteoError) -> Bool {
        let rc = sqlite_nio_sqlite3_step(stmt)
        if rc == SQLITE_ROW { return true }
        if rc == SQLITE_DONE { return false }
        let error = SQLiteConnection.error(rc, connection.lastMessage, path: connection.path, code: connection.errorCode)
        sqlite_nio_sqlite3_reset(stmt)
        throw error
    }

    func isNull(_ column: Int32) -> Bool { sqlite_nio_sqlite3_column_type(stmt, column) == SQLITE_NULL }

    func double(_ column: Int32) -> Double? { isNull(column) ? nil : sqlite_nio_sqlite3_column_double(stmt, column) }

    func int64(_ column: Int32) -> Int64? { isNull(column) ? nil : sqlite_nio_sqlite3_column_int64(stmt, column) }

    func text(_ column: Int32) -> String? {
        guard let p = sqlite_nio_sqlite3_column_text(stmt, column) else { return nil }
        let n = Int(sqlite_nio_sqlite3_column_bytes(stmt, column))
        return String(decoding: UnsafeBufferPointer(start: p, count: n), as: UTF8.self)
    }

    /// The bytes of a text column.
    func textBytes(_ column: Int32) -> [UInt8] {
        guard let p = sqlite_nio_sqlite3_column_text(stmt, column) else { return [] }
        return Array(UnsafeBufferPointer(start: p, count: Int(sqlite_nio_sqlite3_column_bytes(stmt, column))))
    }

    /// Whether a text column holds exactly `bytes`, without making a String.
    func textEquals(_ column: Int32, _ bytes: [UInt8]) -> Bool {
        guard let p = sqlite_nio_sqlite3_column_text(stmt, column) else { return false }
        let n = Int(sqlite_nio_sqlite3_column_bytes(stmt, column))
        guard n == bytes.count else { return false }
        guard n > 0 else { return true }
        return bytes.withUnsafeBufferPointer { memcmp($0.baseAddress!, p, n) == 0 }
    }

    /// Calls `body` with the bytes of a blob column, valid only inside it (no copy).
    func withBlob<T>(_ column: Int32, _ body: (UnsafeRawBufferPointer) throws(MeteoError) -> T) throws(MeteoError) -> T {
        let n = Int(sqlite_nio_sqlite3_column_bytes(stmt, column))
        guard n > 0, let p = sqlite_nio_sqlite3_column_blob(stmt, column) else { return try body(UnsafeRawBufferPointer(start: nil, count: 0)) }
        return try body(UnsafeRawBufferPointer(start: p, count: n))
    }

    func blob(_ column: Int32) -> [UInt8] {
        let n = Int(sqlite_nio_sqlite3_column_bytes(stmt, column))
        guard n > 0, let p = sqlite_nio_sqlite3_column_blob(stmt, column) else { return [] }
        return Array(UnsafeRawBufferPointer(start: p, count: n))
    }
}
