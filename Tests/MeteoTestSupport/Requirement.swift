import Foundation
import Testing

/// What a suite needs from outside the process: a server (`METEO_TEST_KAFKA`, …), the built
/// `meteo` binary, a tool (Chromium, a Python with a package).
///
/// In a developer's partial run a suite whose requirement is missing is skipped, visibly, with
/// the reason. Under `METEO_TEST_REQUIRE_ALL=1` (which `scripts/test` sets) it fails instead,
/// with an error naming the suite and what is missing: the full test command never passes by
/// not running a suite.
public struct Requirement: SuiteTrait, TestTrait {
    /// What is missing and how to provide it, such as "METEO_TEST_KAFKA is not set (…)".
    public var what: String
    public var available: @Sendable () -> Bool

    public var isRecursive: Bool { false }
    public var comments: [Comment] { [Comment(rawValue: what)] }

    /// Whether a missing requirement fails (`METEO_TEST_REQUIRE_ALL=1`) rather than skips.
    public static var requireAll: Bool { ProcessInfo.processInfo.environment["METEO_TEST_REQUIRE_ALL"] == "1" }

    /// The value of an environment variable, nil when unset or empty.
    public static func environment(_ variable: String) -> String? {
        ProcessInfo.processInfo.environment[variable].flatMap { $0.isEmpty ? nil : $0 }
    }

    public func prepare(for test: Test) async throws {
        guard !available() else { return }
        if Self.requireAll { throw Missing(suite: test.displayName ?? test.name, what: what) }
        // Skipped the way `.enabled(if:)` skips, with the reason shown.
        try await ConditionTrait.enabled(if: false, Comment(rawValue: what)).prepare(for: test)
    }

    /// The error that fails a suite whose requirement is missing under `METEO_TEST_REQUIRE_ALL=1`.
    public struct Missing: Error, CustomStringConvertible {
        public var suite: String
        public var what: String
        public var description: String {
            "'\(suite)' cannot run: \(what); METEO_TEST_REQUIRE_ALL=1 makes a missing requirement a failure, not a skip"
        }
    }
}

extension Trait where Self == Requirement {
    /// Runs the suite or test when `available` returns true; otherwise skips it with `what` as
    /// the reason or, under `METEO_TEST_REQUIRE_ALL=1`, fails it naming the suite and `what`.
    public static func requires(_ what: String, _ available: @escaping @Sendable () -> Bool) -> Self {
        Requirement(what: what, available: available)
    }

    /// Requires the environment variable `variable` to be set and not empty.
    public static func requires(environment variable: String, _ hint: String) -> Self {
        requires("\(variable) is not set (\(hint))") { Requirement.environment(variable) != nil }
    }
}
