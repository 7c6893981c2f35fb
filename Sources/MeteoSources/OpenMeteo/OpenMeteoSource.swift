import AsyncHTTPClient
import Logging
import MeteoCore
import NIOHTTP1

/// Current weather from Open-Meteo's forecast API: free (no key), with an API key (the
/// customer endpoint and the `apikey` parameter), or a self-hosted server.
///
/// Places are sent in batches of ``batchSize`` coordinates per request: as many as one minute
/// of the plan can pay for (461 at 13 variables on the free plan, since each place weighs
/// 13 / 10 = 1.3 calls), at most 1,000. Each request asks the plan's ``QuotaLedger`` for its
/// weight before it is sent, so a poll never asks Open-Meteo for more than the plan allows; a
/// 429 whose reason names a window ("Daily API request limit exceeded") waits for that window's
/// reset. A request whose URL would be longer than ``maxURLLength`` is sent as a `POST` with
/// the same parameters in an `application/x-www-form-urlencoded` body, which Open-Meteo accepts.
///
/// The `current` block is Open-Meteo's 15-minute model step, so a poll within the same step
/// repeats the last one; the ingestor skips such repeats (`Ingestor.Configuration.skipRepeats`).
///
/// Failures: HTTP 400 becomes a non-retriable ``MeteoError`` with Open-Meteo's `reason`;
/// other 429s, 5xx, time-outs, broken connections and incomplete JSON are retried per
/// ``RetryPolicy`` (a truncated body is taken for a transfer error, so it is retried too). A
/// location with wrong types or impossible values is a ``SourceFailure`` of its place; a
/// response that does not hold one location per requested place fails the poll. Batches run
/// one after the other.
public struct OpenMeteoSource: WeatherSource {
    public var name: String { OpenMeteoResponseDecoder.source }

    /// The `current=` variables Meteo asks for.
    public static let currentVariables = [
        "temperature_2m", "apparent_temperature", "relative_humidity_2m", "pressure_msl",
        "wind_speed_10m", "wind_direction_10m", "wind_gusts_10m", "cloud_cover", "visibility",
        "rain", "snowfall", "precipitation", "weather_code",
    ]

    /// The planner of one live poll under `plan`: 13 variables, one day of data a request.
    public static func planner(_ plan: ProviderPlan) -> QuotaPlanner {
        QuotaPlanner(plan: plan, variables: currentVariables.count, days: 1)
    }

    /// The forecast endpoint, `https://api.open-meteo.com/v1/forecast` by default.
    public let endpoint: String
    /// Places per request.
    public let batchSize: Int
    /// Longest URL sent as a `GET`; longer requests are sent as a `POST`.
    public let maxURLLength: Int
    /// The plan whose quota the requests count against.
    public let plan: ProviderPlan
    let apiKey: Secret?
    let transport: HTTPTransport

    /// - Parameters:
    ///   - configuration: supplies `openMeteoURL`, the plan, the API key, `httpTimeout`,
    ///     `maxAttempts` and `concurrency`.
    ///   - httpClient: a client the caller owns and shuts down (``HTTPClient/shared`` needs no shutdown).
    ///   - retryPolicy: defaults to `configuration.maxAttempts` attempts, 0.5 s base, 60 s cap.
    ///   - batchSize: at most this many places a request (the plan may allow fewer).
    ///   - quota: the plan's ledger; nil sends without counting (tests of the decoding).
    public init(
        configuration: MeteoConfiguration,
        httpClient: HTTPClient = .shared,
        retryPolicy: RetryPolicy? = nil,
        batchSize: Int = 1000,
        maxURLLength: Int = 8000,
        quota: QuotaLedger? = nil,
        logger: Logger
    ) {
        var logger = logger
        logger[metadataKey: LoggingKeys.source] = "open-meteo"
        let plan = quota?.plan ?? configuration.providerPlan ?? .openMeteoFree
        self.endpoint = configuration.openMeteoURL
        self.plan = plan
        self.apiKey = plan.tier == .apiKey ? configuration.openMeteoAPIKey : nil
        self.batchSize = min(max(1, batchSize), Self.planner(plan).placesPerRequest)
        self.maxURLLength = maxURLLength
        self.transport = HTTPTransport(
            client: httpClient, timeout: configuration.httpTimeout,
            retry: retryPolicy ?? RetryPolicy(maxAttempts: configuration.maxAttempts),
            concurrency: configuration.concurrency,
            quota: quota, quotaWindow: Self.quotaWindow,
            logger: logger)
    }

    public func poll(_ places: [Place]) async throws -> SourceBatch {
        var batch = SourceBatch()
        var start = 0
        let weight = Self.planner(plan).placeWeight
        while start < places.count {
            let chunk = Array(places[start..<min(start + batchSize, places.count)])
            var spec = request(for: chunk)
            spec.weight = weight * Double(chunk.count)
            let part = try await transport.send(
                spec,
                describe: Self.describe,
                decode: { (response: HTTPResponseData) throws(MeteoError) -> SourceBatch in
                    try OpenMeteoResponseDecoder.decode(response.body, places: chunk)
                })
            batch.observations += part.observations
            batch.failures += part.failures
            start += batchSize
        }
        transport.logger.debug("polled Open-Meteo", metadata: [
            LoggingKeys.count: "\(batch.observations.count)", "meteo.failures": "\(batch.failures.count)",
        ])
        return batch
    }

