// Embedded sink throughput: 1M synthetic observations through the durable SQLite log and the
// Sink into the SQLite store. Run by scripts/bench in release mode. Not a test: it reports,
// it does not assert.
//
// The pipeline runs twice on the same observations, in fresh data dirs: with synchronous=FULL
// (what Meteo ships: each commit is fsynced before the sink commits its offsets) and with
// synchronous=NORMAL (no fsync per commit), so that the cost of durable commits is measured on
// the same machine in the same run. `--synchronous full|normal|both` (both by default).
import Foundation
import Logging
import MeteoCore
import MeteoEmbedded
import MeteoPipeline
import MeteoSources

#if canImport(Glibc)
import Glibc
#endif

func peakRSSMiB() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_maxrss) / 1024  // kilobytes on Linux
}

func argument(_ name: String, default value: Int) -> Int {
    let args = CommandLine.arguments
    if let i = args.firstIndex(of: name), i + 1 < args.count, let v = Int(args[i + 1]) { return v }
    return value
}

let total = argument("--count", default: 1_000_000)
let batch = argument("--batch-size", default: 20_000)
let modes: [SQLiteSynchronous] = {
    let args = CommandLine.arguments
    guard let i = args.firstIndex(of: "--synchronous"), i + 1 < args.count else { return [.full, .normal] }
    switch args[i + 1] {
    case "full": return [.full]
    case "normal": return [.normal]
    case "both": return [.full, .normal]
    default:
        print("meteo-bench: --synchronous takes full, normal or both, not \(args[i + 1])")
        exit(2)
    }
}()
let root = FileManager.default.temporaryDirectory.appendingPathComponent("meteo-bench-\(getpid())")
try? FileManager.default.removeItem(at: root)
try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(at: root) }

let logger: Logger = {
    var logger = Logger(label: "bench")
    logger.logLevel = .error
    return logger
}()
let topic = "bench.observations"
let catalogue = try PlaceCatalogue.bundled()
let places = Array(catalogue.places.prefix(10_000))
let ticks = (total + places.count - 1) / places.count
let source = SyntheticSource(seed: 1)
let clock = ContinuousClock()

func rate(_ n: Int, _ d: Duration) -> String {
    String(format: "%10.0f obs/s", Double(n) / d.seconds)
}

print("meteo embedded sink benchmark: \(total) synthetic observations, \(places.count) places × \(ticks) ticks, batch \(batch)")
print("data dirs under \(root.path); synchronous: \(modes.map(\.rawValue).joined(separator: ", "))")

// 1. Generate (kept apart from the pipeline figures).
var generated: [Observation] = []
generated.reserveCapacity(total)
let genTime = clock.measure {
    for tick in 0..<ticks {
        let obs = source.observations(places: places, tick: Int64(tick))
        generated.append(contentsOf: obs.prefix(total - generated.count))
    }
}

struct Run {
    var mode: SQLiteSynchronous
    var encode = Duration.zero
    var decodeSample = Duration.zero
    var decodeSampleCount = 0
    var publish = Duration.zero
    var sink = Duration.zero
    var stats: Sink.Stats?
    var stored = 0
    /// Bytes on disk of the log and the store (WAL files included), and of the lakes.
    var logBytes = 0
    var storeBytes = 0
    var lakes: [(format: MeteoConfiguration.LakeFormat, bytes: Int, time: Duration)] = []
    var sinkStored: Int { stats?.stored ?? 0 }
    var sinkRate: Double { Double(sinkStored) / sink.seconds }
}

/// The bytes of the files under `dir` whose names start with `prefix`.
func bytes(under dir: URL, prefix: String) -> Int {
    var total = 0
    guard let walker = FileManager.default.enumerator(at: dir, includingPropertiesForKeys: [.fileSizeKey]) else { return 0 }
    for case let url as URL in walker where url.lastPathComponent.hasPrefix(prefix) {
        total += (try? url.resourceValues(forKeys: [.fileSizeKey]).fileSize) ?? 0
    }
    return total
}

