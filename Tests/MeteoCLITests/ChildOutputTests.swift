import Foundation
import Testing

/// The test helpers that run child processes: both pipes are drained together, so a child
/// that writes much to one of them while the parent reads the other still ends.
@Suite("Child processes of the tests: stdout and stderr read together")
struct ChildOutputTests {
    /// 2 MiB to stderr first, then 2 MiB to stdout: reading stdout to its end before stderr
    /// (the old helper) blocked the child on its full stderr pipe forever.
    @Test(.timeLimit(.minutes(1)))
    func aChildFillingStderrThenStdoutCompletes() async throws {
        let mib2 = 2 * 1024 * 1024
        let r = try await Shell.run("sh", ["-c", "head -c \(mib2) /dev/zero | tr '\\0' e >&2; head -c \(mib2) /dev/zero | tr '\\0' o"])
        #expect(r.reason == .exit && r.status == 0)
        #expect(r.stderr.utf8.count == mib2 && r.stderr.utf8.allSatisfy { $0 == UInt8(ascii: "e") })
        #expect(r.stdout.utf8.count == mib2 && r.stdout.utf8.allSatisfy { $0 == UInt8(ascii: "o") })
    }

    /// The same with standard input given, which is written on a thread of its own.
    @Test(.timeLimit(.minutes(1)))
    func aChildEchoingItsInputToBothPipesCompletes() async throws {
        let input = String(repeating: "0123456789abcdef\n", count: 80_000)  // 1.3 MiB
        let r = try await Shell.run("sh", ["-c", "tee /dev/stderr"], input: input)
        #expect(r.reason == .exit && r.status == 0)
        #expect(r.stdout == input)
        #expect(r.stderr == input)
    }
}
