import Foundation

/// The Equal Earth projection (Bojan Šavrič, Tom Patterson and Bernhard Jenny, "The Equal
/// Earth map projection", International Journal of Geographical Information Science, 2018):
/// an equal-area pseudocylindrical projection whose parallels are straight lines.
///
///     θ = arcsin(√3/2 · sin φ)
///     x = 2√3 · λ · cos θ / (3 · (9 A₄ θ⁸ + 7 A₃ θ⁶ + 3 A₂ θ² + A₁))
///     y = A₄ θ⁹ + A₃ θ⁷ + A₂ θ³ + A₁ θ
///
/// with λ, φ the longitude and latitude in radians.
public enum EqualEarth {
    public static let a1 = 1.340264
    public static let a2 = -0.081106
    public static let a3 = 0.000893
    public static let a4 = 0.003796

    /// The projection of (`longitude`, `latitude`), in degrees, on a sphere of radius 1:
    /// x grows eastwards, y northwards. Longitudes outside −180…180 are wrapped (±180 stay at
    /// their edge of the map), latitudes are clamped to −90…90.
    public static func project(longitude: Double, latitude: Double) -> (x: Double, y: Double) {
        var lon = longitude
        if abs(lon) > 180 + 1e-9, lon.isFinite {
            lon = (lon + 180).truncatingRemainder(dividingBy: 360)
            lon = (lon < 0 ? lon + 360 : lon) - 180
        } else {
            // Decoded data carries float noise (180.00000000000006 is still the east edge).
            lon = min(180, max(-180, lon))
        }
        let lambda = lon * .pi / 180
        let phi = min(90, max(-90, latitude)) * .pi / 180
        let theta = asin(3.0.squareRoot() / 2 * sin(phi))
        let t2 = theta * theta, t6 = t2 * t2 * t2
        let x = 2 * 3.0.squareRoot() * lambda * cos(theta) / (3 * (9 * a4 * t6 * t2 + 7 * a3 * t6 + 3 * a2 * t2 + a1))
        let y = theta * (a1 + a2 * t2 + t6 * (a3 + a4 * t2))
        return (x, y)
    }

    /// The half-width of the map, the x of (180°, 0°): 2π/√3 / A₁ ≈ 2.7066297.
    public static let maxX = project(longitude: 180, latitude: 0).x
    /// The half-height of the map, the y of the North Pole: ≈ 1.3173627.
    public static let maxY = project(longitude: 0, latitude: 90).y
}
