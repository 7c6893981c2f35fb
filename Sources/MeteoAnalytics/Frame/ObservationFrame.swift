import Foundation
import MeteoCore

/// Observations held column by column, the in-process engine's working form.
///
/// Each measured variable is one contiguous `[Double]` with `NaN` standing for `nil` (an
/// observation never holds a real NaN: validation refuses non-finite values). Places,
/// regions and countries are dictionary-encoded: a row holds small integer indexes into
/// ``places``, ``regions`` and ``countries``. At 10 million rows the frame takes about 1 GB:
/// 10 measures × 8 bytes, the time (8), the place (4), the region (2) and the country (2).
public struct ObservationFrame: Sendable {
    /// The measured variables the engine analyses, in column order.
    public enum Measure: Int, CaseIterable, Sendable {
        case temperature, feelsLike, humidity, pressure, windSpeed, windGust, cloudCover, visibility, rain, snow

        /// The JSON/CSV field name, with its unit.
        public var field: String {
            switch self {
            case .temperature: "temperature_c"
            case .feelsLike: "feels_like_c"
            case .humidity: "humidity_pct"
            case .pressure: "pressure_hpa"
            case .windSpeed: "wind_speed_ms"
            case .windGust: "wind_gust_ms"
            case .cloudCover: "cloud_cover_pct"
            case .visibility: "visibility_m"
            case .rain: "rain_mm"
            case .snow: "snow_mm"
            }
        }

        /// The unit, for tables (``ObservationSchema``'s).
        public var unit: String { ObservationSchema.field(field)?.unit ?? "" }

        func value(of o: Observation) -> Double? {
            switch self {
            case .temperature: o.temperatureC
            case .feelsLike: o.feelsLikeC
            case .humidity: o.humidityPct
            case .pressure: o.pressureHPa
            case .windSpeed: o.windSpeedMS
            case .windGust: o.windGustMS
            case .cloudCover: o.cloudCoverPct
            case .visibility: o.visibilityM
            case .rain: o.rainMM
            case .snow: o.snowMM
            }
        }
    }

    /// The variables of the correlation matrix, in matrix order.
    public static let correlationMeasures: [Measure] = [
        .temperature, .feelsLike, .humidity, .pressure, .windSpeed, .windGust, .cloudCover, .visibility,
    ]

    /// A place as first seen in the data.
    public struct Place: Sendable, Hashable {
        public var id: String
        public var name: String
        public var country: String
        public var latitude: Double
        public var longitude: Double
    }

    public internal(set) var count: Int = 0
    public internal(set) var places: [Place] = []
    public internal(set) var regions: [String] = []
    public internal(set) var countries: [String] = []
    /// Index into ``places`` per row.
    public internal(set) var placeIndex: [Int32] = []
    /// Index into ``regions`` per row, or -1 when the observation has no region.
    public internal(set) var regionIndex: [Int16] = []
    /// Index into ``countries`` per row.
    public internal(set) var countryIndex: [Int16] = []
    /// Observed time per row, Unix seconds.
    public internal(set) var time: [Int64] = []
    /// One column per ``Measure`` (by raw value), NaN for nil.
    public internal(set) var columns: [[Double]] = Array(repeating: [], count: Measure.allCases.count)

    public init() {}

    public func column(_ m: Measure) -> [Double] { columns[m.rawValue] }

    /// The value of one cell, nil when absent.
    public func value(_ m: Measure, row: Int) -> Double? {
        let v = columns[m.rawValue][row]
        return v.isNaN ? nil : v
    }

    public func region(row: Int) -> String? {
        let r = regionIndex[row]
        return r < 0 ? nil : regions[Int(r)]
    }

    /// Approximate bytes held by the columns.
    public var byteCount: Int {
        count * (Measure.allCases.count * 8 + 8 + 4 + 2 + 2)
    }
}

extension ObservationFrame {
    /// Builds a frame row by row; strings are interned, so each place, region and country is
    /// stored once however many rows it has.
    public struct Builder: Sendable {
        var frame = ObservationFrame()
        var placeLookup: [String: Int32] = [:]
        var regionLookup: [String: Int16] = [:]
        var countryLookup: [String: Int16] = [:]
        var lastPlace: (id: String, index: Int32)?

        public init(reservingCapacity capacity: Int = 0) {
            reserve(capacity)
        }

        public mutating func reserve(_ capacity: Int) {
            guard capacity > 0 else { return }
            frame.placeIndex.reserveCapacity(capacity)
            frame.regionIndex.reserveCapacity(capacity)
            frame.countryIndex.reserveCapacity(capacity)
            frame.time.reserveCapacity(capacity)
            for i in frame.columns.indices { frame.columns[i].reserveCapacity(capacity) }
        }

        public var count: Int { frame.count }

        public mutating func append(_ observations: some Sequence<Observation>) {
            for o in observations { append(o) }
        }

        public mutating func append(_ o: Observation) {
            let place: Int32
            if let last = lastPlace, last.id == o.placeID {
                place = last.index
            } else if let known = placeLookup[o.placeID] {
                place = known
            } else {
                place = Int32(frame.places.count)
                frame.places.append(Place(id: o.placeID, name: o.name, country: o.country,
                                          latitude: o.latitude, longitude: o.longitude))
                placeLookup[o.placeID] = place
            }
            lastPlace = (o.placeID, place)
            frame.placeIndex.append(place)
            frame.regionIndex.append(o.region.map { Self.intern($0, in: &regionLookup, names: &frame.regions) } ?? -1)
            frame.countryIndex.append(Self.intern(o.country, in: &countryLookup, names: &frame.countries))
            frame.time.append(ObservationKey(placeID: o.placeID, observedAt: o.observedAt).epochSeconds)
            for m in Measure.allCases {
                frame.columns[m.rawValue].append(m.value(of: o) ?? .nan)
            }
            frame.count += 1
        }

        private static func intern(_ name: String, in lookup: inout [String: Int16], names: inout [String]) -> Int16 {
            if let i = lookup[name] { return i }
            let i = Int16(truncatingIfNeeded: names.count)
            precondition(names.count < Int(Int16.max), "more than 32,767 distinct regions or countries")
            names.append(name)
            lookup[name] = i
            return i
        }

        public func build() -> ObservationFrame { frame }
    }

    /// Builds a frame from observations.
    public init(_ observations: some Sequence<Observation>) {
        var b = Builder()
        b.append(observations)
        self = b.build()
    }
}
