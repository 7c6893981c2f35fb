import Foundation
import MeteoCore
import Synchronization

/// A clock for tests that jumps instead of sleeping: `sleep(until:)` moves the time to the
/// deadline at once. The ingestor, the quota ledger and the stub weather API share one, so a
/// simulated day of polling runs in seconds and every window boundary is met exactly.
///
/// Sleepers are served in deadline order: a sleeper returns only once no other task sleeps
/// until an earlier deadline, so time never runs backwards for anyone.
public final class VirtualClock: MeteoClock, Sendable {
    private struct State {
        var now: Date
        var sleepers: [(deadline: Date, id: Int, continuation: CheckedContinuation<Void, Never>)] = []
        var nextID = 0
        var slept: TimeInterval = 0
    }

    private let state: Mutex<State>

    public init(start: Date) {
        state = Mutex(State(now: start))
    }

    public func now() -> Date { state.withLock { $0.now } }

    /// The total virtual time all sleepers waited for, in seconds.
    public var totalSlept: TimeInterval { state.withLock { $0.slept } }

    /// Moves the time forward by hand (another client's requests "happen" meanwhile, say).
    public func advance(by seconds: TimeInterval) {
        state.withLock { $0.now = $0.now.addingTimeInterval(seconds) }
    }

    public func sleep(until deadline: Date) async throws {
        try Task.checkCancellation()
        let id: Int = state.withLock { s in
            s.nextID += 1
            return s.nextID
        }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            state.withLock { s in
                s.sleepers.append((deadline, id, continuation))
                s.sleepers.sort { ($0.deadline, $0.id) < ($1.deadline, $1.id) }
            }
            // Other tasks may be about to sleep until an earlier time: let them run first.
            Task { await self.wakeEarliest() }
        }
        try Task.checkCancellation()
    }

    /// Wakes the sleeper with the earliest deadline once the running tasks had a chance to
    /// register theirs.
    private func wakeEarliest() async {
        for _ in 0..<20 { await Task.yield() }
        let woken: CheckedContinuation<Void, Never>? = state.withLock { s in
            guard !s.sleepers.isEmpty else { return nil }
            let first = s.sleepers.removeFirst()
            if first.deadline > s.now {
                s.slept += first.deadline.timeIntervalSince(s.now)
                s.now = first.deadline
            }
            return first.continuation
        }
        woken?.resume()
    }
}
