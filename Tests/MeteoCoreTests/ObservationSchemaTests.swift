import Foundation
@testable import MeteoCore
import Testing

/// An observation with every field set, each to a value of its own.
func fullObservation() -> Observation {
    Observation(placeID: "2973783", name: "Strasbourg", country: "FR", region: "EuropeW", latitude: 48.58, longitude: 7.75,
                observedAt: Date(timeIntervalSince1970: 1_764_387_600), source: "synthetic",
                temperatureC: 1.5, feelsLikeC: -0.5, humidityPct: 81, pressureHPa: 1012.5, windSpeedMS: 3.5,
                windDirectionDeg: 220, windGustMS: 7.5, cloudCoverPct: 75, visibilityM: 9000, rainMM: 0.25,
                snowMM: 0.125, weatherCode: 61)
}

/// The repository's root, to read the files that cannot import MeteoCore (Python, the Spark
/// engine's DDL, built only with its trait).
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// The quoted names in a piece of source text, e.g. a Python list.
func quotedNames(_ text: Substring) -> [String] {
    text.split(separator: "\"", omittingEmptySubsequences: false).enumerated().filter { $0.offset % 2 == 1 }.map { String($0.element) }
}

/// The text of `file` from the line that starts with `start` to the first line after it that
/// contains `end`.
func block(_ file: String, from start: String, to end: String) throws -> Substring {
    let text = try String(contentsOf: repositoryRoot.appendingPathComponent(file), encoding: .utf8)
    let from = try #require(text.range(of: start), "\(file): no \(start)")
    let rest = text[from.upperBound...]
    let to = try #require(rest.range(of: end), "\(file): no \(end) after \(start)")
    return rest[..<to.lowerBound]
}

/// `name TYPE, …` Spark DDL, as (name, type) pairs.
func ddlColumns(_ ddl: Substring) -> [(String, String)] {
    String(ddl).split(separator: ",").map { (column: Substring) -> (String, String) in
        let separators: Set<Character> = [" ", "\n", "\\", "\""]
        let words: [String] = String(column).split(whereSeparator: { (c: Character) in separators.contains(c) }).map { String($0) }
        return (words.first ?? "", words.dropFirst().first ?? "")
    }
}

@Suite("The observation schema, described once, and everything that agrees with it")
struct ObservationSchemaTests {
    @Test func theCodingKeysAreTheSchemaInOrder() {
        #expect(Observation.CodingKeys.allCases.map(\.rawValue) == ObservationSchema.names)
        #expect(Set(ObservationSchema.names).count == ObservationSchema.fields.count)
    }

    /// The stored properties, in declaration order, have the schema's types and nullability.
    @Test func theStructHasTheSchemasTypesAndNullability() throws {
        let children = Array(Mirror(reflecting: fullObservation()).children)
        #expect(children.count == ObservationSchema.fields.count)
        for (child, field) in zip(children, ObservationSchema.fields) {
            let isOptional = Mirror(reflecting: child.value).displayStyle == .optional
            #expect(isOptional == field.nullable, "\(field.name)")
            let unwrapped = isOptional ? Mirror(reflecting: child.value).children.first?.value : child.value
            switch field.kind {
            case .text: #expect(unwrapped is String, "\(field.name)")
            case .real: #expect(unwrapped is Double, "\(field.name)")
            case .integer: #expect(unwrapped is Int, "\(field.name)")
            case .time: #expect(unwrapped is Date, "\(field.name)")
            }
        }
    }

