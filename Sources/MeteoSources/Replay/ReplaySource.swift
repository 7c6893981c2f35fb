import Foundation
import MeteoCore
import Synchronization

/// Replays a recording: NDJSON Meteo events, lines each holding a legacy OpenWeatherMap
/// `box/city` payload (or a current-weather object), or CSV whose header uses the JSON field
/// names (`place_id,name,country,region,latitude,longitude,observed_at,source,temperature_c,…`).
///
/// The first poll returns the whole recording; later polls return nothing. Observations keep
/// the `source` they were recorded with. A bad line is reported as a failure with its line
/// number, never skipped silently. The places passed to `poll` are ignored.
public final class ReplaySource: WeatherSource {
    public let name = "replay"
    public let url: URL
    private let done = Mutex(false)

    public init(url: URL) {
        self.url = url
    }

    public func poll(_ places: [Place]) async throws -> SourceBatch {
        let first = done.withLock { d -> Bool in
            defer { d = true }
            return !d
        }
        guard first else { return SourceBatch() }
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw MeteoError(code: .io, "cannot read the replay file \(url.path): check --replay-file (\(error.localizedDescription))")
        }
        return try Self.decode(Array(data), fileName: url.lastPathComponent)
    }

    /// Decodes a recording's bytes.
    public static func decode(_ bytes: [UInt8], fileName: String) throws(MeteoError) -> SourceBatch {
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw MeteoError(code: .malformedPayload, "the replay file \(fileName) is not UTF-8 text")
        }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let firstLine = lines.first { !$0.trimmingCharacters(in: .whitespaces).isEmpty } ?? ""
        if fileName.lowercased().hasSuffix(".csv") || firstLine.hasPrefix("place_id,") {
            return try decodeCSV(lines, fileName: fileName)
        }
        var batch = SourceBatch()
        for (n, raw) in lines.enumerated() {
            let line = raw.last == "\r" ? raw.dropLast() : raw
            if line.trimmingCharacters(in: .whitespaces).isEmpty { continue }
            do {
                for result in try PayloadFormat.auto.decode(Array(line.utf8)) {
                    switch result {
                    case .success(let o): batch.observations.append(o)
                    case .failure(let e): batch.failures.append(SourceFailure(placeID: nil, reason: "\(fileName) line \(n + 1): \(e.message)"))
                    }
                }
            } catch {
                batch.failures.append(SourceFailure(placeID: nil, reason: "\(fileName) line \(n + 1): \(error.message)"))
            }
        }
        return batch
    }

    static func decodeCSV(_ lines: [Substring], fileName: String) throws(MeteoError) -> SourceBatch {
        guard let headerLine = lines.first else { return SourceBatch() }
        let header = CSV.fields(headerLine.last == "\r" ? headerLine.dropLast() : headerLine)
        let known = Set(Observation.CodingKeys.allCases.map(\.rawValue))
        if let unknown = header.first(where: { !known.contains($0) }) {
            throw MeteoError(code: .malformedPayload, "\(fileName): unknown CSV column '\(unknown)'; the columns are the JSON field names: \(Observation.CodingKeys.allCases.map(\.rawValue).joined(separator: ","))")
        }
        for required in ["place_id", "name", "latitude", "longitude", "observed_at"] where !header.contains(required) {
            throw MeteoError(code: .malformedPayload, "\(fileName): the CSV header has no '\(required)' column")
        }
        var batch = SourceBatch()
        for (n, raw) in lines.enumerated().dropFirst() {
            let line = raw.last == "\r" ? raw.dropLast() : raw
            if line.isEmpty { continue }
            let fields = CSV.fields(line)
            guard fields.count == header.count else {
                batch.failures.append(SourceFailure(placeID: nil, reason: "\(fileName) line \(n + 1): \(fields.count) fields, the header has \(header.count)"))
                continue
            }
            // Build an event object and decode it with the event codec, so that the rules are the same.
            var object: [String: JSONValue] = ["v": .number(1), "source": .string("replay"), "country": .string("")]
            var bad: String?
            for (name, value) in zip(header, fields) {
                switch name {
                case "place_id", "name", "country", "region", "observed_at", "source":
                    object[name] = value.isEmpty && name == "region" ? .null : .string(value)
                default:
                    if value.isEmpty { object[name] = .null } else if let d = Double(value), d.isFinite { object[name] = .number(d) } else {
                        bad = "column \(name) holds '\(value.prefix(40))', not a number"
                    }
                }
            }
            if let bad {
                batch.failures.append(SourceFailure(placeID: nil, reason: "\(fileName) line \(n + 1): \(bad)"))
                continue
            }
            do {
                batch.observations.append(try EventCodec.decode(.object(object)))
            } catch {
                batch.failures.append(SourceFailure(placeID: nil, reason: "\(fileName) line \(n + 1): \(error.message)"))
            }
        }
        return batch
    }
}
