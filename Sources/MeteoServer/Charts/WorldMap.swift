import Foundation
import MeteoCore

/// The world map of the dashboard: land and country borders from a TopoJSON topology (the
/// bundled `world-110m.topo.json`, Natural Earth) in the Equal Earth projection, with one
/// circle per place coloured by its temperature, a colour legend, and an optional zoom on a
/// region.
///
/// Building a `WorldMap` decodes and projects the topology and writes the SVG paths once;
/// build it once at start-up and share it: `render(markers:focus:)` only adds the markers.
///
/// ```swift
/// let map = try WorldMap(topoJSON: bytes)
/// let svg = map.render(markers: latest.map {
///     WorldMap.Marker(placeID: $0.placeID, name: $0.name, latitude: $0.latitude,
///                     longitude: $0.longitude, temperatureC: $0.temperatureC)
/// }, focus: region?.box)
/// ```
///
/// Coordinates: the projected sphere is centred on (0, 0) with x to the east and y to the
/// south (SVG's direction), and `scale` units per radius of the unit sphere, so the map is
/// 2 × 2.7066 × `scale` wide.
public struct WorldMap: Sendable {
    /// A place on the map.
    public struct Marker: Sendable, Hashable {
        public var placeID: String
        public var name: String
        public var latitude: Double
        public var longitude: Double
        /// Sets the colour; nil draws the marker grey.
        public var temperatureC: Double?
        /// The tooltip; by default the name and temperature.
        public var tooltip: String

        public init(placeID: String, name: String, latitude: Double, longitude: Double,
                    temperatureC: Double?, tooltip: String? = nil) {
            self.placeID = placeID
            self.name = name
            self.latitude = latitude
            self.longitude = longitude
            self.temperatureC = temperatureC
            self.tooltip = tooltip ?? (name + ": " + (temperatureC.map { ChartFormat.fixed($0, decimals: 1) + " °C" } ?? "no temperature"))
        }
    }

    /// A rectangle in projected (SVG) coordinates.
    public struct Rect: Sendable, Hashable {
        public var minX: Double
        public var minY: Double
        public var maxX: Double
        public var maxY: Double

        public init(minX: Double, minY: Double, maxX: Double, maxY: Double) {
            self.minX = minX
            self.minY = minY
            self.maxX = maxX
            self.maxY = maxY
        }

        public var width: Double { maxX - minX }
        public var height: Double { maxY - minY }

        public func contains(x: Double, y: Double) -> Bool {
            (minX...maxX).contains(x) && (minY...maxY).contains(y)
        }

        /// The smallest rectangle holding `points`; nil when there are none.
        static func bounding(_ points: some Sequence<(x: Double, y: Double)>) -> Rect? {
            var r: Rect?
            for p in points {
                if let b = r {
                    r = Rect(minX: min(b.minX, p.x), minY: min(b.minY, p.y), maxX: max(b.maxX, p.x), maxY: max(b.maxY, p.y))
                } else {
                    r = Rect(minX: p.x, minY: p.y, maxX: p.x, maxY: p.y)
                }
            }
            return r
        }
    }

    /// A country (a TopoJSON "subunit") and where it is on the map.
    public struct Subunit: Sendable, Hashable {
        /// The ISO 3166-1 numeric code as in the file (`250` for France), if any.
        public var id: String?
        public var name: String
        /// The bounds of all its polygons.
        public var bounds: Rect
        /// The bounds of each polygon's outer ring, largest polygon first (metropolitan France
        /// before Corsica and French Guiana).
        public var partBounds: [Rect]
    }

    /// Projected units per radius of the unit sphere.
    public let scale: Double
    /// The countries, as in the file.
    public let subunits: [Subunit]
    /// The whole map with a small margin: the view when there is no focus.
    public let fullView: Rect
    /// The SVG path data of the land (even-odd fill), the borders between countries, the
    /// outline of the sphere, and a 30° graticule.
    public let landPath: String
    public let borderPath: String
    let spherePath: String
    let graticulePath: String

    /// The width, in CSS pixels, that the SVG asks for; it scales down with its container.
    public static let displayWidth = 960.0
    /// The height of the legend band under the map, in screen units at full view.
    static let legendBand = 46.0

