import Foundation
import MeteoCore
import MeteoSources
import MeteoTestSupport
import Testing

/// Every source takes a custom place (a `geo:` id, a name of the user's, maybe no country and
/// a region of the user's) as it takes a catalogue place.
@Suite("Sources with custom places")
struct CustomPlaceSourceTests {
    static let ventoux: Place = {
        guard case .success(let p) = CustomPlace.make(name: "Mont Ventoux", latitude: 44.17, longitude: 5.28, region: "Provence") else {
            fatalError("Mont Ventoux is a valid custom place")
        }
        return p
    }()

    @Test func openMeteoSendsTheCoordinatesAndKeepsTheCustomIdentity() async throws {
        try await StubHTTPServer.with { server in
            server.enqueue(.init(body: Fixtures.openMeteoLocation(latitude: 44.17, longitude: 5.28)))
            let (logger, _) = CapturingLogHandler.logger()
            let source = OpenMeteoSource(configuration: Fixtures.configuration(server), retryPolicy: Fixtures.fastRetry(), logger: logger)
            let batch = try await source.poll([Self.ventoux])
            #expect(batch.failures.isEmpty)
            let o = try #require(batch.observations.first)
            #expect(o.placeID == "geo:44.1700,5.2800" && o.name == "Mont Ventoux" && o.country == "" && o.region == "Provence")
            #expect(o.latitude == 44.17 && o.longitude == 5.28)
            try o.validate()
            let request = try #require(server.requests.first)
            #expect(request.parameter("latitude") == "44.17" && request.parameter("longitude") == "5.28")
        }
    }

    @Test func openWeatherMapFillsInTheCountryOfAPlaceWithoutOne() async throws {
        try await StubHTTPServer.with { server in
            server.enqueue(.init(body: Fixtures.owmCurrent))
            server.enqueue(.init(body: Fixtures.owmCurrent))
            let (logger, _) = CapturingLogHandler.logger()
            let source = try OpenWeatherMapSource(configuration: Fixtures.configuration(server), retryPolicy: Fixtures.fastRetry(), logger: logger)
            var withCountry = Self.ventoux
            withCountry.id = "ventoux-fr"
            withCountry.country = "FR"
            let batch = try await source.poll([Self.ventoux, withCountry])
            #expect(batch.failures.isEmpty)
            try #require(batch.observations.count == 2)
            let o = batch.observations[0]
            #expect(o.placeID == "geo:44.1700,5.2800" && o.name == "Mont Ventoux" && o.region == "Provence")
            #expect(o.country == "IT", "the country OpenWeatherMap reports")
            #expect(batch.observations[1].country == "FR", "a country of the user's is kept")
            #expect(server.requests.first?.parameter("lat") == "44.17" && server.requests.first?.parameter("lon") == "5.28")
        }
    }

    @Test func syntheticWeatherIsValidAnywhereOnEarth() throws {
        let corners = [(90.0, 180.0), (-90.0, -180.0), (0.0, 0.0), (-33.8688, 151.2093), (78.22, 15.65), (-77.85, 166.67)]
        let places = corners.map { lat, lon in
            Place(id: CustomPlace.id(latitude: lat, longitude: lon), name: CustomPlace.coordinateName(latitude: lat, longitude: lon),
                  country: "", latitude: lat, longitude: lon)
        }
        let source = SyntheticSource(seed: 3)
        for tick in [0, 37, 500] as [Int64] {
            let observations = source.observations(places: places, tick: tick)
            #expect(observations.map(\.placeID) == places.map(\.id))
            for o in observations {
                try o.validate()
                #expect(o.temperatureC != nil && o.source == "synthetic")
            }
        }
        let polar = source.observations(places: [places[0]], tick: 0)[0], tropical = source.observations(places: [places[2]], tick: 0)[0]
        #expect(polar.temperatureC! < tropical.temperatureC!, "latitude drives temperature")
    }
}
