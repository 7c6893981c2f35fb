import Foundation
import MeteoCore
import MeteoServer
import Testing

/// Helpers of the chart tests: counting and finding things in SVG text.
private enum SVGProbe {
    static func count(_ needle: String, in text: String) -> Int {
        text.components(separatedBy: needle).count - 1
    }

    /// The four numbers of the first `viewBox` attribute.
    static func viewBox(_ svg: String) -> [Double] {
        guard let start = svg.range(of: "viewBox=\"") else { return [] }
        let rest = svg[start.upperBound...]
        guard let end = rest.firstIndex(of: "\"") else { return [] }
        return rest[..<end].split(separator: " ").compactMap { Double($0) }
    }

    /// The value of attribute `name` in the first element that contains `marker`.
    static func attribute(_ name: String, ofElementContaining marker: String, in svg: String) -> String? {
        guard let hit = svg.range(of: marker) else { return nil }
        let elementStart = svg[..<hit.lowerBound].lastIndex(of: "<") ?? svg.startIndex
        let element = svg[elementStart...].prefix { $0 != ">" }
        guard let a = element.range(of: " \(name)=\"") else { return nil }
        return String(element[a.upperBound...].prefix { $0 != "\"" })
    }

    /// The pieces of `svg` that start with `opening`, each up to the next one.
    static func pieces(startingWith opening: String, in svg: String) -> [String] {
        Array(svg.components(separatedBy: opening).dropFirst())
    }

    /// The absolute points of each subpath of SVG path data made of `M`, `l` and `z`
    /// (as the map writes it), in tenths of a unit.
    static func subpaths(_ d: String) -> [[(x: Int, y: Int)]] {
        var out: [[(x: Int, y: Int)]] = []
        var numbers: [Int] = []
        var command: Character = " "
        var token = ""
        func flushToken() {
            guard !token.isEmpty else { return }
            numbers.append(Int((Double(token)! * 10).rounded()))
            token = ""
        }
        func flushCommand() {
            flushToken()
            switch command {
            case "M": out.append([(numbers[0], numbers[1])])
            case "l":
                for i in stride(from: 0, to: numbers.count - 1, by: 2) {
                    let last = out[out.count - 1].last!
                    out[out.count - 1].append((last.x + numbers[i], last.y + numbers[i + 1]))
                }
            default: break
            }
            numbers = []
        }
        for c in d {
            switch c {
            case "M", "l", "z":
                flushCommand()
                command = c
            case " ": flushToken()
            case "-":
                flushToken()
                token = "-"
            default: token.append(c)
            }
        }
        flushCommand()
        return out
    }

    static func utc(_ iso: String) -> Double {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.date(from: iso)!.timeIntervalSince1970
    }

    static let hostile = "<script>alert(1)</script>"
    static let hostileEscaped = "&lt;script&gt;alert(1)&lt;/script&gt;"
}

