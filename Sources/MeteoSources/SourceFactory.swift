import AsyncHTTPClient
import Foundation
import Logging
import MeteoCore

/// Builds the source a configuration asks for (`config.source`). The API sources count their
/// requests against `quota`, the ledger of the configuration's provider plan (``quotaLedger(config:dataDir:clock:logger:onWait:)``). The CLI's composition root
/// calls it once and keeps the source for the life of the ingestor.
///
/// HTTP client lifetime: the API sources use the `httpClient` passed in and never shut it down.
/// The default, ``HTTPClient/shared``, lives for the whole process and must not be shut down;
/// a caller that passes its own client shuts it down after the last poll.
public enum SourceFactory {
    public static func make(
        config: MeteoConfiguration,
        httpClient: HTTPClient = .shared,
        retryPolicy: RetryPolicy? = nil,
        quota: QuotaLedger? = nil,
        logger: Logger
    ) throws(MeteoError) -> any WeatherSource {
        switch config.source {
        case .openMeteo:
            return OpenMeteoSource(configuration: config, httpClient: httpClient, retryPolicy: retryPolicy, quota: quota, logger: logger)
        case .openWeatherMap:
            return try OpenWeatherMapSource(configuration: config, httpClient: httpClient, retryPolicy: retryPolicy, quota: quota, logger: logger)
        case .replay:
            guard let file = config.replayFile, !file.isEmpty else {
                throw MeteoError(code: .invalidConfiguration,
                                 "the replay source needs a file: set --replay-file (or METEO_REPLAY_FILE) to an NDJSON, legacy box/city or CSV recording")
            }
            return ReplaySource(path: file)
        case .synthetic:
            // A backfill (`--interval 0`) makes one tick every 10 minutes from the current
            // 10-minute boundary. A live-looking run (an interval of at least a second) makes
            // one tick per interval from the current interval boundary, so each poll is
            // observed "now" and a restarted ingestor goes on with new times.
            let interval = config.interval.components.seconds
            let step: Int64 = interval >= 1 ? interval : 600
            let now = (Int64(Date().timeIntervalSince1970) / step) * step
            return SyntheticSource(seed: config.seed, start: Date(timeIntervalSince1970: Double(now)), step: .seconds(step))
        }
    }

    /// The quota ledger of the configuration's provider plan, kept in `<data dir>/quota`; nil
    /// for the sources that call no API, and for a plan without limits.
    public static func quotaLedger(
        config: MeteoConfiguration, clock: any MeteoClock = SystemClock(), logger: Logger,
        onWait: (@Sendable (QuotaWait) -> Void)? = nil
    ) throws(MeteoError) -> QuotaLedger? {
        guard let plan = config.providerPlan, !plan.isUnlimited else { return nil }
        return try QuotaLedger(plan: plan, directory: URL(fileURLWithPath: config.dataDir).appendingPathComponent("quota"),
                               clock: clock, logger: logger, onWait: onWait)
    }
}
