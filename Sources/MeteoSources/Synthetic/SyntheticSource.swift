import Foundation
import MeteoCore
import Synchronization

/// Deterministic, physically plausible generated weather, labelled `synthetic`.
///
/// The same seed, place and instant always give the same observation, on any run. The
/// synthetic clock starts at `start` and moves one `step` per ``poll(_:)``, so N polls over P
/// places give N × P distinct (place, time) keys.
///
/// The model, in short: a mean temperature falling with latitude, a seasonal swing that grows
/// towards the poles and flips between hemispheres, a daily cycle in local solar time damped by
/// cloud; moving weather systems (per-place phases) that bring cloud, low pressure, wind and
/// rain; rain only above about 1 °C and snow at or below it; visibility falling in rain, snow
/// and fog; the WMO code and the apparent temperature (wind chill, heat index) follow.
public final class SyntheticSource: WeatherSource {
    public let name = "synthetic"
    public let seed: UInt64
    public let start: Date
    public let step: Duration
    private let tick = Mutex(0)

    /// - Parameters:
    ///   - seed: any number; different seeds give different weather.
    ///   - start: the time of the first poll (default 2026-01-01T00:00:00Z).
    ///   - step: how far the clock moves each poll (default 10 minutes).
    public init(seed: UInt64 = 42, start: Date = Date(timeIntervalSince1970: 1_767_225_600), step: Duration = .seconds(600)) {
        self.seed = seed
        self.start = start
        self.step = step
    }

    public func poll(_ places: [Place]) async throws -> SourceBatch {
        let current = tick.withLock { t -> Int in
            defer { t += 1 }
            return t
        }
        return SourceBatch(observations: observations(places: places, tick: current))
    }

    /// The observations of every place at tick `tick` (time `start + tick × step`).
    public func observations(places: [Place], tick: Int) -> [Observation] {
        let time = start.addingTimeInterval(Double(tick) * step.seconds)
        return places.map { observation(of: $0, at: time) }
    }

