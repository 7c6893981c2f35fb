import Foundation

/// A scatterplot as SVG text: one circle per point with its label as a tooltip, nice axes
/// with units, light gridlines, an optional least-squares line, and points optionally
/// coloured by a third value (temperature by default) with a colour legend.
///
/// ```swift
/// let plot = ScatterPlot(
///     title: "Humidity against temperature, latest observation of each place",
///     xLabel: "Temperature (°C)", yLabel: "Relative humidity (%)",
///     points: rows.map { .init(x: $0.temperatureC, y: $0.humidityPct, label: $0.name) },
///     showsFit: true)
/// let svg = plot.render()
/// ```
public struct ScatterPlot: Sendable {
    public struct Point: Sendable, Hashable {
        public var x: Double
        public var y: Double
        /// The tooltip (`<title>`) of the point, e.g. the place name and values.
        public var label: String
        /// A value that sets the point's colour through `colorScale`; nil for the plain colour.
        public var colorValue: Double?

        public init(x: Double, y: Double, label: String, colorValue: Double? = nil) {
            self.x = x
            self.y = y
            self.label = label
            self.colorValue = colorValue
        }
    }

    /// The chart's accessible name (`<title>` and `aria-label`).
    public var title: String
    /// Axis titles with their units, e.g. `Temperature (°C)`.
    public var xLabel: String
    public var yLabel: String
    /// The points; those with a non-finite x or y are not drawn.
    public var points: [Point]
    /// Draws the least-squares line y = a + b·x (when there are two distinct x at least),
    /// with its equation and Pearson's r.
    public var showsFit: Bool
    /// The colours of points that have a `colorValue`.
    public var colorScale: ColorScale
    /// The title of the colour legend, drawn when a point has a `colorValue`.
    public var colorLabel: String
    public var width: Double
    public var height: Double
    /// The radius of the points.
    public var pointRadius: Double

