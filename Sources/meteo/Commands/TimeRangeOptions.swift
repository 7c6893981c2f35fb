import ArgumentParser
import Foundation
import MeteoCore

/// `--since` and `--until`, shared by the commands that read stored observations.
struct TimeRangeOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Only observations at or after this time (ISO 8601, or an age such as 24h).", valueName: "time"))
    var since: String?

    @Option(help: ArgumentHelp("Only observations before this time.", valueName: "time"))
    var until: String?

    var isSet: Bool { since != nil || until != nil }

    /// The bounds as dates; an invalid time names its flag and the accepted forms.
    func dates(now: Date = Date()) throws -> (since: Date?, until: Date?) {
        (try since.map { try QueryCommand.parseTime($0, flag: "--since", now: now) },
         try until.map { try QueryCommand.parseTime($0, flag: "--until", now: now) })
    }
}
