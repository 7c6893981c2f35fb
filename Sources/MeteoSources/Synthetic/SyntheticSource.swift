import Foundation
import MeteoCore
import Synchronization

/// Deterministic, seeded, physically plausible weather, for tests, demos and benchmarks.
///
/// The source has its own clock: tick *n* is `start + n × step`. Each ``poll(_:)`` takes the
/// next tick (the first poll is tick 0), so N polls over P places give N × P distinct
/// (place, time) keys. The same seed, places and tick always give bit-identical observations;
/// ``observations(places:tick:)`` is the pure function behind it.
///
/// The model, per place and instant:
/// - **temperature**: an annual mean falling with latitude (27 °C at the equator, about
///   10 °C at 45°, −42 °C at the poles), a seasonal swing growing with latitude whose sign
///   follows the hemisphere (day of year from epoch seconds, no calendar), a diurnal cycle
///   peaking at 15:00 local solar time (UTC + longitude / 15 h), damped by cloud, and smooth
///   per-place weather-system noise;
/// - **pressure** 1013 hPa ± a weather system, lower under cloud and rain;
/// - **cloud** 0–100 % from the same weather system; **rain** only when cloud > 80 % and
///   T > 1 °C, **snow** (mm of water) only when T ≤ 1 °C;
/// - **humidity** higher with cloud and rain, lower in the warm afternoon;
/// - **wind** ≥ 0, gusts ≥ speed; **visibility** lower in rain, snow and near-saturated air;
/// - **WMO code** from precipitation and cloud (0, 1, 2, 3, 61/63/65, 71/73/75);
/// - **apparent temperature**: wind chill (T ≤ 10 °C, wind > 4.8 km/h), heat index (T ≥ 27 °C), else T.
public final class SyntheticSource: WeatherSource, Sendable {
    public var name: String { Self.sourceName }
    public static let sourceName = "synthetic"
    /// 2026-01-01T00:00:00Z.
    public static let defaultStart = Date(timeIntervalSince1970: 1_767_225_600)

    public let seed: UInt64
    /// Unix seconds of tick 0.
    public let startEpoch: Int64
    /// Seconds between ticks.
    public let stepSeconds: Int64
    private let nextTick: Mutex<Int64>

    /// - Parameters:
    ///   - start: the time of tick 0 (whole seconds), 2026-01-01T00:00:00Z by default.
    ///   - step: the time between ticks, 600 s by default (at least 1 s).
    ///   - firstTick: the tick the first poll returns.
    public init(seed: UInt64, start: Date = SyntheticSource.defaultStart, step: Duration = .seconds(600), firstTick: Int64 = 0) {
        self.seed = seed
        self.startEpoch = Int64(start.timeIntervalSince1970.rounded(.down))
        self.stepSeconds = max(1, step.components.seconds)
        self.nextTick = Mutex(firstTick)
    }

    public func poll(_ places: [Place]) async throws -> SourceBatch {
        let tick = nextTick.withLock { t in
            defer { t += 1 }
            return t
        }
        return SourceBatch(observations: observations(places: places, tick: tick))
    }

    /// The observation time of `tick`.
    public func time(ofTick tick: Int64) -> Date {
        Date(timeIntervalSince1970: Double(startEpoch + tick * stepSeconds))
    }

    /// The weather of `places` at `tick`: pure, deterministic, no async.
    public func observations(places: [Place], tick: Int64) -> [Observation] {
        let epoch = startEpoch + tick * stepSeconds
        let observedAt = Date(timeIntervalSince1970: Double(epoch))
        var out = [Observation]()
        out.reserveCapacity(places.count)
        for place in places {
            out.append(Self.weather(place: place, epoch: epoch, observedAt: observedAt, seed: seed))
        }
        return out
    }

