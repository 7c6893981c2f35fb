import Foundation

/// The wall clock that schedules polls and quota windows. Quota windows are UTC calendar
/// windows, so this is a wall clock (`Date`), not a monotonic one.
///
/// ``SystemClock`` is the real one; tests give the ingestor, the quota ledger and the stub
/// weather API one virtual clock, to run a simulated day in seconds.
public protocol MeteoClock: Sendable {
    /// The current time.
    func now() -> Date
    /// Returns at `deadline` (at once when it has passed). Throws `CancellationError` when the
    /// task is cancelled.
    func sleep(until deadline: Date) async throws
}

extension MeteoClock {
    /// Sleeps for `duration` from now.
    public func sleep(for duration: Duration) async throws {
        try await sleep(until: now().addingTimeInterval(duration.seconds))
    }
}

/// The system's wall clock.
public struct SystemClock: MeteoClock {
    public init() {}

    public func now() -> Date { Date() }

    public func sleep(until deadline: Date) async throws {
        let seconds = deadline.timeIntervalSinceNow
        if seconds > 0 {
            try await Task.sleep(for: .milliseconds(Int64((seconds * 1000).rounded(.up))))
        } else {
            try Task.checkCancellation()
        }
    }
}
