#if MongoDB
import Foundation
import MeteoCore
@testable import MeteoMongo
import Testing

/// The BSON of an observation against ``ObservationSchema`` (no server needed).
@Suite("MongoDB documents are the observation schema")
struct ObservationDocumentTests {
    static let full = Observation(placeID: "2973783", name: "Strasbourg", country: "FR", region: "EuropeW", latitude: 48.58, longitude: 7.75,
                                  observedAt: Date(timeIntervalSince1970: 1_764_387_600), source: "synthetic",
                                  temperatureC: 1.5, feelsLikeC: -0.5, humidityPct: 81, pressureHPa: 1012.5, windSpeedMS: 3.5,
                                  windDirectionDeg: 220, windGustMS: 7.5, cloudCoverPct: 75, visibilityM: 9000, rainMM: 0.25,
                                  snowMM: 0.125, weatherCode: 61)

    /// Every field once with a value of its kind, plus `_id` and the GeoJSON `location`;
    /// nullable fields stored as null when absent; and the document reads back as the observation.
    @Test func aDocumentHasEveryFieldOfTheSchema() throws {
        let document = ObservationDocument.make(Self.full)
        let fields = document.fields
        #expect(fields.map(\.key).filter { $0 != "_id" && $0 != "location" } == ObservationSchema.names)
        for (key, value) in fields {
            guard let field = ObservationSchema.field(key) else { continue }
            switch (field.kind, value) {
            case (.text, .string), (.real, .double), (.integer, .int), (.time, .date): break
            default: Issue.record("\(key): \(value) is not a \(field.kind)")
            }
        }
        #expect(try ObservationDocument.observation(document) == Self.full)

        let bare = Observation(placeID: "1", name: "Bare", country: "", latitude: 0, longitude: 0,
                               observedAt: Self.full.observedAt, source: "test")
        let nulls = ObservationDocument.make(bare).fields
        for field in ObservationSchema.fields {
            let stored = nulls.first { $0.key == field.name }?.value
            if case .null? = stored { #expect(field.nullable, "\(field.name)") } else { #expect(!field.nullable, "\(field.name)") }
        }
        #expect(try ObservationDocument.observation(ObservationDocument.make(bare)) == bare)
    }

    @Test func theEngineAnalysesSchemaMeasurements() {
        for name in MongoAnalyticsEngine.correlationFields + MongoAnalyticsEngine.groupFields {
            #expect(ObservationSchema.field(name).map { $0.kind == .real && $0.nullable } == true, "\(name)")
        }
    }
}
#endif
