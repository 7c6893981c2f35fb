/// A correlation matrix as an SVG heatmap: one square cell per pair of variables, coloured
/// blue (−1) through white (0) to red (+1), its value written in it with two decimals (in
/// white on dark cells) and a tooltip naming both variables. A missing value is a grey cell
/// with "–". A colour bar under the matrix is the legend.
///
/// ```swift
/// let map = Heatmap(title: "Correlation of the weather variables",
///                   variables: [.init(name: "Temperature", shortLabel: "T"), …],
///                   values: matrix)     // [[Double?]], k × k
/// let svg = map.render()
/// ```
public struct Heatmap: Sendable {
    public struct Variable: Sendable, Hashable {
        /// The full name, for tooltips (`Relative humidity`).
        public var name: String
        /// The label along the rows and columns (`RH`).
        public var shortLabel: String

        public init(name: String, shortLabel: String) {
            self.name = name
            self.shortLabel = shortLabel
        }
    }

    /// The chart's accessible name (`<title>` and `aria-label`).
    public var title: String
    public var variables: [Variable]
    /// `values[row][column]`, −1…1; nil (or a missing row or column, or NaN) is no value.
    public var values: [[Double?]]
    /// Optional `counts[row][column]`, the number of pairs behind each value, shown in tooltips.
    public var counts: [[Int]]?
    public var cellSize: Double
    public var colorScale: ColorScale

    public init(title: String, variables: [Variable], values: [[Double?]], counts: [[Int]]? = nil,
                cellSize: Double = 48, colorScale: ColorScale = .diverging) {
        self.title = title
        self.variables = variables
        self.values = values
        self.counts = counts
        self.cellSize = cellSize
        self.colorScale = colorScale
    }

    /// The value at `row`, `column`, or nil when there is none.
    public func value(row: Int, column: Int) -> Double? {
        guard values.indices.contains(row), values[row].indices.contains(column),
              let v = values[row][column], v.isFinite else { return nil }
        return v
    }

    public func render() -> String {
        let k = variables.count
        let labelSize = SVG.tickFontSize
        let labelWidth = (variables.map { SVG.estimatedWidth($0.shortLabel, size: labelSize) }.max() ?? 0) + 10
        // Column labels stand upright when they fit in a cell, and are turned otherwise.
        let upright = labelWidth - 10 <= cellSize - 4
        let headerHeight = upright ? labelSize + 10 : min(labelWidth * 0.72 + 10, 120)
        let legend = ColorLegend(scale: colorScale, title: "Correlation (r)", width: min(240, max(160, cellSize * Double(k))),
                                 noDataLabel: "no value", maxTickCount: 5)
        let matrixWidth = cellSize * Double(k)
        // Turned column labels reach past the last column by about 0.7 of their length.
        let overhang = upright ? 0 : max(0, (labelWidth - 10) * 0.72 - cellSize / 2)
        let width = (8 + labelWidth + max(matrixWidth + overhang, legend.totalWidth) + 12).rounded()
        let height = (8 + headerHeight + matrixWidth + 14 + ColorLegend.height + 6).rounded()
        var out = SVG.open(kind: "heatmap", width: width, height: height, title: title,
                           description: "Correlation matrix of \(k) variables: " + variables.map(\.name).joined(separator: ", "))
        guard k > 0 else {
            return out + SVG.emptyState(width: width, height: height) + SVG.close
        }
        let left = 8 + labelWidth, top = 8 + headerHeight

        // Column labels.
        out += "<g class=\"labels labels-columns\" fill=\"\(SVG.labelTextColor)\">"
        for (j, v) in variables.enumerated() {
            let cx = left + (Double(j) + 0.5) * cellSize
            if upright {
                out += "<text x=\"\(SVG.n(cx))\" y=\"\(SVG.n(top - 6))\" text-anchor=\"middle\"><title>\(SVG.escape(v.name))</title>\(SVG.escape(v.shortLabel))</text>"
            } else {
                out += "<text transform=\"translate(\(SVG.n(cx + 3)),\(SVG.n(top - 6))) rotate(-45)\"><title>\(SVG.escape(v.name))</title>\(SVG.escape(v.shortLabel))</text>"
            }
        }
        out += "</g>"
        // Row labels.
        out += "<g class=\"labels labels-rows\" fill=\"\(SVG.labelTextColor)\" text-anchor=\"end\">"
        for (i, v) in variables.enumerated() {
            let cy = top + (Double(i) + 0.5) * cellSize
            out += "<text x=\"\(SVG.n(left - 6))\" y=\"\(SVG.n(cy))\" dy=\"0.32em\"><title>\(SVG.escape(v.name))</title>\(SVG.escape(v.shortLabel))</text>"
        }
        out += "</g>"

        // Cells.
        let valueSize = min(12, max(8, cellSize / 4.2))
        out += "<g class=\"cells\" text-anchor=\"middle\" font-size=\"\(SVG.n(valueSize))\">"
        for i in 0..<k {
            for j in 0..<k {
                let x = left + Double(j) * cellSize, y = top + Double(i) * cellSize
                let value = value(row: i, column: j)
                let fill = colorScale.color(for: value)
                let text = value.map { ChartFormat.fixed($0, decimals: 2) } ?? "–"
                var tip = "\(variables[i].name) × \(variables[j].name): " + (value == nil ? "no value" : "r = \(text)")
                if let counts, counts.indices.contains(i), counts[i].indices.contains(j) {
                    tip += " (n = \(counts[i][j]))"
                }
                out += "<g class=\"cell\" data-row=\"\(i)\" data-column=\"\(j)\"><title>\(SVG.escape(tip))</title>"
                out += "<rect x=\"\(SVG.n(x))\" y=\"\(SVG.n(y))\" width=\"\(SVG.n(cellSize))\" height=\"\(SVG.n(cellSize))\" fill=\"\(fill.hex)\" stroke=\"#ffffff\" stroke-width=\"1\"/>"
                out += "<text x=\"\(SVG.n(x + cellSize / 2))\" y=\"\(SVG.n(y + cellSize / 2))\" dy=\"0.35em\" fill=\"\(fill.textColor.hex)\">\(SVG.escape(text))</text></g>"
            }
        }
        out += "</g>"
        out += legend.render(x: left, y: top + matrixWidth + 14)
        return out + SVG.close
    }
}
