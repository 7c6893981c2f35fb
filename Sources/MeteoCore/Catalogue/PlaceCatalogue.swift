import Foundation
import Synchronization

/// The places Meteo knows: the bundled GeoNames extract of 34,006 places with at least
/// 15,000 inhabitants (cities15000, GeoNames, CC BY 4.0), sorted by population.
public struct PlaceCatalogue: Sendable {
    public let places: [Place]
    private let byID: [String: Int]
    /// The places by folded name, built on the first name lookup: folding 34,006 names takes a
    /// third of the catalogue's load time, which commands that never look a name up (ingest of
    /// regions, the sink) should not pay.
    private let names: NameIndex

    public init(places: [Place]) {
        self.places = places
        var byID = [String: Int]()
        byID.reserveCapacity(places.count)
        for (i, p) in places.enumerated() { byID[p.id] = i }
        self.byID = byID
        self.names = NameIndex()
    }

    private final class NameIndex: Sendable {
        private let index = Mutex<[String: [Int]]?>(nil)

        func lookup(_ folded: String, in places: [Place]) -> [Int] {
            index.withLock { index in
                if index == nil {
                    var byName = [String: [Int]]()
                    for (i, p) in places.enumerated() { byName[PlaceCatalogue.fold(p.name), default: []].append(i) }
                    index = byName
                }
                return index?[folded] ?? []
            }
        }
    }

    /// The attribution to show wherever the catalogue is shipped or shown.
    public static let attribution = "Place data: GeoNames (geonames.org), CC BY 4.0."

    /// Loads the catalogue bundled with Meteo, or the file named by `METEO_CATALOGUE`.
    public static func bundled(environment: [String: String] = ProcessInfo.processInfo.environment) throws(MeteoError) -> PlaceCatalogue {
        if let cached = cache.withLock({ $0 }) { return cached }
        let url = try locateBundledCSV(environment: environment)
        let catalogue = try load(contentsOf: url)
        cache.withLock { $0 = catalogue }
        return catalogue
    }

    private static let cache = Mutex<PlaceCatalogue?>(nil)

    static func locateBundledCSV(environment: [String: String]) throws(MeteoError) -> URL {
        if let path = environment["METEO_CATALOGUE"], !path.isEmpty { return URL(fileURLWithPath: path) }
        let fileName = "cities15000.csv"
        if let found = BundledResource.locate(fileName, module: "MeteoCore",
                                              sourceResources: URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                                                  .appendingPathComponent("Resources")) {
            return found
        }
        throw MeteoError(code: .io,
                         "the bundled place catalogue (\(fileName)) was not found next to the meteo binary: keep the meteo_MeteoCore.resources folder beside it, or set METEO_CATALOGUE to the file")
    }

    /// Loads a catalogue CSV with the columns `geonameid,name,country,admin1,latitude,longitude,population,timezone`.
    public static func load(contentsOf url: URL) throws(MeteoError) -> PlaceCatalogue {
        let text: String
        do { text = try String(contentsOf: url, encoding: .utf8) } catch {
            throw MeteoError(code: .io, "cannot read the place catalogue \(url.path): \(error.localizedDescription)")
        }
        return try parse(csv: text, origin: url.path)
    }

    public static func parse(csv text: String, origin: String = "catalogue") throws(MeteoError) -> PlaceCatalogue {
        let lines = TextLines.split(text)
        guard let header = lines.first else { throw MeteoError(code: .io, "the place catalogue \(origin) is empty") }
        let columns = CSV.fields(header)
        guard columns.starts(with: ["geonameid", "name", "country", "admin1", "latitude", "longitude"]) else {
            throw MeteoError(code: .io, "the place catalogue \(origin) should start with the header geonameid,name,country,admin1,latitude,longitude,population,timezone")
        }
        var places: [Place] = []
        places.reserveCapacity(lines.count)
        for (n, line) in lines.enumerated().dropFirst() where !line.isEmpty {
            let f = CSV.fields(line)
            guard f.count >= 6, let lat = Double(f[4]), let lon = Double(f[5]) else {
                throw MeteoError(code: .io, "line \(n + 1) of the place catalogue \(origin) is malformed")
            }
            places.append(Place(
                id: f[0], name: f[1], country: f[2], admin1: f[3].isEmpty ? nil : f[3],
                latitude: lat, longitude: lon,
                population: f.count > 6 ? Int(f[6]) : nil,
                timezone: f.count > 7 && !f[7].isEmpty ? f[7] : nil
            ))
        }
        return PlaceCatalogue(places: places)
    }

