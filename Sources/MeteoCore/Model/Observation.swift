import Foundation

/// One weather observation of one place at one time. It is the single type that flows
/// from every source, over every bus, into every store.
///
/// Every measured field carries its unit in its name and is `nil` when the source did not
/// report it: an absent value is never 0.
public struct Observation: Sendable, Hashable, Codable {
    /// Stable identifier of the place (a GeoNames id for catalogue places). With
    /// ``observedAt`` it forms the idempotency key.
    public var placeID: String
    public var name: String
    /// ISO 3166-1 alpha-2 country code, or an empty string when unknown.
    public var country: String
    /// Name of the region the place was polled for, if any.
    public var region: String?
    /// Degrees north, -90...90.
    public var latitude: Double
    /// Degrees east, -180...180.
    public var longitude: Double
    /// When the weather was observed (UTC).
    public var observedAt: Date
    /// The source that produced it: `open-meteo`, `openweathermap`, `replay`, `synthetic`, `legacy-owm`;
    /// for backfilled history `open-meteo-archive` (the archive) or `open-meteo-recent` (the
    /// forecast API's `past_days`).
    public var source: String

    /// Air temperature at 2 m, °C.
    public var temperatureC: Double?
    /// Apparent ("feels like") temperature, °C.
    public var feelsLikeC: Double?
    /// Relative humidity at 2 m, %.
    public var humidityPct: Double?
    /// Mean sea-level pressure, hPa.
    public var pressureHPa: Double?
    /// Wind speed at 10 m, m/s.
    public var windSpeedMS: Double?
    /// Wind direction at 10 m, degrees from north the wind comes from.
    public var windDirectionDeg: Double?
    /// Wind gusts at 10 m, m/s.
    public var windGustMS: Double?
    /// Total cloud cover, %.
    public var cloudCoverPct: Double?
    /// Horizontal visibility, m.
    public var visibilityM: Double?
    /// Rain in the last hour, mm.
    public var rainMM: Double?
    /// Snowfall in the last hour, mm of water equivalent... reported as the source gives it, mm.
    public var snowMM: Double?
    /// WMO weather interpretation code (0–99).
    public var weatherCode: Int?

    public init(
        placeID: String, name: String, country: String, region: String? = nil,
        latitude: Double, longitude: Double, observedAt: Date, source: String,
        temperatureC: Double? = nil, feelsLikeC: Double? = nil, humidityPct: Double? = nil,
        pressureHPa: Double? = nil, windSpeedMS: Double? = nil, windDirectionDeg: Double? = nil,
        windGustMS: Double? = nil, cloudCoverPct: Double? = nil, visibilityM: Double? = nil,
        rainMM: Double? = nil, snowMM: Double? = nil, weatherCode: Int? = nil
    ) {
        self.placeID = placeID
        self.name = name
        self.country = country
        self.region = region
        self.latitude = latitude
        self.longitude = longitude
        self.observedAt = observedAt
        self.source = source
        self.temperatureC = temperatureC
        self.feelsLikeC = feelsLikeC
        self.humidityPct = humidityPct
        self.pressureHPa = pressureHPa
        self.windSpeedMS = windSpeedMS
        self.windDirectionDeg = windDirectionDeg
        self.windGustMS = windGustMS
        self.cloudCoverPct = cloudCoverPct
        self.visibilityM = visibilityM
        self.rainMM = rainMM
        self.snowMM = snowMM
        self.weatherCode = weatherCode
    }

    /// The JSON field names, with their units. Used by the event codec, `meteo query` and the API.
    public enum CodingKeys: String, CodingKey, CaseIterable, Sendable {
        case placeID = "place_id"
        case name, country, region, latitude, longitude
        case observedAt = "observed_at"
        case source
        case temperatureC = "temperature_c"
        case feelsLikeC = "feels_like_c"
        case humidityPct = "humidity_pct"
        case pressureHPa = "pressure_hpa"
        case windSpeedMS = "wind_speed_ms"
        case windDirectionDeg = "wind_direction_deg"
        case windGustMS = "wind_gust_ms"
        case cloudCoverPct = "cloud_cover_pct"
        case visibilityM = "visibility_m"
        case rainMM = "rain_mm"
        case snowMM = "snow_mm"
        case weatherCode = "weather_code"
    }

    /// The idempotency key: one place at one instant (second precision).
    public var key: ObservationKey { ObservationKey(placeID: placeID, observedAt: observedAt) }

    /// The key as text, `"<place_id>@<observed_at ISO 8601>"`: the `_id` of the MongoDB
    /// document and the line of `meteo ingest --delivery-log`.
    public var eventID: String { "\(placeID)@\(ISO8601.string(from: observedAt))" }
}

/// (place id, observed time): a replayed observation overwrites itself and never duplicates.
public struct ObservationKey: Sendable, Hashable {
    public var placeID: String
    /// Unix seconds.
    public var epochSeconds: Int64

    public init(placeID: String, observedAt: Date) {
        self.placeID = placeID
        self.epochSeconds = Int64(observedAt.timeIntervalSince1970.rounded(.down))
    }
}
