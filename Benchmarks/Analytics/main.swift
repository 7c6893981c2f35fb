// The in-process analytics engine on synthetic observations held in memory as columns.
// Run by scripts/bench (release mode), which then runs the peers (DuckDB, pandas, Spark) on
// the CSV this program exports. Not a test: it reports, it does not assert.
//
//   meteo-analytics-bench --rows 1000000 --out DIR [--repeat 5] [--store-load]
//
// Writes DIR/observations.csv, DIR/meteo.json (timings, peak memory, the full report) and
// prints a summary.
import Foundation
import Logging
import MeteoAnalytics
import MeteoCore
import MeteoEmbedded
import MeteoSources

#if canImport(Glibc)
import Glibc
#endif

func argument(_ name: String) -> String? {
    let args = CommandLine.arguments
    guard let i = args.firstIndex(of: name), i + 1 < args.count else { return nil }
    return args[i + 1]
}

func peakRSSBytes() -> Int {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Int(usage.ru_maxrss) * 1024  // kilobytes on Linux
}

let rows = Int(argument("--rows") ?? "") ?? 1_000_000
let repeats = max(1, Int(argument("--repeat") ?? "") ?? 5)
let out = URL(fileURLWithPath: argument("--out") ?? "meteo-bench-analytics/\(rows)", isDirectory: true)
let storeLoad = CommandLine.arguments.contains("--store-load")
let skipCSV = CommandLine.arguments.contains("--no-csv")
try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)

let clock = ContinuousClock()
func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18 }

/// The median of `repeats` runs, in seconds, and the last result.
func time<T>(_ body: () -> T) -> (seconds: Double, result: T) {
    var times: [Double] = []
    var result: T?
    for _ in 0..<repeats {
        let start = clock.now
        result = body()
        times.append(seconds(clock.now - start))
    }
    times.sort()
    return (times[times.count / 2], result!)
}

// The workload: 10,000 places (the 1,630 of the ten built-in regions, the rest of the
// catalogue's largest places as region "world") × as many ten-minute ticks as needed.
let catalogue = try PlaceCatalogue.bundled()
var places = catalogue.places(in: Region.builtin)
var seen = Set(places.map(\.id))
for p in catalogue.places where places.count < 10_000 && seen.insert(p.id).inserted {
    var p = p
    p.region = "world"
    places.append(p)
}
let ticks = (rows + places.count - 1) / places.count
let source = SyntheticSource(seed: 42)
print("meteo analytics benchmark: \(rows) synthetic observations (\(places.count) places × \(ticks) ticks), \(ProcessInfo.processInfo.activeProcessorCount) cores, median of \(repeats)")

var builder = ObservationFrame.Builder(reservingCapacity: rows)
let buildStart = clock.now
for tick in 0..<ticks {
    let batch = source.observations(places: places, tick: Int64(tick))
    builder.append(batch.prefix(rows - builder.count))
}
let frame = builder.build()
builder = ObservationFrame.Builder()
let buildSeconds = seconds(clock.now - buildStart)
print(String(format: "  generate + build columns: %.2f s (%.0f MB of columns)", buildSeconds, Double(frame.byteCount) / 1e6))

// Memory read bandwidth, measured here on a 512 MB buffer (far larger than the caches) with
// every core, to say what bounds each analysis.
@inline(never) func keep(_ x: Double) { if x == 42.4242 { print("") } }
func readBandwidth(bytes: Int, threads: Int) -> Double {
    let count = bytes / 8
    let buffer = UnsafeMutablePointer<Double>.allocate(capacity: count)
    defer { buffer.deallocate() }
    for i in 0..<count { buffer[i] = Double(i & 1023) }
    let chunk = count / threads
    let shared = UncheckedBox(buffer)
    let (t, _) = time { () -> Int in
        DispatchQueue.concurrentPerform(iterations: threads) { w in
            let base = UnsafeRawPointer(shared.value + w * chunk)
            var s0 = SIMD4<Double>(), s1 = SIMD4<Double>()
            var i = 0
            while i + 8 <= chunk {
                s0 += base.loadUnaligned(fromByteOffset: i * 8, as: SIMD4<Double>.self)
                s1 += base.loadUnaligned(fromByteOffset: (i + 4) * 8, as: SIMD4<Double>.self)
                i += 8
            }
            keep((s0 + s1).sum())
        }
        return 0
    }
    return Double(chunk * threads * 8) / t
}
struct UncheckedBox: @unchecked Sendable {
    let value: UnsafeMutablePointer<Double>
    init(_ value: UnsafeMutablePointer<Double>) { self.value = value }
}

