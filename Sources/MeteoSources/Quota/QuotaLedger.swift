import Foundation
import Logging
import MeteoCore
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A wait for quota, as the progress line shows it: `waiting for the hourly quota: 23 min`.
public struct QuotaWait: Sendable, Hashable, CustomStringConvertible {
    public var window: QuotaWindow
    public var until: Date
    public var seconds: Double
    /// The provider refused the window (a 429 naming it), rather than Meteo's own count.
    public var refusedByProvider: Bool

    public var description: String {
        let left = seconds >= 90 ? LivePlan.duration((seconds / 60).rounded(.up) * 60) : "\(Int(seconds.rounded(.up))) s"
        let time = ISO8601.string(from: until).dropFirst(11).prefix(5)
        return "waiting for the \(window.adjective) quota: \(left) (until \(time) UTC\(refusedByProvider ? ", the provider refused it" : ""))"
    }
}

/// The weighted limiter of one provider plan, shared by live polling and backfill: a request
/// asks it for its weight before it is sent, and waits until every window has room
/// (``QuotaBook`` holds the rules).
///
/// With a data dir, the counts are kept in `<data dir>/quota/<plan>.json`, read and written
/// under an exclusive lock on `<plan>.lock`: a restart does not reset the day's count, and two
/// Meteo processes on one data dir (an ingest and a backfill) share one allowance.
/// Without one, the counts live in memory.
public final class QuotaLedger: Sendable {
    public let plan: ProviderPlan
    public let clock: any MeteoClock
    let file: URL?
    let lockFile: URL?
    private let memory = Mutex(QuotaBook())
    private let onWait: (@Sendable (QuotaWait) -> Void)?
    private let logger: Logger

    /// - Parameters:
    ///   - directory: where the counts are kept (`<data dir>/quota`), or nil for memory only.
    ///   - onWait: told each time a request must wait, before it waits.
    public init(plan: ProviderPlan, directory: URL?, clock: any MeteoClock = SystemClock(), logger: Logger,
                onWait: (@Sendable (QuotaWait) -> Void)? = nil) throws(MeteoError) {
        self.plan = plan
        self.clock = clock
        self.onWait = onWait
        self.logger = logger
        if let directory {
            do {
                try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            } catch {
                throw MeteoError(code: .io, "cannot create the quota folder \(directory.path): \(error.localizedDescription); check that the data dir is writable")
            }
            file = directory.appendingPathComponent("\(plan.ledgerName).json")
            lockFile = directory.appendingPathComponent("\(plan.ledgerName).lock")
        } else {
            file = nil
            lockFile = nil
        }
    }

    /// Waits until a request of `weight` fits every window, then counts it. A plan without
    /// limits never waits.
    public func acquire(_ weight: Double) async throws {
        while true {
            try Task.checkCancellation()
            let now = clock.now()
            let wait = try update { book throws(MeteoError) -> QuotaBook.Wait? in
                if let wait = try book.check(weight, at: now, plan: plan) { return wait }
                book.record(weight, at: now)
                return nil
            }
            guard let wait else { return }
            let report = QuotaWait(window: wait.window, until: wait.until, seconds: max(0, wait.until.timeIntervalSince(now)),
                                   refusedByProvider: wait.refusedByProvider)
            logger.notice("\(report)")
            onWait?(report)
            try await clock.sleep(until: wait.until)
        }
    }

    /// The provider refused a window (a 429 whose reason names it): nothing is sent until that
    /// window resets.
    public func refused(_ window: QuotaWindow) throws {
        let now = clock.now()
        try update { (book: inout QuotaBook) throws(MeteoError) -> Void in book.refuse(window, at: now) }
    }

    /// What each limited window has spent, and when it resets.
    public func usage() throws -> [QuotaUsage] {
        let now = clock.now()
        let book = try update { (book: inout QuotaBook) throws(MeteoError) -> QuotaBook in book }
        return QuotaWindow.allCases.map { w in
            QuotaUsage(window: w, spent: book.spent(w, at: now), limit: plan.limits[w],
                       resetsAt: w == .minute ? now.addingTimeInterval(QuotaBook.minuteSpan) : w.end(of: now))
        }
    }

    /// Runs `body` on the book: in memory, or read from the file and written back under its lock.
    private func update<T>(_ body: (inout QuotaBook) throws(MeteoError) -> T) throws(MeteoError) -> T {
        guard let file, let lockFile else {
            return try memory.withLock { book throws(MeteoError) -> T in try body(&book) }
        }
        let fd = open(lockFile.path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw MeteoError(code: .io, "cannot open \(lockFile.path): \(String(cString: strerror(errno))); check that the data dir is writable")
        }
        defer { close(fd) }
        while flock(fd, LOCK_EX) != 0 {
            guard errno == EINTR else {
                throw MeteoError(code: .io, "cannot lock \(lockFile.path): \(String(cString: strerror(errno)))")
            }
        }
        defer { flock(fd, LOCK_UN) }
        var book = QuotaBook()
        if let data = try? Data(contentsOf: file) {
            do {
                book = try JSONDecoder().decode(QuotaBook.self, from: data)
            } catch {
                // A damaged file must not stop ingestion, nor reset the count silently.
                logger.error("the quota counts are unreadable; starting them again, so this window's earlier calls are not counted", metadata: [
                    "meteo.file": "\(file.path)", LoggingKeys.error: "\(error)",
                ])
            }
        }
        let before = book
        let result = try body(&book)
        if book != before {
            do {
                let data = try JSONEncoder().encode(book)
                let temporary = file.deletingLastPathComponent().appendingPathComponent(".\(file.lastPathComponent).tmp")
                try data.write(to: temporary)
                guard rename(temporary.path, file.path) == 0 else {
                    throw MeteoError(code: .io, "cannot replace \(file.path): \(String(cString: strerror(errno)))")
                }
            } catch let error as MeteoError {
                throw error
            } catch {
                throw MeteoError(code: .io, "cannot write the quota counts to \(file.path): \(error.localizedDescription); check that the data dir is writable and not full")
            }
        }
        return result
    }
}

/// One window's count.
public struct QuotaUsage: Sendable, Hashable {
    public var window: QuotaWindow
    public var spent: Double
    public var limit: Double?
    public var resetsAt: Date
}
