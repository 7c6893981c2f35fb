/// The pieces of SVG markup every chart shares: the root element with its accessibility
/// attributes, one font stack, the text colours, and escaping of every string that comes
/// from data. The charts are inline SVG in server-rendered pages: no XML declaration, no
/// script, no external resource, and no `id` attribute, so that several charts can share a page.
enum SVG {
    static let fontFamily = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"
    static let tickFontSize = 11.0
    static let labelFontSize = 12.0
    static let tickTextColor = "#4b5563"
    static let labelTextColor = "#1f2937"
    static let gridColor = "#e5e7eb"
    static let axisColor = "#9ca3af"
    static let mutedTextColor = "#6b7280"

    /// Escapes text for an XML text node or a double-quoted attribute.
    static func escape(_ text: String) -> String { HTML.escape(text) }

    /// A coordinate or length attribute value.
    static func n(_ value: Double) -> String { ChartFormat.coordinate(value) }

    /// The opening `<svg>` tag and its `<title>` (and `<desc>` when given).
    static func open(
        kind: String, minX: Double = 0, minY: Double = 0, width: Double, height: Double,
        displayWidth: Double? = nil, displayHeight: Double? = nil,
        title: String, description: String? = nil
    ) -> String {
        let label = escape(title)
        var out = "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart chart-\(kind)\""
        out += " viewBox=\"\(n(minX)) \(n(minY)) \(n(width)) \(n(height))\""
        out += " width=\"\(n(displayWidth ?? width))\" height=\"\(n(displayHeight ?? height))\""
        out += " style=\"max-width:100%;height:auto\" role=\"img\" aria-label=\"\(label)\""
        out += " font-family=\"\(fontFamily)\" font-size=\"\(n(tickFontSize))\">"
        out += "<title>\(label)</title>"
        if let description, !description.isEmpty { out += "<desc>\(escape(description))</desc>" }
        return out
    }

    static let close = "</svg>"

    /// A `<text>` element; `text` is escaped here.
    static func text(
        _ text: String, x: Double, y: Double, anchor: String = "start", baseline: String? = nil,
        size: Double? = nil, fill: String? = nil, weight: String? = nil, extra: String = ""
    ) -> String {
        var out = "<text x=\"\(n(x))\" y=\"\(n(y))\""
        if anchor != "start" { out += " text-anchor=\"\(anchor)\"" }
        if let baseline { out += " dominant-baseline=\"\(baseline)\"" }
        if let size { out += " font-size=\"\(n(size))\"" }
        if let fill { out += " fill=\"\(fill)\"" }
        if let weight { out += " font-weight=\"\(weight)\"" }
        if !extra.isEmpty { out += " " + extra }
        return out + ">\(escape(text))</text>"
    }

    /// A rough width of `text` in a sans-serif font of `size`, for margins and layout:
    /// SVG cannot measure text on the server.
    static func estimatedWidth(_ text: String, size: Double = tickFontSize) -> Double {
        var em = 0.0
        for c in text.unicodeScalars {
            switch c {
            case "i", "l", "j", "I", "'", ".", ",", ":", ";", "|", "!", " ", "\u{202F}", "(", ")": em += 0.3
            case "m", "w", "M", "W", "%", "@": em += 0.85
            case "A"..."Z", "°", "\u{2212}", "+", "=": em += 0.66
            default: em += 0.56
            }
        }
        return em * size
    }

    /// The message drawn in place of a chart when there is nothing to draw.
    static func emptyState(width: Double, height: Double, message: String = "no data") -> String {
        "<rect class=\"empty\" x=\"0.5\" y=\"0.5\" width=\"\(n(width - 1))\" height=\"\(n(height - 1))\" fill=\"#f9fafb\" stroke=\"\(gridColor)\" rx=\"4\"/>"
            + text(message, x: width / 2, y: height / 2, anchor: "middle", baseline: "middle",
                   size: 13, fill: mutedTextColor, extra: "class=\"empty-message\"")
    }
}