/// Encodes and publishes `generated` to a fresh log, then sinks it into a fresh store, both
/// committing with `mode`.
func pipeline(_ mode: SQLiteSynchronous, _ generated: [Observation]) async throws -> Run {
    let dir = root.appendingPathComponent(mode.rawValue.lowercased())
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    var run = Run(mode: mode)
    // Encode and publish to the durable log.
    let log = try EmbeddedLog.open(dataDir: dir, logger: logger, synchronous: mode)
    let publisher = try log.publisher()
    var start = 0
    while start < generated.count {
        let end = min(start + batch, generated.count)
        var messages: [OutgoingMessage] = []
        messages.reserveCapacity(end - start)
        run.encode += clock.measure {
            for o in generated[start..<end] { messages.append(OutgoingMessage(key: o.placeID, value: EventCodec.encode(o))) }
        }
        if start == 0 {
            run.decodeSample = clock.measure {
                for m in messages { _ = try? EventCodec.decode(m.value) }
            }
            run.decodeSampleCount = messages.count
        }
        let m = messages
        let began = clock.now
        try await publisher.publish(m, to: topic)
        run.publish += clock.now - began
        start = end
    }
    // The sink: poll → decode → validate → upsert + dead letters in one transaction → commit.
    let store = try SQLiteStore.open(dataDir: dir, logger: logger, synchronous: mode)
    let sink = Sink(consumer: try log.consumer(group: "bench", topic: topic), writer: store,
                    configuration: .init(batchSize: batch, pollTimeout: .milliseconds(10), stopWhenIdle: { true }),
                    logger: logger)
    run.sink = try await clock.measure { try await sink.run() }
    run.stats = sink.stats
    run.stored = try await store.count()
    try await store.close()
    try await log.close()
    run.logBytes = bytes(under: dir, prefix: EmbeddedLog.fileName)
    run.storeBytes = bytes(under: dir, prefix: SQLiteStore.fileName)
    // The lake, in each format, from the same observations in the sink's batches (what
    // `meteo sink --lake` adds to each batch), timed apart from the sink.
    if mode == .full {
        for format in [MeteoConfiguration.LakeFormat.parquet, .ndjson] {
            let lakeDir = dir.appendingPathComponent("lake-\(format.rawValue)")
            let lake = try LakeWriter(directory: lakeDir, writerID: "bench", format: format)
            var time = Duration.zero
            var start = 0
            while start < generated.count {
                let end = min(start + batch, generated.count)
                let slice = Array(generated[start..<end])
                time += try clock.measure { try lake.write(slice) }
                start = end
            }
            run.lakes.append((format, bytes(under: lakeDir, prefix: ""), time))
        }
    }
    return run
}

var runs: [Run] = []
for mode in modes {
    print("== synchronous=\(mode.rawValue)")
    let run = try await pipeline(mode, generated)
    runs.append(run)
    print("stage                               time        throughput")
    print(String(format: "generate (synthetic source)   %8.2f s  ", genTime.seconds) + rate(total, genTime))
    print(String(format: "encode events (JSON v1)       %8.2f s  ", run.encode.seconds) + rate(total, run.encode))
    print(String(format: "decode events (first batch)   %8.2f s  ", run.decodeSample.seconds) + rate(run.decodeSampleCount, run.decodeSample))
    print(String(format: "publish to the embedded log   %8.2f s  ", run.publish.seconds) + rate(total, run.publish))
    print(String(format: "SINK: log → store, committed  %8.2f s  ", run.sink.seconds) + rate(run.sinkStored, run.sink))
    for lake in run.lakes {
        let label = "lake, \(lake.format.rawValue) (LakeWriter)".padding(toLength: 30, withPad: " ", startingAt: 0)
        print(label + String(format: "%8.2f s  ", lake.time.seconds) + rate(total, lake.time))
    }
    print("stored \(run.stored) observations (\(run.stats?.inserted ?? 0) new), \(run.stats?.deadLettered ?? 0) dead letters, \(run.stats?.batches ?? 0) batches")
    let perObservation = { (b: Int) in String(format: "%.0f", Double(b) / Double(max(run.stored, 1))) }
    print("on disk per observation: log \(perObservation(run.logBytes)) B, store \(perObservation(run.storeBytes)) B"
          + run.lakes.map { ", lake \($0.format.rawValue) \(perObservation($0.bytes)) B" }.joined())
    print("")
}
generated = []

print(String(format: "peak memory (max RSS): %.0f MiB", peakRSSMiB()))
if let full = runs.first(where: { $0.mode == .full }) {
    print(String(format: "target ≥ 100,000 obs/s for the sink with durable commits (FULL): %@ (%.0f obs/s)",
                 full.sinkRate >= 100_000 ? "met" : "NOT met", full.sinkRate))
    if let normal = runs.first(where: { $0.mode == .normal }) {
        print(String(format: "durable commits cost: sink FULL %.0f obs/s against NORMAL %.0f obs/s (FULL at %.2f× NORMAL, %.0f %% slower); publish FULL %.2f s against NORMAL %.2f s",
                     full.sinkRate, normal.sinkRate, full.sinkRate / normal.sinkRate, 100 * (1 - full.sinkRate / normal.sinkRate),
                     full.publish.seconds, normal.publish.seconds))
    }
}
for run in runs where run.stored != total {
    print("ERROR: synchronous=\(run.mode.rawValue) stored \(run.stored) of \(total)")
    exit(1)
}
