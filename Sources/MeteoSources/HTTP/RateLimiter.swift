import Synchronization

/// A client-side limit of calls per sliding time window (Open-Meteo's free tier allows
/// 600 calls a minute). ``acquire()`` returns when a call may be made, sleeping if needed.
final class RateLimiter: Sendable {
    let limit: Int
    let window: Duration
    private let clock = ContinuousClock()
    /// Start times of the calls of the current window, oldest first.
    private let calls: Mutex<[ContinuousClock.Instant]> = Mutex([])

    init(limit: Int, per window: Duration) {
        self.limit = max(1, limit)
        self.window = window
    }

    /// Waits until one more call fits in the window, then records it.
    func acquire() async throws {
        while true {
            let now = clock.now
            let wait: Duration? = calls.withLock { calls in
                calls.removeAll { now - $0 >= window }
                if calls.count < limit {
                    calls.append(now)
                    return nil
                }
                return window - (now - calls[0])
            }
            guard let wait else { return }
            try await Task.sleep(for: wait)
        }
    }
}
