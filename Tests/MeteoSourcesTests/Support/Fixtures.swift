import Foundation
import Logging
import MeteoCore
import MeteoSources
import Synchronization

/// Shared test data: places, documented API payloads, a log capture and a configuration.
enum Fixtures {
    static let strasbourg = Place(id: "2973783", name: "Strasbourg", country: "FR", latitude: 48.5839, longitude: 7.7455, region: "grand-est")
    static let berlin = Place(id: "2950159", name: "Berlin", country: "DE", latitude: 52.5244, longitude: 13.4105)
    static let singapore = Place(id: "1880252", name: "Singapore", country: "SG", latitude: 1.2897, longitude: 103.8501)

    /// Places spread over the globe, with ids `p0`, `p1`, …
    static func places(_ n: Int) -> [Place] {
        (0..<n).map { i in
            Place(id: "p\(i)", name: "Place \(i)", country: "XX",
                  latitude: -80 + 160 * Double(i % 97) / 96, longitude: -179.5 + 359 * Double(i % 101) / 100)
        }
    }

    /// A configuration pointing both API sources at a stub, with a short time-out.
    static func configuration(_ server: StubHTTPServer, key: String? = "s3cr3t-owm-key-123", timeout: Duration = .seconds(5),
                              maxAttempts: Int = 3) -> MeteoConfiguration {
        var c = MeteoConfiguration()
        c.openMeteoURL = server.baseURL + "/v1/forecast"
        c.openWeatherMapURL = server.baseURL + "/data/2.5/weather"
        c.openWeatherMapKey = key.map(Secret.init)
        c.httpTimeout = timeout
        c.maxAttempts = maxAttempts
        return c
    }

    /// Retries in milliseconds, so tests stay fast.
    static func fastRetry(_ attempts: Int = 3) -> RetryPolicy {
        RetryPolicy(maxAttempts: attempts, baseDelay: .milliseconds(2), maxDelay: .milliseconds(50))
    }

    /// One Open-Meteo location object, as documented (`timeformat=unixtime`, `wind_speed_unit=ms`).
    static func openMeteoLocation(
        latitude: Double = 48.58, longitude: Double = 7.74, time: String = "1767225600", interval: Int = 900,
        temperature: String = "4.5", windUnit: String = "m/s", wind: String = "3.2", gusts: String = "7.1",
        rain: String = "0.25", snowfall: String = "0.0"
    ) -> String {
        """
        {"latitude":\(latitude),"longitude":\(longitude),"generationtime_ms":0.08,"utc_offset_seconds":0,"timezone":"GMT",
        "timezone_abbreviation":"GMT","elevation":140.0,
        "current_units":{"time":"unixtime","interval":"seconds","temperature_2m":"°C","apparent_temperature":"°C",
        "relative_humidity_2m":"%","pressure_msl":"hPa","wind_speed_10m":"\(windUnit)","wind_direction_10m":"°",
        "wind_gusts_10m":"\(windUnit)","cloud_cover":"%","visibility":"m","rain":"mm","snowfall":"cm","precipitation":"mm","weather_code":"wmo code"},
        "current":{"time":\(time),"interval":\(interval),"temperature_2m":\(temperature),"apparent_temperature":1.9,
        "relative_humidity_2m":87,"pressure_msl":1016.4,"wind_speed_10m":\(wind),"wind_direction_10m":230,
        "wind_gusts_10m":\(gusts),"cloud_cover":100,"visibility":12400.0,"rain":\(rain),"snowfall":\(snowfall),
        "precipitation":\(rain),"weather_code":61}}
        """
    }

    /// OpenWeatherMap's documented current-weather example (metric units).
    static let owmCurrent = """
    {"coord":{"lon":7.367,"lat":45.133},"weather":[{"id":501,"main":"Rain","description":"moderate rain","icon":"10d"}],
    "base":"stations","main":{"temp":14.89,"feels_like":14.54,"temp_min":14.89,"temp_max":14.89,"pressure":1021,
    "humidity":64,"sea_level":1021,"grnd_level":910},"visibility":10000,"wind":{"speed":0.62,"deg":349,"gust":1.18},
    "rain":{"1h":3.16},"clouds":{"all":100},"dt":1726660758,"sys":{"type":1,"id":6736,"country":"IT","sunrise":1726636384,
    "sunset":1726680975},"timezone":7200,"id":3165523,"name":"Province of Turin","cod":200}
    """

    static let owmInvalidKey = """
    {"cod":401, "message": "Invalid API key. Please see https://openweathermap.org/faq#error401 for more info."}
    """
}

