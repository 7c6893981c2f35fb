import Dispatch
import Synchronization

/// Runs blocking C calls (libmongoc's, which wait on the network) on at most `width` threads.
///
/// Callers beyond `width` wait as suspended tasks in a first-in, first-out queue, never as
/// blocked threads: a burst of a thousand concurrent requests costs `width` threads, not a
/// thousand (a plain concurrent `DispatchQueue` would start a thread for each call that
/// blocks, up to libdispatch's limit), and never a thread of Swift's cooperative pool.
public final class BlockingExecutor: Sendable {
    public typealias Job = @Sendable () -> Void

    private struct State {
        var running = 0
        var peak = 0
        var front: [Job] = []  // taken from the end: the oldest job last
        var back: [Job] = []   // appended: the newest job last

        mutating func next() -> Job? {
            if front.isEmpty {
                front = back.reversed()
                back.removeAll(keepingCapacity: true)
            }
            return front.popLast()
        }

        var waiting: Int { front.count + back.count }
    }

    /// The most calls that run at once.
    public let width: Int
    private let queue: DispatchQueue
    private let state = Mutex(State())

    public init(label: String, width: Int) {
        precondition(width >= 1, "a BlockingExecutor needs at least one thread")
        self.width = width
        queue = DispatchQueue(label: label, attributes: .concurrent)
    }

    /// Runs `body` on one of the executor's threads once one is free, and returns its result.
    public func run<T: Sendable, E: Error>(_ body: @escaping @Sendable () throws(E) -> T) async throws(E) -> T {
        let result: Result<T, E> = await withCheckedContinuation { continuation in
            submit {
                do throws(E) { continuation.resume(returning: .success(try body())) } catch { continuation.resume(returning: .failure(error)) }
            }
        }
        return try result.get()
    }

    /// The most calls that ran at once so far, and the calls waiting now (for tests and metrics).
    public var peakRunning: Int { state.withLock { $0.peak } }
    public var waiting: Int { state.withLock { $0.waiting } }

    private func submit(_ job: @escaping Job) {
        let start = state.withLock { s -> Bool in
            guard s.running < width else {
                s.back.append(job)
                return false
            }
            s.running += 1
            s.peak = max(s.peak, s.running)
            return true
        }
        if start { launch(job) }
    }

    /// Runs `job`, then the waiting jobs one after another on the same slot until none is left.
    private func launch(_ job: @escaping Job) {
        queue.async { [self] in
            var current: Job? = job
            while let j = current {
                j()
                current = state.withLock { s -> Job? in
                    if let next = s.next() { return next }
                    s.running -= 1
                    return nil
                }
            }
        }
    }
}
