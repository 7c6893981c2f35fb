import MeteoCore

/// Open-Meteo's units, turned into Meteo's: the one table the live (`current`) and the history
/// (`hourly`) decoders share.
///
/// Wind in m/s (km/h, mph and kn converted), temperature in °C (°F converted), rain in mm
/// (inch converted), snowfall in cm of snow (the caller turns it into mm of water: × 10 / 7, as
/// Open-Meteo documents), visibility in m (ft and km converted).
enum OpenMeteoUnits {
    /// What kind of quantity a variable is, and its unit when the answer names none.
    enum Kind {
        case speed, temperature, metres, plain
        case millimetres(defaultUnit: String)

        /// The kind of each variable Meteo asks for.
        static func of(_ variable: String) -> Kind {
            switch variable {
            case "wind_speed_10m", "wind_gusts_10m": .speed
            case "temperature_2m", "apparent_temperature": .temperature
            case "visibility": .metres
            case "snowfall": .millimetres(defaultUnit: "cm")
            case "rain", "precipitation": .millimetres(defaultUnit: "mm")
            default: .plain
            }
        }
    }

    /// A conversion into Meteo's unit.
    enum Conversion: Sendable, Hashable {
        case identity
        case multiply(Double)
        case divide(Double)
        case fahrenheit

        @inline(__always)
        func apply(_ v: Double) -> Double {
            switch self {
            case .identity: v
            case .multiply(let k): v * k
            case .divide(let k): v / k
            case .fahrenheit: (v - 32) * 5 / 9
            }
        }
    }

    /// The conversion of a value of `kind` given in `unit` (nil: the default unit); `path`
    /// names the field in the error when the unit is unknown.
    static func conversion(_ kind: Kind, unit: String?, path: String) throws(MeteoError) -> Conversion {
        func unknown(_ u: String, _ hint: String = "") -> MeteoError {
            MeteoError(code: .malformedPayload, "unknown unit '\(u)' of \(path)\(hint)")
        }
        switch kind {
        case .plain:
            return .identity
        case .speed:
            switch unit ?? "m/s" {
            case "m/s", "ms": return .identity
            case "km/h", "kmh": return .divide(3.6)
            case "mp/h", "mph": return .multiply(0.44704)
            case "kn", "kt", "knots": return .multiply(0.514444)
            case let u: throw unknown(u, "; ask for wind_speed_unit=ms")
            }
        case .temperature:
            switch unit ?? "°C" {
            case "°C", "C", "celsius": return .identity
            case "°F", "F", "fahrenheit": return .fahrenheit
            case let u: throw unknown(u)
            }
        case .millimetres(let defaultUnit):
            switch unit ?? defaultUnit {
            case "mm": return .identity
            case "cm": return .multiply(10)
            case "inch", "in": return .multiply(25.4)
            case let u: throw unknown(u)
            }
        case .metres:
            switch unit ?? "m" {
            case "m": return .identity
            case "ft": return .multiply(0.3048)
            case "km": return .multiply(1000)
            case let u: throw unknown(u)
            }
        }
    }

    /// Mm of water from Open-Meteo's `snowfall`, a depth of fresh snow already converted to mm:
    /// 7 cm of snow are about 10 mm of water (Open-Meteo's own ratio), so cm × 10 / 7, which is
    /// the depth in mm divided by 7.
    @inline(__always)
    static func snowWater(fromSnowMM mm: Double) -> Double { mm / 7 }
}