    public func place(id: String) -> Place? { byID[id].map { places[$0] } }

    /// All places inside a bounding box, largest first, tagged with `region` if given.
    public func places(in box: BoundingBox, region: String? = nil) -> [Place] {
        places.filter { box.contains(latitude: $0.latitude, longitude: $0.longitude) }.map {
            var p = $0
            p.region = region
            return p
        }
    }

    /// All places of the given regions, each tagged with its region (a place in two regions appears once, in the first).
    public func places(in regions: [Region]) -> [Place] {
        var seen = Set<String>()
        var out: [Place] = []
        for r in regions {
            for p in places(in: r.box, region: r.name) where seen.insert(p.id).inserted {
                out.append(p)
            }
        }
        return out
    }

    /// The places of a folded name (``fold(_:)``), most populous first.
    func places(named folded: String) -> [Place] {
        names.lookup(folded, in: places).map { places[$0] }
    }

    /// Resolves `Strasbourg`, `Paris,FR`, `Paris,US,TX` or a GeoNames id to one place of the
    /// catalogue, as ``PlaceResolver`` does over the catalogue alone.
    ///
    /// An ambiguous name throws with the candidates (`Paris,FR`, `Paris,US`…); an unknown one
    /// throws with the closest names.
    public func resolve(_ query: String) throws(MeteoError) -> Place {
        try PlaceResolver(catalogue: self).resolve(query, stored: []).place
    }

    /// The names closest to `name` by edit distance, most populous first among equals.
    public func closeMatches(_ name: String, limit: Int) -> [String] {
        Self.closeMatches(name, among: places.map(\.name), limit: limit)
    }

    /// The names closest to `name` by edit distance (ignoring case and accents), each once,
    /// earlier names first among equals; then names that start like it.
    public static func closeMatches(_ name: String, among names: [String], limit: Int) -> [String] {
        let target = Array(fold(name))
        guard !target.isEmpty else { return [] }
        let maxDistance = max(1, target.count / 3)
        var scored: [(Int, Int, String)] = []
        var seen = Set<String>()
        let folded = names.map(fold)
        for (i, f) in folded.enumerated() {
            guard abs(f.count - target.count) <= maxDistance, !seen.contains(f) else { continue }
            let d = editDistance(target, Array(f), limit: maxDistance)
            if d <= maxDistance {
                seen.insert(f)
                scored.append((d, i, names[i]))
            }
        }
        // A name that starts the same way is a good suggestion too.
        if scored.count < limit {
            let prefix = String(target)
            for (i, f) in folded.enumerated() where scored.count < limit {
                if f.hasPrefix(prefix), !seen.contains(f) {
                    seen.insert(f)
                    scored.append((maxDistance + 1, i, names[i]))
                }
            }
        }
        return scored.sorted { ($0.0, $0.1) < ($1.0, $1.1) }.prefix(limit).map(\.2)
    }

    /// Case- and accent-insensitive form of a name.
    static func fold(_ s: String) -> String {
        s.folding(options: [.caseInsensitive, .diacriticInsensitive], locale: nil)
    }

    static func editDistance(_ a: [Character], _ b: [Character], limit: Int) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var prev = Array(0...b.count)
        var cur = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            cur[0] = i
            var rowMin = cur[0]
            for j in 1...b.count {
                cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
                rowMin = min(rowMin, cur[j])
            }
            if rowMin > limit { return limit + 1 }
            swap(&prev, &cur)
        }
        return prev[b.count]
    }
}

/// Finds a file that SwiftPM copied into a module's resource bundle, without `Bundle.module`
/// (whose accessor stops the program when the bundle is missing): beside the executable,
/// then in the source tree of a development checkout.
public enum BundledResource {
    public static func locate(_ fileName: String, module: String, sourceResources: URL) -> URL? {
        var candidates: [URL] = []
        let resourceDirs = ["meteo_\(module).resources", "meteo_\(module).bundle"]
        let bases = [Bundle.main.bundleURL, Bundle.main.executableURL?.deletingLastPathComponent()].compactMap { $0 }
        for base in bases {
            for dir in resourceDirs {
                candidates.append(base.appendingPathComponent(dir).appendingPathComponent(fileName))
                candidates.append(base.appendingPathComponent(dir).appendingPathComponent("Contents/Resources").appendingPathComponent(fileName))
            }
        }
        candidates.append(sourceResources.appendingPathComponent(fileName))
        return candidates.first { FileManager.default.fileExists(atPath: $0.path) }
    }
}
