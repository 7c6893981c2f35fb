import Foundation
import Logging
import MeteoCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Faults the crash tests ask for through the environment. They live in the command-line
/// tool, never in the library modules, and only in its debug builds (the ones the tests and
/// `scripts/chaos` run): a release build has no such hook, and refuses the variable.
enum FaultInjection {
    /// With `METEO_FAULT_CRASH_AFTER_WRITES=N`, a hook for ``Sink/Configuration/afterWriteBeforeCommit``
    /// that kills the process with SIGKILL after the N-th store write, before its offsets are
    /// committed; nil (no hook) otherwise.
    static func crashAfterWrites(logger: Logger, environment: [String: String] = ProcessInfo.processInfo.environment) throws(MeteoError) -> (@Sendable (Int) -> Void)? {
        guard let value = environment["METEO_FAULT_CRASH_AFTER_WRITES"] else { return nil }
        #if DEBUG
        guard let limit = Int(value), limit > 0 else {
            throw MeteoError(code: .invalidConfiguration, "METEO_FAULT_CRASH_AFTER_WRITES must be a number of store writes (1 or more), not '\(value)'")
        }
        return { writes in
            guard writes >= limit else { return }
            logger.critical("fault injection: SIGKILL after a write, before its commit")
            kill(getpid(), SIGKILL)
        }
        #else
        throw MeteoError(code: .invalidConfiguration,
                         "METEO_FAULT_CRASH_AFTER_WRITES is a fault-injection hook of debug builds (the crash tests); this meteo is a release build without it: unset the variable")
        #endif
    }
}
