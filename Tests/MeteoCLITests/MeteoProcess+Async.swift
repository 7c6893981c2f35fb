import Foundation

extension MeteoProcess {
    /// Runs `meteo` to completion on a thread of its own, so that a test whose stub server runs
    /// in this process on Swift's cooperative threads never blocks them while it waits.
    static func runOffPool(_ arguments: [String], environment: [String: String] = [:]) async throws -> Result {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                do {
                    continuation.resume(returning: try run(arguments, environment: environment))
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        }
    }
}
