import Foundation
import MeteoCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Flushes a directory to disk, so that the files created or renamed in it survive a power
/// cut (a rename is durable only once its directory is).
enum FileSync {
    /// `fsync` of the directory at `path`; throws, with the reason, when it cannot be opened or
    /// flushed.
    static func directory(_ path: String) throws(MeteoError) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else {
            throw MeteoError(code: .io, "cannot open the directory \(path) to flush it: \(String(cString: strerror(errno)))", isRetriable: true)
        }
        defer { close(fd) }
        while fsync(fd) != 0 {
            if errno == EINTR { continue }
            throw MeteoError(code: .io, "cannot flush the directory \(path) to disk: \(String(cString: strerror(errno))); check the disk", isRetriable: true)
        }
    }
}
