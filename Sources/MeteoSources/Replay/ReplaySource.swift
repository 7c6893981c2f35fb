import Foundation
import MeteoCore
import Synchronization

/// Replays a recording: the first ``poll(_:)`` returns every observation of the file, later
/// polls return an empty batch.
///
/// Formats, recognised by extension (`.ndjson`, `.jsonl`, `.json` → JSON lines; `.csv` → CSV)
/// or else by the first non-blank character (`{` → JSON lines, anything else → CSV):
/// - **JSON lines**: each line a Meteo event, an observation record without `"v"` (a numeric
///   `place_id` allowed), a legacy OpenWeatherMap `box/city` payload (one observation per city)
///   or an OWM current-weather object (``RecordingDecoder``).
/// - **CSV** with a header of ``Observation/CodingKeys`` names (`place_id,name,…,weather_code`);
///   an empty field is `nil`; `place_id`, `latitude`, `longitude` and `observed_at` are required,
///   a missing `name` is the id and a missing `source` means `replay`.
///
/// Lines end with LF or CRLF, a UTF-8 byte order mark is skipped and the last line needs no
/// newline (``TextLines``); a file of lone CRs (classic Mac OS) is one failure that says so.
/// See docs/replay.md.
///
/// Observations keep the `source` they were recorded with. Each bad line (or bad city of a
/// legacy line) is a ``SourceFailure`` whose reason starts with `line N:`; nothing is dropped
/// silently. The `places` argument of ``poll(_:)`` is ignored: a recording is replayed whole.
public final class ReplaySource: WeatherSource, Sendable {
    public enum Format: String, Sendable { case jsonLines = "json-lines", csv }

    public var name: String { "replay" }
    public let path: String
    private let consumed = Mutex(false)

    public init(path: String) {
        self.path = path
    }