let analyzer = FrameAnalyzer(frame: frame)
let correlation = time { analyzer.correlation() }
let regions = time { analyzer.regions() }
let rainSnow = time { () -> Int in
    let latest = analyzer.latestRows()
    return analyzer.placesWith(latest: latest, .rain).count + analyzer.placesWith(latest: latest, .snow).count
        + analyzer.placesWith(latest: latest, .rainAndSnow).count
}
let fullStart = clock.now
let report = analyzer.report(for: AnalysisRequest())
let fullSeconds = seconds(clock.now - fullStart)

var csvSeconds: Double?
if !skipCSV {
    let start = clock.now
    try frame.writeCSV(to: out.appendingPathComponent("observations.csv"))
    csvSeconds = seconds(clock.now - start)
    print(String(format: "  CSV export: %.1f s", csvSeconds!))
}

var storeSeconds: Double?
if storeLoad {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("meteo-bench-store-\(getpid())")
    try? FileManager.default.removeItem(at: dir)
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    var logger = Logger(label: "bench")
    logger.logLevel = .error
    let store = try SQLiteStore.open(dataDir: dir, logger: logger)
    for tick in 0..<ticks {
        let batch = source.observations(places: places, tick: Int64(tick))
        _ = try await store.upsert(Array(batch.prefix(rows - tick * places.count)))
    }
    let engine = InProcessEngine(store: store, logger: logger)
    let start = clock.now
    let loaded = try await engine.load(AnalysisRequest())
    storeSeconds = seconds(clock.now - start)
    print(String(format: "  load %d rows from the SQLite store into columns: %.2f s (%.0f rows/s)", loaded.count, storeSeconds!, Double(loaded.count) / storeSeconds!))
}

let peak = peakRSSBytes()
// Measured after the peak memory was read: the buffer would count otherwise.
let cores = ProcessInfo.processInfo.activeProcessorCount
let bandwidth = readBandwidth(bytes: 512 << 20, threads: cores)
let bandwidthOne = readBandwidth(bytes: 512 << 20, threads: 1)
// Bytes each analysis must read at least once.
let n = Double(frame.count)
let scanned: [(String, Double, Double)] = [
    ("correlation", correlation.seconds, n * 8 * 8),
    ("regions", regions.seconds, n * (4 * 8 + 2 + 4)),
    ("rain_snow", rainSnow.seconds, n * (4 + 8)),
]
print(String(format: "  memory read bandwidth: %.1f GB/s with %d cores, %.1f GB/s with one", bandwidth / 1e9, cores, bandwidthOne / 1e9))
for (name, t, bytes) in scanned {
    print(String(format: "  %-12@ %8.1f ms   %6.0f MB scanned   %5.1f GB/s   bound %6.1f ms", name as NSString, t * 1000, bytes / 1e6, bytes / t / 1e9, bytes / bandwidth * 1000))
}
print(String(format: "  whole report (all analyses incl. countries, windows, extremes): %.1f ms", fullSeconds * 1000))

print(String(format: "  peak RSS: %.0f MiB", Double(peak) / 1_048_576))

var w = JSONWriter(capacity: 1 << 16)
w.raw("{")
w.key("engine", first: true); w.string("meteo")
w.key("rows"); w.number(frame.count)
w.key("cores"); w.number(ProcessInfo.processInfo.activeProcessorCount)
w.key("timings_s")
w.raw("{")
w.key("correlation", first: true); w.number(correlation.seconds)
w.key("regions"); w.number(regions.seconds)
w.key("rain_snow"); w.number(rainSnow.seconds)
w.key("report"); w.number(fullSeconds)
w.raw("}")
w.key("load_s")
w.raw("{")
w.key("build_columns", first: true); w.number(buildSeconds)
w.key("csv_export"); w.optional(csvSeconds)
w.key("store_1m"); w.optional(storeSeconds)
w.raw("}")
w.key("bytes_scanned")
w.raw("{")
for (i, s) in scanned.enumerated() { w.key(s.0, first: i == 0); w.number(s.2) }
w.raw("}")
w.key("read_bandwidth_bytes_per_s"); w.number(bandwidth)
w.key("read_bandwidth_one_core_bytes_per_s"); w.number(bandwidthOne)
w.key("peak_rss_bytes"); w.number(peak)
w.key("report"); w.value(try JSONValue.parse(report.json()))
w.raw("}")
try Data(w.bytes).write(to: out.appendingPathComponent("meteo.json"))
print("  wrote \(out.appendingPathComponent("meteo.json").path)")
