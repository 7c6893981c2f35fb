import Foundation

/// The MongoDB-wire server of the tests (METEO_TEST_MONGO), and `scripts/services/mongo`,
/// which the tests that stop and restart it use.
public enum MongoServer {
    /// The repository, for its scripts.
    public static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// True when METEO_TEST_MONGO is the server `scripts/services/mongo` runs from this
    /// checkout (the tests may stop and start it).
    public static var managedByScript: Bool {
        guard uri != nil else { return false }
        let port = ProcessInfo.processInfo.environment["METEO_MONGO_PORT"] ?? "27117"
        let services = ProcessInfo.processInfo.environment["METEO_SERVICES_DIR"] ?? repository.appendingPathComponent(".build/services").path
        return uri!.contains("127.0.0.1:\(port)") && FileManager.default.fileExists(atPath: services + "/mongo/pid")
    }

    /// Runs `scripts/services/mongo <command>` and waits for it.
    public static func script(_ command: String) throws {
        let p = Process()
        p.executableURL = repository.appendingPathComponent("scripts/services/mongo")
        p.arguments = [command]
        p.currentDirectoryURL = repository
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            throw ScriptFailed(description: "scripts/services/mongo \(command) exited with status \(p.terminationStatus)")
        }
    }

    /// The server the tests use, from METEO_TEST_MONGO.
    public static var uri: String? {
        guard let v = ProcessInfo.processInfo.environment["METEO_TEST_MONGO"], !v.isEmpty else { return nil }
        return v
    }
}

/// A service script that exited with an error.
public struct ScriptFailed: Error, CustomStringConvertible {
    public var description: String
}
