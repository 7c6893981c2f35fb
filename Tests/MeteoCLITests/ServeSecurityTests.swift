import Foundation
import MeteoTestSupport
import Testing
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `meteo serve` beyond 127.0.0.1: refused without a token or --insecure; with a token, a live
/// server answers only its holders, and oversized headers are refused by the HTTP parser.
@Suite("meteo serve: binding and the token, as a process", .meteoBinary)
struct ServeSecurityTests {
    @Test func anotherAddressNeedsATokenOrInsecure() async throws {
        let dir = MeteoProcess.temporaryDataDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let open = try await MeteoProcess.run(["serve", "--host", "0.0.0.0", "--data-dir", dir.path])
        open.expectRefused("--auth-token", "--insecure")
        let weak = try await MeteoProcess.run(["serve", "--host", "0.0.0.0", "--auth-token", "short", "--data-dir", dir.path])
        weak.expectRefused("at least 16")
        #expect(!weak.stderr.contains("short"), "the token is not echoed")
    }

    @Test func aLiveServerAnswersOnlyTheTokensHolders() async throws {
        let dir = MeteoProcess.temporaryDataDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let demo = try await MeteoProcess.run(["demo", "--ticks", "1", "--places", "20", "--no-serve", "--data-dir", dir.path])
        #expect(demo.status == 0, "\(demo.stderr)")
        let token = "live-test-token-0123456789"
        let server = try await ServerProcess.start(dataDir: dir, ["--host", "0.0.0.0"], environment: ["METEO_AUTH_TOKEN": token])
        defer { server.stop() }

        func status(_ path: String, _ headers: [String: String] = [:]) async throws -> Int {
            var request = URLRequest(url: URL(string: server.url + path)!)
            for (k, v) in headers { request.setValue(v, forHTTPHeaderField: k) }
            let (_, response) = try await URLSession.shared.data(for: request)
            return (response as? HTTPURLResponse)?.statusCode ?? 0
        }
        #expect(try await status("/api/latest") == 401)
        #expect(try await status("/api/latest", ["Authorization": "Bearer \(token)"]) == 200)
        #expect(try await status("/api/latest", ["Authorization": "Bearer wrong-\(token)"]) == 401)
        #expect(try await status("/healthz") == 200)
        // A 200 KB header: the HTTP parser refuses it (or drops the connection); never a 200.
        let huge = try? await status("/api/latest", ["Authorization": "Bearer \(token)", "X-Padding": String(repeating: "a", count: 200_000)])
        #expect(huge != 200, "got \(huge.map(String.init) ?? "no answer")")
        #expect(try await status("/healthz") == 200, "the server still answers after it")
        #expect(!server.log.contains(token), "the token is never logged")
    }
}