    /// FNV-1a of the place id, mixed with the seed: the place's own random constants.
    @inline(__always)
    static func placeHash(_ id: String, seed: UInt64) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in id.utf8 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        return SplitMix64.mix(h ^ SplitMix64.mix(seed))
    }

    static func weather(place: Place, epoch: Int64, observedAt: Date, seed: UInt64) -> Observation {
        let twoPi = 2 * Double.pi
        var placeRNG = SplitMix64(seed: placeHash(place.id, seed: seed))
        // Per-place constants: phases and periods of its weather systems.
        let phase1 = placeRNG.unit() * twoPi, period1 = 3 + 4 * placeRNG.unit()      // days, synoptic systems
        let phase2 = placeRNG.unit() * twoPi, period2 = 0.8 + 1.2 * placeRNG.unit()  // days, fronts
        let phase3 = placeRNG.unit() * twoPi, period3 = 5 + 5 * placeRNG.unit()      // days, warm/cold spells
        let phase4 = placeRNG.unit() * twoPi
        let diurnalAmplitude = 3 + 4 * placeRNG.unit()
        let windBase = 1 + 4 * placeRNG.unit()
        let prevailing = placeRNG.unit() * 360
        // Per-instant noise, small and uncorrelated.
        var tickRNG = SplitMix64(seed: placeRNG.next() ^ SplitMix64.mix(UInt64(bitPattern: epoch)))

        let days = Double(epoch) / 86_400
        let s1 = sin(twoPi * days / period1 + phase1)              // pressure system: + high, − low
        let s2 = sin(twoPi * days / period2 + phase2)              // fronts
        let s3 = sin(twoPi * days / period3 + phase3)              // warm / cold spell
        let s4 = sin(twoPi * days / (period2 * 1.7) + phase4)      // wind variability

        let lat = place.latitude
        let absLat = abs(lat)
        // Day of year, 0 = 1 January, from epoch seconds (drifts < 1 day over a leap cycle).
        let dayOfYear = days - 365.2425 * (days / 365.2425).rounded(.down)
        let season = (lat >= 0 ? 1.0 : -1.0) * cos(twoPi * (dayOfYear - 200) / 365.2425)  // +1 at local mid-summer
        let annualMean = 27 - 0.0085 * lat * lat
        let seasonal = 0.25 * absLat * season

        // Cloud: low pressure and fronts bring it; humid tropics a little more.
        let cloud = clamp(50 - 40 * s1 + 25 * s2 + (absLat < 15 ? 10 : 0) + 8 * (tickRNG.unit() - 0.5), 0, 100)
        let cloudFraction = cloud / 100

        // Local solar time: UTC + longitude / 15 h.
        let secondOfDay = Double(((epoch % 86_400) + 86_400) % 86_400)
        var solarHour = secondOfDay / 3600 + place.longitude / 15
        solarHour -= 24 * (solarHour / 24).rounded(.down)
        let diurnalShape = cos(twoPi * (solarHour - 15) / 24)       // +1 at 15:00, −1 at 03:00
        let diurnal = diurnalAmplitude * (1 - 0.6 * cloudFraction) * diurnalShape

        let temperature = clamp(annualMean + seasonal + diurnal + 3 * s3 + 0.4 * (tickRNG.unit() - 0.5), -89, 56)

        // Precipitation: only from thick cloud; rain above 1 °C, snow (water equivalent) at or below.
        var rain = 0.0, snow = 0.0
        if cloud > 80 {
            let intensity = pow((cloud - 80) / 20, 2) * (0.5 + 8 * tickRNG.unit())
            // Rounded to 0.1 mm now, so that the weather code agrees with the reported amounts.
            if temperature > 1 { rain = round1(intensity) } else { snow = round1(intensity * 0.5) }
        }
        let precipitating = rain > 0 || snow > 0

        let pressure = clamp(1013 + 14 * s1 - 0.06 * (cloud - 50) - (precipitating ? 3 : 0) + tickRNG.unit() - 0.5, 940, 1060)
        let humidity = clamp(62 + 0.3 * (cloud - 50) - 2.2 * diurnal + (precipitating ? 12 : 0) + 6 * (tickRNG.unit() - 0.5), 5, 100)

        let windSpeed = clamp(windBase + 3 * abs(s1 - s2) + 2 * max(0, s4) + (precipitating ? 2 : 0) + 0.6 * tickRNG.unit(), 0, 40)
        let gust = windSpeed * (1.25 + 0.35 * tickRNG.unit()) + 0.5
        var direction = prevailing + 60 * s2 + 10 * (tickRNG.unit() - 0.5)
        direction -= 360 * (direction / 360).rounded(.down)

        var visibility = 45_000 - 250 * cloud
        if rain > 0 { visibility /= 1 + rain }
        if snow > 0 { visibility /= 1 + 6 * snow }
        if humidity > 95 { visibility = min(visibility, 1_500 + 1_000 * tickRNG.unit()) }
        visibility = max(visibility, 50)

        let code: Int
        if snow > 0 { code = snow < 0.5 ? 71 : snow < 2 ? 73 : 75 }
        else if rain > 0 { code = rain < 2.5 ? 61 : rain < 7.6 ? 63 : 65 }
        else { code = cloud < 10 ? 0 : cloud < 40 ? 1 : cloud < 75 ? 2 : 3 }

        return Observation(
            placeID: place.id, name: place.name, country: place.country, region: place.region,
            latitude: place.latitude, longitude: place.longitude, observedAt: observedAt, source: sourceName,
            temperatureC: round1(temperature),
            feelsLikeC: round1(clamp(apparentTemperature(temperature, humidity: humidity, windSpeed: windSpeed), -110, 85)),
            humidityPct: humidity.rounded(),
            pressureHPa: round1(pressure),
            windSpeedMS: round1(windSpeed),
            windDirectionDeg: direction.rounded().truncatingRemainder(dividingBy: 360),
            windGustMS: round1(max(gust, windSpeed)),
            cloudCoverPct: cloud.rounded(),
            visibilityM: (visibility / 10).rounded() * 10,
            rainMM: rain,
            snowMM: snow,
            weatherCode: code)
    }

    /// Wind chill (Environment Canada) when cold and windy, heat index (Rothfusz) when hot, else T.
    static func apparentTemperature(_ t: Double, humidity rh: Double, windSpeed: Double) -> Double {
        let kmh = windSpeed * 3.6
        if t <= 10, kmh > 4.8 {
            let v = pow(kmh, 0.16)
            return 13.12 + 0.6215 * t - 11.37 * v + 0.3965 * t * v
        }
        if t >= 27 {
            let f = t * 9 / 5 + 32
            let hi = -42.379 + 2.04901523 * f + 10.14333127 * rh - 0.22475541 * f * rh
                - 6.83783e-3 * f * f - 5.481717e-2 * rh * rh + 1.22874e-3 * f * f * rh
                + 8.5282e-4 * f * rh * rh - 1.99e-6 * f * f * rh * rh
            return max(t, (hi - 32) * 5 / 9)
        }
        return t
    }

    @inline(__always) static func clamp(_ v: Double, _ lo: Double, _ hi: Double) -> Double { min(max(v, lo), hi) }
    @inline(__always) static func round1(_ v: Double) -> Double { (v * 10).rounded() / 10 }
}
