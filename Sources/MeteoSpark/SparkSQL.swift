import Foundation
import MeteoCore

/// A value bound to a named parameter (`:name`) of a Spark SQL statement: sent as a typed
/// literal beside the text, so a value never needs quoting (a place named `'; DROP` stays a
/// string).
public enum SparkParameter: Sendable, Hashable {
    case string(String)
    case long(Int64)
    case double(Double)
}

/// Runs Spark SQL in one Spark session. The Spark Connect client implements it; the engine
/// only needs this.
public protocol SparkSQLSession: Sendable {
    /// Runs a query and returns its rows.
    func query(_ sql: String, _ parameters: [String: SparkParameter]) async throws -> SparkTable
    /// Runs a statement for its effect (DDL, `CACHE TABLE`), eagerly.
    func execute(_ sql: String, _ parameters: [String: SparkParameter]) async throws
    /// Sets Spark SQL settings of the session (Spark Connect's `Config` call).
    func set(_ settings: [String: String]) async throws
    /// The server's Spark version (Spark Connect's `AnalyzePlan` call).
    func sparkVersion() async throws -> String
}

/// Spark SQL text helpers.
public enum SparkSQLText {
    /// A string literal for places where Spark takes no parameter (a path in `OPTIONS`):
    /// Spark SQL literals treat the backslash as an escape, so both it and the quote are escaped.
    public static func literal(_ text: String) -> String {
        var out = "'"
        for c in text.unicodeScalars {
            switch c {
            case "\\": out += "\\\\"
            case "'": out += "\\'"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\0": out += "\\0"
            default: out.unicodeScalars.append(c)
            }
        }
        return out + "'"
    }

}
