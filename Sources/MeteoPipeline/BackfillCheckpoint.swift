import Foundation
import MeteoCore
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What a backfill has finished, kept in the data dir so that a backfill stopped at any moment
/// (`kill -9` included) goes on where it stopped: `<data dir>/backfill/<id>.json`, where `<id>`
/// is a digest of the request (its places and days), so the same command finds it again.
///
/// A chunk (one request, ``BackfillChunk``) is recorded once every one of its events has been
/// acknowledged by the bus, and only if it was complete: its days were over when it was asked
/// for (a chunk that reaches today is asked again by the next run, for the hours since) and no
/// hour was missing (all values null: the provider did not hold it yet) or refused. Anything
/// published but not recorded is published again by the next run, and the idempotent store
/// absorbs it.
///
/// The file is replaced whole on each record: written to a temporary file in the same folder,
/// flushed to disk (`fsync`), renamed over the old one, and the folder flushed, so that it is
/// always either the old or the new version, never a torn one.
///
/// ```json
/// {"version":1,"request":{"since":"2025-01-01","until":"2025-01-31","places":1630,"fill_gaps":false},
///  "done":{"archive/2025-01-01/2025-01-31/134/9f3c…":{"observations":99696,"at":"2026-12-07T10:00:00Z"}},
///  "updated_at":"2026-12-07T10:00:03Z"}
/// ```
public final class BackfillCheckpoint: Sendable {
    /// The request a checkpoint belongs to.
    public struct Request: Sendable, Hashable, Codable {
        public var since: String
        public var until: String
        public var places: Int
        public var fillGaps: Bool

        enum CodingKeys: String, CodingKey {
            case since, until, places
            case fillGaps = "fill_gaps"
        }

        public init(since: String, until: String, places: Int, fillGaps: Bool) {
            self.since = since
            self.until = until
            self.places = places
            self.fillGaps = fillGaps
        }
    }

    /// One finished chunk.
    public struct Entry: Sendable, Hashable, Codable {
        public var observations: Int
        public var at: String
    }

    struct Document: Sendable, Codable {
        var version = 1
        var request: Request
        var done: [String: Entry] = [:]
        var updatedAt: String = ""

        enum CodingKeys: String, CodingKey {
            case version, request, done
            case updatedAt = "updated_at"
        }
    }

    public let url: URL
    private let document: Mutex<Document>

    /// The checkpoint of `request` over these places in `directory` (`<data dir>/backfill`),
    /// read if it exists.
    public init(directory: URL, request: Request, placeIDs: [String]) throws(MeteoError) {
        url = directory.appendingPathComponent(Self.id(request, placeIDs: placeIDs) + ".json")
        var loaded = Document(request: request)
        if let data = try? Data(contentsOf: url) {
            do {
                loaded = try JSONDecoder().decode(Document.self, from: data)
            } catch {
                throw MeteoError(code: .io, "the backfill checkpoint \(url.path) is unreadable (\(error.localizedDescription)); delete it to start this backfill again from the beginning")
            }
        }
        document = Mutex(loaded)
    }

    /// A digest of the request: its days, whether it fills gaps, and its places in order.
    public static func id(_ request: Request, placeIDs: [String]) -> String {
        var a: UInt64 = 0xcbf2_9ce4_8422_2325
        var b: UInt64 = 0x8422_2325_cbf2_9ce4
        func add(_ text: String) {
            for byte in text.utf8 {
                a = (a ^ UInt64(byte)) &* 0x100_0000_01b3
                b = (b ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 &+ 0x9E37_79B9
            }
            a = (a ^ 0x1f) &* 0x100_0000_01b3
            b = (b ^ 0x1f) &* 0x0000_0100_0000_01b3 &+ 0x9E37_79B9
        }
        add(request.since)
        add(request.until)
        add(request.fillGaps ? "gaps" : "all")
        for id in placeIDs { add(id) }
        func hex(_ v: UInt64) -> String {
            let s = String(v, radix: 16)
            return String(repeating: "0", count: 16 - s.count) + s
        }
        return "\(request.since)_\(request.until)_\(hex(a))\(hex(b))"
    }

    /// Whether the chunk was finished by an earlier run (or this one).
    public func isDone(_ chunk: BackfillChunk) -> Bool {
        document.withLock { $0.done[chunk.key] != nil }
    }

    /// How many chunks are recorded.
    public var doneCount: Int { document.withLock { $0.done.count } }

    /// Records a finished chunk and writes the file.
    public func record(_ chunk: BackfillChunk, observations: Int, at now: Date) throws(MeteoError) {
        let snapshot = document.withLock { d -> Document in
            d.done[chunk.key] = Entry(observations: observations, at: ISO8601.string(from: now))
            d.updatedAt = ISO8601.string(from: now)
            return d
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data: Data
        do {
            data = try encoder.encode(snapshot)
        } catch {
            throw MeteoError(code: .internal, "cannot encode the backfill checkpoint: \(error)")
        }
        try Self.replace(url, with: data)
    }

    /// Writes `data` to a temporary file beside `url`, flushes it, renames it over `url`, and
    /// flushes the folder.
    static func replace(_ url: URL, with data: Data) throws(MeteoError) {
        let directory = url.deletingLastPathComponent()
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw MeteoError(code: .io, "cannot create \(directory.path): \(error.localizedDescription); check that the data dir is writable")
        }
        func failure(_ what: String) -> MeteoError {
            MeteoError(code: .io, "cannot \(what) the backfill checkpoint \(url.path): \(String(cString: strerror(errno))); check that the data dir is writable and not full")
        }
        let temporary = directory.appendingPathComponent(".\(url.lastPathComponent).tmp").path
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw failure("create") }
        var written = 0
        let ok = data.withUnsafeBytes { buffer -> Bool in
            while written < buffer.count {
                let n = write(fd, buffer.baseAddress! + written, buffer.count - written)
                if n < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                written += n
            }
            return true
        }
        guard ok, fsync(fd) == 0 else {
            close(fd)
            throw failure("write")
        }
        close(fd)
        guard rename(temporary, url.path) == 0 else { throw failure("replace") }
        try FileSync.directory(directory.path)
    }
}
