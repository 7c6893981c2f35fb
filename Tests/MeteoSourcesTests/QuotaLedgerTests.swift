import Foundation
import Logging
import MeteoCore
@testable import MeteoSources
import MeteoStub
import Synchronization
import MeteoTestSupport
import Testing

@Suite("Quota ledger")
struct QuotaLedgerTests {
    static func date(_ text: String) -> Date { ISO8601.date(from: text)! }

    static func temporaryDirectory() -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("meteo-quota-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    @Test func slidingMinuteWaitsForTheOldestCallToLeave() throws {
        var book = QuotaBook()
        let plan = ProviderPlan.openMeteoFree
        let t0 = Self.date("2026-12-07T10:00:10Z")
        #expect(try book.check(599.3, at: t0, plan: plan) == nil)
        book.record(599.3, at: t0)
        // A second full request must wait until the first has left the 61 s window.
        let wait = try #require(try book.check(599.3, at: t0.addingTimeInterval(5), plan: plan))
        #expect(wait.window == .minute && !wait.refusedByProvider)
        #expect(wait.until == t0.addingTimeInterval(61))
        // A small one still fits beside it.
        #expect(try book.check(0.7, at: t0.addingTimeInterval(5), plan: plan) == nil)
        #expect(try book.check(599.3, at: t0.addingTimeInterval(61), plan: plan) == nil)
    }

    @Test func calendarWindowsResetOnUTCBoundariesAfterAGrace() throws {
        var book = QuotaBook()
        let plan = ProviderPlan.openMeteoFree.with(limits: [.minute: nil])
        // 10,000 calls spent on one UTC day.
        let evening = Self.date("2026-12-07T23:50:00Z")
        for i in 0..<20 { book.record(500, at: evening.addingTimeInterval(Double(i * 10))) }
        #expect(book.spent(.day, at: evening) == 10_000)
        let wait = try #require(try book.check(1, at: evening.addingTimeInterval(300), plan: plan))
        // The day resets at midnight UTC; Open-Meteo's server resets in the first minute of the
        // day, so the ledger waits 90 s more.
        #expect(wait.window == .day)
        #expect(wait.until == Self.date("2026-12-08T00:01:30Z"))
        // Within the grace the request must fit the day before too.
        #expect(try book.check(1, at: Self.date("2026-12-08T00:00:30Z"), plan: plan) != nil)
        #expect(try book.check(1, at: Self.date("2026-12-08T00:01:30Z"), plan: plan) == nil)
        // The hour: 5,000 calls in 10 requests of 500 at 23:50..23:51:40 took it already.
        #expect(book.spent(.hour, at: evening) == 10_000)
    }

    @Test func aRequestHeavierThanAWindowIsRefusedNotWaitedFor() {
        let book = QuotaBook()
        let error = #expect(throws: MeteoError.self) { try book.check(700, at: Date(), plan: .openMeteoFree) }
        #expect(error?.message.contains("more than the Open-Meteo free plan allows in a minute (600)") == true)
    }

    @Test func providerRefusalBlocksUntilTheWindowResets() throws {
        var book = QuotaBook()
        let now = Self.date("2026-12-07T14:37:00Z")
        book.refuse(.hour, at: now)
        let wait = try #require(try book.check(1, at: now, plan: .openMeteoFree))
        #expect(wait.window == .hour && wait.refusedByProvider)
        #expect(wait.until == Self.date("2026-12-07T15:01:30Z"))
        let report = QuotaWait(window: .hour, until: wait.until, seconds: wait.until.timeIntervalSince(now), refusedByProvider: false)
        #expect(report.description == "waiting for the hourly quota: 25 min (until 15:01 UTC)")
    }

    @Test func countsSurviveARestartAndAreSharedByProcesses() async throws {
        let dir = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let clock = VirtualClock(start: Self.date("2026-12-07T09:00:00Z"))
        let logger = Logger(label: "test")
        let first = try QuotaLedger(plan: .openMeteoFree, directory: dir, clock: clock, logger: logger)
        for _ in 0..<8 { try await first.acquire(599.3) }  // spread over 8 minutes by the minute limit
        #expect(clock.now() > Self.date("2026-12-07T09:07:00Z"))
        // A second ledger on the same folder (a restart, or a backfill beside the ingest) sees the count.
        let second = try QuotaLedger(plan: .openMeteoFree, directory: dir, clock: clock, logger: logger)
        let usage = try second.usage()
        #expect(abs(usage.first { $0.window == .day }!.spent - 8 * 599.3) < 1e-6)
        #expect(abs(usage.first { $0.window == .hour }!.spent - 8 * 599.3) < 1e-6)
        #expect(usage.first { $0.window == .day }!.limit == 10_000)
        // Both count against one hourly allowance of 5,000: the 9th request waits for 10:01:30.
        let waits = Mutex<[QuotaWait]>([])
        let third = try QuotaLedger(plan: .openMeteoFree, directory: dir, clock: clock, logger: logger) { w in waits.withLock { $0.append(w) } }
        try await third.acquire(599.3)
        #expect(clock.now() == Self.date("2026-12-07T10:01:30Z"))
        #expect(waits.withLock { $0.map(\.window) } == [.hour])
        // The file is JSON that a person can read.
        let text = try String(contentsOf: dir.appendingPathComponent("open-meteo-free.json"), encoding: .utf8)
        #expect(text.contains("\"spent\""))
    }

    @Test func aDamagedFileIsReportedAndReplaced() async throws {
        let dir = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try Data("{not json".utf8).write(to: dir.appendingPathComponent("open-meteo-free.json"))
        let (logger, logs) = CapturingLogHandler.logger()
        let ledger = try QuotaLedger(plan: .openMeteoFree, directory: dir, logger: logger)
        try await ledger.acquire(10)
        #expect(logs.all.contains { $0.contains("quota counts are unreadable") })
        #expect(abs(try ledger.usage().first { $0.window == .day }!.spent - 10) < 1e-9)
    }

    @Test func aDataDirThatCannotBeWrittenIsOneClearError() throws {
        let file = Self.temporaryDirectory().appendingPathComponent("a-file")
        try Data().write(to: file)
        let error = #expect(throws: MeteoError.self) {
            _ = try QuotaLedger(plan: .openMeteoFree, directory: file.appendingPathComponent("quota"), logger: Logger(label: "t"))
        }
        #expect(error?.message.contains("cannot create the quota folder") == true)
    }
}
