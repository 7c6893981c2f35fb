import Foundation
@testable import MeteoAnalytics
import MeteoCore
import Testing

@Suite("The frame's columns are the observation schema's measurements")
struct FrameSchemaTests {
    /// Every real measurement of the schema is a column (the wind direction, an angle, is not
    /// averaged or correlated), and each column reads the field of its name.
    @Test func everyMeasurementIsAColumnReadFromItsField() throws {
        let measured = ObservationSchema.measurements.filter { $0.kind == .real && $0.name != "wind_direction_deg" }
        #expect(ObservationFrame.Measure.allCases.map(\.field) == measured.map(\.name))
        let o = Observation(placeID: "1", name: "P", country: "FR", latitude: 1, longitude: 2, observedAt: Date(timeIntervalSince1970: 0),
                            source: "test", temperatureC: 1, feelsLikeC: 2, humidityPct: 3, pressureHPa: 4, windSpeedMS: 5,
                            windDirectionDeg: 6, windGustMS: 7, cloudCoverPct: 8, visibilityM: 9, rainMM: 10, snowMM: 11, weatherCode: 12)
        let json = try JSONValue.parse(EventCodec.encode(o))
        for measure in ObservationFrame.Measure.allCases {
            #expect(json[measure.field] == measure.value(of: o).map(JSONValue.number), "\(measure.field)")
            #expect(!measure.unit.isEmpty && measure.unit == ObservationSchema.field(measure.field)?.unit)
        }
    }
}
