import Foundation
import MeteoCore
import Synchronization
import Testing

/// A value that closures running on other threads update under a lock.
final class Shared<Value: Sendable>: Sendable {
    private let value: Mutex<Value>
    init(_ value: Value) { self.value = Mutex(value) }
    func withLock<R: Sendable>(_ body: (inout Value) -> R) -> R { value.withLock { body(&$0) } }
}

@Suite("BlockingExecutor: blocking calls on a bounded number of threads")
struct BlockingExecutorTests {
    /// 200 calls that each block their thread until released, all submitted at once to an
    /// executor of width 3: 3 start and block, 197 wait; once released, every call runs once
    /// and returns its own result, and never more than 3 ran at once (counted inside them).
    @Test func manyBlockingCallsRunAtMostWidthAtOnceAndAllComplete() async throws {
        let executor = BlockingExecutor(label: "test.blocking", width: 3)
        let inside = Shared((now: 0, peak: 0))
        let gate = DispatchSemaphore(value: 0)
        let calls = Task {
            try await withThrowingTaskGroup(of: Int.self) { group in
                for i in 0..<200 {
                    group.addTask {
                        try await executor.run { () throws -> Int in
                            inside.withLock { $0.now += 1; $0.peak = max($0.peak, $0.now) }
                            gate.wait()
                            inside.withLock { $0.now -= 1 }
                            return i * 2
                        }
                    }
                }
                var all: [Int] = []
                for try await r in group { all.append(r) }
                return all
            }
        }
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(60)
        while (executor.running < 3 || executor.waiting < 197), clock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
        #expect(executor.running == 3 && executor.waiting == 197, "3 calls block their threads and the rest wait: \(executor.running) and \(executor.waiting)")
        for _ in 0..<200 { gate.signal() }
        let results = try await calls.value
        #expect(results.sorted() == (0..<200).map { $0 * 2 })
        #expect(inside.withLock { $0.peak } == 3, "calls running at once, counted inside them")
        #expect(executor.peakRunning == 3)
        #expect(executor.waiting == 0)
    }

    struct Refused: Error, Equatable { var n: Int }

    /// An error thrown by a call reaches its caller, typed, and frees its slot for the next.
    @Test func aThrownErrorReachesItsCallerAndTheSlotIsFreed() async throws {
        let executor = BlockingExecutor(label: "test.blocking.errors", width: 1)
        for n in 0..<5 {
            do {
                _ = try await executor.run { () throws(Refused) -> Int in throw Refused(n: n) }
                Issue.record("no error")
            } catch {
                #expect(error == Refused(n: n))
            }
        }
        #expect(try await executor.run { () throws -> String in "after" } == "after")
        #expect(executor.peakRunning == 1)
    }

    /// Calls beyond the width start in the order they were submitted.
    @Test func waitingCallsStartInSubmissionOrder() async throws {
        let executor = BlockingExecutor(label: "test.blocking.order", width: 1)
        let started = Shared<[Int]>([])
        let gate = DispatchSemaphore(value: 0)
        // The first call holds the only thread until the others are queued.
        let first = Task { try await executor.run { () throws -> Void in gate.wait(); started.withLock { $0.append(0) } } }
        while executor.peakRunning < 1 { try await Task.sleep(for: .milliseconds(1)) }
        var tasks: [Task<Void, any Error>] = []
        for i in 1...20 {
            tasks.append(Task { try await executor.run { () throws -> Void in started.withLock { $0.append(i) } } })
            while executor.waiting < i { try await Task.sleep(for: .milliseconds(1)) }
        }
        gate.signal()
        try await first.value
        for t in tasks { try await t.value }
        #expect(started.withLock { $0 } == Array(0...20))
    }

    /// A lane of width 1 on a wide executor runs its calls one at a time, in the order they
    /// were submitted: what a SQLite connection or a Kafka consumer needs of it.
    @Test func aLaneOfWidthOneRunsItsCallsOneAtATimeInOrder() async throws {
        let executor = BlockingExecutor(label: "test.lane.serial", width: 8)
        let lane = executor.lane("serial")
        let inside = Shared((now: 0, peak: 0, order: [Int]()))
        @Sendable func call(_ i: Int) {
            inside.withLock { $0.now += 1; $0.peak = max($0.peak, $0.now); $0.order.append(i) }
            usleep(200)
            inside.withLock { $0.now -= 1 }
        }
        for i in 0..<99 { lane.execute { call(i) } }
        // The last call ends after every other one, the lane being serial.
        try await lane.run { () throws -> Void in call(99) }
        let seen = inside.withLock { $0 }
        #expect(seen.order == Array(0..<100))
        #expect(seen.peak == 1, "calls of the lane running at once, counted inside them")
        #expect(lane.peakRunning == 1 && lane.running == 0 && lane.waiting == 0)
    }

    /// A lane caps its own calls at its width, below the executor's.
    @Test func aWiderLaneRunsAtMostItsWidth() async throws {
        let executor = BlockingExecutor(label: "test.lane.wide", width: 16)
        let lane = executor.lane("wide", width: 3)
        let gate = DispatchSemaphore(value: 0)
        let inside = Shared((now: 0, peak: 0))
        let calls = Task {
            try await withThrowingTaskGroup(of: Int.self) { group in
                for i in 0..<40 {
                    group.addTask {
                        try await lane.run { () throws -> Int in
                            inside.withLock { $0.now += 1; $0.peak = max($0.peak, $0.now) }
                            gate.wait()
                            inside.withLock { $0.now -= 1 }
                            return i
                        }
                    }
                }
                return try await group.reduce(0, +)
            }
        }
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(60)
        while (inside.withLock({ $0.now }) < 3 || lane.waiting < 37), clock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
        #expect(inside.withLock { $0.now } == 3 && lane.waiting == 37, "3 calls hold the lane and 37 wait: \(inside.withLock { $0.now }) and \(lane.waiting)")
        #expect(executor.running == 3, "the executor runs only the lane's 3")
        for _ in 0..<40 { gate.signal() }
        #expect(try await calls.value == (0..<40).reduce(0, +))
        #expect(inside.withLock { $0.peak } == 3, "calls running at once, counted inside them")
        // (Not the executor's peak: a call's slot passes to the next call from the end of the
        // first one's job, so the two jobs overlap on the executor for an instant.)
        #expect(lane.peakRunning == 3)
    }

    /// Lanes share the executor's threads: with two threads, a third lane's call waits until
    /// one of the two blocked lanes lets its thread go, then every call completes.
    @Test func lanesShareTheExecutorsBound() async throws {
        let executor = BlockingExecutor(label: "test.lane.shared", width: 2)
        let lanes = (0..<3).map { executor.lane("lane\($0)") }
        let gate = DispatchSemaphore(value: 0)
        let started = Shared<[Int]>([])
        let calls = lanes.enumerated().map { n, lane in
            Task { try await lane.run { () throws -> Int in started.withLock { $0.append(n) }; gate.wait(); return n } }
        }
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(60)
        while (started.withLock({ $0.count }) < 2 || executor.waiting < 1), clock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
        #expect(executor.running == 2 && executor.waiting == 1)
        #expect(started.withLock { $0.count } == 2, "two lanes run, the third waits for a thread")
        for _ in 0..<3 { gate.signal() }
        var results: [Int] = []
        for c in calls { results.append(try await c.value) }
        #expect(results == [0, 1, 2])
        #expect(executor.peakRunning == 2)
    }
}
