/// Time series as an SVG line chart: one line per named series in a colour of the fixed
/// palette, broken where a value is missing, a UTC time axis, a y axis with its unit, a
/// legend, and a tooltip on every point.
///
/// ```swift
/// let chart = LineChart(
///     title: "Temperature, last 24 hours", yLabel: "Temperature (°C)", unit: "°C",
///     series: [.init(name: "Strasbourg", points: history.map {
///         .init(time: $0.observedAt.timeIntervalSince1970, value: $0.temperatureC)
///     })])
/// let svg = chart.render()
/// ```
public struct LineChart: Sendable {
    public struct Point: Sendable, Hashable {
        /// Unix seconds.
        public var time: Double
        /// Nil for a gap in the line.
        public var value: Double?

        public init(time: Double, value: Double?) {
            self.time = time
            self.value = value
        }
    }

    public struct Series: Sendable, Hashable {
        public var name: String
        /// In any order; they are drawn in time order.
        public var points: [Point]

        public init(name: String, points: [Point]) {
            self.name = name
            self.points = points
        }
    }

    /// The chart's accessible name (`<title>` and `aria-label`).
    public var title: String
    /// The y axis title with its unit, e.g. `Temperature (°C)`.
    public var yLabel: String
    /// The unit written after values in tooltips, e.g. `°C`; empty for none.
    public var unit: String
    public var series: [Series]
    public var width: Double
    public var height: Double
    /// The decimals of values in tooltips.
    public var valueDecimals: Int

    public init(title: String, yLabel: String, unit: String = "", series: [Series],
                width: Double = 720, height: Double = 320, valueDecimals: Int = 1) {
        self.title = title
        self.yLabel = yLabel
        self.unit = unit
        self.series = series
        self.width = width
        self.height = height
        self.valueDecimals = valueDecimals
    }

    public func render() -> String {
        let sorted = series.map { s in
            Series(name: s.name, points: s.points.filter { $0.time.isFinite }.sorted { $0.time < $1.time })
        }
        let present = sorted.flatMap { $0.points.compactMap { p in p.value.flatMap { $0.isFinite ? (p.time, $0) : nil } } }
        var out = SVG.open(kind: "line", width: width, height: height, title: title,
                           description: "\(sorted.count) series: " + sorted.map(\.name).joined(separator: ", ") + "; y: \(yLabel)")
        guard !present.isEmpty else {
            return out + SVG.emptyState(width: width, height: height) + SVG.close
        }

        // The legend, in as many rows as it needs, above the plot.
        var legend = "<g class=\"legend\" font-size=\"\(SVG.n(SVG.tickFontSize))\" fill=\"\(SVG.labelTextColor)\">"
        var lx = 0.0, row = 0
        var entries: [(x: Double, row: Int, name: String, color: String)] = []
        for (i, s) in sorted.enumerated() {
            let w = 14 + 5 + SVG.estimatedWidth(s.name) + 16
            if lx > 0, lx + w > width - 60 { lx = 0; row += 1 }
            entries.append((lx, row, s.name, ChartColor.palette(i).hex))
            lx += w
        }
        let legendRows = row + 1
        var yScale = LinearScale(covering: present.map(\.1))
        let frame = PlotFrame(width: width, height: height, yTickLabels: yScale.ticks.map(\.label),
                              hasYTitle: !yLabel.isEmpty, hasXTitle: true, top: 12 + Double(legendRows) * 18)
        for e in entries {
            let x = frame.left + e.x, y = 10 + Double(e.row) * 18
            legend += "<g class=\"legend-entry\"><line x1=\"\(SVG.n(x))\" x2=\"\(SVG.n(x + 14))\" y1=\"\(SVG.n(y))\" y2=\"\(SVG.n(y))\" stroke=\"\(e.color)\" stroke-width=\"2.5\"/>"
            legend += "<text x=\"\(SVG.n(x + 19))\" y=\"\(SVG.n(y))\" dy=\"0.32em\">\(SVG.escape(e.name))</text></g>"
        }
        legend += "</g>"

        yScale.rangeStart = frame.bottom
        yScale.rangeEnd = frame.top
        let xScale = TimeScale(covering: present.map(\.0), rangeStart: frame.left, rangeEnd: frame.right)
        out += frame.yAxis(yScale.ticks, position: yScale.position(of:))
        out += frame.xAxis(xScale.ticks, position: xScale.position(of:))
        out += frame.baseLines
        out += frame.titles(x: "Time (UTC)", y: yLabel)
        out += legend

        let suffix = unit.isEmpty ? "" : (unit == "%" ? unit : " " + unit)
        for (i, s) in sorted.enumerated() {
            let color = ChartColor.palette(i).hex
            var path = ""
            var penDown = false
            var dots = ""
            for p in s.points {
                guard let v = p.value, v.isFinite else {
                    penDown = false
                    continue
                }
                let x = SVG.n(xScale.position(of: p.time)), y = SVG.n(yScale.position(of: v))
                path += (penDown ? "L" : "M") + x + " " + y
                penDown = true
                let tip = "\(s.name), \(TimeScale.tooltipLabel(p.time)): \(ChartFormat.fixed(v, decimals: valueDecimals))\(suffix)"
                dots += "<circle cx=\"\(x)\" cy=\"\(y)\" r=\"2.5\"><title>\(SVG.escape(tip))</title></circle>"
            }
            out += "<g class=\"series\" data-series=\"\(i)\"><title>\(SVG.escape(s.name))</title>"
            if !path.isEmpty {
                out += "<path d=\"\(path)\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"1.8\" stroke-linejoin=\"round\" stroke-linecap=\"round\"/>"
            }
            out += "<g class=\"points\" fill=\"\(color)\" stroke=\"#ffffff\" stroke-width=\"0.5\">\(dots)</g></g>"
        }
        return out + SVG.close
    }
}
