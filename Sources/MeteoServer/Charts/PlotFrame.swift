/// The plot area of an x/y chart inside its margins, and the drawing of its gridlines, ticks,
/// tick labels and axis titles. Margins are computed from the tick labels so that they fit.
struct PlotFrame {
    let width: Double
    let height: Double
    let left: Double
    let right: Double
    let top: Double
    let bottom: Double

    static let tickLength = 4.0
    static let tickGap = 3.0

    /// The frame whose left margin fits the widest y tick label and the rotated y axis title.
    init(width: Double, height: Double, yTickLabels: [String], hasYTitle: Bool, hasXTitle: Bool, top: Double = 12, right: Double = 16) {
        let widest = yTickLabels.map { SVG.estimatedWidth($0) }.max() ?? 0
        let left = (hasYTitle ? SVG.labelFontSize + 10 : 6) + widest + Self.tickLength + Self.tickGap + 2
        let bottom = SVG.tickFontSize + Self.tickLength + Self.tickGap + 6 + (hasXTitle ? SVG.labelFontSize + 8 : 0)
        self.width = width
        self.height = height
        self.left = left.rounded()
        self.right = width - right
        self.top = top
        self.bottom = max(top + 10, height - bottom)
    }

    var plotWidth: Double { right - left }
    var plotHeight: Double { bottom - top }

    /// Horizontal gridlines at the y ticks, and their labels at the left.
    func yAxis(_ ticks: [AxisTick], position: (Double) -> Double) -> String {
        var grid = "<g class=\"grid grid-y\" stroke=\"\(SVG.gridColor)\" stroke-width=\"1\" shape-rendering=\"crispEdges\">"
        var labels = "<g class=\"axis axis-y\" fill=\"\(SVG.tickTextColor)\" text-anchor=\"end\">"
        for tick in ticks {
            let y = position(tick.value)
            grid += "<line x1=\"\(SVG.n(left - Self.tickLength))\" x2=\"\(SVG.n(right))\" y1=\"\(SVG.n(y))\" y2=\"\(SVG.n(y))\"/>"
            labels += "<text x=\"\(SVG.n(left - Self.tickLength - Self.tickGap))\" y=\"\(SVG.n(y))\" dy=\"0.32em\">\(SVG.escape(tick.label))</text>"
        }
        return grid + "</g>" + labels + "</g>"
    }

    /// Vertical gridlines at the x ticks, and their labels below the plot; labels that would
    /// overlap the previous one are left out.
    func xAxis(_ ticks: [AxisTick], position: (Double) -> Double) -> String {
        var grid = "<g class=\"grid grid-x\" stroke=\"\(SVG.gridColor)\" stroke-width=\"1\" shape-rendering=\"crispEdges\">"
        var labels = "<g class=\"axis axis-x\" fill=\"\(SVG.tickTextColor)\" text-anchor=\"middle\">"
        var lastRight = -Double.infinity
        for tick in ticks {
            let x = position(tick.value)
            grid += "<line x1=\"\(SVG.n(x))\" x2=\"\(SVG.n(x))\" y1=\"\(SVG.n(top))\" y2=\"\(SVG.n(bottom + Self.tickLength))\"/>"
            let half = SVG.estimatedWidth(tick.label) / 2
            guard x - half > lastRight + 4 else { continue }
            lastRight = x + half
            labels += "<text x=\"\(SVG.n(x))\" y=\"\(SVG.n(bottom + Self.tickLength + Self.tickGap))\" dy=\"0.71em\">\(SVG.escape(tick.label))</text>"
        }
        return grid + "</g>" + labels + "</g>"
    }

    /// The axis lines along the bottom and the left of the plot.
    var baseLines: String {
        "<path class=\"domain\" d=\"M\(SVG.n(left)) \(SVG.n(top))V\(SVG.n(bottom))H\(SVG.n(right))\" fill=\"none\" stroke=\"\(SVG.axisColor)\" shape-rendering=\"crispEdges\"/>"
    }

    /// The axis titles: x centred below the tick labels, y rotated along the left edge.
    func titles(x: String, y: String) -> String {
        var out = ""
        if !x.isEmpty {
            out += SVG.text(x, x: (left + right) / 2, y: height - 6, anchor: "middle",
                            size: SVG.labelFontSize, fill: SVG.labelTextColor, extra: "class=\"axis-title axis-title-x\"")
        }
        if !y.isEmpty {
            let cy = (top + bottom) / 2
            out += "<text class=\"axis-title axis-title-y\" transform=\"translate(\(SVG.n(SVG.labelFontSize)),\(SVG.n(cy))) rotate(-90)\""
                + " text-anchor=\"middle\" font-size=\"\(SVG.n(SVG.labelFontSize))\" fill=\"\(SVG.labelTextColor)\">\(SVG.escape(y))</text>"
        }
        return out
    }
}
