import Foundation
import Logging
import MeteoCore

/// Runs the analyses over stored observations. The in-process engine is the reference; a
/// cluster engine (Spark) implements the same protocol and must give the same report.
public protocol AnalyticsEngine: Sendable {
    /// `in-process`, `spark`.
    var name: String { get }
    func analyze(_ request: AnalysisRequest) async throws -> AnalysisReport
    /// A token that changes whenever the data the engine reads may have changed (for an
    /// engine over a store, ``ObservationStore/version()``); nil when the engine cannot tell,
    /// and then its reports are never reused. Read it before analysing.
    func dataVersion() async throws -> String?
}

extension AnalyticsEngine {
    public func dataVersion() async throws -> String? { nil }
}

/// The in-process columnar engine: loads the selection from the store into an
/// ``ObservationFrame`` page by page, then runs the kernels on every core.
public struct InProcessEngine: AnalyticsEngine {
    public var name: String { "in-process" }
    let store: any ObservationStore
    let parallelism: Int
    let logger: Logger
    let pageSize: Int

    public init(store: any ObservationStore, parallelism: Int = defaultParallelism, pageSize: Int = 50_000, logger: Logger) {
        self.store = store
        self.parallelism = parallelism
        self.pageSize = pageSize
        self.logger = logger
    }

    /// Reads the rows of a request into columns.
    public func load(_ request: AnalysisRequest, progress: (@Sendable (Int) -> Void)? = nil) async throws -> ObservationFrame {
        var builder = ObservationFrame.Builder()
        for try await page in store.scan(request.query, batchSize: pageSize) {
            builder.append(page)
            progress?(builder.count)
        }
        return builder.build()
    }

    public func dataVersion() async throws -> String? {
        try await store.version()
    }

    public func analyze(_ request: AnalysisRequest) async throws -> AnalysisReport {
        guard request.windowSeconds >= 1 else {
            throw MeteoError(code: .invalidConfiguration, "the window must be at least 1 second (got \(request.windowSeconds) s)")
        }
        let clock = ContinuousClock()
        let started = clock.now
        let frame = try await load(request)
        let loaded = clock.now
        let report = FrameAnalyzer(frame: frame, parallelism: parallelism).report(for: request, engine: name)
        logger.info("analysed", metadata: [
            "rows": "\(frame.count)", "places": "\(frame.places.count)",
            "load_ms": "\((loaded - started).milliseconds)", "analyse_ms": "\((clock.now - loaded).milliseconds)",
        ])
        return report
    }
}

extension Duration {
    /// Whole milliseconds.
    var milliseconds: Int64 {
        let (s, attos) = components
        return s * 1000 + attos / 1_000_000_000_000_000
    }
}
