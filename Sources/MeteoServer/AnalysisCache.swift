import MeteoAnalytics
import Synchronization

/// The analyses the API and the pages ask for: run by the engine at most ``maxRunning`` at a
/// time, and reused while the data under them has not changed.
///
/// - A report is kept per (request, data version). The version is the engine's
///   ``AnalyticsEngine/dataVersion()`` (for a store, ``ObservationStore/version()``: it changes
///   on every write, from this process or another), read *before* analysing: a report computed
///   while new data landed is kept under the older version and never served once the version
///   has moved on. An engine that cannot tell its version (Spark, over its lake) is never
///   cached. Reports of an older version are dropped when one of a newer version is stored, and
///   at most ``capacity`` are kept (the least recently used goes first).
/// - When ``maxRunning`` analyses are already running, a request that is not cached is refused
///   at once with ``Busy`` (the API answers 503 with `Retry-After`): an analysis holds its whole
///   selection in memory and keeps the cores busy, so queueing more behind it would only pile
///   memory up. A cached report is served whatever is running.
public final class AnalysisCache: Sendable {
    /// Too many analyses are running; ask again after ``retryAfterSeconds``.
    public struct Busy: Error, CustomStringConvertible {
        public var running: Int
        public static let retryAfterSeconds = 2
        public var description: String {
            "\(running) analyses are already running; try again in \(Self.retryAfterSeconds) s"
        }
    }

    public let engine: any AnalyticsEngine
    public let maxRunning: Int
    public let capacity: Int

    struct Key: Hashable {
        var request: AnalysisRequest
        var version: String
    }

    struct State {
        var reports: [Key: (report: AnalysisReport, lastUse: UInt64)] = [:]
        var clock: UInt64 = 0
        var running = 0
        /// Analyses run (not served from the cache), and the most that ran at once.
        var runs = 0
        var peakRunning = 0
    }

    private let state = Mutex(State())

    public init(engine: any AnalyticsEngine, maxRunning: Int = 2, capacity: Int = 32) {
        self.engine = engine
        self.maxRunning = max(1, maxRunning)
        self.capacity = max(1, capacity)
    }

    /// How many analyses ran so far and the most that ran at once.
    public var statistics: (runs: Int, peakRunning: Int) {
        state.withLock { ($0.runs, $0.peakRunning) }
    }

    /// The report of `request`, from the cache when the data has not changed since it was
    /// computed. Throws ``Busy`` when it would have to run and ``maxRunning`` are running.
    public func report(_ request: AnalysisRequest) async throws -> AnalysisReport {
        let key = try await engine.dataVersion().map { Key(request: request, version: $0) }
        enum Step {
            case cached(AnalysisReport)
            case run
            case busy(Int)
        }
        let maxRunning = self.maxRunning
        let step = state.withLock { s -> Step in
            s.clock += 1
            if let key, let hit = s.reports[key] {
                s.reports[key] = (hit.report, s.clock)
                return .cached(hit.report)
            }
            guard s.running < maxRunning else { return .busy(s.running) }
            s.running += 1
            s.runs += 1
            s.peakRunning = max(s.peakRunning, s.running)
            return .run
        }
        switch step {
        case .cached(let report): return report
        case .busy(let running): throw Busy(running: running)
        case .run: break
        }
        defer { state.withLock { $0.running -= 1 } }
        let report = try await engine.analyze(request)
        if let key {
            let capacity = self.capacity
            state.withLock { s in
                s.reports = s.reports.filter { $0.key.version == key.version }
                s.reports[key] = (report, s.clock)
                if s.reports.count > capacity, let oldest = s.reports.min(by: { $0.value.lastUse < $1.value.lastUse }) {
                    s.reports[oldest.key] = nil
                }
            }
        }
        return report
    }
}
