import Foundation

extension Observation {
    /// The earliest and latest observation times Meteo accepts.
    public static let acceptedTimeRange: ClosedRange<Date> =
        Date(timeIntervalSince1970: 0)...Date(timeIntervalSince1970: 4_102_444_800)  // 1970-01-01 ... 2100-01-01

    /// Checks that every field is physically possible. A failing observation is
    /// dead-lettered by the sink with the message of the thrown error.
    public func validate() throws(MeteoError) {
        func fail(_ message: String) -> MeteoError { MeteoError(code: .invalidObservation, message) }
        if placeID.isEmpty { throw fail("place_id is empty") }
        if placeID.utf8.count > 256 { throw fail("place_id is longer than 256 bytes") }
        if name.utf8.count > 512 { throw fail("name is longer than 512 bytes") }
        guard latitude.isFinite, (-90...90).contains(latitude) else { throw fail("latitude \(latitude) is outside -90...90") }
        guard longitude.isFinite, (-180...180).contains(longitude) else { throw fail("longitude \(longitude) is outside -180...180") }
        guard Self.acceptedTimeRange.contains(observedAt) else {
            throw fail("observed_at \(ISO8601.string(from: observedAt)) is outside 1970...2100")
        }
        func check(_ value: Double?, _ field: CodingKeys, _ range: ClosedRange<Double>) throws(MeteoError) {
            guard let value else { return }
            guard value.isFinite else { throw fail("\(field.rawValue) is not a finite number") }
            guard range.contains(value) else { throw fail("\(field.rawValue) \(value) is outside \(range.lowerBound)...\(range.upperBound)") }
        }
        try check(temperatureC, .temperatureC, -100...70)
        try check(feelsLikeC, .feelsLikeC, -120...90)
        try check(humidityPct, .humidityPct, 0...100)
        try check(pressureHPa, .pressureHPa, 800...1100)
        try check(windSpeedMS, .windSpeedMS, 0...120)
        try check(windDirectionDeg, .windDirectionDeg, 0...360)
        try check(windGustMS, .windGustMS, 0...150)
        try check(cloudCoverPct, .cloudCoverPct, 0...100)
        try check(visibilityM, .visibilityM, 0...1_000_000)
        try check(rainMM, .rainMM, 0...1000)
        try check(snowMM, .snowMM, 0...1000)
        if let code = weatherCode, !(0...99).contains(code) { throw fail("weather_code \(code) is outside 0...99") }
    }
}
