import Foundation
import MeteoCore
import MeteoPipeline
import MeteoTestSupport
import Testing

/// `meteo lake rebuild`: a lost lake written again from the store, in either format, with the
/// same observations; a folder that holds a lake already is refused.
@Suite("meteo lake rebuild", .meteoBinary)
struct LakeRebuildTests {
    /// Every observation of a Parquet lake, in key order.
    static func parquetLake(_ lake: URL) throws -> [Observation] {
        let files = (FileManager.default.enumerator(atPath: lake.path)?.compactMap { $0 as? String } ?? []).filter { $0.hasSuffix(".parquet") }
        var all: [Observation] = []
        for f in files { all += try ObservationParquet.decode(Array(try Data(contentsOf: lake.appendingPathComponent(f)))) }
        return all.sorted { ($0.placeID, $0.observedAt) < ($1.placeID, $1.observedAt) }
    }

    @Test func aLostLakeIsRebuiltFromTheStoreWithTheSameObservations() async throws {
        let dir = MeteoProcess.temporaryDataDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let lake = dir.appendingPathComponent("lake")
        let demo = try await MeteoProcess.run(["demo", "--ticks", "2", "--no-serve", "--data-dir", dir.path, "--lake", lake.path])
        #expect(demo.status == 0, "\(demo.stderr)")
        let original = try Self.parquetLake(lake)
        #expect(original.count == 3260, "two ticks of the 1,630 places, once each")

        let refused = try await MeteoProcess.run(["lake", "rebuild", "--data-dir", dir.path, "--lake", lake.path])
        refused.expectRefused("already holds", "lake files", "move that folder away")

        let rebuilt = dir.appendingPathComponent("rebuilt")
        let run = try await MeteoProcess.run(["lake", "rebuild", "--data-dir", dir.path, "--lake", rebuilt.path])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("rebuilt \(rebuilt.path) from the store: 3,260 observations in"), "\(run.stdout)")
        #expect(try Self.parquetLake(rebuilt) == original)

        let json = dir.appendingPathComponent("json")
        let asJSON = try await MeteoProcess.run(["lake", "rebuild", "--data-dir", dir.path, "--lake", json.path, "--lake-format", "ndjson", "--batch-size", "1000"])
        #expect(asJSON.status == 0, "\(asJSON.stderr)")
        var lines: [Observation] = []
        for f in (FileManager.default.enumerator(atPath: json.path)?.compactMap { $0 as? String } ?? []) where f.hasSuffix(".jsonl") {
            for line in TextLines.split(try String(contentsOf: json.appendingPathComponent(f), encoding: .utf8)) {
                lines.append(try EventCodec.decode(Array(line.utf8)))
            }
        }
        #expect(lines.sorted { ($0.placeID, $0.observedAt) < ($1.placeID, $1.observedAt) } == original)

        let noLake = try await MeteoProcess.run(["lake", "rebuild", "--data-dir", dir.path], environment: ["METEO_LAKE": ""])
        noLake.expectRefused("--lake DIR")
    }
}
