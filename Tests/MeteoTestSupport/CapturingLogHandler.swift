import Logging
import Synchronization

/// A log handler that keeps every message at or above its level, one line each
/// ("<level> <message> <key>=<value> ..." with the metadata sorted by key), for assertions.
public struct CapturingLogHandler: LogHandler {
    /// The lines logged so far.
    public final class Store: Sendable {
        let lines = Mutex<[String]>([])
        public var all: [String] { lines.withLock { $0 } }
    }

    let store: Store
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        let line = "\(event.level) \(event.message) \(merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))"
        store.lines.withLock { $0.append(line) }
    }

    /// A logger writing into a fresh store what is logged at `level` or above.
    public static func logger(level: Logger.Level = .trace) -> (Logger, Store) {
        let store = Store()
        let logger = Logger(label: "test") { _ in CapturingLogHandler(store: store, logLevel: level) }
        return (logger, store)
    }
}
