// Embedded sink throughput: 1M synthetic observations through the durable SQLite log and the
// Sink into the SQLite store. Run by scripts/bench in release mode. Not a test: it reports,
// it does not assert.
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
let dir = FileManager.default.temporaryDirectory.appendingPathComponent("meteo-bench-\(getpid())")
try? FileManager.default.removeItem(at: dir)
try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(at: dir) }

var logger = Logger(label: "bench")
logger.logLevel = .error
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
print("data dir: \(dir.path)")

// 1. Generate (kept apart from the pipeline figures).
var generated: [Observation] = []
generated.reserveCapacity(total)
let genTime = clock.measure {
    for tick in 0..<ticks {
        let obs = source.observations(places: places, tick: Int64(tick))
        generated.append(contentsOf: obs.prefix(total - generated.count))
    }
}

// 2. Encode and publish to the durable log.
let log = try EmbeddedLog.open(dataDir: dir, logger: logger)
let publisher = try log.publisher()
var encodeTime = Duration.zero
var decodeSample = Duration.zero
var decodeSampleCount = 0
var publishTime = Duration.zero
var start = 0
while start < generated.count {
    let end = min(start + batch, generated.count)
    var messages: [OutgoingMessage] = []
    messages.reserveCapacity(end - start)
    encodeTime += clock.measure {
        for o in generated[start..<end] { messages.append(OutgoingMessage(key: o.placeID, value: EventCodec.encode(o))) }
    }
    if start == 0 {
        decodeSample = clock.measure {
            for m in messages { _ = try? EventCodec.decode(m.value) }
        }
        decodeSampleCount = messages.count
    }
    let m = messages
    let began = clock.now
    try await publisher.publish(m, to: topic)
    publishTime += clock.now - began
    start = end
}
generated = []

// 3. The sink: poll → decode → validate → upsert + dead letters in one transaction → commit.
let store = try SQLiteStore.open(dataDir: dir, logger: logger)
let sink = Sink(consumer: try log.consumer(group: "bench", topic: topic), writer: store,
                configuration: .init(batchSize: batch, pollTimeout: .milliseconds(10), stopWhenIdle: { true }),
                logger: logger)
let sinkTime = try await clock.measure { try await sink.run() }
let stats = sink.stats
let stored = try await store.count()
try await store.close()
try await log.close()

print("")
print("stage                               time        throughput")
print(String(format: "generate (synthetic source)   %8.2f s  ", genTime.seconds) + rate(total, genTime))
print(String(format: "encode events (JSON v1)       %8.2f s  ", encodeTime.seconds) + rate(total, encodeTime))
print(String(format: "decode events (first batch)   %8.2f s  ", decodeSample.seconds) + rate(decodeSampleCount, decodeSample))
print(String(format: "publish to the embedded log   %8.2f s  ", publishTime.seconds) + rate(total, publishTime))
print(String(format: "SINK: log → store, committed  %8.2f s  ", sinkTime.seconds) + rate(stats.stored, sinkTime))
print("")
print("stored \(stored) observations (\(stats.inserted) new), \(stats.deadLettered) dead letters, \(stats.batches) batches")
print(String(format: "peak memory (max RSS): %.0f MiB", peakRSSMiB()))
let sinkRate = Double(stats.stored) / sinkTime.seconds
print(String(format: "target ≥ 100,000 obs/s for the sink: %@ (%.0f obs/s)", sinkRate >= 100_000 ? "met" : "NOT met", sinkRate))
if stored != total { print("ERROR: stored \(stored) of \(total)"); exit(1) }
