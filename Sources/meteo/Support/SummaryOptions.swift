import ArgumentParser
import Foundation
import MeteoCore

/// `--summary-json PATH`: the counts of a run as one JSON object, written when the run ends,
/// for scripts (`scripts/bench` reads them) instead of the prose summary, which may be reworded.
/// The keys of each command are listed in README.md ("Machine-readable summaries"); a key is
/// never renamed or given another meaning.
struct SummaryOptions: ParsableArguments {
    @Option(name: .customLong("summary-json"), help: ArgumentHelp(
        "Write the run's counts, duration, rate and peak memory as a JSON object to this file when it ends (keys in README.md).",
        valueName: "file"))
    var summaryJSON: String?

    /// Refuses a file in a folder that is not there before the run starts, rather than after it.
    func validate() throws {
        guard let summaryJSON else { return }
        let folder = URL(fileURLWithPath: summaryJSON).deletingLastPathComponent().path
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder), isFolder.boolValue else {
            throw ValidationError("--summary-json \(summaryJSON): the folder \(folder) does not exist; create it or name a file in an existing folder")
        }
    }

    /// Writes `fields` plus `command`, `elapsed_s` and `peak_rss_bytes` (whole, in a temporary
    /// file renamed over PATH, so a reader never sees half of it). Nothing without the flag.
    func write(command: String, elapsedSeconds: Double, _ fields: KeyValuePairs<String, Double>) throws {
        guard let summaryJSON else { return }
        var w = JSONWriter()
        w.raw("{")
        w.key("command", first: true)
        w.string(command)
        for (key, value) in fields {
            w.key(key)
            w.number(value)
        }
        w.key("elapsed_s")
        w.number((elapsedSeconds * 1000).rounded() / 1000)
        w.key("peak_rss_bytes")
        w.number(Double(Self.peakRSSBytes()))
        w.raw("}\n")
        let url = URL(fileURLWithPath: summaryJSON)
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(getpid()).tmp")
        do {
            try Data(w.bytes).write(to: temporary)
        } catch {
            throw MeteoError(code: .invalidConfiguration, "cannot write --summary-json \(summaryJSON): \(error.localizedDescription)")
        }
        guard rename(temporary.path, url.path) == 0 else {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(at: temporary)
            throw MeteoError(code: .invalidConfiguration, "cannot write --summary-json \(summaryJSON): \(reason)")
        }
    }

    /// The process's peak resident memory (`getrusage`'s `ru_maxrss`, in KiB on Linux).
    static func peakRSSBytes() -> Int {
        var usage = rusage()
        #if os(Linux)
        guard getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage) == 0 else { return 0 }
        return usage.ru_maxrss * 1024
        #else
        guard getrusage(RUSAGE_SELF, &usage) == 0 else { return 0 }
        return usage.ru_maxrss
        #endif
    }
}

/// Events or observations per second, rounded to a whole number.
func perSecond(_ count: Int, _ seconds: Double) -> Double {
    (Double(count) / max(seconds, 0.001)).rounded()
}
