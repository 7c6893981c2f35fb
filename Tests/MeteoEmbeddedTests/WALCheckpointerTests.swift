import Foundation
import MeteoCore
@testable import MeteoEmbedded
import Testing

/// The WAL is checkpointed off the writer's commits, and stays bounded.
@Suite("SQLite: background WAL checkpoints")
struct WALCheckpointerTests {
    func size(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.intValue ?? 0
    }

    @Test func theLogIsCheckpointedInTheBackgroundAndStaysBounded() async throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("t.sqlite").path
        // 4 KiB pages: a background checkpoint from 20 frames, the writer's own from 200.
        let db = try SQLiteConnection.open(path: path, errorCode: .store, pageSize: 4096, walCheckpoint: (20, 200))
        try await db.perform { try $0.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, payload BLOB NOT NULL)") }
        let payload = [UInt8](repeating: 7, count: 64 * 1024)  // 16 pages a row
        var biggestWAL = 0
        for i in 0..<100 {
            try await db.perform { c in
                try c.transaction {
                    let insert = try c.statement("INSERT INTO t (id, payload) VALUES (?1, ?2)")
                    insert.bind(1, Int64(i))
                    insert.bind(2, blob: payload)
                    try insert.step()
                }
            }
            biggestWAL = max(biggestWAL, size(path + "-wal"))
        }
        // 100 rows of 16 pages went through a log that never held much more than 200 frames.
        #expect(biggestWAL <= (200 + 40) * (4096 + 24) + 32, "the WAL reached \(biggestWAL) bytes")
        // The database file itself got the rows: they were checkpointed, not only logged.
        try await Task.sleep(for: .milliseconds(200))
        #expect(size(path) > 50 * 64 * 1024)
        let count = try await db.perform { c -> Int64 in
            let s = try c.statement("SELECT count(*) FROM t")
            defer { s.reset() }
            return try s.step() ? (s.int64(0) ?? 0) : 0
        }
        #expect(count == 100)
    }
}