    /// Decodes a TopoJSON topology with the objects `land` and `subunits`, and projects it.
    public init(topoJSON: [UInt8], scale: Double = 150) throws(MeteoError) {
        let topology = try TopoJSON(bytes: topoJSON)
        self.scale = scale
        let project = { (p: TopoJSON.Position) -> (x: Double, y: Double) in
            let u = EqualEarth.project(longitude: p.longitude, latitude: p.latitude)
            return (u.x * scale, -u.y * scale)
        }

        // Land: every ring of every polygon, closed.
        var land = PathWriter()
        for geometry in try topology.geometries(of: "land") {
            for polygon in geometry.polygons {
                for ring in polygon {
                    let points = Self.closingPoles(topology.ring(ring)).map(project)
                    land.polygon(points)
                }
            }
        }
        self.landPath = land.d

        // Countries, and the arcs that two of them share: the borders.
        let countries = try topology.geometries(of: "subunits")
        var users = [Int: Int]()
        var shared = Set<Int>()
        var subunits: [Subunit] = []
        for (g, geometry) in countries.enumerated() {
            var parts: [Rect] = []
            for polygon in geometry.polygons {
                for ring in polygon {
                    for index in ring {
                        let arc = index >= 0 ? index : ~index
                        if let other = users[arc], other != g { shared.insert(arc) } else { users[arc] = g }
                    }
                }
                if let outer = polygon.first, let box = Rect.bounding(topology.ring(outer).map(project)) {
                    parts.append(box)
                }
            }
            parts.sort { $0.width * $0.height > $1.width * $1.height }
            guard let first = parts.first else { continue }
            let bounds = parts.dropFirst().reduce(first) {
                Rect(minX: min($0.minX, $1.minX), minY: min($0.minY, $1.minY), maxX: max($0.maxX, $1.maxX), maxY: max($0.maxY, $1.maxY))
            }
            subunits.append(Subunit(id: geometry.id, name: geometry.name ?? geometry.id ?? "", bounds: bounds, partBounds: parts))
        }
        var borders = PathWriter()
        for arc in shared.sorted() { borders.line(topology.arcs[arc].map(project)) }
        self.borderPath = borders.d
        self.subunits = subunits

        // The outline of the sphere: the meridians ±180°, pole to pole.
        var sphere = PathWriter()
        let east = stride(from: -90.0, through: 90, by: 2).map { project(.init(longitude: 180, latitude: $0)) }
        let west = stride(from: 90.0, through: -90, by: -2).map { project(.init(longitude: -180, latitude: $0)) }
        sphere.polygon(east + west)
        self.spherePath = sphere.d

        var graticule = PathWriter()
        for lon in stride(from: -150.0, through: 150, by: 30) {
            graticule.line(stride(from: -90.0, through: 90, by: 3).map { project(.init(longitude: lon, latitude: $0)) })
        }
        for lat in stride(from: -60.0, through: 60, by: 30) {
            graticule.line([project(.init(longitude: -180, latitude: lat)), project(.init(longitude: 180, latitude: lat))])
        }
        self.graticulePath = graticule.d

        let margin = 6.0
        self.fullView = Rect(minX: -EqualEarth.maxX * scale - margin, minY: -EqualEarth.maxY * scale - margin,
                             maxX: EqualEarth.maxX * scale + margin, maxY: EqualEarth.maxY * scale + margin)
    }

    /// The projected (SVG) position of a place: (0, 0) for (0°, 0°), x = 2.7066 × `scale` for (180°, 0°).
    public func project(longitude: Double, latitude: Double) -> (x: Double, y: Double) {
        let u = EqualEarth.project(longitude: longitude, latitude: latitude)
        return (u.x * scale, -u.y * scale)
    }

    /// The country named `name`, as in the file (`France`, `Russian Federation`).
    public func subunit(named name: String) -> Subunit? {
        subunits.first { $0.name == name }
    }

    /// The part of the map shown for `focus`: the projected box with a margin, widened or
    /// heightened to the whole map's proportions, moved inside the map when it fits, and never
    /// narrower than 1/12 of the map (30° of longitude at the equator): the 1:110m outlines
    /// are too coarse to zoom further. Nil focus gives `fullView`.
    public func view(focus: BoundingBox?) -> Rect {
        guard let focus else { return fullView }
        var samples: [(x: Double, y: Double)] = []
        for i in 0...8 {
            for j in 0...8 {
                let lon = focus.lonMin + (focus.lonMax - focus.lonMin) * Double(i) / 8
                let lat = focus.latMin + (focus.latMax - focus.latMin) * Double(j) / 8
                samples.append(project(longitude: lon, latitude: lat))
            }
        }
        guard var box = Rect.bounding(samples) else { return fullView }
        let aspect = fullView.width / fullView.height
        let pad = max(box.width, box.height) * 0.08 + 4
        var w = max(box.width + 2 * pad, fullView.width / 12), h = box.height + 2 * pad
        if w / h < aspect { w = h * aspect } else { h = w / aspect }
        if w >= fullView.width || h >= fullView.height { return fullView }
        var cx = (box.minX + box.maxX) / 2, cy = (box.minY + box.maxY) / 2
        cx = min(max(cx, fullView.minX + w / 2), fullView.maxX - w / 2)
        cy = min(max(cy, fullView.minY + h / 2), fullView.maxY - h / 2)
        box = Rect(minX: cx - w / 2, minY: cy - h / 2, maxX: cx + w / 2, maxY: cy + h / 2)
        return box
    }

