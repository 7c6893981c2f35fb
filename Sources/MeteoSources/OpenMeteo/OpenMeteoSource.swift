import AsyncHTTPClient
import Logging
import MeteoCore
import NIOHTTP1

/// Current weather from Open-Meteo's free forecast API (no key needed).
///
/// Places are sent in batches of up to ``batchSize`` coordinates per request. A request whose
/// URL would be longer than ``maxURLLength`` is sent as a `POST` with the same parameters in an
/// `application/x-www-form-urlencoded` body, which Open-Meteo accepts.
///
/// Failures: HTTP 400 becomes a non-retriable ``MeteoError`` with Open-Meteo's `reason`;
/// 429, 5xx, time-outs, broken connections and incomplete JSON are retried per ``RetryPolicy``
/// (a truncated body is taken for a transfer error, so it is retried too). A location with wrong
/// types or impossible values is a ``SourceFailure`` of its place; a response that does not
/// hold one location per requested place fails the poll. Batches run one after the other
/// (each already carries up to 1000 places), and a client-side limiter keeps to the free
/// tier's 600 calls per minute.
public struct OpenMeteoSource: WeatherSource {
    public var name: String { OpenMeteoResponseDecoder.source }

    /// The `current=` variables Meteo asks for.
    public static let currentVariables = [
        "temperature_2m", "apparent_temperature", "relative_humidity_2m", "pressure_msl",
        "wind_speed_10m", "wind_direction_10m", "wind_gusts_10m", "cloud_cover", "visibility",
        "rain", "snowfall", "precipitation", "weather_code",
    ]

    /// The forecast endpoint, `https://api.open-meteo.com/v1/forecast` by default.
    public let endpoint: String
    /// Places per request (Open-Meteo accepts up to 1000).
    public let batchSize: Int
    /// Longest URL sent as a `GET`; longer requests are sent as a `POST`.
    public let maxURLLength: Int
    let transport: HTTPTransport

    /// - Parameters:
    ///   - configuration: supplies `openMeteoURL`, `httpTimeout`, `maxAttempts` and `concurrency`.
    ///   - httpClient: a client the caller owns and shuts down (``HTTPClient/shared`` needs no shutdown).
    ///   - retryPolicy: defaults to `configuration.maxAttempts` attempts, 0.5 s base, 60 s cap.
    ///   - callsPerMinute: client-side limit (Open-Meteo free tier: 600 a minute).
    public init(
        configuration: MeteoConfiguration,
        httpClient: HTTPClient = .shared,
        retryPolicy: RetryPolicy? = nil,
        batchSize: Int = 1000,
        maxURLLength: Int = 8000,
        callsPerMinute: Int = 600,
        logger: Logger
    ) {
        var logger = logger
        logger[metadataKey: LoggingKeys.source] = "open-meteo"
        self.endpoint = configuration.openMeteoURL
        self.batchSize = min(max(1, batchSize), 1000)
        self.maxURLLength = maxURLLength
        self.transport = HTTPTransport(
            client: httpClient, timeout: configuration.httpTimeout,
            retry: retryPolicy ?? RetryPolicy(maxAttempts: configuration.maxAttempts),
            concurrency: configuration.concurrency,
            rateLimiter: RateLimiter(limit: callsPerMinute, per: .seconds(60)),
            logger: logger)
    }

    public func poll(_ places: [Place]) async throws -> SourceBatch {
        var batch = SourceBatch()
        var start = 0
        while start < places.count {
            let chunk = Array(places[start..<min(start + batchSize, places.count)])
            let part = try await transport.send(
                request(for: chunk),
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

    /// The request for one batch: a `GET`, or a form `POST` when the URL would be too long.
    func request(for places: [Place]) -> HTTPRequestSpec {
        let query = Self.formEncode(Self.parameters(for: places))
        let separator = endpoint.contains("?") ? "&" : "?"
        let url = endpoint + separator + query
        if url.utf8.count <= maxURLLength { return HTTPRequestSpec(method: .GET, url: url) }
        return HTTPRequestSpec(method: .POST, url: endpoint,
                               headers: [("Content-Type", "application/x-www-form-urlencoded")],
                               body: Array(query.utf8))
    }

    static func parameters(for places: [Place]) -> [(String, String)] {
        [
            ("latitude", places.map { coordinate($0.latitude) }.joined(separator: ",")),
            ("longitude", places.map { coordinate($0.longitude) }.joined(separator: ",")),
            ("current", currentVariables.joined(separator: ",")),
            ("wind_speed_unit", "ms"),
            ("timezone", "GMT"),
            ("timeformat", "unixtime"),
        ]
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
        let reason = (try? JSONValue.parse(response.body))?["reason"].flatMap { json -> String? in
            if case .string(let s) = json { return s }
            return nil
        }
        let what = reason.map { "Open-Meteo rejected the request (HTTP \(response.status)): \($0)" }
            ?? "Open-Meteo rejected the request (HTTP \(response.status)): \(HTTPTransport.trim(response.bodyText, to: 200))"
        let fix = response.status == 400
            ? "; check the places' coordinates and the open-meteo-url setting"
            : "; check the open-meteo-url setting"
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
