/// A continuous colour scale: colours at a few values (stops), linearly interpolated between
/// them in sRGB, clamped outside the first and last stop. A missing or non-finite value gets
/// `noDataColor`.
public struct ColorScale: Sendable, Hashable {
    public struct Stop: Sendable, Hashable {
        public var value: Double
        public var color: ChartColor

        public init(_ value: Double, _ color: ChartColor) {
            self.value = value
            self.color = color
        }
    }

    /// Sorted by value; never empty.
    public let stops: [Stop]
    public var noDataColor: ChartColor

    /// `stops` in any order; an empty list gives a scale that is `noDataColor` everywhere.
    public init(stops: [Stop], noDataColor: ChartColor = .noData) {
        let sorted = stops.filter { $0.value.isFinite }.sorted { $0.value < $1.value }
        self.stops = sorted.isEmpty ? [Stop(0, noDataColor)] : sorted
        self.noDataColor = noDataColor
    }

    /// From the value of the first stop to the value of the last.
    public var domain: ClosedRange<Double> { stops[0].value...stops[stops.count - 1].value }

    public func color(for value: Double?) -> ChartColor {
        guard let value, value.isFinite else { return noDataColor }
        if value <= stops[0].value { return stops[0].color }
        for (lower, upper) in zip(stops, stops.dropFirst()) where value <= upper.value {
            let span = upper.value - lower.value
            return span > 0 ? lower.color.mixed(with: upper.color, fraction: (value - lower.value) / span) : upper.color
        }
        return stops[stops.count - 1].color
    }

    /// Air temperature in °C: deep blue at −30 °C and below, light at 0 °C, yellow and orange
    /// through the teens and twenties, dark red at 40 °C and above (after ColorBrewer RdYlBu).
    public static let temperature = ColorScale(stops: [
        Stop(-30, hex("#313695")), Stop(-20, hex("#4575b4")), Stop(-10, hex("#74add1")),
        Stop(0, hex("#e0f3f8")), Stop(10, hex("#fee090")), Stop(20, hex("#fdae61")),
        Stop(30, hex("#d73027")), Stop(40, hex("#a50026")),
    ])

    /// A correlation coefficient, −1…1: blue at −1, white at 0, red at +1 (after ColorBrewer RdBu).
    public static let diverging = ColorScale(stops: [
        Stop(-1, hex("#2166ac")), Stop(-0.5, hex("#92c5de")), Stop(0, hex("#ffffff")),
        Stop(0.5, hex("#f4a582")), Stop(1, hex("#b2182b")),
    ])

    private static func hex(_ text: String) -> ChartColor {
        ChartColor(hex: text) ?? .noData
    }
}
