import Foundation
import MeteoAnalytics
import MeteoCore
@testable import MeteoServer
import Testing

@Suite("The pages name the observation schema's fields")
struct PageSchemaTests {
    /// The pages' variables are the frame's measurements (checked against the schema in
    /// MeteoAnalyticsTests), each labelled with the schema's unit and reading its own field.
    @Test func thePagesVariablesAreTheSchemasMeasurements() throws {
        #expect(Pages.variables.map(\.field) == ObservationFrame.Measure.allCases.map(\.field))
        let o = Observation(placeID: "1", name: "P", country: "FR", latitude: 1, longitude: 2, observedAt: Date(timeIntervalSince1970: 0),
                            source: "test", temperatureC: 1, feelsLikeC: 2, humidityPct: 3, pressureHPa: 4, windSpeedMS: 5,
                            windDirectionDeg: 6, windGustMS: 7, cloudCoverPct: 8, visibilityM: 9, rainMM: 10, snowMM: 11, weatherCode: 12)
        let json = try JSONValue.parse(EventCodec.encode(o))
        for v in Pages.variables {
            let unit = try #require(ObservationSchema.field(v.field)?.unit, "\(v.field)")
            #expect(v.label.contains("(\(unit))"), "\(v.label)")
            #expect(json[v.field] == v.value(o).map(JSONValue.number), "\(v.field)")
        }
    }

    /// The live page's script formats fields by name: each is a field of the schema.
    @Test func theScriptsDecimalsNameSchemaFields() throws {
        let start = try #require(Assets.js.range(of: "var decimals = {"))
        let rest = Assets.js[start.upperBound...]
        let body = rest[..<(try #require(rest.firstIndex(of: "}")))]
        let names = body.split(separator: ",").map { $0.split(separator: ":")[0].trimmingCharacters(in: .whitespacesAndNewlines) }
        #expect(names.count >= 5)
        for name in names {
            #expect(ObservationSchema.field(name).map { $0.kind == .real } == true, "\(name)")
        }
    }
}
