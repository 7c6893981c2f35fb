import Foundation
import MeteoCore

extension ObservationFrame {
    /// The CSV header: the fields of `docs/analytics.md`, with units in the names.
    public static let csvHeader = "place_id,name,country,region,latitude,longitude,observed_at,"
        + correlationMeasures.map(\.field).joined(separator: ",") + ",rain_mm,snow_mm"

    /// Writes the frame as CSV (RFC 4180, UTF-8): `observed_at` in Unix seconds, numbers in
    /// their shortest exact decimal form, an empty field for nil. This is the format that the
    /// numpy reference and the benchmark peers read.
    public func writeCSV(to url: URL) throws {
        guard FileManager.default.createFile(atPath: url.path, contents: nil) else {
            throw MeteoError(code: .io, "cannot create \(url.path): check that its folder exists and is writable")
        }
        let handle = try FileHandle(forWritingTo: url)
        defer { try? handle.close() }
        var buffer: [UInt8] = []
        buffer.reserveCapacity(1 << 20)
        buffer.append(contentsOf: Self.csvHeader.utf8)
        buffer.append(0x0A)
        let placeFields = places.map { p in
            (CSV.escape(p.id) + "," + CSV.escape(p.name) + "," + CSV.escape(p.country) + ",", p.latitude.description + "," + p.longitude.description + ",")
        }
        let regionFields = regions.map { CSV.escape($0) + "," }
        let order = Self.correlationMeasures + [.rain, .snow]
        for row in 0..<count {
            let place = placeFields[Int(placeIndex[row])]
            buffer.append(contentsOf: place.0.utf8)
            let r = regionIndex[row]
            if r >= 0 { buffer.append(contentsOf: regionFields[Int(r)].utf8) } else { buffer.append(UInt8(ascii: ",")) }
            buffer.append(contentsOf: place.1.utf8)
            buffer.append(contentsOf: String(time[row]).utf8)
            for m in order {
                buffer.append(UInt8(ascii: ","))
                let v = columns[m.rawValue][row]
                if !v.isNaN { buffer.append(contentsOf: v.description.utf8) }
            }
            buffer.append(0x0A)
            if buffer.count > (1 << 20) - 512 {
                try handle.write(contentsOf: buffer)
                buffer.removeAll(keepingCapacity: true)
            }
        }
        try handle.write(contentsOf: buffer)
    }
}
