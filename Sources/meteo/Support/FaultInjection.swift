import Foundation
import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Faults the crash tests ask for through the environment. They live in the command-line
/// tool, never in the library modules: a library user cannot trigger them.
enum FaultInjection {
    /// With `METEO_FAULT_CRASH_AFTER_WRITES=N`, a hook for ``Sink/Configuration/afterWriteBeforeCommit``
    /// that kills the process with SIGKILL after the N-th store write, before its offsets are
    /// committed; nil (no hook) otherwise.
    static func crashAfterWrites(logger: Logger, environment: [String: String] = ProcessInfo.processInfo.environment) -> (@Sendable (Int) -> Void)? {
        guard let limit = environment["METEO_FAULT_CRASH_AFTER_WRITES"].flatMap(Int.init) else { return nil }
        return { writes in
            guard writes >= limit else { return }
            logger.critical("fault injection: SIGKILL after a write, before its commit")
            kill(getpid(), SIGKILL)
        }
    }
}
