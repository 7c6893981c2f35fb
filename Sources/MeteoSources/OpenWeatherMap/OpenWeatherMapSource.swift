import AsyncHTTPClient
import Foundation
import Logging
import MeteoCore

/// Current weather from OpenWeatherMap's `data/2.5/weather` endpoint: one `GET` per place,
/// `?lat=…&lon=…&units=metric&appid=KEY`, decoded by ``OpenWeatherMapDecoder/decodeCity``.
///
/// The API key never appears in a log or an error: every URL is redacted (`appid=<redacted>`)
/// and the key is never handed to AsyncHTTPClient's logger.
///
/// Each request counts 1 against the plan's ledger (free plan: 60 a minute, 1,000,000 a month).
///
/// Failures: 401 (bad key) fails the whole poll with a message naming `METEO_OWM_API_KEY`; any
/// other per-place problem (404, bad payload, retries exhausted) is a ``SourceFailure`` of
/// that place, unless every place failed for a transient reason, in which case the poll throws
/// the first such error (`isRetriable`). Up to `configuration.concurrency` requests run at once.
public struct OpenWeatherMapSource: WeatherSource {
    public var name: String { "openweathermap" }

    public let endpoint: String
    let key: Secret
    let transport: HTTPTransport
    let concurrency: Int

    /// - Throws: ``MeteoError`` `.invalidConfiguration` when no API key is configured.
    public init(
        configuration: MeteoConfiguration,
        httpClient: HTTPClient = .shared,
        retryPolicy: RetryPolicy? = nil,
        quota: QuotaLedger? = nil,
        logger: Logger
    ) throws(MeteoError) {
        guard let key = configuration.openWeatherMapKey, !key.value.isEmpty else {
            throw MeteoError(code: .invalidConfiguration,
                             "the openweathermap source needs an API key: set METEO_OWM_API_KEY (or OPENWEATHERMAP_API_KEY) in the environment, or use --source open-meteo, which needs none")
        }
        var logger = logger
        logger[metadataKey: LoggingKeys.source] = "openweathermap"
        self.endpoint = configuration.openWeatherMapURL
        self.key = key
        self.concurrency = max(1, configuration.concurrency)
        self.transport = HTTPTransport(
            client: httpClient, timeout: configuration.httpTimeout,
            retry: retryPolicy ?? RetryPolicy(maxAttempts: configuration.maxAttempts),
            concurrency: configuration.concurrency,
            quota: quota, quotaWindow: Self.quotaWindow, logger: logger)
    }

    /// OpenWeatherMap's 429 (`{"cod":429,"message":"Your account is temporary blocked due to
    /// exceeding of requests limitation of your subscription type. …"}`) is its per-minute limit:
    /// the free plan's only short window. Its monthly allowance is counted by the ledger.
    static func quotaWindow(_ response: HTTPResponseData) -> QuotaWindow? {
        guard response.status == 429 else { return nil }
        return .minute
    }

    public func poll(_ places: [Place]) async throws -> SourceBatch {
        let results = try await withThrowingTaskGroup(of: (Int, Result<Observation, MeteoError>).self) { group in
            var results = [Result<Observation, MeteoError>?](repeating: nil, count: places.count)
            var next = 0
            func addNext() {
                let index = next
                let place = places[index]
                group.addTask { (index, try await fetch(place)) }
                next += 1
            }
            while next < min(concurrency, places.count) { addNext() }
            while let (index, result) = try await group.next() {
                if case .failure(let error) = result, error.code == .apiError, !error.isRetriable,
                   error.message.contains("METEO_OWM_API_KEY") {
                    throw error  // a bad key fails every place: stop at once
                }
                results[index] = result
                if next < places.count { addNext() }
            }
            return results.map { $0! }
        }
        var batch = SourceBatch()
        var transient: MeteoError?
        var allTransient = !places.isEmpty
        for (place, result) in zip(places, results) {
            switch result {
            case .success(let o):
                batch.observations.append(o)
                allTransient = false
            case .failure(let error):
                if error.isRetriable { transient = transient ?? error } else { allTransient = false }
                batch.failures.append(SourceFailure(placeID: place.id, reason: "openweathermap: \(place.name): \(error.message)"))
            }
        }
        if allTransient, let transient { throw transient }
        return batch
    }

    /// One place's request; its errors are returned, not thrown (cancellation excepted).
    private func fetch(_ place: Place) async throws -> Result<Observation, MeteoError> {
        let url = endpoint + (endpoint.contains("?") ? "&" : "?")
            + "lat=\(OpenMeteoSource.coordinate(place.latitude))&lon=\(OpenMeteoSource.coordinate(place.longitude))&units=metric&appid=\(Self.encodeKey(key.value))"
        do {
            let o = try await transport.send(
                HTTPRequestSpec(url: url),
                describe: { Self.describe($0, key: key) },
                decode: { (response: HTTPResponseData) throws(MeteoError) -> Observation in
                    let json: JSONValue
                    do throws(MeteoError) { json = try JSONValue.parse(response.body) } catch {
                        throw MeteoError(code: .malformedPayload, "OpenWeatherMap sent a response that is not complete JSON: \(error.message)",
                                         isRetriable: true)
                    }
                    return try OpenWeatherMapDecoder.decodeCity(
                        json, source: "openweathermap", region: place.region,
                        placeID: place.id, name: place.name,
                        // A custom place without a country takes the one OpenWeatherMap reports.
                        country: place.country.isEmpty ? nil : place.country)
                })
            return .success(o)
        } catch var error as MeteoError {
            // Belt and braces: no message or detail may ever hold the key.
            error.message = Self.scrub(error.message, key: key)
            error.detail = error.detail.map { Self.scrub($0, key: key) }
            return .failure(error)
        }
    }

    static func encodeKey(_ key: String) -> String {
        key.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? key
    }

    static func scrub(_ text: String, key: Secret) -> String {
        HTTPTransport.redact(text).replacingOccurrences(of: key.value, with: "<redacted>")
    }

    /// OpenWeatherMap's errors: `{"cod":401,"message":"Invalid API key. …"}`.
    static func describe(_ response: HTTPResponseData, key: Secret) -> MeteoError {
        let message = (try? JSONValue.parse(response.body)).flatMap(OpenWeatherMapDecoder.errorMessage).map { scrub($0, key: key) }
            ?? scrub(HTTPTransport.trim(response.bodyText, to: 200), key: key)
        let fix: String
        switch response.status {
        case 401, 403: fix = "check METEO_OWM_API_KEY (a new key takes up to two hours to activate)"
        case 404: fix = "OpenWeatherMap has no weather for these coordinates"
        default: fix = "check the owm-url setting"
        }
        return MeteoError(code: .apiError, "OpenWeatherMap rejected the request (HTTP \(response.status)): \(message); \(fix)")
    }
}