    /// The map as an SVG element: land, borders, one `<circle class="marker" data-place="…">`
    /// per marker (markers with non-finite coordinates are left out) with its tooltip, and the
    /// temperature legend under the map. With `focus`, the view is zoomed to that region and
    /// markers, lines and the legend keep their size on screen.
    public func render(markers: [Marker], focus: BoundingBox? = nil, title: String = "Latest temperature of each place") -> String {
        let visible = view(focus: focus)
        // Projected units per screen unit, relative to the full view.
        let k = visible.width / fullView.width
        let band = Self.legendBand * k
        let height = visible.height + band
        var out = SVG.open(kind: "map", minX: visible.minX, minY: visible.minY, width: visible.width, height: height,
                           displayWidth: Self.displayWidth, displayHeight: (Self.displayWidth * height / visible.width).rounded(),
                           title: title, description: "\(markers.count) places on a world map in the Equal Earth projection, coloured by temperature")
        // Line widths are given in map units scaled by k, so that they keep their width on
        // screen at any zoom (the same as `vector-effect: non-scaling-stroke`, in every renderer).
        func width(_ screen: Double) -> String { Self.fine(screen * k) }
        out += "<path class=\"sphere\" d=\"\(spherePath)\" fill=\"#eef4f9\" stroke=\"#c5d3e0\" stroke-width=\"\(width(1))\"/>"
        out += "<path class=\"graticule\" d=\"\(graticulePath)\" fill=\"none\" stroke=\"#dae5ef\" stroke-width=\"\(width(0.6))\"/>"
        out += "<path class=\"land\" d=\"\(landPath)\" fill=\"#e6e4dd\" fill-rule=\"evenodd\" stroke=\"#b8b4a8\" stroke-width=\"\(width(0.6))\" stroke-linejoin=\"round\"/>"
        out += "<path class=\"borders\" d=\"\(borderPath)\" fill=\"none\" stroke=\"#ffffff\" stroke-width=\"\(width(0.8))\" stroke-linejoin=\"round\"/>"

        // Markers keep about 3 px on screen, a little more when zoomed in; grey ones go below.
        let screenRadius = min(4.5, max(2.6, 2.6 * pow(k, -0.2)))
        let r = SVG.n(screenRadius * k)
        out += "<g class=\"markers\" stroke=\"#1f2937\" stroke-opacity=\"0.55\" stroke-width=\"\(width(0.5))\">"
        for marker in markers.filter({ $0.temperatureC == nil }) + markers.filter({ $0.temperatureC != nil }) {
            guard marker.latitude.isFinite, marker.longitude.isFinite else { continue }
            let p = project(longitude: marker.longitude, latitude: marker.latitude)
            let fill = ColorScale.temperature.color(for: marker.temperatureC).hex
            out += "<circle class=\"marker\" data-place=\"\(SVG.escape(marker.placeID))\" cx=\"\(Self.fine(p.x))\" cy=\"\(Self.fine(p.y))\" r=\"\(r)\" fill=\"\(fill)\"><title>\(SVG.escape(marker.tooltip))</title></circle>"
        }
        out += "</g>"

        // The legend band, in screen units scaled by k.
        out += "<rect class=\"legend-band\" x=\"\(SVG.n(visible.minX))\" y=\"\(Self.fine(visible.maxY))\" width=\"\(SVG.n(visible.width))\" height=\"\(Self.fine(band))\" fill=\"#ffffff\"/>"
        out += "<g transform=\"translate(\(Self.fine(visible.minX + 16 * k)),\(Self.fine(visible.maxY + 3 * k))) scale(\(ChartFormat.significant(k, digits: 4)))\">"
        out += ColorLegend(scale: .temperature, title: "Temperature (°C)", width: 220, noDataLabel: "no data").render(x: 0, y: 0)
        out += SVG.text("Natural Earth · Equal Earth projection", x: visible.width / k - 24, y: Self.legendBand - 8,
                        anchor: "end", size: 9, fill: SVG.mutedTextColor, extra: "class=\"attribution\"")
        out += "</g>"
        return out + SVG.close
    }

    /// Two decimals: positions of markers and the legend, which must stay exact at high zoom.
    static func fine(_ value: Double) -> String { ChartFormat.coordinate(value, decimals: 2) }

    /// A ring that crosses the antimeridian around a pole (Antarctica's) goes along the edge of
    /// the map to the pole and back, so that its fill covers the polar cap.
    static func closingPoles(_ ring: [TopoJSON.Position]) -> [TopoJSON.Position] {
        guard ring.count > 1 else { return ring }
        var out: [TopoJSON.Position] = [ring[0]]
        out.reserveCapacity(ring.count + 4)
        for (a, b) in zip(ring, ring.dropFirst()) {
            if abs(b.longitude - a.longitude) > 180 {
                let pole = (a.latitude + b.latitude) / 2 < 0 ? -90.0 : 90.0
                let side = a.longitude > 0 ? 180.0 : -180.0
                out.append(.init(longitude: side, latitude: pole))
                out.append(.init(longitude: -side, latitude: pole))
            }
            out.append(b)
        }
        return out
    }
}
