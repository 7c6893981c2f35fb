import AsyncHTTPClient
import Foundation
import Logging
import MeteoCore

/// Hourly history from Open-Meteo, for `meteo backfill`: the historical archive
/// (`/v1/archive`, `start_date`/`end_date`) for the days it holds, and the forecast API's
/// `past_days` for the last days, which the archive does not hold yet (``BackfillPlanner``
/// decides which, per ``BackfillChunk``).
///
/// It asks for the live `current` variables as hourly ones (``OpenMeteoHistory``; the archive
/// has no visibility, so that is null for archive hours), in m/s, UTC and unix seconds, and
/// labels the observations ``archiveLabel`` or ``recentLabel`` so that one can always tell
/// reanalysis hours from the forecast model's (live polling writes `open-meteo`). The
/// idempotency key is (place id, observed time) as for live data: a backfilled hour and a live
/// observation at the same time are one row.
///
/// Each request asks the plan's ``QuotaLedger`` (the one live polling uses) for the weight
/// Open-Meteo will count, `max(1, variables / 10) × max(1, days / 14) × places`, before it is
/// sent; a 429 naming a window waits for its reset. Retries, time-outs, `POST` for long URLs
/// and the redaction of the API key are the live source's (``HTTPTransport``).
public struct OpenMeteoArchiveSource: HistorySource {
    /// The `source` of hours from the archive (ERA5 and its successors).
    public static let archiveLabel = "open-meteo-archive"
    /// The `source` of hours from the forecast API's `past_days` (the days the archive lacks).
    public static let recentLabel = "open-meteo-recent"

    public let archiveEndpoint: String
    public let forecastEndpoint: String
    public let maxURLLength: Int
    let apiKey: Secret?
    let transport: HTTPTransport

    /// - Parameters:
    ///   - configuration: supplies `archiveURL`, `openMeteoURL`, the plan, the API key,
    ///     `httpTimeout`, `maxAttempts` and `concurrency`.
    ///   - quota: the plan's ledger; nil sends without counting (a plan without limits).
    public init(configuration: MeteoConfiguration, httpClient: HTTPClient = .shared, retryPolicy: RetryPolicy? = nil,
                quota: QuotaLedger? = nil, maxURLLength: Int = 8000, logger: Logger) {
        var logger = logger
        logger[metadataKey: LoggingKeys.source] = "open-meteo-history"
        let plan = quota?.plan ?? configuration.providerPlan ?? .openMeteoFree
        archiveEndpoint = configuration.archiveURL
        forecastEndpoint = configuration.openMeteoURL
        apiKey = plan.tier == .apiKey ? configuration.openMeteoAPIKey : nil
        self.maxURLLength = maxURLLength
        transport = HTTPTransport(
            client: httpClient, timeout: configuration.httpTimeout,
            retry: retryPolicy ?? RetryPolicy(maxAttempts: configuration.maxAttempts),
            concurrency: configuration.concurrency,
            quota: quota, quotaWindow: OpenMeteoSource.quotaWindow,
            logger: logger)
    }

    /// Open-Meteo's forecast API reaches this many days back with `past_days`.
    public static let maxPastDays = 92

    public func fetch(_ chunk: BackfillChunk, places: [Place], now: Date) async throws -> HistoryBatch {
        guard places.count == chunk.placeIDs.count, !places.isEmpty else {
            throw MeteoError(code: .internal, "a backfill request of \(chunk.placeIDs.count) places was given \(places.count) places")
        }
        let spec = try request(chunk, places: places, now: now)
        let span = OpenMeteoHistoryDecoder.Span(firstDay: chunk.firstDay, lastDay: chunk.lastDay, now: now)
        let label = chunk.endpoint == .archive ? Self.archiveLabel : Self.recentLabel
        let timing = TransportTiming()
        let clock = ContinuousClock()
        var batch = try await transport.send(
            spec, timing: timing,
            describe: { Self.describe($0, archive: chunk.endpoint == .archive) },
            decode: { (response: HTTPResponseData) throws(MeteoError) -> HistoryBatch in
                let started = clock.now
                var batch = try OpenMeteoHistoryDecoder.decode(response.body, places: places, span: span, source: label)
                batch.timing.decodeSeconds = (clock.now - started).seconds
                return batch
            })
        batch.weight = spec.weight
        batch.timing.quotaWaitSeconds = timing.quotaWait.seconds
        batch.timing.httpSeconds = timing.http.seconds
        return batch
    }

    /// The request for a chunk at `now`, with the weight Open-Meteo counts for it.
    func request(_ chunk: BackfillChunk, places: [Place], now: Date) throws(MeteoError) -> HTTPRequestSpec {
        var parameters = OpenMeteoSource.coordinates(places)
        let variables: [String]
        let endpoint: String
        let days: Int
        switch chunk.endpoint {
        case .archive:
            endpoint = archiveEndpoint
            variables = OpenMeteoHistory.archiveVariables
            days = chunk.days
            parameters += [("start_date", BackfillPlanner.date(chunk.firstDay)), ("end_date", BackfillPlanner.date(chunk.lastDay))]
        case .recent:
            endpoint = forecastEndpoint
            variables = OpenMeteoHistory.recentVariables
            let window = BackfillPlanner.recentRequest(firstDay: chunk.firstDay, lastDay: chunk.lastDay, today: BackfillPlanner.day(now))
            guard window.pastDays <= Self.maxPastDays else {
                throw MeteoError(code: .invalidConfiguration,
                                 "\(BackfillPlanner.date(chunk.firstDay)) is more than \(Self.maxPastDays) days back, which the forecast API's past_days cannot reach; run the backfill again so that the archive serves it")
            }
            days = window.days
            parameters += [("past_days", String(window.pastDays)), ("forecast_days", String(window.forecastDays))]
        }
        parameters += [
            ("hourly", variables.joined(separator: ",")),
            ("wind_speed_unit", "ms"),
            ("timezone", "GMT"),
            ("timeformat", "unixtime"),
        ]
        if let apiKey { parameters.append(("apikey", apiKey.value)) }
        var spec = OpenMeteoSource.request(endpoint: endpoint, parameters: parameters, maxURLLength: maxURLLength)
        spec.weight = CallWeight.openMeteo(variables: variables.count, days: Double(days), places: places.count)
        return spec
    }

    static func describe(_ response: HTTPResponseData, archive: Bool) -> MeteoError {
        var error = OpenMeteoSource.describe(response)
        if archive, response.status == 400 {
            error.message = error.message.replacingOccurrences(of: "the open-meteo-url setting", with: "the archive-url setting (METEO_ARCHIVE_URL)")
        }
        return error
    }
}
