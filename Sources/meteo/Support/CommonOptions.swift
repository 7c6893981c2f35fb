import ArgumentParser
import Foundation
import Logging
import MeteoCore

/// Options every command takes.
struct CommonOptions: ParsableArguments {
    @Option(name: .customLong("data-dir"), help: ArgumentHelp("Folder of the embedded log and store (METEO_DATA_DIR).", valueName: "dir"))
    var dataDir: String?

    @Option(name: .customLong("config"), help: ArgumentHelp("JSON config file (METEO_CONFIG); keys as the flags, with '_' for '-'.", valueName: "file"))
    var config: String?

    @Option(name: .customLong("log-level"), help: ArgumentHelp("trace, debug, info, notice, warning, error or critical (METEO_LOG_LEVEL).", valueName: "level"))
    var logLevel: String?

    /// The flags given on the command line, by configuration key.
    var flags: [String: String] {
        var f: [String: String] = [:]
        if let dataDir { f["data-dir"] = dataDir }
        if let config { f["config"] = config }
        return f
    }

    /// Resolves flags + environment + config file into a configuration.
    func configuration(extra: [String: String?] = [:]) throws -> MeteoConfiguration {
        var f = flags
        for (k, v) in extra { if let v { f[k] = v } }
        let env = ProcessInfo.processInfo.environment
        let layers = try ConfigLayers.load(flags: f, environment: env)
        return try MeteoConfiguration.resolve(layers)
    }

    /// Sets up logging to standard error; the default level keeps the CLI's own output readable.
    func bootstrapLogging() -> Logger {
        let text = logLevel ?? ProcessInfo.processInfo.environment["METEO_LOG_LEVEL"] ?? "warning"
        let level = Logger.Level(rawValue: text.lowercased()) ?? .warning
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        return Logger(label: "meteo")
    }
}

/// Runs a command body and turns every error into one clear line on standard error and exit code 1.
func runReportingErrors(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let error as MeteoError {
        Terminal.error(error.message)
        throw ExitCode(1)
    } catch let exit as ExitCode {
        throw exit
    } catch is CancellationError {
        throw ExitCode(130)
    } catch {
        Terminal.error(String(describing: error).split(separator: "\n").first.map(String.init) ?? "unknown error")
        throw ExitCode(1)
    }
}