    public func poll(_ places: [Place]) async throws -> SourceBatch {
        let first = consumed.withLock { done in
            defer { done = true }
            return !done
        }
        guard first else { return SourceBatch() }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            consumed.withLock { $0 = false }  // a later poll may find the file
            throw MeteoError(code: .io, "cannot read the replay file '\(path)': \(error.localizedDescription); check --replay-file")
        }
        let text = String(decoding: data, as: UTF8.self)
        return Self.parse(text, format: Self.detectFormat(path: path, text: text))
    }

    /// The format of a file, from its extension or else its first non-blank character.
    public static func detectFormat(path: String, text: String) -> Format {
        switch (path as NSString).pathExtension.lowercased() {
        case "ndjson", "jsonl", "json": return .jsonLines
        case "csv": return .csv
        default: return TextLines.droppingBOM(text).first(where: { !$0.isWhitespace }) == "{" ? .jsonLines : .csv
        }
    }

    /// Parses a whole recording.
    public static func parse(_ text: String, format: Format) -> SourceBatch {
        var batch = SourceBatch()
        guard !TextLines.hasLoneCarriageReturns(text) else {
            batch.failures.append(SourceFailure(
                placeID: nil,
                reason: "line 1: the lines of this file end with a lone carriage return (classic Mac OS), which Meteo does not read: convert them to LF or CRLF, for example with tr '\\r' '\\n'"))
            return batch
        }
        // Empty lines are kept, so that line numbers are the file's.
        let lines = TextLines.split(text)
        switch format {
        case .jsonLines:
            for (i, line) in lines.enumerated() where !line.allSatisfy(\.isWhitespace) {
                do throws(MeteoError) {
                    let results = try RecordingDecoder.decode(line.utf8)
                    for (k, result) in results.enumerated() {
                        switch result {
                        case .success(let o): batch.observations.append(o)
                        case .failure(let e):
                            let place = results.count > 1 ? "line \(i + 1), entry \(k + 1)" : "line \(i + 1)"
                            batch.failures.append(SourceFailure(placeID: nil, reason: "\(place): \(e.message)"))
                        }
                    }
                } catch {
                    batch.failures.append(SourceFailure(placeID: nil, reason: "line \(i + 1): \(error.message)"))
                }
            }
        case .csv:
            guard let headerIndex = lines.firstIndex(where: { !$0.allSatisfy(\.isWhitespace) }) else { return batch }
            let header = CSV.fields(lines[headerIndex]).map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            var columns: [Observation.CodingKeys: Int] = [:]
            for (i, name) in header.enumerated() {
                if let key = Observation.CodingKeys(rawValue: name) { columns[key] = i }
            }
            let required: [Observation.CodingKeys] = [.placeID, .latitude, .longitude, .observedAt]
            let missing = required.filter { columns[$0] == nil }
            guard missing.isEmpty else {
                batch.failures.append(SourceFailure(
                    placeID: nil,
                    reason: "line \(headerIndex + 1): the CSV header lacks \(missing.map(\.rawValue).joined(separator: ", ")); expected Observation field names such as place_id,name,country,region,latitude,longitude,observed_at,source,temperature_c"))
                return batch
            }
            for i in (headerIndex + 1)..<lines.count where !lines[i].allSatisfy(\.isWhitespace) {
                let fields = CSV.fields(lines[i])
                do throws(MeteoError) {
                    batch.observations.append(try csvObservation(fields, columns: columns, columnCount: header.count))
                } catch {
                    let id = columns[.placeID].flatMap { $0 < fields.count ? fields[$0] : nil }
                    batch.failures.append(SourceFailure(placeID: id?.isEmpty == false ? id : nil, reason: "line \(i + 1): \(error.message)"))
                }
            }
        }
        return batch
    }

    static func csvObservation(_ fields: [String], columns: [Observation.CodingKeys: Int], columnCount: Int) throws(MeteoError) -> Observation {
        guard fields.count == columnCount else {
            throw MeteoError(code: .malformedPayload, "expected \(columnCount) fields as in the header, found \(fields.count)")
        }
        func text(_ key: Observation.CodingKeys) -> String? {
            guard let i = columns[key] else { return nil }
            let v = fields[i].trimmingCharacters(in: .whitespaces)
            return v.isEmpty ? nil : v
        }
        func number(_ key: Observation.CodingKeys) throws(MeteoError) -> Double? {
            guard let t = text(key) else { return nil }
            guard let d = Double(t) else { throw MeteoError(code: .malformedPayload, "field '\(key.rawValue)' is not a number: '\(t.prefix(40))'") }
            return d
        }
        func required(_ key: Observation.CodingKeys) throws(MeteoError) -> Double {
            guard let d = try number(key) else { throw MeteoError(code: .malformedPayload, "field '\(key.rawValue)' is empty") }
            return d
        }
        guard let id = text(.placeID) else { throw MeteoError(code: .malformedPayload, "field 'place_id' is empty") }
        guard let timeText = text(.observedAt) else { throw MeteoError(code: .malformedPayload, "field 'observed_at' is empty") }
        guard let observedAt = ISO8601.date(from: timeText) else {
            throw MeteoError(code: .malformedPayload, "field 'observed_at' is not an ISO 8601 time: '\(timeText.prefix(40))'")
        }
        var code: Int?
        if let c = try number(.weatherCode) {
            guard c == c.rounded(), abs(c) < 1e9 else { throw MeteoError(code: .malformedPayload, "field 'weather_code' is not an integer: \(c)") }
            code = Int(c)
        }
        let o = Observation(
            placeID: id, name: text(.name) ?? id, country: text(.country) ?? "", region: text(.region),
            latitude: try required(.latitude), longitude: try required(.longitude),
            observedAt: observedAt, source: text(.source) ?? EventCodec.recordSource,
            temperatureC: try number(.temperatureC), feelsLikeC: try number(.feelsLikeC),
            humidityPct: try number(.humidityPct), pressureHPa: try number(.pressureHPa),
            windSpeedMS: try number(.windSpeedMS), windDirectionDeg: try number(.windDirectionDeg),
            windGustMS: try number(.windGustMS), cloudCoverPct: try number(.cloudCoverPct),
            visibilityM: try number(.visibilityM), rainMM: try number(.rainMM), snowMM: try number(.snowMM),
            weatherCode: code)
        try o.validate()
        return o
    }
}
