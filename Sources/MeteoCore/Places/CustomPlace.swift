import Foundation

/// The rules of user-defined places (`--places 'Name@LAT,LON'`, `--places-file`, the config
/// file's `places` objects): their ids, their names, and what each field may hold.
///
/// A custom place without an id of its own gets `geo:<lat>,<lon>` (RFC 5870's geo URI form),
/// each coordinate rounded half away from zero to 4 decimals (1/10,000 of a degree, about
/// 11 m) and written with exactly 4 decimals, `-0.0000` written `0.0000`:
/// `geo:48.5800,7.7500`, `geo:-33.8688,151.2093`. The same coordinates give the same id on
/// every run and machine, and such an id never collides with a GeoNames id (digits only).
public enum CustomPlace {
    /// The longest id a user may give.
    public static let maxIDLength = 128
    /// The longest name a user may give.
    public static let maxNameLength = 200
    /// The longest region a user may give.
    public static let maxRegionLength = 64

    /// The characters of a user-given id: ASCII letters and digits and `- _ . ~ : ,`. They
    /// pass unencoded in a URL path (`/place/ID`) and a query string, in a Kafka key, a
    /// MongoDB `_id` (`<id>@<time>`), a CSV field (a comma is quoted) and a line of the
    /// delivery log (`<id>@<time>`, so never `@`); no `/`, `%`, `?`, `#`, `+`, `;`, quotes or
    /// spaces, which one of those would split, decode or need escaping.
    public static let idPunctuation: Set<Character> = ["-", "_", ".", "~", ":", ","]

    /// `geo:<lat>,<lon>` with 4 decimals each.
    public static func id(latitude: Double, longitude: Double) -> String {
        "geo:\(fourDecimals(latitude)),\(fourDecimals(longitude))"
    }

    /// The name of a place given only by its coordinates: `48.5800, 7.7500`.
    public static func coordinateName(latitude: Double, longitude: Double) -> String {
        "\(fourDecimals(latitude)), \(fourDecimals(longitude))"
    }

    /// A coordinate rounded half away from zero to 4 decimals, written with exactly 4, without
    /// a sign for zero. Computed in integers so that every platform writes the same text.
    static func fourDecimals(_ value: Double) -> String {
        let tenThousandths = Int((value * 10_000).rounded(.toNearestOrAwayFromZero))
        let magnitude = tenThousandths.magnitude
        let fraction = String(magnitude % 10_000)
        return (tenThousandths < 0 ? "-" : "") + "\(magnitude / 10_000)." + String(repeating: "0", count: 4 - fraction.count) + fraction
    }

    /// What is wrong with these coordinates, or nil.
    public static func coordinateProblem(latitude: Double, longitude: Double) -> String? {
        guard latitude.isFinite, (-90...90).contains(latitude) else { return "the latitude must be a number from -90 to 90" }
        guard longitude.isFinite, (-180...180).contains(longitude) else { return "the longitude must be a number from -180 to 180" }
        return nil
    }

    /// What is wrong with a user-given id, or nil.
    public static func idProblem(_ id: String) -> String? {
        guard !id.isEmpty, id.count <= maxIDLength else { return "an id must have 1 to \(maxIDLength) characters" }
        guard id.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || idPunctuation.contains($0)) }) else {
            return "an id may hold only ASCII letters, digits and - _ . ~ : , (it travels in URLs, Kafka keys and MongoDB ids)"
        }
        guard !id.allSatisfy(\.isNumber) else {
            return "an id of digits only is a GeoNames id: give yours a prefix, such as site-\(id)"
        }
        guard PlaceEntry.coordinates(id[...]) == nil else {
            return "an id that reads as LAT,LON would be looked up as coordinates: leave the id empty to get geo:LAT,LON, or give it a prefix"
        }
        return nil
    }

    /// What is wrong with a name, or nil: names are text of 1 to 200 characters without
    /// control characters (any other text is kept as it is, `<script>` included).
    public static func nameProblem(_ name: String) -> String? {
        guard !name.isEmpty, name.count <= maxNameLength else { return "a name must have 1 to \(maxNameLength) characters" }
        guard !hasControlCharacters(name) else { return "a name may not hold control characters such as tabs or line breaks" }
        return nil
    }

    /// What is wrong with a region, or nil.
    public static func regionProblem(_ region: String) -> String? {
        guard region.count <= maxRegionLength else { return "a region must have at most \(maxRegionLength) characters" }
        guard !hasControlCharacters(region) else { return "a region may not hold control characters such as tabs or line breaks" }
        return nil
    }

    /// What is wrong with a country code, or nil: empty, or two ASCII letters.
    public static func countryProblem(_ country: String) -> String? {
        guard country.isEmpty || (country.count == 2 && country.allSatisfy { $0.isASCII && $0.isLetter }) else {
            return "a country must be an ISO 3166-1 code of two letters, such as FR, or empty"
        }
        return nil
    }

    static func hasControlCharacters(_ text: String) -> Bool {
        text.unicodeScalars.contains { $0.properties.generalCategory == .control }
    }

    /// Builds a custom place from what a user wrote (fields trimmed; empty optional fields
    /// are absent), or returns what is wrong with it, one clause that says what to fix.
    public static func make(name: String?, latitude: Double, longitude: Double,
                            country: String? = nil, region: String? = nil, id: String? = nil) -> Result<Place, Problem> {
        if let problem = coordinateProblem(latitude: latitude, longitude: longitude) { return .failure(Problem(problem)) }
        let derived = Self.id(latitude: latitude, longitude: longitude)
        let name = name?.trimmingCharacters(in: .whitespaces) ?? ""
        let givenName = name.isEmpty ? coordinateName(latitude: latitude, longitude: longitude) : name
        if let problem = nameProblem(givenName) { return .failure(Problem(problem)) }
        let country = (country?.trimmingCharacters(in: .whitespaces) ?? "").uppercased()
        if let problem = countryProblem(country) { return .failure(Problem(problem)) }
        let region = region?.trimmingCharacters(in: .whitespaces) ?? ""
        if let problem = regionProblem(region) { return .failure(Problem(problem)) }
        var placeID = derived
        if let given = id?.trimmingCharacters(in: .whitespaces), !given.isEmpty {
            if let problem = idProblem(given) { return .failure(Problem(problem)) }
            if given.hasPrefix("geo:"), given != derived {
                return .failure(Problem("the id '\(given)' is a geo: id of other coordinates: leave the id empty to get \(derived)"))
            }
            placeID = given
        }
        return .success(Place(id: placeID, name: givenName, country: country, latitude: latitude, longitude: longitude,
                              region: region.isEmpty ? nil : region))
    }

    /// What is wrong with a custom place, as a clause for an error message.
    public struct Problem: Error, Sendable, Hashable {
        public var message: String
        public init(_ message: String) { self.message = message }
    }
}
