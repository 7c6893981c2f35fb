/// A horizontal colour bar with a title and ticks, for the heatmap, the map and coloured
/// scatterplots. The bar is a row of thin rectangles rather than a gradient, so that it needs
/// no `id` and several charts can share a page.
struct ColorLegend {
    var scale: ColorScale
    var title: String
    var width: Double = 200
    var barHeight: Double = 8
    /// Shows a grey swatch with this label after the bar.
    var noDataLabel: String?
    /// At most this many ticks under the bar (overlapping labels are left out).
    var maxTickCount = 8

    static let height = 40.0

    /// The legend with its top-left corner at (x, y); it is `height` tall.
    func render(x: Double, y: Double) -> String {
        let lo = scale.domain.lowerBound, hi = scale.domain.upperBound
        var out = "<g class=\"legend\" transform=\"translate(\(SVG.n(x)),\(SVG.n(y)))\">"
        out += SVG.text(title, x: 0, y: 10, fill: SVG.labelTextColor, extra: "class=\"legend-title\"")
        let barTop = 15.0
        let slices = 48
        let sliceWidth = width / Double(slices)
        out += "<g class=\"legend-bar\" shape-rendering=\"crispEdges\">"
        for i in 0..<slices {
            let value = lo + (hi - lo) * (Double(i) + 0.5) / Double(slices)
            // Each slice overlaps the next a little so that no hairline shows between them.
            let w = i == slices - 1 ? sliceWidth : sliceWidth + 0.6
            out += "<rect x=\"\(SVG.n(Double(i) * sliceWidth))\" y=\"\(SVG.n(barTop))\" width=\"\(SVG.n(w))\" height=\"\(SVG.n(barHeight))\" fill=\"\(scale.color(for: value).hex)\"/>"
        }
        out += "</g>"
        let axis = LinearScale(min: lo, max: hi, rangeStart: 0, rangeEnd: width, maxTickCount: maxTickCount)
        var ticks = "<g class=\"legend-ticks\" stroke=\"\(SVG.tickTextColor)\" shape-rendering=\"crispEdges\">"
        var labels = "<g class=\"legend-labels\" fill=\"\(SVG.tickTextColor)\" text-anchor=\"middle\" font-size=\"10\">"
        var lastRight = -Double.infinity
        for tick in axis.ticks where tick.value >= lo - 1e-9 && tick.value <= hi + 1e-9 {
            let tx = axis.position(of: tick.value)
            ticks += "<line x1=\"\(SVG.n(tx))\" x2=\"\(SVG.n(tx))\" y1=\"\(SVG.n(barTop + barHeight))\" y2=\"\(SVG.n(barTop + barHeight + 3))\"/>"
            let half = SVG.estimatedWidth(tick.label, size: 10) / 2
            guard tx - half > lastRight + 4 else { continue }
            lastRight = tx + half
            labels += "<text x=\"\(SVG.n(tx))\" y=\"\(SVG.n(barTop + barHeight + 13))\">\(SVG.escape(tick.label))</text>"
        }
        out += ticks + "</g>" + labels + "</g>"
        if let noDataLabel {
            let sx = width + 14
            out += "<rect x=\"\(SVG.n(sx))\" y=\"\(SVG.n(barTop))\" width=\"\(SVG.n(barHeight))\" height=\"\(SVG.n(barHeight))\" fill=\"\(scale.noDataColor.hex)\"/>"
            out += SVG.text(noDataLabel, x: sx + barHeight + 4, y: barTop + barHeight - 0.5, size: 10, fill: SVG.tickTextColor)
        }
        return out + "</g>"
    }

    /// The width the legend takes, the no-data swatch included.
    var totalWidth: Double {
        width + (noDataLabel.map { 14 + barHeight + 4 + SVG.estimatedWidth($0, size: 10) } ?? 0)
    }
}
