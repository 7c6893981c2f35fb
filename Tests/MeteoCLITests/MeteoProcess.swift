import Foundation
import MeteoTestSupport
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

    /// Runs `meteo` to completion, waiting on threads of its own: a test waiting on Swift's
    /// cooperative threads (two on a 2-core machine) would starve every other test running
    /// beside it, and any stub server this process runs for the child.
    static func run(_ arguments: [String], environment: [String: String] = [:]) async throws -> Result {
        try await offPool {
            let (p, out, err) = try start(arguments, environment: environment)
            return ChildOutput.collect(p, stdout: out, stderr: err)
        }
    }

    /// Runs `body` on a new thread and returns its result.
    static func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(with: Swift.Result { try body() })
            }
        }
    }

    static func temporaryDataDir() -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("meteo-cli-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

extension Trait where Self == Requirement {
    /// The built `meteo` binary, which the suites run as a process.
    static var meteoBinary: Self {
        .requires("the meteo binary is not built next to the tests (\(MeteoProcess.binary.path)): swift build builds it") { MeteoProcess.available }
    }
}

extension MeteoProcess.Result {
    /// Expects the documented refusal: a normal exit (not a signal: a trap or a segfault also
    /// exits non-zero) with `code` (1 for every error meteo reports, see `runReportingErrors`),
    /// exactly one `meteo: error:` line holding each of `fragments`, and, when `alone`, nothing
    /// else on stderr. Returns that line.
    @discardableResult
    func expectRefused(code: Int32 = 1, _ fragments: String..., alone: Bool = true,
                       sourceLocation: SourceLocation = #_sourceLocation) -> String {
        #expect(reason == .exit, "ended by signal \(status), not an exit: \(stderr)", sourceLocation: sourceLocation)
        #expect(status == code, "exit code \(status), expected \(code): \(stderr)", sourceLocation: sourceLocation)
        let lines = stderr.split(separator: "\n", omittingEmptySubsequences: false).dropLast(stderr.hasSuffix("\n") ? 1 : 0)
        let errors = lines.filter { $0.hasPrefix("meteo: error: ") }
        #expect(errors.count == 1, "\(errors.count) 'meteo: error:' lines: \(stderr)", sourceLocation: sourceLocation)
        if alone { #expect(lines.count == 1, "stderr holds more than the error line: \(stderr)", sourceLocation: sourceLocation) }
        let line = errors.first.map(String.init) ?? ""
        for fragment in fragments {
            #expect(line.contains(fragment), "'\(fragment)' is not in: \(stderr)", sourceLocation: sourceLocation)
        }
        return line
    }
}

enum Shell {
    /// Runs a program found on PATH (or at a path) with optional standard input, off the
    /// cooperative threads (see ``MeteoProcess/run(_:environment:)``).
    static func run(_ program: String, _ arguments: [String], input: String? = nil) async throws -> MeteoProcess.Result {
        try await MeteoProcess.offPool { try runBlocking(program, arguments, input: input) }
    }

    private static func runBlocking(_ program: String, _ arguments: [String], input: String?) throws -> MeteoProcess.Result {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = [program] + arguments
        let out = Pipe(), err = Pipe(), inp = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = inp
        try p.run()
        return ChildOutput.collect(p, stdout: out, stderr: err, input: (inp, Data((input ?? "").utf8)))
    }
}

/// Reads a child's standard output and error to their ends at the same time, each on a thread
/// of its own, then waits for it: a child blocked on a full pipe that nobody reads (stderr,
/// while the parent still waits for stdout to end) would never exit.
enum ChildOutput {
    static func collect(_ process: Process, stdout: Pipe, stderr: Pipe, input: (Pipe, Data)? = nil) -> MeteoProcess.Result {
        let done = DispatchGroup()
        let errData = Box()
        let errHandle = stderr.fileHandleForReading
        done.enter()
        Thread.detachNewThread {
            errData.set(errHandle.readDataToEndOfFile())
            done.leave()
        }
        if let (pipe, data) = input {
            let inHandle = pipe.fileHandleForWriting
            done.enter()
            Thread.detachNewThread {
                inHandle.write(data)
                try? inHandle.close()
                done.leave()
            }
        }
        let outData = stdout.fileHandleForReading.readDataToEndOfFile()
        done.wait()
        process.waitUntilExit()
        return .init(status: process.terminationStatus, reason: process.terminationReason,
                     stdout: String(decoding: outData, as: UTF8.self), stderr: String(decoding: errData.get(), as: UTF8.self))
    }

    /// The bytes one reader thread hands to the other.
    private final class Box: @unchecked Sendable {
        private let lock = NSLock()
        private var data = Data()
        func set(_ value: Data) { lock.withLock { data = value } }
        func get() -> Data { lock.withLock { data } }
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

/// A child process whose output goes to a file, so that a long run never blocks on a full pipe.
final class LoggedProcess: @unchecked Sendable {
    let process: Process
    let logURL: URL

    private init(process: Process, logURL: URL) {
        self.process = process
        self.logURL = logURL
    }

    static func start(_ executable: String, _ arguments: [String], environment: [String: String], log: URL) throws -> LoggedProcess {
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = arguments
        p.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        p.standardOutput = handle
        p.standardError = handle
        try p.run()
        return LoggedProcess(process: p, logURL: log)
    }

    var log: String { (try? String(contentsOf: logURL, encoding: .utf8)) ?? "" }

    func kill9() { kill(process.processIdentifier, SIGKILL) }
    func terminate() { kill(process.processIdentifier, SIGTERM) }

    /// The exit status, or minus the signal that killed it.
    func wait(timeout: Duration) async throws -> Int32 {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while process.isRunning {
            if clock.now > deadline {
                kill9()
                Issue.record("process still running after \(timeout); killed. Log:\n\(log.suffix(2000))")
                break
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        process.waitUntilExit()
        return process.terminationReason == .uncaughtSignal ? -process.terminationStatus : process.terminationStatus
    }
}

/// n with thousands separators, as meteo prints counts (1,630).
func formatted(_ n: Int) -> String {
    let s = String(n)
    var out = ""
    for (i, c) in s.enumerated() {
        if i > 0 && (s.count - i) % 3 == 0 { out.append(",") }
        out.append(c)
    }
    return out
}