    /// The observation of one place at one instant.
    public func observation(of place: Place, at time: Date) -> Observation {
        let t = time.timeIntervalSince1970.rounded(.down)
        let lat = place.latitude
        let absLat = abs(lat)
        let h = Self.mix(seed ^ Self.fnv1a(place.id))
        func phase(_ k: UInt64) -> Double { Self.unit(Self.mix(h &+ k)) * 2 * .pi }
        func noise(_ k: UInt64, period: Double) -> Double {
            // Smooth noise in [-1, 1]: linear interpolation between per-period random nodes.
            let x = t / period
            let i = x.rounded(.down)
            let a = Self.unit(Self.mix(h ^ (k &* 0x9E37_79B9) ^ UInt64(bitPattern: Int64(i)))) * 2 - 1
            let b = Self.unit(Self.mix(h ^ (k &* 0x9E37_79B9) ^ UInt64(bitPattern: Int64(i + 1)))) * 2 - 1
            let f = x - i
            return a + (b - a) * (f * f * (3 - 2 * f))
        }

        // Weather systems: two waves of a few days, per-place phases. Positive = stormy.
        let day = 86_400.0
        let p1 = day * (2.5 + 2.5 * Self.unit(Self.mix(h &+ 11)))
        let p2 = day * (5 + 4 * Self.unit(Self.mix(h &+ 12)))
        let system = 0.6 * sin(2 * .pi * t / p1 + phase(1)) + 0.4 * sin(2 * .pi * t / p2 + phase(2))

        let cloud = Self.clamp(50 + 55 * system + 18 * noise(3, period: 3 * 3600), 0, 100)

        // Temperature: latitude, season (hemisphere-aware), day cycle in local solar time.
        let meanTemperature = 28 - 0.0075 * lat * lat
        let dayOfYear = (t / day).truncatingRemainder(dividingBy: 365.2425)
        let seasonalAmplitude = 1.5 + 14 * pow(absLat / 90, 0.8)
        let season = seasonalAmplitude * cos(2 * .pi * (dayOfYear - 196) / 365.2425) * (lat >= 0 ? 1 : -1)
        var solarHour = (t.truncatingRemainder(dividingBy: day)) / 3600 + place.longitude / 15
        solarHour = (solarHour + 48).truncatingRemainder(dividingBy: 24)
        let daily = cos(2 * .pi * (solarHour - 15) / 24)
        let dailyAmplitude = 3 + 4 * (1 - cloud / 100)
        let temperature = Self.round(meanTemperature + season + dailyAmplitude * daily - 2 * system + 1.5 * noise(4, period: 6 * 3600), 1)

        let humidity = Self.clamp((58 + 32 * cloud / 100 - 10 * daily - 0.5 * max(0, temperature - 25) + 6 * noise(5, period: 4 * 3600)).rounded(), 5, 100)
        let pressure = Self.round(Self.clamp(1013 - 17 * system + 4 * noise(6, period: 12 * 3600), 950, 1050), 1)
        let wind = Self.round(max(0, 2.5 + 6 * max(0, system) + 2 * absLat / 60 + 1.5 * noise(7, period: 2 * 3600)), 1)
        let gust = Self.round(wind * (1.3 + 0.5 * Self.unit(Self.mix(h ^ UInt64(bitPattern: Int64(t / 600))))), 1)
        let direction = Self.round((phase(8) * 180 / .pi + 60 * sin(2 * .pi * t / p2) + 720).truncatingRemainder(dividingBy: 360), 0)

        // Precipitation: only under thick cloud in a stormy system.
        var precipitation = 0.0
        if cloud > 72 && system > 0.15 {
            let intensity = (cloud - 72) / 28 * (system + 0.3) * 4 * (0.4 + 0.6 * Self.unit(Self.mix(h ^ UInt64(bitPattern: Int64(t / 1800)) ^ 0xABCD)))
            precipitation = Self.round(max(0, intensity), 1)
        }
        let snowing = temperature <= 1
        let rain = snowing ? 0 : precipitation
        let snow = snowing ? precipitation : 0

        var visibility = 24_000 - 14_000 * pow(cloud / 100, 2)
        if precipitation > 0 { visibility -= (snowing ? 6000 : 3000) * precipitation }
        let foggy = humidity >= 97 && wind < 3
        if foggy { visibility = min(visibility, 800) }
        visibility = Self.clamp(visibility, 200, 50_000).rounded()

        let code: Int
        if precipitation > 0 {
            code = snowing ? (precipitation < 1 ? 71 : precipitation < 4 ? 73 : 75) : (precipitation < 1 ? 61 : precipitation < 4 ? 63 : 65)
        } else if foggy {
            code = 45
        } else {
            code = cloud < 10 ? 0 : cloud < 40 ? 1 : cloud < 75 ? 2 : 3
        }

        return Observation(
            placeID: place.id, name: place.name, country: place.country, region: place.region,
            latitude: place.latitude, longitude: place.longitude, observedAt: Date(timeIntervalSince1970: t),
            source: name,
            temperatureC: temperature,
            feelsLikeC: Self.round(Self.apparentTemperature(temperature, humidity: humidity, windMS: wind), 1),
            humidityPct: humidity, pressureHPa: pressure, windSpeedMS: wind, windDirectionDeg: direction,
            windGustMS: max(gust, wind), cloudCoverPct: cloud.rounded(), visibilityM: visibility,
            rainMM: rain, snowMM: snow, weatherCode: code)
    }

    /// Wind chill below 10 °C with wind, a heat index above 27 °C, the air temperature otherwise.
    static func apparentTemperature(_ t: Double, humidity: Double, windMS: Double) -> Double {
        let kmh = windMS * 3.6
        if t <= 10 && kmh > 4.8 {
            let v = pow(kmh, 0.16)
            return 13.12 + 0.6215 * t - 11.37 * v + 0.3965 * t * v
        }
        if t >= 27 {
            let f = t * 9 / 5 + 32
            let r = humidity
            var hi = -42.379 + 2.04901523 * f + 10.14333127 * r - 0.22475541 * f * r - 0.00683783 * f * f
                - 0.05481717 * r * r + 0.00122874 * f * f * r + 0.00085282 * f * r * r - 0.00000199 * f * f * r * r
            hi = (hi - 32) * 5 / 9
            return min(max(hi, t), t + 15)
        }
        return t
    }

    // MARK: Deterministic randomness

    /// SplitMix64's finaliser: a good 64-bit mix.
    static func mix(_ x: UInt64) -> UInt64 {
        var z = x &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform number in [0, 1).
    static func unit(_ x: UInt64) -> Double { Double(x >> 11) * 0x1.0p-53 }

    /// FNV-1a of a string: stable across runs, unlike `Hasher`.
    static func fnv1a(_ s: String) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in s.utf8 {
            hash ^= UInt64(b)
            hash = hash &* 0x100_0000_01B3
        }
        return hash
    }

    static func clamp(_ x: Double, _ lo: Double, _ hi: Double) -> Double { min(max(x, lo), hi) }

    static func round(_ x: Double, _ decimals: Int) -> Double {
        let scale = pow(10, Double(decimals))
        return (x * scale).rounded() / scale
    }
}
