import Foundation
import MeteoCore

/// What to analyse: every filter is optional.
public struct AnalysisRequest: Sendable, Hashable {
    /// Only observations polled for this region.
    public var region: String?
    /// Only these places (ids).
    public var placeIDs: [String]?
    /// Inclusive lower bound on the observed time.
    public var since: Date?
    /// Exclusive upper bound on the observed time.
    public var until: Date?
    /// Width of the time-series windows, seconds.
    public var windowSeconds: Int
    /// How many places each extremes list holds.
    public var top: Int

    public init(region: String? = nil, placeIDs: [String]? = nil, since: Date? = nil, until: Date? = nil,
                windowSeconds: Int = 3600, top: Int = 5) {
        self.region = region
        self.placeIDs = placeIDs
        self.since = since
        self.until = until
        self.windowSeconds = windowSeconds
        self.top = top
    }

    /// The store query that selects the rows.
    public var query: ObservationQuery {
        ObservationQuery(placeIDs: placeIDs, region: region, since: since, until: until, newestFirst: false)
    }
}

/// The result of every analysis over one selection of observations. Both engines (in-process
/// and Spark) produce it, and must agree on it; `docs/analytics.md` defines each number.
public struct AnalysisReport: Sendable, Hashable {
    public var engine: String
    public var request: AnalysisRequest
    public var summary: Summary
    public var correlation: Correlation
    public var regions: [GroupSummary]
    public var countries: [GroupSummary]
    public var rain: PlacesWith
    public var snow: PlacesWith
    public var rainAndSnow: PlacesWith
    public var windows: Windows
    public var extremes: Extremes

    public struct Summary: Sendable, Hashable {
        public var observations: Int
        public var places: Int
        /// Unix seconds of the oldest and newest observation.
        public var first: Int64?
        public var last: Int64?

        public init(observations: Int, places: Int, first: Int64?, last: Int64?) {
            self.observations = observations
            self.places = places
            self.first = first
            self.last = last
        }
    }

    public struct Correlation: Sendable, Hashable {
        /// Field names, in matrix order.
        public var variables: [String]
        /// Pearson's r; nil where undefined (fewer than two pairs, or a constant variable).
        public var matrix: [[Double?]]
        /// Rows where both variables are present.
        public var n: [[Int]]

        /// r of two variables by field name.
        public func r(_ a: String, _ b: String) -> Double? {
            guard let i = variables.firstIndex(of: a), let j = variables.firstIndex(of: b) else { return nil }
            return matrix[i][j]
        }

        public init(variables: [String], matrix: [[Double?]], n: [[Int]]) {
            self.variables = variables
            self.matrix = matrix
            self.n = n
        }
    }

    /// Aggregates of one region or country.
    public struct GroupSummary: Sendable, Hashable {
        /// Region name or country code.
        public var key: String
        public var observations: Int
        public var places: Int
        public var temperatureC: VariableStats
        public var humidityPct: VariableStats
        public var pressureHPa: VariableStats
        public var windSpeedMS: VariableStats

        public init(key: String, observations: Int, places: Int, temperatureC: VariableStats, humidityPct: VariableStats, pressureHPa: VariableStats, windSpeedMS: VariableStats) {
            self.key = key
            self.observations = observations
            self.places = places
            self.temperatureC = temperatureC
            self.humidityPct = humidityPct
            self.pressureHPa = pressureHPa
            self.windSpeedMS = windSpeedMS
        }
    }

    /// The region groups of a request: with `requested`, exactly that region's entry, an
    /// empty one when it has no rows (`docs/analytics.md`); all of them otherwise.
    public static func regions(_ groups: [GroupSummary], requested: String?) -> [GroupSummary] {
        guard let requested else { return groups }
        let chosen = groups.filter { $0.key == requested }
        guard chosen.isEmpty else { return chosen }
        let none = VariableStats(n: 0, mean: nil, min: nil, max: nil)
        return [GroupSummary(key: requested, observations: 0, places: 0, temperatureC: none, humidityPct: none, pressureHPa: none, windSpeedMS: none)]
    }

