import Foundation
import MeteoCore
@testable import MeteoPipeline
import MeteoSources
import Synchronization
import Testing

/// A lake file the sink committed survives a power cut: each rename is followed by a flush of
/// its folder (and of the folders above a new one), and a flush that fails is an error.
@Suite("Data lake durability")
struct LakeDurabilityTests {
    func temporary() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("meteo-lake-sync-\(UUID().uuidString)")
    }

    @Test func flushingADirectoryReportsWhyItCannot() throws {
        let dir = temporary()
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try FileSync.directory(dir.path)
        do {
            try FileSync.directory(dir.appendingPathComponent("missing").path)
            Issue.record("a missing directory was flushed")
        } catch {
            #expect(error.code == .io && error.message.contains("missing"), "\(error.message)")
        }
        let file = dir.appendingPathComponent("file")
        FileManager.default.createFile(atPath: file.path, contents: Data([1]))
        #expect(throws: MeteoError.self) { try FileSync.directory(file.path) }
    }

    @Test func eachRenameIsFollowedByAFlushOfItsFolder() throws {
        let dir = temporary()
        defer { try? FileManager.default.removeItem(at: dir) }
        let synced = Mutex<[String]>([])
        let lake = try LakeWriter(directory: dir, writerID: "w") { path throws(MeteoError) in
            synced.withLock { $0.append(path) }
            try FileSync.directory(path)
        }
        let places = Array(try PlaceCatalogue.bundled().places(in: Region.builtin).prefix(3))
        let rows = SyntheticSource(seed: 1, start: Date(timeIntervalSince1970: 1_764_457_200)).observations(places: places, tick: 0)
        let first = try #require(try lake.write(rows).first)
        let folder = first.deletingLastPathComponent()
        // A new hour folder: it, its date folder and the lake directory.
        #expect(synced.withLock { $0 } == [folder.path, folder.deletingLastPathComponent().path, dir.path])
        synced.withLock { $0 = [] }
        _ = try lake.write(rows)
        #expect(synced.withLock { $0 } == [folder.path])
    }

    @Test func aFolderThatCannotBeFlushedFailsTheWrite() throws {
        let dir = temporary()
        defer { try? FileManager.default.removeItem(at: dir) }
        let lake = try LakeWriter(directory: dir, writerID: "w") { path throws(MeteoError) in
            throw MeteoError(code: .io, "cannot flush the directory \(path) to disk: Input/output error", isRetriable: true)
        }
        let places = Array(try PlaceCatalogue.bundled().places(in: Region.builtin).prefix(2))
        let rows = SyntheticSource(seed: 1).observations(places: places, tick: 0)
        do {
            try lake.write(rows)
            Issue.record("the write succeeded although its folder was not flushed")
        } catch {
            #expect(error.isRetriable && error.message.contains("cannot flush"), "\(error.message)")
        }
    }
}
