import MeteoCore
import Synchronization
import VaporCSQLite

/// Copies a database's write-ahead log back into the database file in a lane and on a
/// connection of its own, so that a writer's commits do not wait for it (SQLite's automatic
/// checkpoint runs inside the commit that crosses its threshold).
///
/// After each commit the writer's WAL hook reports the frames in the log; from ``threshold``
/// on, a passive checkpoint is started in the background (one at a time). A passive
/// checkpoint never blocks the writer nor the readers. If the log still reaches ``ceiling``
/// frames (the background one fell behind, or readers held it back), the writer checkpoints
/// itself, as SQLite's automatic checkpoint would, so the log stays bounded. Durability is
/// unchanged: a checkpoint only moves committed frames, syncing the log first.
final class WALCheckpointer: @unchecked Sendable {
    private let handle: OpaquePointer
    private let lane: BlockingExecutor.Lane
    private let pending = Mutex(false)
    /// Frames after which a background checkpoint starts.
    let threshold: Int32
    /// Frames after which the writer checkpoints in its own commit.
    let ceiling: Int32

    private init(handle: OpaquePointer, label: String, threshold: Int32, ceiling: Int32) {
        self.handle = handle
        self.lane = BlockingExecutor.shared.lane("meteo.sqlite.checkpoint.\(label)")
        self.threshold = threshold
        self.ceiling = ceiling
    }

    /// A second connection to `path` for the checkpoints; nil when it cannot be opened (the
    /// writer then keeps SQLite's automatic checkpoint).
    static func open(path: String, label: String, threshold: Int32, ceiling: Int32) -> WALCheckpointer? {
        var db: OpaquePointer?
        let rc = sqlite_nio_sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nil)
        guard rc == SQLITE_OK, let db else {
            if let db { sqlite_nio_sqlite3_close_v2(db) }
            return nil
        }
        sqlite_nio_sqlite3_busy_timeout(db, 60_000)
        return WALCheckpointer(handle: db, label: label, threshold: threshold, ceiling: ceiling)
    }

    /// Replaces the automatic checkpoint of `writer` with this one. The writer must remove the
    /// hook (``remove(from:)``) before this object goes.
    func install(on writer: OpaquePointer) {
        sqlite_nio_sqlite3_wal_autocheckpoint(writer, 0)
        let context = Unmanaged.passUnretained(self).toOpaque()
        _ = sqlite_nio_sqlite3_wal_hook(writer, { context, writer, _, frames in
            guard let context, let writer else { return SQLITE_OK }
            Unmanaged<WALCheckpointer>.fromOpaque(context).takeUnretainedValue().committed(frames: frames, writer: writer)
            return SQLITE_OK
        }, context)
    }

    func remove(from writer: OpaquePointer) {
        _ = sqlite_nio_sqlite3_wal_hook(writer, nil, nil)
    }

    private func committed(frames: Int32, writer: OpaquePointer) {
        if frames >= ceiling {
            _ = sqlite_nio_sqlite3_wal_checkpoint_v2(writer, nil, SQLITE_CHECKPOINT_PASSIVE, nil, nil)
            return
        }
        guard frames >= threshold else { return }
        let start = pending.withLock { running -> Bool in
            if running { return false }
            running = true
            return true
        }
        guard start else { return }
        lane.execute { [self] in
            _ = sqlite_nio_sqlite3_wal_checkpoint_v2(handle, nil, SQLITE_CHECKPOINT_PASSIVE, nil, nil)
            pending.withLock { $0 = false }
        }
    }

    deinit {
        sqlite_nio_sqlite3_close_v2(handle)
    }
}
