import Foundation
import MeteoCore
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Writes observations as a data lake of files partitioned by observed hour (UTC), for Spark,
/// DuckDB, Polars, pandas or any reader of JSON lines (`docs/lake.md`):
///
///     DIR/date=YYYY-MM-DD/hour=HH/part-<writer>-<seq>.jsonl      (NDJSON)
///     DIR/date=YYYY-MM-DD/hour=HH/part-<writer>-<seq>.parquet    (Parquet)
///
/// In NDJSON each line is one observation, exactly the event JSON of the bus and of `meteo
/// query`; in Parquet the columns are ``ObservationParquet``'s, one row group a file. Each
/// file is written whole under a hidden temporary name (`.part-….jsonl.tmp`, which Spark
/// skips), flushed to disk, then renamed, and its folder flushed (and the folders above it
/// when it is new): a reader sees a whole file or none, and a file the sink committed
/// survives a power cut. A batch that is
/// written again after a crash (at-least-once) adds its rows again in a new file, so readers
/// count (place_id, observed_at) once.
public final class LakeWriter: Sendable {
    public let directory: URL
    public let writerID: String
    public let format: MeteoConfiguration.LakeFormat
    private let sequence: Mutex<Int>
    /// Flushes a directory (``FileSync/directory(_:)``; tests pass one that fails).
    private let syncDirectory: @Sendable (String) throws(MeteoError) -> Void

    /// `writerID` names this writer's files (letters, digits, `-` and `_`); the sequence goes
    /// on from the highest one of this writer already in the lake.
    public convenience init(directory: URL, writerID: String, format: MeteoConfiguration.LakeFormat = .parquet) throws(MeteoError) {
        try self.init(directory: directory, writerID: writerID, format: format, syncDirectory: FileSync.directory)
    }

    init(directory: URL, writerID: String, format: MeteoConfiguration.LakeFormat = .parquet,
         syncDirectory: @escaping @Sendable (String) throws(MeteoError) -> Void) throws(MeteoError) {
        self.syncDirectory = syncDirectory
        self.format = format
        guard !writerID.isEmpty, writerID.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) else {
            throw MeteoError(code: .invalidConfiguration, "a lake writer id is letters, digits, - and _ only (got '\(writerID)')")
        }
        self.directory = directory
        self.writerID = writerID
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw MeteoError(code: .io, "cannot create the lake directory \(directory.path): \(error.localizedDescription)")
        }
        sequence = Mutex(Self.highestSequence(in: directory, writer: writerID))
    }

    /// A writer id for this process: the host name and the process id.
    public static func defaultWriterID() -> String {
        let host = ProcessInfo.processInfo.hostName.map { $0.isASCII && ($0.isLetter || $0.isNumber) ? $0 : "-" }
        return "\(String(host.prefix(40)))-\(ProcessInfo.processInfo.processIdentifier)"
    }

    /// The partition folder of an observed time: `date=YYYY-MM-DD/hour=HH` (UTC).
    public static func partition(of date: Date) -> String {
        let iso = ISO8601.string(from: date)  // 2026-11-29T08:10:00Z
        return "date=\(iso.prefix(10))/hour=\(iso.dropFirst(11).prefix(2))"
    }

    /// Writes the observations, one file per partition they fall in; returns the files made.
    @discardableResult
    public func write(_ observations: [Observation]) throws(MeteoError) -> [URL] {
        var groups: [String: [Observation]] = [:]
        for o in observations { groups[Self.partition(of: o.observedAt), default: []].append(o) }
        var written: [URL] = []
        for key in groups.keys.sorted() {
            let seq = sequence.withLock { $0 += 1; return $0 }
            let folder = directory.appendingPathComponent(key, isDirectory: true)
            let name = "part-\(writerID)-\(String(format: "%06d", seq)).\(format.fileExtension)"
            let final = folder.appendingPathComponent(name)
            let temporary = folder.appendingPathComponent(".\(name).tmp")
            var bytes: [UInt8] = []
            switch format {
            case .ndjson:
                bytes.reserveCapacity(groups[key]!.count * 450)
                for o in groups[key]! {
                    bytes += EventCodec.encode(o)
                    bytes.append(0x0A)
                }
            case .parquet:
                bytes = try ObservationParquet.encode(groups[key]!)
            }
            let newFolder = !FileManager.default.fileExists(atPath: folder.path)
            do {
                try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
                _ = FileManager.default.createFile(atPath: temporary.path, contents: nil)
                let handle = try FileHandle(forWritingTo: temporary)
                try handle.write(contentsOf: bytes)
                try handle.synchronize()
                try handle.close()
                guard rename(temporary.path, final.path) == 0 else {
                    throw MeteoError(code: .io, "cannot rename \(temporary.path) to \(name): \(String(cString: strerror(errno)))")
                }
                // The rename is durable once the folder is; a new folder needs its parents too
                // (date=…, then the lake directory).
                try syncDirectory(folder.path)
                if newFolder {
                    try syncDirectory(folder.deletingLastPathComponent().path)
                    try syncDirectory(directory.path)
                }
            } catch let error as MeteoError {
                throw error
            } catch {
                try? FileManager.default.removeItem(at: temporary)
                throw MeteoError(code: .io, "cannot write the lake file \(final.path): \(error.localizedDescription) (is the disk full or read-only?)", isRetriable: true)
            }
            written.append(final)
        }
        return written
    }

    /// The highest sequence number of `writer`'s files under `directory`.
    static func highestSequence(in directory: URL, writer: String) -> Int {
        let prefix = "part-\(writer)-"
        var highest = 0
        guard let walker = FileManager.default.enumerator(atPath: directory.path) else { return 0 }
        while let path = walker.nextObject() as? String {
            let name = (path as NSString).lastPathComponent
            guard name.hasPrefix(prefix) else { continue }
            for format in MeteoConfiguration.LakeFormat.allCases where name.hasSuffix(".\(format.fileExtension)") {
                if let n = Int(name.dropFirst(prefix.count).dropLast(format.fileExtension.count + 1)) { highest = max(highest, n) }
            }
        }
        return highest
    }
}

extension MeteoConfiguration.LakeFormat {
    /// The extension of the lake's files.
    public var fileExtension: String {
        switch self {
        case .ndjson: "jsonl"
        case .parquet: "parquet"
        }
    }
}

/// The sink's writer when `--lake` is given: the store first (which decides what is stored and
/// what is dead-lettered), then the lake; the sink commits only after both.
public struct StoreAndLakeWriter: SinkWriter {
    let store: any SinkWriter
    let lake: LakeWriter

    public init(store: any SinkWriter, lake: LakeWriter) {
        self.store = store
        self.lake = lake
    }

    public func write(_ observations: [Observation], deadLetters: [DeadLetter]) async throws -> UpsertSummary {
        let summary = try await store.write(observations, deadLetters: deadLetters)
        if !observations.isEmpty { try lake.write(observations) }
        return summary
    }
}
