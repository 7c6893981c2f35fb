import Foundation

/// A rectangle on the globe, in degrees.
public struct BoundingBox: Sendable, Hashable, Codable, CustomStringConvertible {
    public var lonMin: Double
    public var latMin: Double
    public var lonMax: Double
    public var latMax: Double

    public init(lonMin: Double, latMin: Double, lonMax: Double, latMax: Double) throws(MeteoError) {
        guard [lonMin, latMin, lonMax, latMax].allSatisfy(\.isFinite),
              (-180...180).contains(lonMin), (-180...180).contains(lonMax),
              (-90...90).contains(latMin), (-90...90).contains(latMax)
        else {
            throw MeteoError(code: .invalidConfiguration,
                             "bounding box \(lonMin),\(latMin),\(lonMax),\(latMax) is outside the globe: longitudes are -180...180, latitudes -90...90")
        }
        guard latMin <= latMax, lonMin <= lonMax else {
            throw MeteoError(code: .invalidConfiguration,
                             "bounding box \(lonMin),\(latMin),\(lonMax),\(latMax) is empty: write it as lon_min,lat_min,lon_max,lat_max")
        }
        self.lonMin = lonMin
        self.latMin = latMin
        self.lonMax = lonMax
        self.latMax = latMax
    }

    /// Parses `lon_min,lat_min,lon_max,lat_max`, as the original producer's `bbox` parameter.
    public init(parsing text: String) throws(MeteoError) {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false)
            .map { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard parts.count == 4, let a = parts[0], let b = parts[1], let c = parts[2], let d = parts[3] else {
            throw MeteoError(code: .invalidConfiguration,
                             "bounding box '\(text)' is not four numbers: write lon_min,lat_min,lon_max,lat_max, for example 3.18,48.12,13.03,50.59")
        }
        try self.init(lonMin: a, latMin: b, lonMax: c, latMax: d)
    }

    public func contains(latitude: Double, longitude: Double) -> Bool {
        (latMin...latMax).contains(latitude) && (lonMin...lonMax).contains(longitude)
    }

    public var description: String { "\(lonMin),\(latMin),\(lonMax),\(latMax)" }
}

/// A named bounding box that Meteo polls, as the original system's ten regions.
public struct Region: Sendable, Hashable, Codable {
    public var name: String
    public var box: BoundingBox

    public init(name: String, box: BoundingBox) {
        self.name = name
        self.box = box
    }
}
