import Foundation
import MeteoCore
import Testing

@Suite("Event encoder: the batch path writes the same bytes as EventCodec.encode")
struct EventEncoderTests {
    @Test func consecutiveHoursOfOnePlaceAndChangesOfPlaceAndSource() throws {
        let base = Observation(placeID: "2973783", name: "Strasbourg", country: "FR", region: "EuropeW", latitude: 48.5839,
                               longitude: 7.7455, observedAt: Date(timeIntervalSince1970: 1_767_225_600), source: "open-meteo-archive",
                               temperatureC: 4.5, feelsLikeC: -1.25, humidityPct: 87, pressureHPa: 1016.4, windSpeedMS: 3.2,
                               windDirectionDeg: 230, windGustMS: 7.1, cloudCoverPct: 100, visibilityM: nil, rainMM: 0.4,
                               snowMM: 0, weatherCode: 61)
        var rows: [Observation] = []
        for h in 0..<5 {
            var o = base
            o.observedAt = base.observedAt.addingTimeInterval(Double(h) * 3600 + (h == 3 ? 0.25 : 0))
            o.temperatureC = h == 2 ? nil : 4.5 + Double(h) / 10
            rows.append(o)
        }
        var quoted = base
        quoted.placeID = "x\"1"
        quoted.name = "Saint-\\\"Étienne\"\n"
        quoted.region = nil
        rows.append(quoted)
        var other = base
        other.source = "open-meteo-recent"
        other.weatherCode = nil
        rows.append(other)
        var moved = base
        moved.latitude = 48.5840
        rows.append(moved)
        var encoder = EventEncoder()
        for o in rows {
            let bytes = encoder.encode(o)
            // The reference: the fields written one by one, as `meteo query` writes them.
            var w = JSONWriter()
            w.raw("{\"v\":1")
            EventCodec.write(o, into: &w, leadingComma: true)
            w.raw("}")
            #expect(bytes == w.bytes)
            #expect(try EventCodec.decode(bytes) == o)
        }
    }
}
