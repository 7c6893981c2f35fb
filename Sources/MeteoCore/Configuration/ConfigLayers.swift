import Foundation

/// One configuration setting, known by three names: a command-line flag (`--interval`), an
/// environment variable (`METEO_INTERVAL`) and a config-file key (`interval`).
public struct ConfigKey: Sendable, Hashable {
    public var name: String
    public var summary: String

    public init(_ name: String, _ summary: String) {
        self.name = name
        self.summary = summary
    }

    public var flag: String { "--\(name)" }
    public var environmentVariable: String { "METEO_" + name.uppercased().replacingOccurrences(of: "-", with: "_") }
    public var fileKey: String { name.replacingOccurrences(of: "-", with: "_") }
}

/// Where a configuration value came from, for error messages.
public enum ConfigOrigin: Sendable, Hashable, CustomStringConvertible {
    case flag(String)
    case environment(String)
    case file(String, key: String)
    case defaultValue

    public var description: String {
        switch self {
        case .flag(let f): "flag \(f)"
        case .environment(let v): "environment variable \(v)"
        case .file(let path, let key): "key '\(key)' of \(path)"
        case .defaultValue: "default"
        }
    }
}

/// Layered configuration: command-line flags win over `METEO_*` environment variables, which
/// win over the config file (JSON, given by `--config` or `METEO_CONFIG`), which wins over defaults.
public struct ConfigLayers: Sendable {
    public var flags: [String: String]
    public var environment: [String: String]
    public var file: [String: JSONValue]
    public var filePath: String?

    public init(flags: [String: String] = [:], environment: [String: String] = [:],
                file: [String: JSONValue] = [:], filePath: String? = nil) {
        self.flags = flags
        self.environment = environment
        self.file = file
        self.filePath = filePath
    }

    /// Builds the layers, reading the config file named by `--config` or `METEO_CONFIG` if any.
    public static func load(flags: [String: String], environment: [String: String]) throws(MeteoError) -> ConfigLayers {
        var layers = ConfigLayers(flags: flags, environment: environment)
        let path = flags["config"] ?? environment["METEO_CONFIG"]
        if let path, !path.isEmpty {
            let data: Data
            do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
                throw MeteoError(code: .invalidConfiguration, "cannot read the config file \(path): check the path given by --config or METEO_CONFIG")
            }
            layers.file = try parseFile(Array(data), path: path)
            layers.filePath = path
        }
        return layers
    }

    /// The settings of a config file's bytes: a JSON object of known keys, or an error naming
    /// what is wrong in `path`.
    public static func parseFile(_ bytes: [UInt8], path: String) throws(MeteoError) -> [String: JSONValue] {
        let json: JSONValue
        do { json = try JSONValue.parse(bytes) } catch {
            throw MeteoError(code: .invalidConfiguration, "the config file \(path) is not valid JSON: \(error.message)")
        }
        guard case .object(let object) = json else {
            throw MeteoError(code: .invalidConfiguration, "the config file \(path) must hold a JSON object such as {\"interval\": 600}")
        }
        let known = Set(MeteoConfiguration.keys.map(\.fileKey))
        if let unknown = object.keys.sorted().first(where: { !known.contains($0) }) {
            throw MeteoError(code: .invalidConfiguration,
                             "unknown key '\(unknown)' in the config file \(path); known keys: \(known.sorted().joined(separator: ", "))")
        }
        return object
    }

    /// The raw text of a setting and where it came from, or nil when no layer sets it.
    public func value(_ key: ConfigKey) -> (String, ConfigOrigin)? {
        if let v = flags[key.name] { return (v, .flag(key.flag)) }
        if let v = environment[key.environmentVariable] { return (v, .environment(key.environmentVariable)) }
        if let v = file[key.fileKey] {
            let origin = ConfigOrigin.file(filePath ?? "config file", key: key.fileKey)
            switch v {
            case .string(let s): return (s, origin)
            case .number(let d): return (Self.text(d), origin)
            case .bool(let b): return (b ? "true" : "false", origin)
            case .array(let a):
                let parts = a.map { e -> String in
                    switch e {
                    case .string(let s): return s
                    case .number(let d): return Self.text(d)
                    default: return ""
                    }
                }
                return (parts.joined(separator: ";"), origin)
            case .null, .object: return nil
            }
        }
        return nil
    }

    /// A JSON number as a setting's text: `600` for 600.0, `1.5` as is, and a whole number
    /// beyond Int64 (1e300) in Swift's notation, which the setting's parser then refuses by name.
    static func text(_ d: Double) -> String {
        if d == d.rounded(), let whole = Int64(exactly: d) { return String(whole) }
        return String(d)
    }
}

extension String {
    func replacingOccurrences(of target: String, with replacement: String) -> String {
        split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}

/// Parses durations such as `600`, `90s`, `10m`, `1h`, `7d`, `250ms`, and compounds such as
/// `5h15m` or `1d12h` (what `meteo plan` proposes). A bare number is seconds.
public func parseDuration(_ text: String) -> Duration? {
    let t = Array(text.trimmingCharacters(in: .whitespaces).lowercased().utf8)
    guard !t.isEmpty else { return nil }
    let scales: [String: Double] = ["ms": 0.001, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "d": 86_400]
    var total = 0.0
    var i = 0
    var parts = 0
    while i < t.count {
        let start = i
        while i < t.count, (t[i] >= UInt8(ascii: "0") && t[i] <= UInt8(ascii: "9")) || t[i] == UInt8(ascii: ".") { i += 1 }
        guard i > start, let value = Double(String(decoding: t[start..<i], as: UTF8.self)), value.isFinite else { return nil }
        let unitStart = i
        while i < t.count, t[i] >= UInt8(ascii: "a"), t[i] <= UInt8(ascii: "z") { i += 1 }
        let unit = String(decoding: t[unitStart..<i], as: UTF8.self)
        // A bare number is seconds, and only alone: "5h15" is not a duration.
        guard let scale = unit.isEmpty ? (parts == 0 && i == t.count ? 1 : nil) : scales[unit] else { return nil }
        total += value * scale
        parts += 1
    }
    guard total.isFinite, total >= 0, total < 1e12 else { return nil }
    return .milliseconds(Int64((total * 1000).rounded()))
}

extension Duration {
    /// The duration in seconds, as a Double.
    public var seconds: Double {
        let (s, atto) = components
        return Double(s) + Double(atto) / 1e18
    }
}