    public init(
        title: String, xLabel: String, yLabel: String, points: [Point], showsFit: Bool = false,
        colorScale: ColorScale = .temperature, colorLabel: String = "Temperature (°C)",
        width: Double = 640, height: Double = 400, pointRadius: Double = 3.5
    ) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.points = points
        self.showsFit = showsFit
        self.colorScale = colorScale
        self.colorLabel = colorLabel
        self.width = width
        self.height = height
        self.pointRadius = pointRadius
    }

    /// A least-squares line y = intercept + slope·x.
    public struct Fit: Sendable, Hashable {
        public var intercept: Double
        public var slope: Double
        /// Pearson's r; nil when all y are equal.
        public var r: Double?
        /// The number of points fitted.
        public var n: Int
    }

    /// The least-squares line through the drawable points; nil with fewer than two points or a single x.
    public var fit: Fit? {
        let drawable = points.filter { $0.x.isFinite && $0.y.isFinite }
        guard drawable.count >= 2 else { return nil }
        let n = Double(drawable.count)
        let mx = drawable.reduce(0) { $0 + $1.x } / n, my = drawable.reduce(0) { $0 + $1.y } / n
        var sxx = 0.0, sxy = 0.0, syy = 0.0
        for p in drawable {
            sxx += (p.x - mx) * (p.x - mx)
            sxy += (p.x - mx) * (p.y - my)
            syy += (p.y - my) * (p.y - my)
        }
        guard sxx > 0 else { return nil }
        let slope = sxy / sxx
        return Fit(intercept: my - slope * mx, slope: slope,
                   r: syy > 0 ? sxy / (sxx * syy).squareRoot() : nil, n: drawable.count)
    }

    public func render() -> String {
        let drawable = points.filter { $0.x.isFinite && $0.y.isFinite }
        var out = SVG.open(kind: "scatter", width: width, height: height, title: title,
                           description: "\(drawable.count) points; x: \(xLabel); y: \(yLabel)")
        guard !drawable.isEmpty else {
            return out + SVG.emptyState(width: width, height: height) + SVG.close
        }
        let colored = drawable.contains { $0.colorValue != nil }
        let legend = ColorLegend(scale: colorScale, title: colorLabel, width: 200, noDataLabel: nil)
        let fit = showsFit ? self.fit : nil

        var yScale = LinearScale(covering: drawable.map(\.y))
        let top = colored ? 12 + ColorLegend.height + 4 : fit != nil ? 32 : 12
        let frame = PlotFrame(width: width, height: height, yTickLabels: yScale.ticks.map(\.label),
                              hasYTitle: !yLabel.isEmpty, hasXTitle: !xLabel.isEmpty, top: top)
        yScale.rangeStart = frame.bottom
        yScale.rangeEnd = frame.top
        let xScale = LinearScale(covering: drawable.map(\.x), rangeStart: frame.left, rangeEnd: frame.right)

        out += frame.yAxis(yScale.ticks, position: yScale.position(of:))
        out += frame.xAxis(xScale.ticks, position: xScale.position(of:))
        out += frame.baseLines
        out += frame.titles(x: xLabel, y: yLabel)

        let plain = ChartColor.palette(0).hex
        // Light colours of a scale need a dark rim to show on white; plain points a white one.
        let rim = colored ? "stroke=\"#1f2937\" stroke-opacity=\"0.35\" stroke-width=\"0.5\"" : "stroke=\"#ffffff\" stroke-width=\"0.6\""
        out += "<g class=\"points\" fill-opacity=\"0.85\" \(rim)>"
        for p in drawable {
            let fill = p.colorValue != nil ? colorScale.color(for: p.colorValue).hex : plain
            out += "<circle cx=\"\(SVG.n(xScale.position(of: p.x)))\" cy=\"\(SVG.n(yScale.position(of: p.y)))\" r=\"\(SVG.n(pointRadius))\" fill=\"\(fill)\"><title>\(SVG.escape(p.label))</title></circle>"
        }
        out += "</g>"

        // The line spans the points' x, clipped to the plot.
        let xs = drawable.map(\.x)
        if let fit, let segment = Self.clip(intercept: fit.intercept, slope: fit.slope,
                                            x: xs.min()!...xs.max()!, y: yScale.domain) {
            let equation = "y = \(ChartFormat.significant(fit.slope))·x \(fit.intercept < 0 ? "−" : "+") \(ChartFormat.significant(abs(fit.intercept)))"
            let r = fit.r.map { "r = \(ChartFormat.fixed($0, decimals: 2))" }
            let summary = ["Least-squares fit: \(equation)", r, "n = \(fit.n)"].compactMap { $0 }.joined(separator: ", ")
            out += "<line class=\"fit\" x1=\"\(SVG.n(xScale.position(of: segment.x0)))\" y1=\"\(SVG.n(yScale.position(of: segment.y0)))\""
                + " x2=\"\(SVG.n(xScale.position(of: segment.x1)))\" y2=\"\(SVG.n(yScale.position(of: segment.y1)))\""
                + " stroke=\"\(SVG.labelTextColor)\" stroke-width=\"1.5\" stroke-dasharray=\"5 3\"><title>\(SVG.escape(summary))</title></line>"
            let caption = [equation, r].compactMap { $0 }.joined(separator: ", ")
            out += SVG.text(caption, x: frame.right, y: 22, anchor: "end", fill: SVG.labelTextColor, extra: "class=\"fit-caption\"")
        }
        if colored {
            out += legend.render(x: frame.left, y: 8)
        }
        return out + SVG.close
    }

    /// The part of the line y = intercept + slope·x inside the rectangle x × y (Liang–Barsky).
    static func clip(intercept: Double, slope: Double, x: ClosedRange<Double>, y: ClosedRange<Double>)
        -> (x0: Double, y0: Double, x1: Double, y1: Double)?
    {
        let x0 = x.lowerBound, dx = x.upperBound - x.lowerBound
        let y0 = intercept + slope * x0, dy = slope * dx
        var t0 = 0.0, t1 = 1.0
        for (p, q) in [(-dx, x0 - x.lowerBound), (dx, x.upperBound - x0), (-dy, y0 - y.lowerBound), (dy, y.upperBound - y0)] {
            if p == 0 {
                if q < 0 { return nil }
            } else {
                let t = q / p
                if p < 0 { t0 = max(t0, t) } else { t1 = min(t1, t) }
            }
        }
        guard t0 < t1, t0.isFinite, t1.isFinite else { return nil }
        return (x0 + t0 * dx, y0 + t0 * dy, x0 + t1 * dx, y0 + t1 * dy)
    }
}
