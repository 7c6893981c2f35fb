import MeteoCore

/// A decoded TopoJSON topology (https://github.com/topojson/topojson-specification): its arcs
/// as longitude/latitude points, and its objects, whose polygons refer to arcs by index.
///
/// Quantized topologies (with a `transform`) store each arc's first position absolutely and
/// every other as the difference from the one before; the decoder sums them, then applies
/// `scale` and `translate`. In a ring, arc index `i ≥ 0` means arc i, and `i < 0` means arc
/// `~i` (that is −i − 1) reversed.
struct TopoJSON {
    struct Position: Hashable {
        var longitude: Double
        var latitude: Double
    }

    /// A geometry's polygons: each is a list of rings (the first the outer one), each ring a
    /// list of arc indexes.
    struct Geometry {
        var id: String?
        var name: String?
        var polygons: [[[Int]]]
    }

    let arcs: [[Position]]
    let objects: [String: JSONValue]

    init(bytes: [UInt8]) throws(MeteoError) {
        let root = try JSONValue.parse(bytes)
        guard case .string("Topology")? = root["type"] else {
            throw Self.error("the document is not a TopoJSON Topology (its \"type\" is not \"Topology\")")
        }
        guard case .array(let arcValues)? = root["arcs"] else { throw Self.error("\"arcs\" is missing or not an array") }
        guard case .object(let objects)? = root["objects"] else { throw Self.error("\"objects\" is missing or not an object") }

        var scale = (1.0, 1.0), translate = (0.0, 0.0)
        let quantized = root["transform"] != nil
        if quantized {
            guard case .array(let s)? = root["transform"]?["scale"], case .array(let t)? = root["transform"]?["translate"],
                  s.count == 2, t.count == 2,
                  case .number(let sx) = s[0], case .number(let sy) = s[1],
                  case .number(let tx) = t[0], case .number(let ty) = t[1]
            else { throw Self.error("\"transform\" needs \"scale\" and \"translate\", two numbers each") }
            scale = (sx, sy)
            translate = (tx, ty)
        }

        var arcs: [[Position]] = []
        arcs.reserveCapacity(arcValues.count)
        for (index, arcValue) in arcValues.enumerated() {
            guard case .array(let positions) = arcValue else { throw Self.error("arc \(index) is not an array") }
            var arc: [Position] = []
            arc.reserveCapacity(positions.count)
            var x = 0.0, y = 0.0
            for position in positions {
                guard case .array(let coordinates) = position, coordinates.count >= 2,
                      case .number(let a) = coordinates[0], case .number(let b) = coordinates[1]
                else { throw Self.error("arc \(index) has a position that is not two numbers") }
                if quantized {
                    x += a
                    y += b
                    arc.append(Position(longitude: x * scale.0 + translate.0, latitude: y * scale.1 + translate.1))
                } else {
                    arc.append(Position(longitude: a, latitude: b))
                }
            }
            arcs.append(arc)
        }
        self.arcs = arcs
        self.objects = objects
    }

    /// The geometries of the object `name`: itself, or the members of a GeometryCollection.
    func geometries(of name: String) throws(MeteoError) -> [Geometry] {
        guard let object = objects[name] else { throw Self.error("the object \"\(name)\" is missing") }
        if case .string("GeometryCollection")? = object["type"] {
            guard case .array(let members)? = object["geometries"] else {
                throw Self.error("the GeometryCollection \"\(name)\" has no \"geometries\" array")
            }
            var out: [Geometry] = []
            for member in members { out.append(try geometry(member, in: name)) }
            return out
        }
        return [try geometry(object, in: name)]
    }

    private func geometry(_ value: JSONValue, in object: String) throws(MeteoError) -> Geometry {
        var id: String?
        switch value["id"] {
        case .number(let n)?: id = n == n.rounded() && abs(n) < 1e15 ? String(Int(n)) : String(n)
        case .string(let s)?: id = s
        default: id = nil
        }
        var name: String?
        if case .string(let s)? = value["properties"]?["name"] { name = s }

        func ring(_ value: JSONValue) throws(MeteoError) -> [Int] {
            guard case .array(let items) = value else { throw Self.error("a ring of \"\(object)\" is not an array") }
            var out: [Int] = []
            for item in items {
                guard case .number(let n) = item, n == n.rounded(),
                      let index = Int(exactly: n), (index >= 0 ? index : ~index) < arcs.count
                else { throw Self.error("a ring of \"\(object)\" refers to an arc that does not exist") }
                out.append(index)
            }
            return out
        }
        func polygon(_ value: JSONValue) throws(MeteoError) -> [[Int]] {
            guard case .array(let rings) = value else { throw Self.error("a polygon of \"\(object)\" is not an array") }
            var out: [[Int]] = []
            for r in rings { out.append(try ring(r)) }
            return out
        }

        var polygons: [[[Int]]] = []
        switch value["type"] {
        case .string("Polygon")?:
            guard let arcs = value["arcs"] else { throw Self.error("a Polygon of \"\(object)\" has no \"arcs\"") }
            polygons = [try polygon(arcs)]
        case .string("MultiPolygon")?:
            guard case .array(let items)? = value["arcs"] else { throw Self.error("a MultiPolygon of \"\(object)\" has no \"arcs\" array") }
            for item in items { polygons.append(try polygon(item)) }
        default:
            // Points, lines and null geometries have no area to draw.
            polygons = []
        }
        return Geometry(id: id, name: name, polygons: polygons)
    }

    /// The positions of arc `index`, reversed for a negative index.
    func arc(_ index: Int) -> [Position] {
        index >= 0 ? arcs[index] : arcs[~index].reversed()
    }

    /// A ring's positions: its arcs joined end to start (the shared position once).
    func ring(_ indexes: [Int]) -> [Position] {
        var out: [Position] = []
        for index in indexes {
            let points = arc(index)
            out.append(contentsOf: out.isEmpty ? points[...] : points.dropFirst())
        }
        return out
    }

    private static func error(_ what: String) -> MeteoError {
        MeteoError(code: .malformedPayload, "malformed TopoJSON: \(what)")
    }
}
