/// The colours the dashboard shares, as `#rrggbb` text for SVG, HTML and JSON (the live feed
/// sends each marker's colour): temperature, correlation, and the series palette. The charts
/// use the same scales (`ColorScale.temperature`, `ColorScale.diverging`, `ChartColor.palette`),
/// so a marker updated live keeps the colour of the server-rendered map.
public enum ChartColors {
    /// The colour of a temperature in °C: deep blue at −30 °C, light at 0 °C, dark red at
    /// 40 °C and above; grey for nil.
    public static func temperature(_ celsius: Double?) -> String {
        ColorScale.temperature.color(for: celsius).hex
    }

    /// The colour of a correlation coefficient: blue at −1, white at 0, red at +1; grey for nil.
    public static func diverging(_ r: Double?) -> String {
        ColorScale.diverging.color(for: r).hex
    }

    /// The palette colour of the series at `index`, repeating after ten.
    public static func palette(_ index: Int) -> String {
        ChartColor.palette(index).hex
    }

    /// The grey of a missing value.
    public static let noData = ChartColor.noData.hex
}
