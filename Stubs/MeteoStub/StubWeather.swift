import Foundation

/// Deterministic weather for any coordinates and time, in Open-Meteo's units (°C, %, hPa, m/s,
/// mm, cm of snow, WMO codes): the same request always gets the same answer, and every value is
/// physically possible. Temperature follows latitude, season and time of day; humidity, cloud,
/// rain and snow follow consistent rules.
public struct StubWeather: Sendable, Hashable {
    public var temperature: Double
    public var apparentTemperature: Double
    public var humidity: Double
    public var pressure: Double
    public var windSpeed: Double
    public var windDirection: Double
    public var windGusts: Double
    public var cloudCover: Double
    public var visibility: Double
    /// Over the step that ends at the time (an hour, or 15 minutes for `current`), mm.
    public var rain: Double
    /// Over the step, cm of fresh snow.
    public var snowfall: Double
    public var precipitation: Double
    public var weatherCode: Int

    /// The weather at `latitude`, `longitude` at unix time `t`, with rain and snow summed over
    /// `stepSeconds`.
    public init(latitude: Double, longitude: Double, t: Int64, stepSeconds: Int64 = 3600) {
        func unit(_ salt: UInt64) -> Double {
            var x = UInt64(bitPattern: Int64((latitude * 10_000).rounded())) &* 0x9E37_79B9_7F4A_7C15
            x ^= UInt64(bitPattern: Int64((longitude * 10_000).rounded())) &* 0xC2B2_AE3D_27D4_EB4F
            x ^= UInt64(bitPattern: t / 900) &* 0x1656_67B1_9E37_79F9
            x ^= salt &* 0xD6E8_FEB8_6659_FD93
            x ^= x >> 33; x &*= 0xFF51_AFD7_ED55_8CCD; x ^= x >> 33; x &*= 0xC4CE_B9FE_1A85_EC53; x ^= x >> 33
            return Double(x >> 11) / Double(1 << 53)
        }
        let day = Double(t) / 86_400
        let season = cos(2 * .pi * (day - 196) / 365.25) * (latitude >= 0 ? 1 : -1)  // +1 at the northern summer
        let solar = cos(2 * .pi * (day.truncatingRemainder(dividingBy: 1) + longitude / 360 - 0.6))  // +1 mid-afternoon
        let base = 28 - 0.45 * abs(latitude)
        let t2m = base + 9 * season * min(1, abs(latitude) / 30) + 5 * solar + 4 * (unit(1) - 0.5)
        let rh = min(100, max(8, 70 - 2 * (t2m - base) + 40 * (unit(2) - 0.5)))
        let wind = 12 * pow(unit(3), 2)
        let cloud = (100 * unit(4)).rounded()
        let wet = cloud > 70 && unit(5) < 0.5
        let amount = wet ? (Double(stepSeconds) / 3600) * 4 * unit(6) : 0
        let snowing = wet && t2m < 0.5
        temperature = (t2m * 10).rounded() / 10
        apparentTemperature = ((t2m - 0.7 * wind + 0.05 * (rh - 50)) * 10).rounded() / 10
        humidity = rh.rounded()
        pressure = ((1013 + 18 * (unit(7) - 0.5)) * 10).rounded() / 10
        windSpeed = (wind * 10).rounded() / 10
        windDirection = (360 * unit(8)).rounded()
        windGusts = ((wind * (1.3 + 0.6 * unit(9))) * 10).rounded() / 10
        cloudCover = cloud
        visibility = wet ? (2_000 + 8_000 * unit(10)).rounded() : (20_000 + 30_000 * unit(10)).rounded()
        rain = snowing ? 0 : (amount * 100).rounded() / 100
        snowfall = snowing ? (amount * 0.7 * 100).rounded() / 100 : 0
        precipitation = ((rain + snowfall / 0.7) * 100).rounded() / 100
        weatherCode = snowing ? 73 : (wet ? 61 : (cloud > 85 ? 3 : (cloud > 40 ? 2 : 0)))
    }

    /// The value of an Open-Meteo variable, or nil when the stub does not know it.
    public func value(_ variable: String) -> Double? {
        switch variable {
        case "temperature_2m": temperature
        case "apparent_temperature": apparentTemperature
        case "relative_humidity_2m": humidity
        case "pressure_msl": pressure
        case "wind_speed_10m": windSpeed
        case "wind_direction_10m": windDirection
        case "wind_gusts_10m": windGusts
        case "cloud_cover": cloudCover
        case "visibility": visibility
        case "rain": rain
        case "snowfall": snowfall
        case "precipitation": precipitation
        case "weather_code": Double(weatherCode)
        default: nil
        }
    }

    /// Open-Meteo's unit of a variable (with `wind_speed_unit=ms`).
    public static func unit(_ variable: String) -> String {
        switch variable {
        case "temperature_2m", "apparent_temperature": "°C"
        case "relative_humidity_2m", "cloud_cover": "%"
        case "pressure_msl": "hPa"
        case "wind_speed_10m", "wind_gusts_10m": "m/s"
        case "wind_direction_10m": "°"
        case "visibility": "m"
        case "rain", "precipitation": "mm"
        case "snowfall": "cm"
        case "weather_code": "wmo code"
        default: ""
        }
    }
}
