import Foundation

/// Runs blocking C calls (libmongoc's, which wait on the network) on at most `width` threads
/// of its own.
///
/// Callers beyond `width` wait as suspended tasks in a first-in, first-out queue, never as
/// blocked threads: a burst of a thousand concurrent requests costs `width` threads, not a
/// thousand, and never a thread of Swift's cooperative pool. The threads are the executor's
/// own (started when first needed, ended with the executor), not libdispatch's: a
/// libdispatch queue gives blocking work as many threads as the machine has cores, whatever
/// width is asked (two on a 2-core machine; a test caught it).
public final class BlockingExecutor: Sendable {
    public typealias Job = @Sendable () -> Void

    /// The most calls that run at once.
    public let width: Int
    private let core: Core

    public init(label: String, width: Int) {
        precondition(width >= 1, "a BlockingExecutor needs at least one thread")
        self.width = width
        core = Core(label: label, width: width)
    }

    deinit {
        core.stop()
    }

    /// Runs `body` on one of the executor's threads once one is free, and returns its result.
    public func run<T: Sendable, E: Error>(_ body: @escaping @Sendable () throws(E) -> T) async throws(E) -> T {
        let result: Result<T, E> = await withCheckedContinuation { continuation in
            core.submit {
                do throws(E) { continuation.resume(returning: .success(try body())) } catch { continuation.resume(returning: .failure(error)) }
            }
        }
        return try result.get()
    }

    /// The most calls that ran at once so far; the calls running and waiting now (for tests).
    public var peakRunning: Int { core.read { $0.peak } }
    public var running: Int { core.read { $0.running } }
    public var waiting: Int { core.read { $0.front.count + $0.back.count } }

    /// The queue and the threads, behind one lock and its condition; the threads hold this,
    /// not the executor, so that the executor's end stops them.
    private final class Core: @unchecked Sendable {
        struct State {
            var front: [Job] = []  // taken from the end: the oldest job last
            var back: [Job] = []   // appended: the newest job last
            var threads = 0
            var idle = 0
            var running = 0
            var peak = 0
            var stopping = false

            mutating func next() -> Job? {
                if front.isEmpty {
                    front = back.reversed()
                    back.removeAll(keepingCapacity: true)
                }
                return front.popLast()
            }
        }

        let label: String
        let width: Int
        private let condition = NSCondition()
        private var state = State()  // only under `condition`

        init(label: String, width: Int) {
            self.label = label
            self.width = width
        }

        func read<T>(_ body: (State) -> T) -> T {
            condition.lock()
            defer { condition.unlock() }
            return body(state)
        }

        func submit(_ job: @escaping Job) {
            condition.lock()
            state.back.append(job)
            if state.idle > 0 {
                condition.signal()
            } else if state.threads < width {
                state.threads += 1
                let thread = Thread { [self] in work() }
                thread.name = "\(label).\(state.threads)"
                thread.start()
            }
            condition.unlock()
        }

        /// A thread's loop: jobs while there are, a wait when there are none, the end once
        /// stopped and drained.
        private func work() {
            condition.lock()
            while true {
                if let job = state.next() {
                    state.running += 1
                    state.peak = max(state.peak, state.running)
                    condition.unlock()
                    job()
                    condition.lock()
                    state.running -= 1
                    continue
                }
                if state.stopping {
                    state.threads -= 1
                    condition.unlock()
                    return
                }
                state.idle += 1
                condition.wait()
                state.idle -= 1
            }
        }

        func stop() {
            condition.lock()
            state.stopping = true
            condition.broadcast()
            condition.unlock()
        }
    }
}
