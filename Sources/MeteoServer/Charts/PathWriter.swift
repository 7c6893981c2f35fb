/// Compact SVG path data in relative coordinates rounded to tenths: `M12.3 -4l1.2-0.5 3 2z`.
/// Positions are rounded first and differences taken between rounded positions, so the
/// rounding never accumulates; repeated positions are left out.
struct PathWriter {
    private(set) var d = ""
    private var x = 0, y = 0
    private var inLine = false

    private static func tenths(_ v: Double) -> Int { v.isFinite ? Int((v * 10).rounded()) : 0 }

    private mutating func number(_ tenths: Int) {
        if let last = d.utf8.last, last != UInt8(ascii: "M"), last != UInt8(ascii: "l"), tenths >= 0 { d += " " }
        d += ChartFormat.tenths(tenths)
    }

    mutating func move(_ p: (x: Double, y: Double)) {
        let px = Self.tenths(p.x), py = Self.tenths(p.y)
        d += "M"
        number(px)
        number(py)
        (x, y, inLine) = (px, py, false)
    }

    mutating func lineTo(_ p: (x: Double, y: Double)) {
        let px = Self.tenths(p.x), py = Self.tenths(p.y)
        guard px != x || py != y else { return }
        if !inLine {
            d += "l"
            inLine = true
        }
        number(px - x)
        number(py - y)
        (x, y) = (px, py)
    }

    /// An open polyline.
    mutating func line(_ points: [(x: Double, y: Double)]) {
        guard let first = points.first, points.count > 1 else { return }
        move(first)
        for p in points.dropFirst() { lineTo(p) }
    }

    /// A closed ring; a last point equal to the first is left to `z`.
    mutating func polygon(_ points: [(x: Double, y: Double)]) {
        guard let first = points.first, points.count > 2 else { return }
        move(first)
        let start = (x, y)
        var rest = points.dropFirst()
        if let last = rest.last, Self.tenths(last.x) == start.0, Self.tenths(last.y) == start.1 { rest = rest.dropLast() }
        for p in rest { lineTo(p) }
        d += "z"
        (x, y, inLine) = (start.0, start.1, false)
    }
}
