import Foundation
import MeteoCore
import Testing

@Suite("OpenWeatherMap and legacy box/city payloads")
struct LegacyPayloadTests {
    /// The shape the original producer published: OWM's `box/city` response, unchanged.
    static let boxCity = #"""
    {"cod":200,"calctime":0.3107,"cnt":3,"list":[
     {"id":2973783,"dt":1485784982,"name":"Strasbourg","coord":{"Lon":7.74553,"Lat":48.58392},
      "main":{"temp":9.68,"temp_min":9.681,"temp_max":9.681,"pressure":961.02,"sea_level":1036.82,"grnd_level":961.02,"humidity":85},
      "wind":{"speed":3.96,"deg":356.5},"rain":{"3h":0.255},"snow":null,"clouds":{"today":88},
      "weather":[{"id":500,"main":"Rain","description":"light rain","icon":"10d"}]},
     {"id":2988507,"dt":1485784982,"name":"Paris","coord":{"Lon":2.3488,"Lat":48.85341},
      "main":{"temp":3.1,"pressure":1020,"humidity":70},"wind":{"speed":1.2,"deg":90},
      "rain":null,"snow":{"1h":0.5},"clouds":{"today":100},"visibility":3000,
      "weather":[{"id":600,"main":"Snow","description":"light snow","icon":"13d"}]},
     {"id":1,"dt":1485784982,"name":"Broken","coord":{"Lon":"east","Lat":1},"main":{}}
    ]}
    """#

    @Test func decodesEachCityAndReportsTheBrokenOne() throws {
        let results = try PayloadFormat.legacyOWM.decode(Array(Self.boxCity.utf8))
        #expect(results.count == 3)
        let strasbourg = try results[0].get()
        #expect(strasbourg.placeID == "2973783")
        #expect(strasbourg.latitude == 48.58392)
        #expect(strasbourg.temperatureC == 9.68)
        #expect(strasbourg.pressureHPa == 1036.82)  // sea level preferred
        #expect(strasbourg.humidityPct == 85)
        #expect(strasbourg.windSpeedMS == 3.96)
        #expect(strasbourg.cloudCoverPct == 88)
        #expect(abs(strasbourg.rainMM! - 0.085) < 1e-12)  // 3h total as an hourly mean
        #expect(strasbourg.snowMM == nil)
        #expect(strasbourg.weatherCode == 61)
        #expect(strasbourg.source == "legacy-owm")
        #expect(strasbourg.observedAt == Date(timeIntervalSince1970: 1_485_784_982))

        let paris = try results[1].get()
        #expect(paris.rainMM == nil)
        #expect(paris.snowMM == 0.5)
        #expect(paris.visibilityM == 3000)
        #expect(paris.weatherCode == 71)

        guard case .failure(let error) = results[2] else { Issue.record("broken city decoded"); return }
        #expect(error.message.contains("list[2].coord.Lon"))
    }

    @Test func autoDetectsTheLegacyPayload() throws {
        let results = try PayloadFormat.auto.decode(Array(Self.boxCity.utf8))
        #expect(results.count == 3)
    }

    @Test func kelvinTemperaturesAreConverted() throws {
        let json = try JSONValue.parse(#"{"id":5,"dt":1700000000,"name":"K","coord":{"lat":1,"lon":2},"main":{"temp":283.15,"feels_like":280.15}}"#)
        let o = try OpenWeatherMapDecoder.decodeCity(json)
        #expect(abs(o.temperatureC! - 10) < 1e-9)
        #expect(abs(o.feelsLikeC! - 7) < 1e-9)
    }

    /// The documented example of OWM's `data/2.5/weather` response.
    @Test func decodesACurrentWeatherObject() throws {
        let text = #"""
        {"coord":{"lon":7.367,"lat":45.133},"weather":[{"id":501,"main":"Rain","description":"moderate rain","icon":"10d"}],
         "base":"stations","main":{"temp":21.46,"feels_like":21.55,"temp_min":20.5,"temp_max":22.1,"pressure":1015,"humidity":72,"sea_level":1015,"grnd_level":933},
         "visibility":10000,"wind":{"speed":0.62,"deg":349,"gust":1.18},"rain":{"1h":3.16},"clouds":{"all":100},"dt":1661870592,
         "sys":{"type":2,"id":2075663,"country":"IT","sunrise":1661834187,"sunset":1661882248},"timezone":7200,"id":3163858,"name":"Zocca","cod":200}
        """#
        let results = try PayloadFormat.auto.decode(Array(text.utf8))
        let o = try #require(results.first).get()
        #expect(o.placeID == "3163858")
        #expect(o.country == "IT")
        #expect(o.feelsLikeC == 21.55)
        #expect(o.windGustMS == 1.18)
        #expect(o.rainMM == 3.16)
        #expect(o.cloudCoverPct == 100)
        #expect(o.weatherCode == 63)
    }

    @Test func aPayloadWithoutAListIsRefused() {
        #expect(throws: MeteoError.self) { try PayloadFormat.legacyOWM.decode(Array(#"{"cnt":1,"list":"nope"}"#.utf8)) }
    }
}
