import Foundation
import MeteoAnalytics
import MeteoCore
import Testing

/// Known answers that need no reference implementation, and properties of the kernels.
@Suite("Analytics kernels")
struct KernelTests {
    static func observation(_ place: Int, _ t: Int64, region: String? = "R", country: String = "FR",
                            temperature: Double? = nil, feelsLike: Double? = nil, humidity: Double? = nil,
                            pressure: Double? = nil, wind: Double? = nil, rain: Double? = nil, snow: Double? = nil) -> Observation {
        Observation(placeID: "p\(place)", name: "Place \(place)", country: country, region: region, latitude: 0, longitude: 0,
                    observedAt: Date(timeIntervalSince1970: Double(t)), source: "test",
                    temperatureC: temperature, feelsLikeC: feelsLike, humidityPct: humidity, pressureHPa: pressure,
                    windSpeedMS: wind, rainMM: rain, snowMM: snow)
    }

    @Test func linearPairsCorrelateExactlyAndANilDropsOnlyItsPair() throws {
        var rows: [Observation] = []
        for i in 0..<5000 {
            let x = Double(i % 97) * 0.37 - 11
            rows.append(Self.observation(i, 1_000_000 + Int64(i), temperature: x, feelsLike: 2 * x + 3,
                                         humidity: i % 10 == 0 ? nil : 80 - 1.5 * x, pressure: 1013 + Double((i * 7919) % 101) / 10))
        }
        let report = FrameAnalyzer(frame: ObservationFrame(rows)).report(for: AnalysisRequest())
        let c = report.correlation
        let feels = try #require(c.r("temperature_c", "feels_like_c"))
        let humid = try #require(c.r("temperature_c", "humidity_pct"))
        #expect(abs(feels - 1) < 1e-12)
        #expect(abs(humid + 1) < 1e-12)
        #expect(c.n[0][1] == 5000)
        #expect(c.n[0][2] == 4500, "a nil humidity drops only the pairs with humidity")
        #expect(c.n[1][3] == 5000)
        #expect(c.r("temperature_c", "wind_speed_ms") == nil, "a variable never reported has no correlation")
        #expect(c.n[0][4] == 0)
        for i in 0..<8 {
            for j in 0..<8 { #expect(c.matrix[i][j] == c.matrix[j][i] && c.n[i][j] == c.n[j][i]) }
        }
        #expect(c.matrix[0][0] == 1 && c.matrix[4][4] == nil)
    }

    /// Pearson's r does not change when a constant is added: the engine must not lose the
    /// small variation of a variable that sits far from zero (the classic one-pass failure).
    @Test func correlationSurvivesAHugeOffset() throws {
        var near: [Observation] = []
        var far: [Observation] = []
        var rng = SplitMix(seed: 3)
        for i in 0..<20_000 {
            let a = rng.unit(), b = 0.3 * a + rng.unit()
            near.append(Self.observation(i, 10 + Int64(i), temperature: a, pressure: b))
            far.append(Self.observation(i, 10 + Int64(i), temperature: a + 1e9, pressure: b - 1e9))
        }
        let r1 = try #require(FrameAnalyzer(frame: ObservationFrame(near)).correlation().r("temperature_c", "pressure_hpa"))
        let r2 = try #require(FrameAnalyzer(frame: ObservationFrame(far)).correlation().r("temperature_c", "pressure_hpa"))
        #expect(r1 > 0.2 && r1 < 0.4)
        // float64 holds about 7 significant digits of a unit value sitting on 1e9.
        #expect(abs(r1 - r2) < 1e-6, "r = \(r1) near zero but \(r2) at 1e9")
    }

    @Test func resultsDoNotDependOnTheNumberOfCores() throws {
        var rows: [Observation] = []
        var rng = SplitMix(seed: 11)
        for i in 0..<100_000 {
            rows.append(Self.observation(i % 3000, 1_000_000 + Int64(i / 3000) * 600, region: ["A", "B", "C"][i % 3],
                                         temperature: rng.unit() * 40 - 10, feelsLike: i % 5 == 0 ? nil : rng.unit(),
                                         humidity: rng.unit() * 100, pressure: 990 + rng.unit() * 40, wind: rng.unit() * 20,
                                         rain: rng.unit() < 0.2 ? rng.unit() * 5 : 0))
        }
        let frame = ObservationFrame(rows)
        let one = FrameAnalyzer(frame: frame, parallelism: 1).report(for: AnalysisRequest())
        let four = FrameAnalyzer(frame: frame, parallelism: 4).report(for: AnalysisRequest())
        let diff = differences(try JSONValue.parse(four.json()), try JSONValue.parse(one.json()), tolerance: 1e-13)
        let agrees = diff.isEmpty
        #expect(agrees, "\(diff.prefix(5))")
        #expect(one.rain == four.rain)
        #expect(one.regions.map(\.observations) == [33_334, 33_333, 33_333])
    }

    @Test func latestObservationDecidesRainAndSnow() {
        let rows = [
            Self.observation(1, 100, rain: 2), Self.observation(1, 200, rain: 0),      // stopped raining
            Self.observation(2, 200, rain: 0), Self.observation(2, 100, rain: 3),      // latest first in the data
            Self.observation(3, 300, region: "S", snow: 1.5), Self.observation(4, 300, region: nil, rain: 1, snow: 1),
        ]
        let a = FrameAnalyzer(frame: ObservationFrame(rows))
        let latest = a.latestRows()
        let rain = a.placesWith(latest: latest, .rain)
        let snow = a.placesWith(latest: latest, .snow)
        #expect(rain.count == 1 && rain.places.map(\.placeID) == ["p4"])
        #expect(snow.places.map(\.placeID) == ["p3", "p4"], "snow 1.5 before snow 1")
        #expect(rain.byRegion == [.init(region: "R", count: 0), .init(region: "S", count: 0), .init(region: nil, count: 1)])
        let both = a.placesWith(latest: latest, .rainAndSnow)
        #expect(both.count == 1)
        let wettest = a.extremes(latest: latest, top: 5).wettest
        #expect(wettest.map(\.placeID) == ["p4", "p3"])
        #expect(wettest.first?.value == 2)
    }

    @Test func windowsBucketByFlooredTime() {
        let rows = [
            Self.observation(1, 3599, temperature: 1), Self.observation(2, 3600, temperature: 3),
            Self.observation(3, 7199, temperature: 5), Self.observation(4, 7200, region: nil, temperature: 7),
        ]
        let w = FrameAnalyzer(frame: ObservationFrame(rows)).windows(widthSeconds: 3600)
        #expect(w.series.map(\.start) == [0, 3600, 7200])
        #expect(w.series.map(\.temperatureC) == [1, 4, 7])
        #expect(w.series.map(\.region) == ["R", "R", nil])
    }

    @Test func jsonHasNoNaNAndTheDocumentedKeys() throws {
        let report = FrameAnalyzer(frame: ObservationFrame([Self.observation(1, 5, pressure: 1000)])).report(for: AnalysisRequest())
        let text = report.jsonString
        #expect(!text.contains("nan") && !text.contains("NaN"))
        let json = try JSONValue.parse(text)
        for key in ["observations", "correlation", "regions", "rain_places", "snow_places", "windows", "extremes"] {
            #expect(json[key] != nil, "missing \(key)")
        }
        #expect(json["correlation"]?["matrix"]?.isNull == false)
    }

    @Test func csvRoundTripsHostileStrings() throws {
        var o = Self.observation(1, 60, temperature: 1.5)
        o.name = "Comma, \"quote\"\r\nand <script>"
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("x.csv")
        try ObservationFrame([o]).writeCSV(to: url)
        let text = try String(contentsOf: url, encoding: .utf8)
        #expect(text.hasPrefix(ObservationFrame.csvHeader + "\n"))
        #expect(text.contains("\"Comma, \"\"quote\"\"\r\nand <script>\""))
    }
}

/// A tiny seeded generator for test data.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func unit() -> Double {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return Double((z ^ (z >> 31)) >> 11) * 0x1p-53
    }
}
