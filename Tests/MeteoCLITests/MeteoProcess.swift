import Foundation
import Testing

/// Runs the built `meteo` binary as a separate process, as a user would.
struct MeteoProcess {
    struct Result {
        var status: Int32
        var reason: Process.TerminationReason
        var stdout: String
        var stderr: String
    }

    /// The `meteo` executable next to the test bundle in the build folder.
    static let binary: URL = {
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("meteo")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return Bundle.main.bundleURL.appendingPathComponent("meteo")
    }()

    static var available: Bool { FileManager.default.isExecutableFile(atPath: binary.path) }

    /// Starts `meteo` with arguments; the caller waits or kills.
    static func start(_ arguments: [String], environment: [String: String] = [:]) throws -> (Process, Pipe, Pipe) {
        let p = Process()
        p.executableURL = binary
        p.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        p.environment = env
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        return (p, out, err)
    }

    /// Runs `meteo` to completion.
    static func run(_ arguments: [String], environment: [String: String] = [:]) throws -> Result {
        let (p, out, err) = try start(arguments, environment: environment)
        // Read before waiting so that a full pipe never blocks the child.
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Result(status: p.terminationStatus, reason: p.terminationReason,
                      stdout: String(decoding: outData, as: UTF8.self), stderr: String(decoding: errData, as: UTF8.self))
    }

    /// Runs `meteo` to completion on a thread of its own, off the cooperative pool, so that a
    /// server in the test process (the weather-API stub) keeps serving it meanwhile.
    static func runDetached(_ arguments: [String], environment: [String: String] = [:]) async throws -> Result {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(with: Swift.Result { try run(arguments, environment: environment) })
            }
        }
    }

    static func temporaryDataDir() -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("meteo-cli-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

/// The summary line a sink prints when it stops.
struct SinkSummary: CustomStringConvertible {
    var consumed = 0, stored = 0, new = 0, overwritten = 0

    init(_ log: String) {
        guard let line = log.split(separator: "\n").last(where: { $0.hasPrefix("consumed ") }) else { return }
        let numbers = line.split(whereSeparator: { !$0.isNumber && $0 != "," }).compactMap { Int($0.replacingOccurrences(of: ",", with: "")) }
        if numbers.count >= 4 { (consumed, stored, new, overwritten) = (numbers[0], numbers[1], numbers[2], numbers[3]) }
    }

    var description: String { "consumed \(consumed), stored \(stored), new \(new), overwritten \(overwritten)" }
}