    /// The window an Open-Meteo 429 names: `{"error":true,"reason":"Hourly API request limit exceeded. …"}`.
    static func quotaWindow(_ response: HTTPResponseData) -> QuotaWindow? {
        guard let reason = Self.reason(response) else { return nil }
        let first = reason.prefix { $0 != " " }
        guard reason.contains("limit exceeded") else { return nil }
        return QuotaWindow(name: String(first))
    }

    static func reason(_ response: HTTPResponseData) -> String? {
        (try? JSONValue.parse(response.body))?["reason"].flatMap { json -> String? in
            if case .string(let s) = json { return s }
            return nil
        }
    }

    /// The request for one batch: a `GET`, or a form `POST` when the URL would be too long.
    func request(for places: [Place]) -> HTTPRequestSpec {
        Self.request(endpoint: endpoint, parameters: parameters(for: places), maxURLLength: maxURLLength)
    }

    /// A `GET` of `endpoint` with `parameters`, or a form `POST` when the URL would be longer
    /// than `maxURLLength`.
    static func request(endpoint: String, parameters: [(String, String)], maxURLLength: Int) -> HTTPRequestSpec {
        let query = formEncode(parameters)
        let separator = endpoint.contains("?") ? "&" : "?"
        let url = endpoint + separator + query
        if url.utf8.count <= maxURLLength { return HTTPRequestSpec(method: .GET, url: url) }
        return HTTPRequestSpec(method: .POST, url: endpoint,
                               headers: [("Content-Type", "application/x-www-form-urlencoded")],
                               body: Array(query.utf8))
    }

    /// The places' coordinates, as Open-Meteo takes them.
    static func coordinates(_ places: [Place]) -> [(String, String)] {
        [
            ("latitude", places.map { coordinate($0.latitude) }.joined(separator: ",")),
            ("longitude", places.map { coordinate($0.longitude) }.joined(separator: ",")),
        ]
    }

    func parameters(for places: [Place]) -> [(String, String)] {
        var out: [(String, String)] = Self.coordinates(places) + [
            ("current", Self.currentVariables.joined(separator: ",")),
            ("forecast_days", "1"),
            ("wind_speed_unit", "ms"),
            ("timezone", "GMT"),
            ("timeformat", "unixtime"),
        ]
        if let apiKey { out.append(("apikey", apiKey.value)) }
        return out
    }

    /// A coordinate with at most 4 decimals (about 11 m), which is finer than the model grid.
    static func coordinate(_ v: Double) -> String {
        let rounded = (v * 10_000).rounded() / 10_000
        return rounded == rounded.rounded() ? String(Int(rounded)) : String(rounded)
    }

    /// `a=1&b=x,y`; only characters outside `A-Za-z0-9-._~,` are percent-encoded.
    static func formEncode(_ parameters: [(String, String)]) -> String {
        func encode(_ s: String) -> String {
            var out = ""
            for byte in s.utf8 {
                switch byte {
                case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                     UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."),
                     UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: ","):
                    out.unicodeScalars.append(Unicode.Scalar(byte))
                default:
                    let hex = Array("0123456789ABCDEF".unicodeScalars)
                    out.unicodeScalars.append("%")
                    out.unicodeScalars.append(hex[Int(byte >> 4)])
                    out.unicodeScalars.append(hex[Int(byte & 0xF)])
                }
            }
            return out
        }
        return parameters.map { "\(encode($0.0))=\(encode($0.1))" }.joined(separator: "&")
    }

    /// Open-Meteo's error responses: `{"error":true,"reason":"…"}`.
    static func describe(_ response: HTTPResponseData) -> MeteoError {
        let reason = Self.reason(response)
        let what = reason.map { "Open-Meteo rejected the request (HTTP \(response.status)): \($0)" }
            ?? "Open-Meteo rejected the request (HTTP \(response.status)): \(HTTPTransport.trim(response.bodyText, to: 200))"
        let fix: String
        switch response.status {
        case 400: fix = "; check the places' coordinates and the open-meteo-url setting"
        case 401, 403: fix = "; check METEO_OPEN_METEO_API_KEY and that open-meteo-url is the customer endpoint (customer-api.open-meteo.com)"
        default: fix = "; check the open-meteo-url setting"
        }
        return MeteoError(code: .apiError, what + fix, detail: HTTPTransport.trim(response.bodyText))
    }
}

extension OpenMeteoSource {
    /// Decodes one response body for `places` as ``poll(_:)`` does (for tests and for tools
    /// that replay recorded Open-Meteo responses).
    public static func decodeResponse(_ body: [UInt8], places: [Place]) throws(MeteoError) -> SourceBatch {
        try OpenMeteoResponseDecoder.decode(body, places: places)
    }
}

