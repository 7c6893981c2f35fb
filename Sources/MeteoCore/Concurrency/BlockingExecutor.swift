import Foundation
import Synchronization

/// Runs blocking C calls (libmongoc's, librdkafka's, SQLite's) on at most `width` threads of
/// its own.
///
/// Every blocking C call of the process goes through ``shared``, each handle through a
/// ``Lane`` of it: a lane of width 1 runs its calls one at a time in order (a SQLite
/// connection, a Kafka consumer), a wider lane caps one client's share (MongoDB's 8).
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

    /// The executor of the process's blocking C calls. 64 threads at most: far more than the
    /// handles a process keeps busy at once (a sink has about six), yet a bound.
    public static let shared = BlockingExecutor(label: "meteo.blocking", width: 64)

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

    /// Runs `job` on one of the executor's threads once one is free, without waiting for it.
    public func execute(_ job: @escaping Job) {
        core.submit(job)
    }

    /// A lane of this executor: at most `width` of its calls run at once (one: in submission
    /// order), on the executor's threads and within its width.
    public func lane(_ label: String, width: Int = 1) -> Lane {
        Lane(label: label, width: width, executor: self)
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

extension BlockingExecutor {
    /// Calls that share a handle (a SQLite connection, a Kafka client): at most `width` of
    /// them run at once, the rest wait in submission order, on the threads of the executor.
    ///
    /// A lane holds no thread of its own: while it has calls, one job of it at a time per slot
    /// is queued on the executor, behind the other lanes' (each call queues the next one when
    /// it ends, so that a busy lane never holds a thread the others wait for).
    public final class Lane: Sendable {
        public let label: String
        public let width: Int
        private let executor: BlockingExecutor
        private let state = Mutex(State())

        private struct State {
            var waiting: [Job] = []
            var next = 0  // the oldest waiting job's index in `waiting`
            var running = 0
            var peak = 0

            mutating func take() -> Job? {
                guard next < waiting.count else { return nil }
                let job = waiting[next]
                next += 1
                if next == waiting.count {
                    waiting.removeAll(keepingCapacity: true)
                    next = 0
                }
                return job
            }
        }

        fileprivate init(label: String, width: Int, executor: BlockingExecutor) {
            precondition(width >= 1, "a lane needs a width of at least one")
            self.label = label
            self.width = width
            self.executor = executor
        }

        /// Runs `body` once the lane has a free slot and the executor a free thread, and
        /// returns its result.
        public func run<T: Sendable, E: Error>(_ body: @escaping @Sendable () throws(E) -> T) async throws(E) -> T {
            let result: Result<T, E> = await withCheckedContinuation { continuation in
                execute {
                    do throws(E) { continuation.resume(returning: .success(try body())) } catch { continuation.resume(returning: .failure(error)) }
                }
            }
            return try result.get()
        }

        /// Runs `job` in its turn, without waiting for it.
        public func execute(_ job: @escaping Job) {
            let start = state.withLock { s -> Bool in
                guard s.running < width else {
                    s.waiting.append(job)
                    return false
                }
                s.running += 1
                s.peak = max(s.peak, s.running)
                return true
            }
            if start { executor.execute { self.slot(job) } }
        }

        /// Runs a job in a slot, then hands the slot to the next waiting job, or frees it.
        private func slot(_ job: Job) {
            job()
            let next = state.withLock { s -> Job? in
                if let next = s.take() { return next }
                s.running -= 1
                return nil
            }
            if let next { executor.execute { self.slot(next) } }
        }

        /// Slots in use (calls running, or queued on the executor for a thread): the most so far
        /// and now; the calls waiting for a slot.
        public var peakRunning: Int { state.withLock { $0.peak } }
        public var running: Int { state.withLock { $0.running } }
        public var waiting: Int { state.withLock { $0.waiting.count - $0.next } }
    }
}