    /// A place's latest observation, as listed by rain, snow and the extremes.
    public struct PlaceRow: Sendable, Hashable {
        public var placeID: String
        public var name: String
        public var country: String
        public var region: String?
        public var observedAt: Int64
        public var rainMM: Double?
        public var snowMM: Double?
        /// The value the list is ranked by.
        public var value: Double?

        public init(placeID: String, name: String, country: String, region: String?, observedAt: Int64, rainMM: Double?, snowMM: Double?, value: Double?) {
            self.placeID = placeID
            self.name = name
            self.country = country
            self.region = region
            self.observedAt = observedAt
            self.rainMM = rainMM
            self.snowMM = snowMM
            self.value = value
        }
    }

    /// The places whose latest observation matches a condition (rain > 0, snow > 0, both).
    public struct PlacesWith: Sendable, Hashable {
        public var count: Int
        /// Per region of the latest observations (nil: no region, listed last), zeros included.
        public var byRegion: [RegionCount]
        public var places: [PlaceRow]

        public init(count: Int, byRegion: [RegionCount], places: [PlaceRow]) {
            self.count = count
            self.byRegion = byRegion
            self.places = places
        }
    }

    public struct RegionCount: Sendable, Hashable {
        public var region: String?
        public var count: Int

        public init(region: String?, count: Int) {
            self.region = region
            self.count = count
        }
    }

    public struct Windows: Sendable, Hashable {
        public var widthSeconds: Int
        public var series: [WindowPoint]

        public init(widthSeconds: Int, series: [WindowPoint]) {
            self.widthSeconds = widthSeconds
            self.series = series
        }
    }

    /// The order of `docs/analytics.md` for regions: by name (Unicode scalars), no region last.
    public static func regionPrecedes(_ a: String?, _ b: String?) -> Bool {
        switch (a, b) {
        case let (x?, y?): return x.unicodeScalars.lexicographicallyPrecedes(y.unicodeScalars)
        case (_?, nil): return true
        default: return false
        }
    }

    /// The order of the windows: by region (no region last), then by start.
    public static func windowPrecedes(_ a: WindowPoint, _ b: WindowPoint) -> Bool {
        a.region != b.region ? regionPrecedes(a.region, b.region) : a.start < b.start
    }

    public struct WindowPoint: Sendable, Hashable {
        public var region: String?
        /// Unix seconds of the window's start.
        public var start: Int64
        public var observations: Int
        public var temperatureC: Double?
        public var humidityPct: Double?
        public var pressureHPa: Double?
        public var windSpeedMS: Double?

        public init(region: String?, start: Int64, observations: Int, temperatureC: Double?, humidityPct: Double?, pressureHPa: Double?, windSpeedMS: Double?) {
            self.region = region
            self.start = start
            self.observations = observations
            self.temperatureC = temperatureC
            self.humidityPct = humidityPct
            self.pressureHPa = pressureHPa
            self.windSpeedMS = windSpeedMS
        }
    }

    public struct Extremes: Sendable, Hashable {
        public var n: Int
        public var hottest: [PlaceRow]
        public var coldest: [PlaceRow]
        public var windiest: [PlaceRow]
        public var wettest: [PlaceRow]

        public init(n: Int, hottest: [PlaceRow], coldest: [PlaceRow], windiest: [PlaceRow], wettest: [PlaceRow]) {
            self.n = n
            self.hottest = hottest
            self.coldest = coldest
            self.windiest = windiest
            self.wettest = wettest
        }
    }

    public init(engine: String, request: AnalysisRequest, summary: Summary, correlation: Correlation, regions: [GroupSummary], countries: [GroupSummary], rain: PlacesWith, snow: PlacesWith, rainAndSnow: PlacesWith, windows: Windows, extremes: Extremes) {
        self.engine = engine
        self.request = request
        self.summary = summary
        self.correlation = correlation
        self.regions = regions
        self.countries = countries
        self.rain = rain
        self.snow = snow
        self.rainAndSnow = rainAndSnow
        self.windows = windows
        self.extremes = extremes
    }
}