    @Test func theEventCodecWritesAndReadsEveryFieldAndNoOther() throws {
        let o = fullObservation()
        let bytes = EventCodec.encode(o)
        guard case .object(let json) = try JSONValue.parse(bytes) else { Issue.record("not an object"); return }
        #expect(Set(json.keys) == Set(["v"] + ObservationSchema.names))
        for field in ObservationSchema.fields {
            switch (field.kind, json[field.name]) {
            case (.text, .string?), (.time, .string?), (.real, .number?), (.integer, .number?): break
            default: Issue.record("\(field.name): \(String(describing: json[field.name])) is not a \(field.kind)")
            }
        }
        #expect(try EventCodec.decode(bytes) == o)
        #expect(EventCodec.fastDecode(bytes) == o)
        // The nullable fields are null, not 0, when absent, and the rest are required.
        var bare = o
        bare.region = nil
        bare.temperatureC = nil; bare.feelsLikeC = nil; bare.humidityPct = nil; bare.pressureHPa = nil
        bare.windSpeedMS = nil; bare.windDirectionDeg = nil; bare.windGustMS = nil; bare.cloudCoverPct = nil
        bare.visibilityM = nil; bare.rainMM = nil; bare.snowMM = nil; bare.weatherCode = nil
        guard case .object(let nulls) = try JSONValue.parse(EventCodec.encode(bare)) else { return }
        for field in ObservationSchema.fields {
            #expect((nulls[field.name] == .null) == field.nullable, "\(field.name)")
        }
    }

    /// The Spark engine's lake DDL and the pyspark reference's: every field once, with its type.
    @Test(arguments: [("Sources/MeteoSpark/SparkEngine.swift", "static let lakeSchema = \"\"\"", "\"\"\""),
                      ("scripts/spark_reference.py", "SCHEMA = (", ")\n")])
    func aSparkSchemaHasEveryField(file: String, start: String, end: String) throws {
        let columns = ddlColumns(try block(file, from: start, to: end))
        #expect(columns.first.map { $0.0 } == "v")
        let fields = columns.dropFirst()
        #expect(Set(fields.map(\.0)) == Set(ObservationSchema.names), "\(file)")
        #expect(fields.count == ObservationSchema.fields.count, "\(file)")
        for (name, type) in fields {
            let kind = ObservationSchema.field(name)?.kind
            let expected = switch kind {
            case .real?: "DOUBLE"
            case .integer?: "INT"
            default: "STRING"
            }
            #expect(type == expected, "\(file): \(name) \(type)")
        }
    }

    /// The Python references list the fields they read: each is a field of the schema, of
    /// the same kind, and the variables they correlate are the frame's (MeteoAnalyticsTests
    /// checks the frame's against the schema).
    @Test func thePythonReferencesNameOnlySchemaFields() throws {
        let header = quotedNames(try block("scripts/analytics_reference.py", from: "HEADER = [", to: "]"))
        #expect(!header.isEmpty)
        #expect(Set(header).isSubset(of: ObservationSchema.names), "\(header)")
        // Every measurement it analyses as a float column but the direction and the code.
        let measured = ObservationSchema.measurements.filter { $0.kind == .real && $0.name != "wind_direction_deg" }.map(\.name)
        #expect(Set(measured).isSubset(of: header), "\(header)")
        let lists = [
            ("scripts/analytics_reference.py", "CORRELATION_VARIABLES = ["),
            ("scripts/analytics_reference.py", "WINDOW_VARIABLES = ["),
            ("scripts/spark_reference.py", "VARIABLES = ["),
            ("Benchmarks/Analytics/peers.py", "VARS = ["),
        ]
        for (file, start) in lists {
            let names = quotedNames(try block(file, from: start, to: "]"))
            #expect(!names.isEmpty, "\(file) \(start)")
            for name in names {
                #expect(ObservationSchema.field(name).map { $0.kind == .real && $0.nullable } == true, "\(file): \(name)")
            }
        }
    }

    @Test func theOpenAPISchemaOfAnObservationIsDerived() throws {
        let schema = try JSONValue.parse(ObservationSchema.jsonSchema)
        guard case .object(let properties)? = schema["properties"], case .array(let required)? = schema["required"] else {
            Issue.record("no properties or required")
            return
        }
        #expect(Set(properties.keys) == Set(["v"] + ObservationSchema.names))
        #expect(Set(required) == Set(ObservationSchema.fields.filter { !$0.nullable }.map { JSONValue.string($0.name) }))
        #expect(properties["temperature_c"]?["type"] == .array([.string("number"), .string("null")]))
        #expect(properties["observed_at"]?["format"] == .string("date-time"))
        #expect(properties["weather_code"]?["type"] == .array([.string("integer"), .string("null")]))
    }
}
