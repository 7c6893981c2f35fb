import Foundation
import MeteoTestSupport
import Testing
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The dashboard in a real browser: `meteo serve` on a data dir built by the pipeline (with a
/// place whose name is HTML), and `scripts/browser_test.py` driving headless Chromium over
/// WebDriver (selenium, Debian's chromium and chromium-driver): every page renders with a clean
/// console, one map marker per place, the hostile name is text and runs nothing, and new
/// observations appended through `meteo ingest` + `meteo sink` reach the open pages without a
/// reload. Screenshots land in `.build/browser-artifacts/`. `scripts/test` installs all of it
/// and sets METEO_PYTHON; without it the suite is skipped.
@Suite("Dashboard in headless Chromium, over WebDriver", .serialized,
       .meteoBinary,
       .requires("needs /usr/bin/chromium, /usr/bin/chromedriver and METEO_PYTHON with selenium (scripts/test sets them up)") { BrowserTools.available })
struct BrowserTests {
    static let hostileName = "<img src=x onerror=alert(1)>"
    static let hostilePlaceID = "999999001"

    @Test func pagesRenderCleanlyUpdateLiveAndShowHostileNamesAsText() async throws {
        let dir = MeteoProcess.temporaryDataDir()
        defer { try? FileManager.default.removeItem(at: dir) }

        // Two ticks of the synthetic source through the embedded log into the store.
        let ingest = try await MeteoProcess.run(["ingest", "--source", "synthetic", "--ticks", "2", "--interval", "0", "--data-dir", dir.path])
        try #require(ingest.status == 0, "meteo ingest: \(ingest.stdout)\(ingest.stderr)")
        // A place named with HTML, as a replayed Meteo event.
        let replay = dir.appendingPathComponent("hostile.ndjson")
        try Data(Self.hostileEvent(observedAt: Date()).utf8).write(to: replay)
        let hostile = try await MeteoProcess.run(["ingest", "--source", "replay", "--replay-file", replay.path, "--once", "--data-dir", dir.path])
        try #require(hostile.status == 0, "meteo ingest --source replay: \(hostile.stdout)\(hostile.stderr)")
        let sink = try await MeteoProcess.run(["sink", "--until-idle", "--data-dir", dir.path])
        try #require(sink.status == 0, "meteo sink: \(sink.stdout)\(sink.stderr)")
        let summary = SinkSummary(sink.stdout)
        try #require(summary.stored == 2 * 1630 + 1, "every event stored: \(summary)")

        let server = try await ServerProcess.start(dataDir: dir)
        defer { server.stop() }

        let artifacts = BrowserTools.repositoryRoot.appendingPathComponent(".build/browser-artifacts")
        let result = try BrowserTools.runScript([
            "--url", server.url, "--data-dir", dir.path, "--meteo", MeteoProcess.binary.path, "--artifacts", artifacts.path,
            "--xss-name", Self.hostileName, "--xss-place-id", Self.hostilePlaceID,
        ], timeout: 600)
        if result.status == 0 { print(result.output, terminator: "") }
        #expect(result.status == 0, """
            scripts/browser_test.py exited \(result.status)\(result.timedOut ? " (killed after its time-out)" : ""); screenshots in \(artifacts.path)
            \(result.output)
            meteo serve said:
            \(server.log)
            """)
    }

    /// One Meteo event (`"v": 1`), as `meteo query --format json` prints an observation.
    static func hostileEvent(observedAt: Date) -> String {
        let minute = Date(timeIntervalSince1970: (observedAt.timeIntervalSince1970 / 60).rounded(.down) * 60)
        let time = ISO8601DateFormatter().string(from: minute)
        let name = hostileName.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
        return #"{"v":1,"place_id":"\#(hostilePlaceID)","name":"\#(name)","country":"FR","region":"EuropeW","latitude":48.1,"longitude":7.1,"#
            + #""observed_at":"\#(time)","source":"replay","temperature_c":5.5,"feels_like_c":3.1,"humidity_pct":80,"pressure_hpa":1010,"#
            + #""wind_speed_ms":3.2,"wind_direction_deg":200,"wind_gust_ms":5.5,"cloud_cover_pct":50,"visibility_m":10000,"#
            + #""rain_mm":0,"snow_mm":0,"weather_code":2}"# + "\n"
    }
}

/// Chromium, chromedriver and a Python with selenium, and the script that drives them.
enum BrowserTools {
    static let chromium = "/usr/bin/chromium"
    static let chromedriver = "/usr/bin/chromedriver"
    static let python: String? = ProcessInfo.processInfo.environment["METEO_PYTHON"].flatMap { $0.isEmpty ? nil : $0 }

    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static let available: Bool = {
        let fm = FileManager.default
        guard fm.isExecutableFile(atPath: chromium), fm.isExecutableFile(atPath: chromedriver), let python else { return false }
        return (try? run(python, ["-c", "import selenium"], timeout: 60).status) == 0
    }()

    struct Result {
        var status: Int32
        var output: String
        var timedOut: Bool
    }

    static func runScript(_ arguments: [String], timeout: TimeInterval) throws -> Result {
        try run(python ?? "python3", [repositoryRoot.appendingPathComponent("scripts/browser_test.py").path] + arguments, timeout: timeout)
    }

    /// Runs a program with its output and errors in one text; killed after `timeout` seconds.
    static func run(_ program: String, _ arguments: [String], timeout: TimeInterval) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [program] + arguments
        process.currentDirectoryURL = repositoryRoot
        var environment = ProcessInfo.processInfo.environment
        environment["PYTHONUNBUFFERED"] = "1"
        process.environment = environment
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let timedOut = Flag(), finished = Flag()
        let pid = process.processIdentifier
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout) {
            if !finished.value {
                timedOut.set()
                kill(pid, SIGKILL)
            }
        }
        // Read before waiting so that a full pipe never blocks the child.
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        finished.set()
        return Result(status: process.terminationStatus, output: String(decoding: data, as: UTF8.self), timedOut: timedOut.value)
    }

    final class Flag: @unchecked Sendable {
        private let lock = NSLock()
        private var raised = false
        func set() { lock.withLock { raised = true } }
        var value: Bool { lock.withLock { raised } }
    }
}

/// `meteo serve` in the background on a free port, its output in a file.
struct ServerProcess {
    let process: Process
    let url: String
    let logFile: URL

    var log: String { (try? String(contentsOf: logFile, encoding: .utf8)) ?? "" }

    static func start(dataDir: URL, _ extra: [String] = [], environment: [String: String] = [:]) async throws -> ServerProcess {
        var lastLog = ""
        // A port found free may be taken before the server binds it: then try another.
        for attempt in 1...3 {
            let port = try freePort()
            let logFile = dataDir.appendingPathComponent("serve-\(attempt).log")
            _ = FileManager.default.createFile(atPath: logFile.path, contents: nil)
            let handle = try FileHandle(forWritingTo: logFile)
            let process = Process()
            process.executableURL = MeteoProcess.binary
            process.arguments = ["serve", "--data-dir", dataDir.path, "--port", String(port)] + extra
            if !environment.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new } }
            process.standardOutput = handle
            process.standardError = handle
            try process.run()
            try? handle.close()
            let server = ServerProcess(process: process, url: "http://127.0.0.1:\(port)", logFile: logFile)
            if try await server.waitHealthy(timeout: 30) { return server }
            server.stop()
            lastLog = server.log
        }
        throw ServerFailure(message: "meteo serve did not answer /healthz: \(lastLog)")
    }

    func waitHealthy(timeout: TimeInterval) async throws -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        let healthz = URL(string: url + "/healthz")!
        while Date() < deadline {
            guard process.isRunning else { return false }
            if let (data, response) = try? await URLSession.shared.data(from: healthz),
               (response as? HTTPURLResponse)?.statusCode == 200, String(decoding: data, as: UTF8.self).contains("ok") {
                return true
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        return false
    }

    /// SIGTERM, then SIGKILL if it has not stopped within five seconds.
    func stop() {
        guard process.isRunning else { return }
        let pid = process.processIdentifier
        kill(pid, SIGTERM)
        let deadline = Date().addingTimeInterval(5)
        while process.isRunning && Date() < deadline { usleep(50_000) }
        if process.isRunning { kill(pid, SIGKILL) }
        process.waitUntilExit()
    }

    static func freePort() throws -> Int {
        #if canImport(Glibc)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw ServerFailure(message: "socket() failed: errno \(errno)") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        guard bound == 0 else { throw ServerFailure(message: "bind() failed: errno \(errno)") }
        let named = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        guard named == 0 else { throw ServerFailure(message: "getsockname() failed: errno \(errno)") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    struct ServerFailure: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }
}
