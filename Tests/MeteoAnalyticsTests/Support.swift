import Foundation
import Logging
import MeteoAnalytics
import MeteoCore
import MeteoSources
import Testing

let testLogger = Logger(label: "test")

func temporaryDirectory() -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("meteo-analytics-\(UUID().uuidString)")
    try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// Observations for the reference tests: synthetic weather for places of three regions over
/// `ticks` ten-minute ticks, then made awkward on purpose: missing values in some columns,
/// hostile names, a place without region, one with an empty country, one with rain and snow.
func awkwardObservations(places count: Int = 240, ticks: Int = 15, seed: UInt64 = 7) throws -> [Observation] {
    let catalogue = try PlaceCatalogue.bundled()
    let regions = ["EuropeW", "AsieE", "AmeriqueS"].compactMap { Region.named($0) }
    // An equal share of each region, so that every region has places.
    var places = regions.flatMap { catalogue.places(in: [$0]).prefix(count / regions.count) }
    // Hostile and unusual places.
    places[0].name = "<script>alert(\"x\")</script>"
    places[1].name = "Comma, \"Quoted\" Town"
    places[2].name = "Zürich\r\nLine"
    places[3].region = nil
    places[4].country = ""
    let source = SyntheticSource(seed: seed, start: Date(timeIntervalSince1970: 1_767_225_600), step: .seconds(600))
    var out: [Observation] = []
    for tick in 0..<Int64(ticks) {
        out += source.observations(places: places, tick: tick)
    }
    for i in out.indices {
        if i % 7 == 0 { out[i].windGustMS = nil }
        if i % 13 == 0 { out[i].visibilityM = nil }
        if i % 29 == 0 { out[i].temperatureC = nil }
        if (1000..<1400).contains(i) { out[i].humidityPct = nil }
        if out[i].placeID == places[5].id { out[i].rainMM = 1.25; out[i].snowMM = 0.5 }
        if out[i].placeID == places[6].id { out[i].cloudCoverPct = 40 }
    }
    return out
}

/// Runs the independent numpy reference (`scripts/analytics_reference.py`) on a CSV.
func referenceReport(csv: URL, region: String? = nil, since: Int64? = nil, until: Int64? = nil,
                     window: Int = 3600, top: Int = 5) throws -> JSONValue {
    let python = ProcessInfo.processInfo.environment["METEO_PYTHON"] ?? "python3"
    let output = csv.deletingLastPathComponent().appendingPathComponent("reference-\(UUID().uuidString).json")
    var arguments = [python, repositoryRoot.appendingPathComponent("scripts/analytics_reference.py").path, csv.path,
                     "--window", String(window), "--top", String(top), "--output", output.path]
    if let region { arguments += ["--region", region] }
    if let since { arguments += ["--since", String(since)] }
    if let until { arguments += ["--until", String(until)] }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    let errors = Pipe()
    process.standardError = errors
    try process.run()
    let stderr = errors.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw ReferenceFailure(message: "the numpy reference failed (\(process.terminationStatus)); scripts/test installs numpy: "
                               + String(decoding: stderr, as: UTF8.self))
    }
    return try JSONValue.parse(Array(try Data(contentsOf: output)))
}

struct ReferenceFailure: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

/// Compares two JSON documents: numbers to `tolerance` relative (with a 1e-12 absolute floor
/// for values near zero), everything else exactly. Keys of `expected` only: the engine may add
/// keys of its own (`engine`, `filter`). Returns the differences, each with its path.
func differences(_ actual: JSONValue?, _ expected: JSONValue, path: String = "$", tolerance: Double = 1e-9) -> [String] {
    guard let actual else { return ["\(path): missing"] }
    switch (actual, expected) {
    case let (.number(a), .number(b)):
        let scale = max(abs(a), abs(b))
        return abs(a - b) <= max(tolerance * scale, 1e-12) ? [] : ["\(path): \(a) ≠ \(b) (relative \(abs(a - b) / scale))"]
    case let (.array(a), .array(b)):
        guard a.count == b.count else { return ["\(path): \(a.count) elements ≠ \(b.count)"] }
        return zip(a, b).enumerated().flatMap { i, pair in differences(pair.0, pair.1, path: "\(path)[\(i)]", tolerance: tolerance) }
    case let (.object(a), .object(b)):
        return b.keys.sorted().flatMap { k in differences(a[k], b[k]!, path: "\(path).\(k)", tolerance: tolerance) }
    default:
        return actual == expected ? [] : ["\(path): \(actual) ≠ \(expected)"]
    }
}
