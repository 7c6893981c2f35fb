import Foundation
import MeteoCore
import MeteoSources
import MeteoTestSupport
import Testing

@Suite("Synthetic source")
struct SyntheticSourceTests {
    static let places = Fixtures.places(400) + [Fixtures.strasbourg, Fixtures.berlin, Fixtures.singapore]

    @Test func sameSeedSameTickIsBitIdentical() {
        let a = SyntheticSource(seed: 7).observations(places: Self.places, tick: 12)
        let b = SyntheticSource(seed: 7).observations(places: Self.places, tick: 12)
        #expect(a == b)
        // Bit-identical, not merely equal.
        #expect(zip(a, b).allSatisfy { $0.temperatureC?.bitPattern == $1.temperatureC?.bitPattern && $0.windGustMS?.bitPattern == $1.windGustMS?.bitPattern })
        let c = SyntheticSource(seed: 8).observations(places: Self.places, tick: 12)
        #expect(a != c)
        #expect(zip(a, c).filter { $0.temperatureC != $1.temperatureC }.count > Self.places.count / 2)
    }

    @Test func pollAdvancesTheClockAndKeysAreDistinct() async throws {
        let source = SyntheticSource(seed: 1)
        var keys = Set<ObservationKey>()
        for n in 0..<5 {
            let batch = try await source.poll(Self.places)
            #expect(batch.observations.count == Self.places.count && batch.failures.isEmpty)
            #expect(batch.observations.allSatisfy { $0.observedAt == SyntheticSource.defaultStart.addingTimeInterval(Double(600 * n)) })
            #expect(batch.observations.allSatisfy { $0.source == "synthetic" })
            keys.formUnion(batch.observations.map(\.key))
        }
        #expect(keys.count == 5 * Self.places.count)
        // poll(tick n) equals the pure function at tick n.
        #expect(try await SyntheticSource(seed: 1).poll(Self.places).observations == source.observations(places: Self.places, tick: 0))
    }

    @Test func everyObservationIsPlausible() throws {
        let source = SyntheticSource(seed: 42, step: .seconds(3 * 3600))
        var rainy = 0, snowy = 0
        for tick in stride(from: Int64(0), to: 2920, by: 7) {  // a year of 3-hour ticks
            for o in source.observations(places: Self.places, tick: tick) {
                try o.validate()
                let t = try #require(o.temperatureC)
                let rain = try #require(o.rainMM), snow = try #require(o.snowMM)
                #expect(rain >= 0 && snow >= 0)
                #expect(!(rain > 0 && snow > 0))
                if rain > 0 { rainy += 1; #expect(t >= 1.0); #expect([61, 63, 65].contains(o.weatherCode)); #expect(o.cloudCoverPct! > 80) }
                if snow > 0 { snowy += 1; #expect(t <= 1.0); #expect([71, 73, 75].contains(o.weatherCode)) }
                if rain == 0 && snow == 0 { #expect([0, 1, 2, 3].contains(o.weatherCode)) }
                #expect(o.windGustMS! >= o.windSpeedMS!)
                #expect(o.windSpeedMS! >= 0)
                #expect((0...100).contains(o.cloudCoverPct!) && (0...100).contains(o.humidityPct!))
                #expect((950...1060).contains(o.pressureHPa!))
            }
        }
        #expect(rainy > 0 && snowy > 0)
    }

    @Test func tropicsAreWarmerThanPolesAndSeasonsFlipByHemisphere() {
        func place(_ id: String, _ lat: Double) -> Place { Place(id: id, name: id, country: "", latitude: lat, longitude: 10) }
        let tropical = (0..<20).map { place("t\($0)", Double($0) - 10) }
        let polar = (0..<20).map { place("p\($0)", 70 + Double($0) / 2) }
        let north = (0..<20).map { place("n\($0)", 45 + Double($0) / 10) }
        let south = (0..<20).map { place("s\($0)", -45 - Double($0) / 10) }
        let source = SyntheticSource(seed: 3, step: .seconds(3600))
        func mean(_ places: [Place], ticks: some Sequence<Int64>) -> Double {
            var sum = 0.0, n = 0.0
            for tick in ticks { for o in source.observations(places: places, tick: tick) { sum += o.temperatureC!; n += 1 } }
            return sum / n
        }
        let year = stride(from: Int64(0), to: 8760, by: 37)
        #expect(mean(tropical, ticks: year) > mean(polar, ticks: year) + 20)
        let january = 0..<Int64(24 * 14), july = Int64(24 * 190)..<Int64(24 * 204)
        #expect(mean(north, ticks: july) > mean(north, ticks: january) + 10)
        #expect(mean(south, ticks: january) > mean(south, ticks: july) + 10)
    }

    @Test func afternoonIsWarmerThanNight() {
        // Longitude 0: local solar time = UTC. Compare 15:00 with 03:00 over two weeks.
        let places = (0..<30).map { Place(id: "d\($0)", name: "d", country: "", latitude: 30, longitude: 0) }
        let source = SyntheticSource(seed: 5, step: .seconds(3600))
        var warmer = 0
        for day in Int64(0)..<14 {
            let afternoon = source.observations(places: places, tick: day * 24 + 15)
            let night = source.observations(places: places, tick: day * 24 + 3)
            warmer += zip(afternoon, night).filter { $0.temperatureC! > $1.temperatureC! }.count
        }
        #expect(warmer > 14 * 30 * 8 / 10)
    }

    @Test func factoryBuildsEachSource() throws {
        let (logger, _) = CapturingLogHandler.logger()
        var config = MeteoConfiguration()
        config.source = .synthetic
        config.seed = 9
        #expect(try SourceFactory.make(config: config, logger: logger).name == "synthetic")
        config.source = .openMeteo
        #expect(try SourceFactory.make(config: config, logger: logger).name == "open-meteo")
        config.source = .replay
        #expect(throws: MeteoError.self) { try SourceFactory.make(config: config, logger: logger) }
        config.replayFile = "/tmp/x.ndjson"
        #expect(try SourceFactory.make(config: config, logger: logger).name == "replay")
    }
}
