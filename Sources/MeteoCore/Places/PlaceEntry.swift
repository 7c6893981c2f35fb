import Foundation

/// One entry of `--places` (METEO_PLACES, the config file's `places`): a place of the
/// catalogue by name or id, or a custom place by its coordinates.
///
/// - `48.58,7.75`: exactly two numbers, latitude then longitude in degrees: a custom place
///   named by its coordinates (`48.5800, 7.7500`), id `geo:48.5800,7.7500`;
/// - `Mont Ventoux@44.17,5.28`: a custom place with that name;
/// - anything else (`Strasbourg`, `Paris,FR`, `Paris,US,TX`, `2973783`): a catalogue place.
public enum PlaceEntry: Sendable, Hashable {
    case catalogue(String)
    case custom(Place)

    /// What an entry with coordinates must look like, for error messages.
    static let expected = "expected a place name (Paris,FR), LAT,LON in degrees (48.58,7.75) or Name@LAT,LON (Mont Ventoux@44.17,5.28), with latitudes from -90 to 90 and longitudes from -180 to 180"

    /// Parses one entry (already split from its list); the error names the entry and says
    /// what is expected, and `origin` (such as `flag --places`) says where it came from.
    public init(parsing text: String, origin: String) throws(MeteoError) {
        let t = text.trimmingCharacters(in: .whitespaces)
        func bad(_ why: String) -> MeteoError {
            MeteoError(code: .invalidConfiguration, "invalid place '\(t)' (from \(origin)): \(why)")
        }
        // Catalogue names never hold '@', so an '@' always means Name@LAT,LON.
        if let at = t.lastIndex(of: "@") {
            let name = t[..<at].trimmingCharacters(in: .whitespaces)
            guard !name.isEmpty else { throw bad("the name before '@' is empty; write Name@LAT,LON, such as Mont Ventoux@44.17,5.28") }
            guard let (lat, lon) = Self.coordinates(t[t.index(after: at)...]) else {
                throw bad("after '@' write LAT,LON in degrees, such as Mont Ventoux@44.17,5.28")
            }
            self = .custom(try Self.place(name: name, lat, lon, bad))
            return
        }
        let parts = t.split(separator: ",", omittingEmptySubsequences: false)
        // A first part that is a number means coordinates; a lone number is a GeoNames id.
        if parts.count >= 2, Self.looksNumeric(parts[0]) {
            guard let (lat, lon) = Self.coordinates(t[...]) else { throw bad(Self.expected) }
            self = .custom(try Self.place(name: nil, lat, lon, bad))
            return
        }
        guard !t.isEmpty else { throw bad(Self.expected) }
        self = .catalogue(t)
    }

    /// Parses a `;`-separated list, skipping empty entries.
    public static func parseList(_ text: String, origin: String) throws(MeteoError) -> [PlaceEntry] {
        var out: [PlaceEntry] = []
        for part in text.split(separator: ";") where !part.trimmingCharacters(in: .whitespaces).isEmpty {
            out.append(try PlaceEntry(parsing: String(part), origin: origin))
        }
        return out
    }

    /// `LAT,LON`: exactly two decimal numbers.
    public static func coordinates(_ text: Substring) -> (Double, Double)? {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        guard parts.count == 2, looksNumeric(parts[0][...]), looksNumeric(parts[1][...]),
              let lat = Double(parts[0]), let lon = Double(parts[1]) else { return nil }
        return (lat, lon)
    }

    /// Digits with an optional sign and decimal point: not `nan`, `inf` or hexadecimal.
    static func looksNumeric(_ text: Substring) -> Bool {
        let t = text.trimmingCharacters(in: .whitespaces)
        return t.contains(where: \.isASCIIDigit) && t.allSatisfy { $0.isASCIIDigit || $0 == "." || $0 == "-" || $0 == "+" }
    }

    private static func place(name: String?, _ lat: Double, _ lon: Double,
                              _ bad: (String) -> MeteoError) throws(MeteoError) -> Place {
        switch CustomPlace.make(name: name, latitude: lat, longitude: lon) {
        case .success(let p): return p
        case .failure(let problem): throw bad(problem.message)
        }
    }
}

extension Character {
    /// An ASCII digit.
    var isASCIIDigit: Bool { isASCII && isWholeNumber }
}
