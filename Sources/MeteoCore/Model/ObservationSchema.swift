/// The fields of an ``Observation`` described once: name, type, unit and whether it may be
/// absent. The event codecs, the SQLite columns, the OpenAPI schema and the fast decoder's
/// keys are derived from this table; the rest (BSON, the frame, the Spark and MongoDB engines,
/// the pages, the Python references) are checked against it by the tests
/// (`ObservationSchemaAgreementTests` and the suites of each module). A field added in one
/// place only fails them.
public enum ObservationSchema {
    /// One field of an observation.
    public struct Field: Sendable, Hashable {
        /// How a value is written: JSON string, number, integer, or an ISO 8601 time (SQLite:
        /// TEXT, REAL, INTEGER, INTEGER Unix seconds).
        public enum Kind: String, Sendable, Hashable {
            case text, real, integer, time
        }

        /// The name everywhere: JSON, BSON, SQL, the frame, the lake.
        public var name: String
        public var kind: Kind
        /// The unit of a measurement (`°C`, `%`, `hPa`, `m/s`, `°`, `m`, `mm`), nil for the rest.
        public var unit: String?
        /// Absent (`null`) when the source did not report it; never 0 in its place.
        public var nullable: Bool
        /// A weather measurement (the rest describe the place, the time and the source).
        public var isMeasurement: Bool { unit != nil || name == "weather_code" }

        public init(_ name: String, _ kind: Kind, unit: String? = nil, nullable: Bool = false) {
            self.name = name
            self.kind = kind
            self.unit = unit
            self.nullable = nullable
        }
    }

    /// Every field, in the order the event codec writes them (``Observation/CodingKeys``).
    public static let fields: [Field] = [
        Field("place_id", .text),
        Field("name", .text),
        Field("country", .text),
        Field("region", .text, nullable: true),
        Field("latitude", .real, unit: "°"),
        Field("longitude", .real, unit: "°"),
        Field("observed_at", .time),
        Field("source", .text),
        Field("temperature_c", .real, unit: "°C", nullable: true),
        Field("feels_like_c", .real, unit: "°C", nullable: true),
        Field("humidity_pct", .real, unit: "%", nullable: true),
        Field("pressure_hpa", .real, unit: "hPa", nullable: true),
        Field("wind_speed_ms", .real, unit: "m/s", nullable: true),
        Field("wind_direction_deg", .real, unit: "°", nullable: true),
        Field("wind_gust_ms", .real, unit: "m/s", nullable: true),
        Field("cloud_cover_pct", .real, unit: "%", nullable: true),
        Field("visibility_m", .real, unit: "m", nullable: true),
        Field("rain_mm", .real, unit: "mm", nullable: true),
        Field("snow_mm", .real, unit: "mm", nullable: true),
        Field("weather_code", .integer, nullable: true),
    ]

    /// The field names, in order.
    public static let names: [String] = fields.map(\.name)

    /// The field of a name.
    public static func field(_ name: String) -> Field? {
        fields.first { $0.name == name }
    }

    /// The nullable measurements (temperature to weather code): what a source may leave out.
    public static var measurements: [Field] { fields.filter { $0.nullable && $0.name != "region" } }

    /// The JSON Schema (OpenAPI 3.1) of an observation as the API writes it, with the event's
    /// version `v`.
    public static var jsonSchema: String {
        var w = JSONWriter()
        w.raw("{")
        w.key("type", first: true)
        w.string("object")
        w.key("required")
        w.raw("[")
        for (i, f) in fields.filter({ !$0.nullable }).enumerated() {
            if i > 0 { w.raw(",") }
            w.string(f.name)
        }
        w.raw("]")
        w.key("properties")
        w.raw("{")
        w.key("v", first: true)
        w.raw(#"{"type": "integer"}"#)
        for f in fields {
            w.key(f.name)
            let type: String
            switch f.kind {
            case .text, .time: type = "string"
            case .real: type = "number"
            case .integer: type = "integer"
            }
            w.raw("{")
            w.key("type", first: true)
            if f.nullable {
                w.raw("[")
                w.string(type)
                w.raw(#", "null"]"#)
            } else {
                w.string(type)
            }
            if f.kind == .time {
                w.key("format")
                w.string("date-time")
            }
            if let unit = f.unit {
                w.key("description")
                w.string(unit)
            }
            w.raw("}")
        }
        w.raw("}}")
        return String(decoding: w.bytes, as: UTF8.self)
    }
}
