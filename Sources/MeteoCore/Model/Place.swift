/// A place whose weather Meteo can poll.
public struct Place: Sendable, Hashable, Codable {
    /// GeoNames id for catalogue places; any stable string for user-defined ones.
    public var id: String
    public var name: String
    /// ISO 3166-1 alpha-2.
    public var country: String
    /// First-level administrative division code (GeoNames), if known.
    public var admin1: String?
    public var latitude: Double
    public var longitude: Double
    public var population: Int?
    /// IANA time zone, if known.
    public var timezone: String?
    /// The region this place was selected through, if any.
    public var region: String?

    public init(
        id: String, name: String, country: String, admin1: String? = nil,
        latitude: Double, longitude: Double, population: Int? = nil,
        timezone: String? = nil, region: String? = nil
    ) {
        self.id = id
        self.name = name
        self.country = country
        self.admin1 = admin1
        self.latitude = latitude
        self.longitude = longitude
        self.population = population
        self.timezone = timezone
        self.region = region
    }

    enum CodingKeys: String, CodingKey {
        case id, name, country, admin1, latitude, longitude, population, timezone, region
    }
}
