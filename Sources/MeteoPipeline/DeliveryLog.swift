#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import MeteoCore
import Synchronization

/// An append-only record of what the bus acknowledged: one line per event,
/// `"<place_id>@<observed_at>"` (``Observation/eventID``), written once the event's delivery
/// report is in and before the ingestor counts it as published.
///
/// It is the producer's side of an audit: whatever consumes the bus can be checked against
/// it (the fault-injection suite, `scripts/chaos`, compares the MongoDB store with it). Each
/// acknowledged chunk is one `write(2)` on a file opened with `O_APPEND`, so a killed
/// ingestor leaves whole lines of what was acknowledged before it died.
public final class DeliveryLog: Sendable {
    private let fd: Mutex<Int32>
    public let path: String

    public init(path: String) throws(MeteoError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw MeteoError(code: .invalidConfiguration,
                             "cannot open the delivery log \(path): \(String(cString: strerror(errno))); give a writable file path to --delivery-log")
        }
        self.fd = Mutex(fd)
        self.path = path
    }

    /// Appends one line per observation. A failed write is reported, not retried: the
    /// record is an audit aid and never holds up publishing.
    @discardableResult
    public func record(_ observations: some Collection<Observation>) -> Bool {
        var text = ""
        for o in observations {
            text += o.eventID
            text += "\n"
        }
        guard !text.isEmpty else { return true }
        var bytes = Array(text.utf8)
        return fd.withLock { fd in
            var done = 0
            while done < bytes.count {
                let n = bytes.withUnsafeMutableBytes { write(fd, $0.baseAddress! + done, $0.count - done) }
                if n < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                done += n
            }
            return true
        }
    }

    /// The event ids of a delivery log, in the order they were acknowledged: one a line, LF or
    /// CRLF, a UTF-8 byte order mark skipped, blank lines skipped and the last line kept without
    /// its newline (``TextLines``). `scripts/delivery_log.py` reads it the same way.
    public static func read(path: String) throws(MeteoError) -> [String] {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw MeteoError(code: .io, "cannot read the delivery log \(path): \(error.localizedDescription)")
        }
        return parse(String(decoding: data, as: UTF8.self))
    }

    /// The event ids of a delivery log's text.
    public static func parse(_ text: String) -> [String] {
        TextLines.split(text).compactMap { $0.isEmpty ? nil : String($0) }
    }

    public func close() {
        fd.withLock { fd in
            if fd >= 0 { _ = closeFD(fd) }
            fd = -1
        }
    }

    deinit { close() }
}

private func closeFD(_ fd: Int32) -> Int32 {
    #if canImport(Glibc)
    Glibc.close(fd)
    #elseif canImport(Musl)
    Musl.close(fd)
    #else
    Darwin.close(fd)
    #endif
}