@Suite("Charts: nice and time axes")
struct ChartScaleTests {
    @Test(arguments: [
        (0.0, 1.0, ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"]),
        (-7.3, 38.2, ["−10", "0", "10", "20", "30", "40"]),
        (1013.0, 1013.0, ["960", "980", "1000", "1020", "1040", "1060", "1080"]),
        (0.0, 100_000.0, ["0", "20\u{202F}000", "40\u{202F}000", "60\u{202F}000", "80\u{202F}000", "100\u{202F}000"]),
        (0.1, 0.7, ["0.1", "0.2", "0.3", "0.4", "0.5", "0.6", "0.7"]),
        (0.0, 17.0, ["0.0", "2.5", "5.0", "7.5", "10.0", "12.5", "15.0", "17.5"]),
        (-0.8, -0.1, ["−0.8", "−0.7", "−0.6", "−0.5", "−0.4", "−0.3", "−0.2", "−0.1"]),
        (0.0, 0.0, ["−1.0", "−0.5", "0.0", "0.5", "1.0"]),
    ])
    func niceTickLabels(min: Double, max: Double, expected: [String]) {
        let scale = LinearScale(min: min, max: max)
        #expect(scale.ticks.map(\.label) == expected)
        #expect(scale.lowerBound <= min && scale.upperBound >= max)
        if min == max { #expect(scale.lowerBound < min && scale.upperBound > max) }
        #expect(scale.ticks.first?.value == scale.lowerBound && scale.ticks.last?.value == scale.upperBound)
    }

    @Test func tickValuesHaveNoFloatNoise() {
        let scale = LinearScale(min: 0.1, max: 0.7)
        #expect(scale.ticks.map(\.value) == [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7])
        #expect(scale.step == 0.1)
    }

    /// Over many ranges: five to eight ticks (four at worst, when 2.5 × 10ᵏ just misses),
    /// covering the data, with short labels.
    @Test func tickCountsAndLabelsStayReadable() {
        var seed: UInt64 = 42
        func next() -> Double {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Double(seed >> 11) / Double(1 << 53)
        }
        for _ in 0..<2000 {
            let magnitude = pow(10, (next() * 12).rounded(.down) - 6)
            let a = (next() - 0.5) * 20 * magnitude, b = a + next() * 10 * magnitude + magnitude * 1e-3
            let scale = LinearScale(min: a, max: b)
            #expect((4...8).contains(scale.ticks.count), "\(a)…\(b): \(scale.ticks.count) ticks")
            #expect(scale.lowerBound <= a && scale.upperBound >= b)
            for tick in scale.ticks {
                #expect(tick.label.count <= 12, "\(a)…\(b): \(tick.label)")
                // The label is the value itself, with no float noise either way.
                let plain = tick.label.replacingOccurrences(of: "−", with: "-").replacingOccurrences(of: "\u{202F}", with: "")
                #expect(Double(plain) == tick.value, "\(a)…\(b): \(tick.label) for \(tick.value)")
            }
        }
    }

    @Test func positionsMapTheDomainOntoTheRange() {
        var scale = LinearScale(min: -7.3, max: 38.2)
        scale.rangeStart = 300
        scale.rangeEnd = 20
        #expect(scale.position(of: -10) == 300)
        #expect(scale.position(of: 40) == 20)
        #expect(abs(scale.position(of: 15) - 160) < 1e-9)
    }

    @Test func timeTicksOverTwoHours() {
        let scale = TimeScale(start: SVGProbe.utc("2026-11-29T08:00:00Z"), end: SVGProbe.utc("2026-11-29T10:00:00Z"))
        #expect(scale.ticks.map(\.label) == ["08:00", "08:30", "09:00", "09:30", "10:00"])
        #expect(scale.step == 1800)
    }

    @Test func timeTicksOverThreeDays() {
        let scale = TimeScale(start: SVGProbe.utc("2026-11-29T00:00:00Z"), end: SVGProbe.utc("2026-12-02T00:00:00Z"))
        #expect(scale.ticks.map(\.label) == ["29 Nov", "12:00", "30 Nov", "12:00", "1 Dec", "12:00", "2 Dec"])
        #expect(scale.ticks.first?.value == SVGProbe.utc("2026-11-29T00:00:00Z"))
    }

    @Test func timeTicksAreOnRoundTimesInsideTheDomain() {
        let start = SVGProbe.utc("2026-11-29T05:17:00Z"), end = SVGProbe.utc("2026-11-29T16:40:00Z")
        let scale = TimeScale(start: start, end: end)
        #expect(scale.ticks.map(\.label) == ["06:00", "08:00", "10:00", "12:00", "14:00", "16:00"])
        #expect(scale.ticks.allSatisfy { $0.value >= start && $0.value <= end })
        let minutes = TimeScale(start: SVGProbe.utc("2026-11-29T08:00:00Z"), end: SVGProbe.utc("2026-11-29T08:20:00Z"))
        #expect(minutes.ticks.map(\.label) == ["08:00", "08:05", "08:10", "08:15", "08:20"])
        let weeks = TimeScale(start: SVGProbe.utc("2026-10-01T00:00:00Z"), end: SVGProbe.utc("2026-11-29T00:00:00Z"))
        #expect(weeks.ticks.map(\.label) == ["5 Oct", "12 Oct", "19 Oct", "26 Oct", "2 Nov", "9 Nov", "16 Nov", "23 Nov"], "Mondays")
        let year = TimeScale(start: SVGProbe.utc("2026-01-15T00:00:00Z"), end: SVGProbe.utc("2027-01-15T00:00:00Z"))
        #expect(year.ticks.map(\.label) == ["Mar 2026", "May", "Jul", "Sep", "Nov", "2027"])
        #expect(TimeScale.tooltipLabel(SVGProbe.utc("2026-11-29T08:30:00Z")) == "29 Nov 2026 08:30 UTC")
    }
}

@Suite("Charts: colours")
struct ChartColorTests {
    @Test func scalesAndPalette() {
        #expect(ChartColors.diverging(-1) == "#2166ac")
        #expect(ChartColors.diverging(0) == "#ffffff")
        #expect(ChartColors.diverging(1) == "#b2182b")
        #expect(ChartColors.diverging(nil) == ChartColors.noData)
        #expect(ChartColors.temperature(-30) == "#313695")
        #expect(ChartColors.temperature(-45) == "#313695")
        #expect(ChartColors.temperature(0) == "#e0f3f8")
        #expect(ChartColors.temperature(40) == "#a50026")
        #expect(ChartColors.temperature(52) == "#a50026")
        #expect(ChartColors.temperature(nil) == ChartColors.noData)
        #expect(ChartColors.temperature(.nan) == ChartColors.noData)
        // Halfway between two stops is halfway in each channel.
        #expect(ColorScale.diverging.color(for: -0.75) == ChartColor(hex: "#2166ac")!.mixed(with: ChartColor(hex: "#92c5de")!, fraction: 0.5))
        #expect(Set((0..<10).map(ChartColors.palette)).count == 10)
        #expect(ChartColors.palette(10) == ChartColors.palette(0))
    }

    @Test func textContrast() {
        #expect(ChartColor(hex: "#2166ac")!.prefersLightText)
        #expect(ChartColor(hex: "#b2182b")!.prefersLightText)
        #expect(!ChartColor.white.prefersLightText)
        #expect(!ChartColor(hex: "#fee090")!.prefersLightText)
    }
}

@Suite("Charts: scatterplot, heatmap and line chart")
struct ChartRenderingTests {
    @Test func scatterDrawsOneCirclePerPointAndEscapesLabels() {
        let points = [
            ScatterPlot.Point(x: -3.5, y: 92, label: "Oslo: −3.5 °C, 92 %", colorValue: -3.5),
            ScatterPlot.Point(x: 4, y: 80, label: "Strasbourg & Kehl", colorValue: 4),
            ScatterPlot.Point(x: 21.3, y: 45, label: SVGProbe.hostile, colorValue: 21.3),
        ]
        let svg = ScatterPlot(title: "Humidity against temperature", xLabel: "Temperature (°C)",
                              yLabel: "Relative humidity (%)", points: points).render()
        #expect(SVGProbe.count("<circle", in: svg) == 3)
        #expect(SVGProbe.count("<title>", in: svg) == 4, "the chart's and one per point")
        #expect(!svg.contains(SVGProbe.hostile))
        #expect(svg.contains("<title>\(SVGProbe.hostileEscaped)</title>"))
        #expect(svg.contains("Strasbourg &amp; Kehl"))
        #expect(svg.contains("Temperature (°C)") && svg.contains("Relative humidity (%)"))
        #expect(svg.contains("role=\"img\"") && svg.contains("aria-label=\"Humidity against temperature\""))
        #expect(SVGProbe.viewBox(svg) == [0, 0, 640, 400])
        #expect(svg.contains(ChartColors.temperature(21.3)), "coloured by temperature")
        #expect(svg.hasPrefix("<svg") && svg.hasSuffix("</svg>"))
    }

    @Test func scatterHasGridlinesTicksAndAnEmptyState() {
        let points = (0..<20).map { ScatterPlot.Point(x: Double($0), y: Double($0) * 5 + 10, label: "p\($0)") }
        let svg = ScatterPlot(title: "t", xLabel: "x", yLabel: "y", points: points, width: 500, height: 300).render()
        #expect(SVGProbe.viewBox(svg) == [0, 0, 500, 300])
        let yTicks = LinearScale(covering: points.map(\.y)).ticks.map(\.label)
        for label in yTicks { #expect(svg.contains(">\(label)</text>"), "y tick \(label)") }
        #expect(SVGProbe.count("<line", in: SVGProbe.pieces(startingWith: "class=\"grid grid-y\"", in: svg).first ?? "") >= yTicks.count)
        #expect(!svg.contains("no data"))

        let empty = ScatterPlot(title: "t", xLabel: "x", yLabel: "y", points: []).render()
        #expect(empty.contains(">no data</text>"))
        #expect(!empty.contains("<circle"))
        let unplottable = ScatterPlot(title: "t", xLabel: "x", yLabel: "y", points: [.init(x: .nan, y: 1, label: "a")]).render()
        #expect(unplottable.contains(">no data</text>"))
    }

    @Test func scatterFitsALeastSquaresLine() throws {
        let points = [(0.0, 1.0), (1, 3), (2, 5), (3, 7)].map { ScatterPlot.Point(x: $0.0, y: $0.1, label: "") }
        let plot = ScatterPlot(title: "t", xLabel: "x", yLabel: "y", points: points, showsFit: true)
        let fit = try #require(plot.fit)
        #expect(abs(fit.slope - 2) < 1e-12 && abs(fit.intercept - 1) < 1e-12 && fit.n == 4)
        #expect(abs(try #require(fit.r) - 1) < 1e-12)
        let svg = plot.render()
        #expect(SVGProbe.count("class=\"fit\"", in: svg) == 1)
        #expect(svg.contains("y = 2·x + 1"))
        let noisy = [(0.0, 2.0), (1, 1), (2, 4), (3, 3)].map { ScatterPlot.Point(x: $0.0, y: $0.1, label: "") }
        let noisyFit = try #require(ScatterPlot(title: "t", xLabel: "x", yLabel: "y", points: noisy).fit)
        #expect(abs(noisyFit.slope - 0.6) < 1e-12 && abs(noisyFit.intercept - 1.6) < 1e-12)
        #expect(!ScatterPlot(title: "t", xLabel: "x", yLabel: "y", points: noisy).render().contains("class=\"fit\""))
        let vertical = points.map { ScatterPlot.Point(x: 1, y: $0.y, label: "") }
        #expect(ScatterPlot(title: "t", xLabel: "x", yLabel: "y", points: vertical, showsFit: true).fit == nil)
    }

    @Test func heatmapWritesEveryCell() {
        let variables = [
            Heatmap.Variable(name: "Temperature", shortLabel: "T"),
            Heatmap.Variable(name: "Relative humidity", shortLabel: "RH"),
            Heatmap.Variable(name: SVGProbe.hostile, shortLabel: "P"),
        ]
        let values: [[Double?]] = [[1, 0.43, nil], [0.43, 1, -1], [nil, -1, -0.001]]
        let svg = Heatmap(title: "Correlation", variables: variables, values: values,
                          counts: [[10, 9, 0], [9, 10, 8], [0, 8, 10]]).render()
        #expect(SVGProbe.count("<g class=\"cell\"", in: svg) == 9)
        let cells = SVGProbe.pieces(startingWith: "<g class=\"cell\"", in: svg)
        func cell(_ row: Int, _ column: Int) -> String {
            cells.first { $0.hasPrefix(" data-row=\"\(row)\" data-column=\"\(column)\"") } ?? ""
        }
        #expect(cell(0, 0).contains(">1.00</text>"))
        #expect(cell(0, 1).contains(">0.43</text>") && cell(1, 0).contains(">0.43</text>"))
        #expect(cell(1, 2).contains(">−1.00</text>"))
        #expect(cell(0, 2).contains(">–</text>") && cell(2, 0).contains(">–</text>"))
        #expect(cell(0, 2).contains("fill=\"\(ChartColors.noData)\""))
        #expect(cell(0, 2).contains("no value"))
        // Colours at +1, 0 and −1, and white text on the dark ends only.
        #expect(cell(0, 0).contains("<rect") && cell(0, 0).contains("fill=\"#b2182b\""))
        #expect(cell(2, 2).contains("fill=\"#ffffff\"") && !cell(2, 2).contains("dy=\"0.35em\" fill=\"#ffffff\""))
        #expect(cell(2, 2).contains(">0.00</text>"), "never −0.00")
        #expect(cell(1, 2).contains("fill=\"#2166ac\""))
        #expect(cell(0, 0).contains("dy=\"0.35em\" fill=\"#ffffff\">1.00"))
        #expect(cell(1, 2).contains("dy=\"0.35em\" fill=\"#ffffff\">−1.00"))
        // Tooltips name both variables, with n.
        #expect(cell(0, 1).contains("<title>Temperature × Relative humidity: r = 0.43 (n = 9)</title>"))
        #expect(!svg.contains(SVGProbe.hostile) && svg.contains(SVGProbe.hostileEscaped))
        #expect(svg.contains(">RH</text>"))
        #expect(SVGProbe.count("class=\"legend\"", in: svg) == 1)
        #expect(svg.contains("role=\"img\""))
    }

    @Test func lineChartBreaksAtGapsAndHasALegend() {
        let t0 = SVGProbe.utc("2026-11-29T00:00:00Z")
        let a = LineChart.Series(name: "Strasbourg", points: (0..<6).map {
            LineChart.Point(time: t0 + Double($0) * 3600, value: $0 == 3 ? nil : Double($0) - 2.5)
        })
        let b = LineChart.Series(name: SVGProbe.hostile, points: (0..<6).reversed().map {
            LineChart.Point(time: t0 + Double($0) * 3600, value: 10 + Double($0))
        })
        let svg = LineChart(title: "Temperature", yLabel: "Temperature (°C)", unit: "°C", series: [a, b]).render()
        let series = SVGProbe.pieces(startingWith: "<g class=\"series\"", in: svg)
        #expect(series.count == 2)
        #expect(SVGProbe.count("<circle", in: series[0]) == 5)
        #expect(SVGProbe.count("<circle", in: series[1]) == 6)
        let pathA = SVGProbe.attribute("d", ofElementContaining: "stroke=\"\(ChartColors.palette(0))\" stroke-width=\"1.8\"", in: svg) ?? ""
        #expect(SVGProbe.count("M", in: pathA) == 2, "a gap splits the line: \(pathA)")
        #expect(SVGProbe.count("L", in: pathA) == 3)
        #expect(svg.contains("stroke=\"\(ChartColors.palette(1))\""))
        #expect(svg.contains(">Strasbourg</text>"), "legend")
        #expect(svg.contains("<title>Strasbourg, 29 Nov 2026 01:00 UTC: −1.5 °C</title>"))
        #expect(!svg.contains(SVGProbe.hostile) && svg.contains(SVGProbe.hostileEscaped))
        #expect(svg.contains(">00:00</text>") || svg.contains(">29 Nov</text>"))
        #expect(svg.contains("Temperature (°C)"))

        let empty = LineChart(title: "t", yLabel: "y", series: [.init(name: "a", points: [.init(time: t0, value: nil)])]).render()
        #expect(empty.contains(">no data</text>") && !empty.contains("<path"))
    }
}

@Suite("Charts: the world map")
struct WorldMapTests {
    static let topoJSONPath = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Sources/MeteoServer/Resources/world-110m.topo.json")

    /// Decoded once for the suite, as the server does.
    static let map: Result<WorldMap, any Error> = Result {
        try WorldMap(topoJSON: Array(Data(contentsOf: topoJSONPath)))
    }

    static let strasbourg = WorldMap.Marker(placeID: "2973783", name: "Strasbourg", latitude: 48.58, longitude: 7.75, temperatureC: 4)

    @Test func equalEarthMatchesThePublishedFormulas() throws {
        let map = try Self.map.get()
        let origin = map.project(longitude: 0, latitude: 0)
        #expect(origin.x == 0 && origin.y == 0)
        // x(180°, 0°) = 2√3·π / (3·A₁) with A₁ = 1.340264: the half-width of the map, 2.70663.
        let halfWidth = 2 * 3.0.squareRoot() * Double.pi / (3 * 1.340264)
        #expect(abs(halfWidth - 2.70663) < 1e-6)
        #expect(abs(EqualEarth.maxX - halfWidth) < 1e-12 && abs(EqualEarth.maxY - 1.3173628) < 1e-7)
        let east = map.project(longitude: 180, latitude: 0)
        #expect(abs(east.x - halfWidth * map.scale) < 1e-9 * map.scale && east.y == 0)
        // The North Pole: θ = π/3, y = A₁θ + A₂θ³ + A₃θ⁷ + A₄θ⁹, north is up (negative SVG y).
        let theta = Double.pi / 3
        let poleY = 1.340264 * theta - 0.081106 * pow(theta, 3) + 0.000893 * pow(theta, 7) + 0.003796 * pow(theta, 9)
        #expect(abs(map.project(longitude: 0, latitude: 90).y + poleY * map.scale) < 1e-9 * map.scale)
        // An arbitrary point, from the formulas written out.
        let (lambda, phi) = (-74.0 * .pi / 180, 40.7 * .pi / 180)
        let t = asin(3.0.squareRoot() / 2 * sin(phi))
        let x = 2 * 3.0.squareRoot() * lambda * cos(t) / (3 * (9 * 0.003796 * pow(t, 8) + 7 * 0.000893 * pow(t, 6) + 3 * -0.081106 * pow(t, 2) + 1.340264))
        let y = 1.340264 * t - 0.081106 * pow(t, 3) + 0.000893 * pow(t, 7) + 0.003796 * pow(t, 9)
        let ny = map.project(longitude: -74, latitude: 40.7)
        #expect(abs(ny.x - x * map.scale) < 1e-9 && abs(ny.y + y * map.scale) < 1e-9)
        #expect(map.project(longitude: 190, latitude: 0) == map.project(longitude: -170, latitude: 0))
    }

    @Test func arcsDecodeIntoTheWorld() throws {
        let map = try Self.map.get()
        #expect(map.subunits.count == 177)
        let r = map.scale
        let minX = map.subunits.map(\.bounds.minX).min()!, maxX = map.subunits.map(\.bounds.maxX).max()!
        let minY = map.subunits.map(\.bounds.minY).min()!, maxY = map.subunits.map(\.bounds.maxY).max()!
        // The land spans the Equal Earth map (±2.7066·R wide, ±1.3174·R high): Fiji on both
        // sides of 180° at 16° S (±2.656·R), Greenland to 83.6° N, Antarctica to 85.6° S.
        #expect(minX < -2.65 * r && minX > -EqualEarth.maxX * r)
        #expect(maxX > 2.65 * r && maxX < EqualEarth.maxX * r)
        #expect(minY < -1.30 * r && minY > -EqualEarth.maxY * r)
        #expect(maxY > 1.31 * r && maxY < EqualEarth.maxY * r)
        // Decoded deltas put the countries where they are.
        let france = try #require(map.subunit(named: "France"))
        #expect(france.id == "250")
        #expect(france.partBounds.count == 3)
        let mainland = france.partBounds[0]
        let paris = map.project(longitude: 2.35, latitude: 48.86), madrid = map.project(longitude: -3.7, latitude: 40.42)
        #expect(mainland.contains(x: paris.x, y: paris.y))
        #expect(!mainland.contains(x: madrid.x, y: madrid.y))
        #expect(try #require(map.subunit(named: "Spain")).bounds.contains(x: madrid.x, y: madrid.y))
        let australia = try #require(map.subunit(named: "Australia")).bounds
        let sydney = map.project(longitude: 151.2, latitude: -33.87)
        #expect(australia.contains(x: sydney.x, y: sydney.y) && !mainland.contains(x: sydney.x, y: sydney.y))
    }

    @Test func strasbourgLandsInFrance() throws {
        let map = try Self.map.get()
        let france = try #require(map.subunit(named: "France"))
        let p = map.project(longitude: Self.strasbourg.longitude, latitude: Self.strasbourg.latitude)
        #expect(france.partBounds[0].contains(x: p.x, y: p.y))
        #expect(france.bounds.contains(x: p.x, y: p.y))
        let spain = try #require(map.subunit(named: "Spain"))
        #expect(!spain.bounds.contains(x: p.x, y: p.y))
        let svg = map.render(markers: [Self.strasbourg])
        #expect(svg.contains("cx=\"\(Self.twoDecimals(p.x))\" cy=\"\(Self.twoDecimals(p.y))\""))
    }

    @Test func oneCirclePerMarkerColouredByTemperature() throws {
        let map = try Self.map.get()
        let markers = [
            Self.strasbourg,
            WorldMap.Marker(placeID: "3413829", name: "Reykjavik", latitude: 64.14, longitude: -21.9, temperatureC: -31),
            WorldMap.Marker(placeID: "2147714", name: "Sydney", latitude: -33.87, longitude: 151.21, temperatureC: 44),
            WorldMap.Marker(placeID: "\"><script>", name: SVGProbe.hostile, latitude: 0, longitude: 0, temperatureC: nil,
                            tooltip: SVGProbe.hostile + " & friends"),
        ]
        let svg = map.render(markers: markers)
        #expect(SVGProbe.count("<circle class=\"marker\"", in: svg) == markers.count)
        #expect(SVGProbe.count("<circle", in: svg) == markers.count)
        #expect(!svg.contains("<script"))
        #expect(svg.contains("<title>\(SVGProbe.hostileEscaped) &amp; friends</title>"))
        #expect(svg.contains("data-place=\"&quot;&gt;&lt;script&gt;\""))
        #expect(svg.contains("<title>Strasbourg: 4.0 °C</title>"))
        #expect(SVGProbe.attribute("fill", ofElementContaining: "data-place=\"3413829\"", in: svg) == ChartColors.temperature(-30))
        #expect(SVGProbe.attribute("fill", ofElementContaining: "data-place=\"2147714\"", in: svg) == "#a50026")
        #expect(SVGProbe.attribute("fill", ofElementContaining: "data-place=\"2973783\"", in: svg) == ChartColors.temperature(4))
        #expect(SVGProbe.attribute("fill", ofElementContaining: "data-place=\"&quot;", in: svg) == ChartColors.noData)
        // The legend: a colour bar with °C ticks and a no-data swatch.
        #expect(svg.contains("Temperature (°C)"))
        for label in ["−30", "−20", "−10", "0", "10", "20", "30", "40"] { #expect(svg.contains(">\(label)</text>"), "legend tick \(label)") }
        #expect(svg.contains(">no data</text>"))
        #expect(svg.contains("role=\"img\"") && svg.contains("<title>Latest temperature of each place</title>"))
        #expect(map.render(markers: []).contains("<g class=\"markers\""))
    }

    @Test func focusZoomsTheViewBox() throws {
        let map = try Self.map.get()
        let full = map.render(markers: [Self.strasbourg])
        let europe = try BoundingBox(lonMin: -10, latMin: 35, lonMax: 30, latMax: 60)
        let zoomed = map.render(markers: [Self.strasbourg], focus: europe)
        let a = SVGProbe.viewBox(full), b = SVGProbe.viewBox(zoomed)
        #expect(a.count == 4 && b.count == 4)
        #expect(a != b)
        #expect(b[2] < a[2] / 3, "zoomed in: \(b) against \(a)")
        let view = map.view(focus: europe)
        #expect(b[0] == (view.minX * 10).rounded() / 10 && b[2] == (view.width * 10).rounded() / 10)
        // The whole box is in view, the map's proportions are kept.
        for (lon, lat) in [(-10.0, 35.0), (30.0, 60.0), (-10.0, 60.0), (30.0, 35.0), (7.75, 48.58)] {
            let p = map.project(longitude: lon, latitude: lat)
            #expect(view.contains(x: p.x, y: p.y), "\(lon), \(lat)")
        }
        #expect(abs(view.width / view.height - map.fullView.width / map.fullView.height) < 1e-9)
        // Markers are smaller in map units but not on screen.
        let rFull = Double(SVGProbe.attribute("r", ofElementContaining: "class=\"marker\"", in: full) ?? "") ?? 0
        let rZoomed = Double(SVGProbe.attribute("r", ofElementContaining: "class=\"marker\"", in: zoomed) ?? "") ?? 0
        #expect(rFull > 0 && rZoomed > 0 && rZoomed < rFull)
        #expect(rZoomed / b[2] >= rFull / a[2], "at least as large on screen")
        #expect(SVGProbe.count("<circle class=\"marker\"", in: zoomed) == 1)
        // A box at the edge of the world stays inside the map.
        let fiji = map.view(focus: try BoundingBox(lonMin: 170, latMin: -25, lonMax: 180, latMax: -10))
        #expect(fiji.maxX <= map.fullView.maxX + 1e-9)
        #expect(map.view(focus: nil) == map.fullView)
    }

    @Test func outputStaysSmall() throws {
        let map = try Self.map.get()
        #expect(map.landPath.utf8.count > 20_000, "the land is drawn")
        #expect(map.landPath.utf8.count < 200_000)
        #expect(!map.borderPath.isEmpty)
        // Antarctica's ring, cut at 180°, is closed along the map's edge down to the pole line,
        // so the land covers the bottom of the map; no point leaves the map.
        let points = SVGProbe.subpaths(map.landPath).joined()
        let bottom = Double(points.map(\.y).max() ?? 0) / 10, top = Double(points.map(\.y).min() ?? 0) / 10
        #expect(abs(bottom - EqualEarth.maxY * map.scale) < 0.06, "\(bottom)")
        #expect(top > -EqualEarth.maxY * map.scale)
        #expect(points.allSatisfy { abs(Double($0.x) / 10) <= EqualEarth.maxX * map.scale + 0.05 })
        let markers = (0..<1630).map { (i: Int) -> WorldMap.Marker in
            let latitude = Double(i % 140) - 60, longitude = Double(i % 360) - 180
            return WorldMap.Marker(placeID: String(2_000_000 + i), name: "Place \(i)", latitude: latitude,
                                   longitude: longitude, temperatureC: Double(i % 70) - 30)
        }
        let svg = map.render(markers: markers)
        #expect(SVGProbe.count("<circle class=\"marker\"", in: svg) == 1630)
        #expect(map.render(markers: []).utf8.count < 200_000)
        #expect(svg.utf8.count < 450_000)
        // No float noise in coordinates.
        #expect(!svg.contains("0000000") && !svg.contains("99999"))
    }

    @Test func malformedTopologyIsRefused() {
        #expect(throws: MeteoError.self) { try WorldMap(topoJSON: Array("{}".utf8)) }
        #expect(throws: MeteoError.self) { try WorldMap(topoJSON: Array("not json".utf8)) }
        let missingArc = #"{"type":"Topology","arcs":[[[0,0],[1,1]]],"objects":{"land":{"type":"Polygon","arcs":[[5]]},"subunits":{"type":"GeometryCollection","geometries":[]}}}"#
        #expect(throws: MeteoError.self) { try WorldMap(topoJSON: Array(missingArc.utf8)) }
    }

    @Test func smallTopologyDecodesDeltasAndReversedArcs() throws {
        // Two squares sharing an edge, quantized: arc 0 is the shared edge (10,0)→(10,10),
        // drawn forwards by the west square and reversed (~0 = -1), then arc 2, by the east one.
        let topology = #"""
        {"type":"Topology","transform":{"scale":[1,1],"translate":[-20,-10]},
         "arcs":[[[30,10],[0,10]],[[30,20],[-10,0],[0,-10],[10,0]],[[30,10],[10,0],[0,10],[-10,0]]],
         "objects":{"land":{"type":"MultiPolygon","arcs":[[[0,1]],[[-1,2]]]},
                    "subunits":{"type":"GeometryCollection","geometries":[
                       {"type":"Polygon","id":1,"properties":{"name":"West"},"arcs":[[0,1]]},
                       {"type":"Polygon","id":2,"properties":{"name":"East"},"arcs":[[-1,2]]}]}}}
        """#
        let map = try WorldMap(topoJSON: Array(topology.utf8), scale: 100)
        let west = try #require(map.subunit(named: "West")).bounds, east = try #require(map.subunit(named: "East")).bounds
        // West is lon 0…10, lat 0…10; East lon 10…20 (meridians bend inwards away from the equator).
        let p00 = map.project(longitude: 0, latitude: 0), p010 = map.project(longitude: 0, latitude: 10)
        let p100 = map.project(longitude: 10, latitude: 0), p1010 = map.project(longitude: 10, latitude: 10)
        let p200 = map.project(longitude: 20, latitude: 0)
        #expect(west == WorldMap.Rect(minX: p00.x, minY: p1010.y, maxX: p100.x, maxY: p00.y))
        #expect(p010.x == 0 && p1010.y == p010.y)
        #expect(east == WorldMap.Rect(minX: p1010.x, minY: p1010.y, maxX: p200.x, maxY: p00.y))
        // The east ring runs (10,10) → (10,0) down the reversed arc, then along arc 2.
        func tenths(_ lon: Double, _ lat: Double) -> (x: Int, y: Int) {
            let p = map.project(longitude: lon, latitude: lat)
            return (Int((p.x * 10).rounded()), Int((p.y * 10).rounded()))
        }
        let rings = SVGProbe.subpaths(map.landPath)
        #expect(rings.count == 2)
        let expected = [tenths(10, 10), tenths(10, 0), tenths(20, 0), tenths(20, 10)]
        #expect(rings.count == 2 && rings[1].map(\.x) == expected.map(\.x) && rings[1].map(\.y) == expected.map(\.y),
                "\(rings.last ?? [])")
        // Only the shared arc is a border: one move and one line.
        #expect(SVGProbe.count("M", in: map.borderPath) == 1)
        #expect(SVGProbe.count("z", in: map.landPath) == 2)
    }

    static func twoDecimals(_ v: Double) -> String {
        var text = String(format: "%.2f", v)
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
        return text
    }
}
