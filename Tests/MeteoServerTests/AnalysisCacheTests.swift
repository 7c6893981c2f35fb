import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import MeteoAnalytics
import MeteoCore
import MeteoEmbedded
@testable import MeteoServer
import Synchronization
import Testing

/// The in-process engine behind a gate: each analysis waits until the test opens it, so that
/// the test can hold analyses running.
final class GatedEngine: AnalyticsEngine {
    let inner: InProcessEngine
    private let gate = Mutex<(open: Bool, waiting: [CheckedContinuation<Void, Never>])>((false, []))

    init(_ inner: InProcessEngine) { self.inner = inner }

    var name: String { inner.name }

    /// Analyses waiting at the gate.
    var waiting: Int { gate.withLock { $0.waiting.count } }

    func open() {
        let waiting = gate.withLock { g in
            g.open = true
            defer { g.waiting = [] }
            return g.waiting
        }
        for c in waiting { c.resume() }
    }

    func dataVersion() async throws -> String? { try await inner.dataVersion() }

    func analyze(_ request: AnalysisRequest) async throws -> AnalysisReport {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let through = gate.withLock { g in
                if !g.open { g.waiting.append(c) }
                return g.open
            }
            if through { c.resume() }
        }
        return try await inner.analyze(request)
    }
}

@Suite("Web server: analyses cached and capped")
struct AnalysisCacheTests {
    static func get(_ client: some TestClientProtocol, _ uri: String) async throws -> (HTTPResponse.Status, JSONValue) {
        try await client.execute(uri: uri, method: .get) { ($0.status, try json($0)) }
    }

    @Test func theSameAnalysisRunsOnceUntilTheStoreChanges() async throws {
        let f = try await Fixture()
        let uri = "/api/analytics?region=EuropeE&window=15m"
        try await f.test { client in
            let (s1, first) = try await Self.get(client, uri)
            let (s2, second) = try await Self.get(client, uri)
            #expect(s1 == .ok && s2 == .ok)
            #expect(first == second)
            #expect(f.deps.analyses.statistics.runs == 1)

            // Other parameters are another analysis.
            _ = try await Self.get(client, "/api/analytics?region=EuropeW&window=15m")
            #expect(f.deps.analyses.statistics.runs == 2)

            // A write through this store: the next request analyses again and sees it.
            var row = f.rows[1]
            row.observedAt = Fixture.start.addingTimeInterval(86_400)
            _ = try await f.store.upsert([row])
            let (_, afterWrite) = try await Self.get(client, uri)
            #expect(f.deps.analyses.statistics.runs == 3)
            #expect(afterWrite["observations"]?["count"] != first["observations"]?["count"])
            _ = try await Self.get(client, uri)
            #expect(f.deps.analyses.statistics.runs == 3)

            // A write by another connection (as `meteo sink` in another process): analysed again.
            let other = try SQLiteStore.open(dataDir: f.dir, logger: Logger(label: "test"))
            row.observedAt = Fixture.start.addingTimeInterval(2 * 86_400)
            _ = try await other.upsert([row])
            try await other.close()
            let (_, afterOther) = try await Self.get(client, uri)
            #expect(f.deps.analyses.statistics.runs == 4)
            #expect(afterOther["observations"]?["count"] != afterWrite["observations"]?["count"])
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func atMostTwoAnalysesRunAtOnceAndAThirdIsToldToComeBack() async throws {
        let f = try await Fixture()
        let engine = GatedEngine(InProcessEngine(store: f.store, logger: Logger(label: "test")))
        let deps = MeteoApp.Dependencies(store: f.store, deadLetters: f.store, engine: engine, metrics: nil, feed: f.deps.feed)
        #expect(deps.analyses.maxRunning == 2)
        let app = Application(router: MeteoApp.router(deps))
        try await app.test(.router) { client in
            try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for window in ["1h", "2h"] {
                    group.addTask { try await Self.get(client, "/api/analytics?window=\(window)").0 }
                }
                while engine.waiting < 2 { await Task.yield() }
                // Two are running: a third analysis is refused at once, saying when to come back.
                let (status, retryAfter, body) = try await client.execute(uri: "/api/analytics?window=3h", method: .get) { response in
                    (response.status, response.headers[.retryAfter], try json(response))
                }
                engine.open()
                #expect(status == .serviceUnavailable)
                #expect(retryAfter == "\(AnalysisCache.Busy.retryAfterSeconds)")
                guard case .string(let message)? = body["error"] else { Issue.record("no error message: \(body)"); return }
                #expect(message.contains("try again"))
                for try await status in group { #expect(status == .ok) }
            }
            // Nothing runs any more: the third is analysed, and a cached one needs no slot.
            #expect(try await Self.get(client, "/api/analytics?window=3h").0 == .ok)
            #expect(try await Self.get(client, "/api/analytics?window=1h").0 == .ok)
        }
        #expect(deps.analyses.statistics.runs == 3)
        #expect(deps.analyses.statistics.peakRunning == 2)
        try? FileManager.default.removeItem(at: f.dir)
    }
}
