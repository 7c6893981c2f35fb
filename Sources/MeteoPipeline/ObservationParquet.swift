import Foundation
import MeteoCore
import MeteoParquet

/// Observations as Parquet: one column per field of ``ObservationSchema``, in its order and
/// with its names and nullability. Text is a dictionary-encoded STRING, a measurement a
/// DOUBLE, the weather code an INT64, `observed_at` a TIMESTAMP in UTC microseconds.
public enum ObservationParquet {
    /// The Parquet columns, derived from ``ObservationSchema/fields``.
    public static let fields: [ParquetField] = ObservationSchema.fields.map { f in
        let kind: ParquetKind
        switch f.kind {
        case .text: kind = .string
        case .real: kind = .double
        case .integer: kind = .int64
        case .time: kind = .timestampMicros
        }
        return ParquetField(f.name, kind, nullable: f.nullable)
    }

    /// The footer's key/value metadata: the event schema version, for readers that check it.
    public static let metadata = [("meteo.schema", "observation/\(EventCodec.version)")]

    /// A whole Parquet file of one row group.
    public static func encode(_ observations: [Observation]) throws(MeteoError) -> [UInt8] {
        do {
            var writer = try ParquetWriter(fields: fields, metadata: metadata)
            try writer.write(rowGroup: fields.map { column($0.name, observations) })
            return writer.finish()
        } catch {
            throw MeteoError(code: .internal, "cannot encode \(observations.count) observations as Parquet: \(error.message)")
        }
    }

    static func micros(_ date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 * 1_000_000).rounded())
    }

    private static func column(_ name: String, _ obs: [Observation]) -> ParquetColumn {
        switch name {
        case "place_id": .strings(obs.map(\.placeID))
        case "name": .strings(obs.map(\.name))
        case "country": .strings(obs.map(\.country))
        case "region": .strings(obs.map(\.region))
        case "latitude": .doubles(obs.map(\.latitude))
        case "longitude": .doubles(obs.map(\.longitude))
        case "observed_at": .int64s(obs.map { micros($0.observedAt) })
        case "source": .strings(obs.map(\.source))
        case "temperature_c": .doubles(obs.map(\.temperatureC))
        case "feels_like_c": .doubles(obs.map(\.feelsLikeC))
        case "humidity_pct": .doubles(obs.map(\.humidityPct))
        case "pressure_hpa": .doubles(obs.map(\.pressureHPa))
        case "wind_speed_ms": .doubles(obs.map(\.windSpeedMS))
        case "wind_direction_deg": .doubles(obs.map(\.windDirectionDeg))
        case "wind_gust_ms": .doubles(obs.map(\.windGustMS))
        case "cloud_cover_pct": .doubles(obs.map(\.cloudCoverPct))
        case "visibility_m": .doubles(obs.map(\.visibilityM))
        case "rain_mm": .doubles(obs.map(\.rainMM))
        case "snow_mm": .doubles(obs.map(\.snowMM))
        case "weather_code": .int64s(obs.map { $0.weatherCode.map(Int64.init) })
        default: preconditionFailure("ObservationSchema field \(name) has no Parquet column: add it here")
        }
    }

    /// The observations of a Parquet file with the columns of ``fields`` (by name, in any
    /// order; other columns are ignored).
    public static func decode(_ bytes: [UInt8]) throws(MeteoError) -> [Observation] {
        let file: ParquetFile
        do { file = try ParquetFile(bytes: bytes) } catch { throw MeteoError(code: .malformedPayload, "not a readable Parquet file: \(error.message)") }
        var out: [Observation] = []
        out.reserveCapacity(file.rowCount)
        for group in 0..<file.rowGroupRowCounts.count {
            var columns: [String: ParquetColumn] = [:]
            for f in fields {
                guard let i = file.index(of: f.name), file.fields[i].kind == f.kind else {
                    throw MeteoError(code: .malformedPayload, "the Parquet file has no \(f.kind) column \(f.name): not a Meteo lake file")
                }
                do { columns[f.name] = try file.column(i, rowGroup: group) } catch {
                    throw MeteoError(code: .malformedPayload, "cannot read column \(f.name) of a Parquet file: \(error.message)")
                }
            }
            func strings(_ n: String) -> [String?] { if case .strings(let v) = columns[n] { v } else { [] } }
            func doubles(_ n: String) -> [Double?] { if case .doubles(let v) = columns[n] { v } else { [] } }
            func ints(_ n: String) -> [Int64?] { if case .int64s(let v) = columns[n] { v } else { [] } }
            let (ids, names, countries, regions, sources) = (strings("place_id"), strings("name"), strings("country"), strings("region"), strings("source"))
            let (lat, lon, times, codes) = (doubles("latitude"), doubles("longitude"), ints("observed_at"), ints("weather_code"))
            let m = ["temperature_c", "feels_like_c", "humidity_pct", "pressure_hpa", "wind_speed_ms", "wind_direction_deg", "wind_gust_ms",
                     "cloud_cover_pct", "visibility_m", "rain_mm", "snow_mm"].map(doubles)
            for r in 0..<file.rowGroupRowCounts[group] {
                guard let id = ids[r], let name = names[r], let country = countries[r], let source = sources[r],
                      let la = lat[r], let lo = lon[r], let t = times[r] else {
                    throw MeteoError(code: .malformedPayload, "row \(r) of a Parquet file has a null in a required column")
                }
                out.append(Observation(placeID: id, name: name, country: country, region: regions[r], latitude: la, longitude: lo,
                                       observedAt: Date(timeIntervalSince1970: Double(t) / 1_000_000), source: source,
                                       temperatureC: m[0][r], feelsLikeC: m[1][r], humidityPct: m[2][r], pressureHPa: m[3][r],
                                       windSpeedMS: m[4][r], windDirectionDeg: m[5][r], windGustMS: m[6][r], cloudCoverPct: m[7][r],
                                       visibilityM: m[8][r], rainMM: m[9][r], snowMM: m[10][r], weatherCode: codes[r].map { Int(truncatingIfNeeded: $0) }))
            }
        }
        return out
    }
}
