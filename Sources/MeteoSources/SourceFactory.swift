import Foundation
import Logging
import MeteoCore

/// Builds the source a configuration names.
public enum SourceFactory {
    /// The source of `configuration.source`. For the synthetic source the clock starts at the
    /// current 10-minute boundary.
    public static func make(configuration: MeteoConfiguration, logger: Logger) throws -> any WeatherSource {
        switch configuration.source {
        case .synthetic:
            let now = (Date().timeIntervalSince1970 / 600).rounded(.down) * 600
            return SyntheticSource(seed: configuration.seed, start: Date(timeIntervalSince1970: now), step: .seconds(600))
        case .replay:
            guard let file = configuration.replayFile else {
                throw MeteoError(code: .invalidConfiguration, "the replay source needs a file: give --replay-file FILE (or METEO_REPLAY_FILE)")
            }
            return ReplaySource(url: URL(fileURLWithPath: file))
        case .openMeteo, .openWeatherMap:
            throw MeteoError(code: .invalidConfiguration, "the \(configuration.source.rawValue) source is not in this build yet")
        }
    }

    /// Releases shared HTTP resources; call once at exit.
    public static func shutdown() async throws {}
}
