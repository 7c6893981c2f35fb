import AsyncHTTPClient
import Foundation
import Logging
import MeteoCore
import NIOCore
import NIOHTTP1
import Synchronization

/// One HTTP request as the sources describe it.
struct HTTPRequestSpec: Sendable {
    var method: HTTPMethod = .GET
    var url: String
    var headers: [(String, String)] = []
    var body: [UInt8]? = nil
    /// What the request costs in the provider's quota (Open-Meteo weighs places, variables and days).
    var weight: Double = 1
}

/// Where the time of a request went: waiting for quota, and waiting for answers (retries and
/// their backoff included). Filled by ``HTTPTransport/send(_:timing:describe:decode:)``.
final class TransportTiming: Sendable {
    private let state = Mutex((quotaWait: Duration.zero, http: Duration.zero))

    func add(quotaWait: Duration) { state.withLock { $0.quotaWait += quotaWait } }
    func add(http: Duration) { state.withLock { $0.http += http } }

    var quotaWait: Duration { state.withLock { $0.quotaWait } }
    var http: Duration { state.withLock { $0.http } }
}

/// A complete HTTP response (body collected, capped).
struct HTTPResponseData: Sendable {
    var status: Int
    var headers: HTTPHeaders
    var body: [UInt8]

    var bodyText: String { String(decoding: body, as: UTF8.self) }
}

/// The HTTP plumbing shared by the API sources: per-request time-out, retries with backoff
/// (``RetryPolicy``), `Retry-After`, a concurrency bound, the provider's quota (a
/// ``QuotaLedger`` asked for each request's weight before it is sent; a 429 whose reason names
/// a window makes the ledger wait for that window's reset instead of retrying at once), a cap
/// on body size, and redaction of secrets from every URL it logs or puts in an error.
///
/// It never hands its logger to AsyncHTTPClient, whose trace logs would print full URLs.
struct HTTPTransport: Sendable {
    /// The largest response body accepted.
    static let defaultMaxBodyBytes = 32 * 1024 * 1024

    let client: HTTPClient
    let timeout: Duration
    let retry: RetryPolicy
    let semaphore: AsyncSemaphore
    let quota: QuotaLedger?
    /// The window a 429 response says is spent, from the provider's own words; nil when it
    /// names none (then the 429 is retried with backoff and `Retry-After`).
    let quotaWindow: @Sendable (HTTPResponseData) -> QuotaWindow?
    let maxBodyBytes: Int
    let logger: Logger

    /// How many times one request waits for a window the provider refused before giving up
    /// (another client on the same IP address may be spending the same allowance).
    static let maxQuotaRefusals = 3

    init(
        client: HTTPClient, timeout: Duration, retry: RetryPolicy, concurrency: Int,
        quota: QuotaLedger? = nil, quotaWindow: @escaping @Sendable (HTTPResponseData) -> QuotaWindow? = { _ in nil },
        maxBodyBytes: Int = HTTPTransport.defaultMaxBodyBytes, logger: Logger
    ) {
        self.client = client
        self.timeout = timeout
        self.retry = retry
        self.semaphore = AsyncSemaphore(permits: concurrency)
        self.quota = quota
        self.quotaWindow = quotaWindow
        self.maxBodyBytes = maxBodyBytes
        self.logger = logger
    }

    /// What one attempt came to.
    private enum Outcome<T: Sendable>: Sendable {
        case success(T)
        case retry(MeteoError, retryAfter: Duration?)
        /// A 429 that names a spent window: wait for its reset, not for a backoff.
        case quotaRefused(MeteoError, QuotaWindow)
        case fail(MeteoError)
    }

    /// Sends `request` until it succeeds, fails for good, or runs out of attempts.
    ///
    /// - Parameters:
    ///   - describe: turns a non-retriable error response (a 4xx other than 429) into the
    ///     error to throw; it should say what to fix.
    ///   - decode: turns a 2xx response into the result. If it throws a retriable
    ///     ``MeteoError`` (say, truncated JSON), the request is tried again.
    /// - Throws: ``MeteoError`` (`isRetriable` tells whether a later poll may succeed) or
    ///   `CancellationError`.
    func send<T: Sendable>(
        _ request: HTTPRequestSpec,
        timing: TransportTiming? = nil,
        describe: (HTTPResponseData) -> MeteoError,
        decode: (HTTPResponseData) throws(MeteoError) -> T
    ) async throws -> T {
        let safeURL = Self.redact(request.url)
        var attempt = 1
        var refusals = 0
        while true {
            try Task.checkCancellation()
            let outcome: Outcome<T> = try await semaphore.withPermit {
                let asked = ContinuousClock.now
                try await quota?.acquire(request.weight)
                timing?.add(quotaWait: ContinuousClock.now - asked)
                return try await once(request, safeURL: safeURL, timing: timing, describe: describe, decode: decode)
            }
            switch outcome {
            case .success(let value):
                return value
            case .fail(let error):
                throw error
            case .quotaRefused(var error, let window):
                refusals += 1
                guard let quota, refusals <= Self.maxQuotaRefusals else {
                    error.message += quota == nil ? "" : " (refused \(refusals) times after waiting for the \(window.adjective) quota to reset: another client may be spending the same allowance)"
                    error.isRetriable = true
                    throw error
                }
                logger.warning("the provider refused the \(window.adjective) quota; waiting for it to reset", metadata: [
                    LoggingKeys.url: "\(Self.shortened(safeURL))", LoggingKeys.error: "\(error.message)",
                ])
                try quota.refused(window)
            case .retry(var error, let retryAfter):
                guard attempt < retry.maxAttempts else {
                    error.message += " (gave up after \(attempt) attempt\(attempt == 1 ? "" : "s"))"
                    error.isRetriable = true
                    throw error
                }
                let delay = retry.delay(beforeRetry: attempt, retryAfter: retryAfter, random: Double.random(in: 0..<1))
                logger.warning("retrying HTTP request", metadata: [
                    LoggingKeys.url: "\(Self.shortened(safeURL))",
                    LoggingKeys.attempt: "\(attempt)",
                    LoggingKeys.delay: "\(delay.seconds)",
                    LoggingKeys.error: "\(error.message)",
                ])
                let slept = ContinuousClock.now
                try await Task.sleep(for: delay)
                timing?.add(http: ContinuousClock.now - slept)
                attempt += 1
            }
        }
    }

    private func once<T: Sendable>(
        _ spec: HTTPRequestSpec, safeURL: String, timing: TransportTiming?,
        describe: (HTTPResponseData) -> MeteoError,
        decode: (HTTPResponseData) throws(MeteoError) -> T
    ) async throws -> Outcome<T> {
        let host = URL(string: spec.url)?.host ?? "the server"
        let response: HTTPResponseData
        do {
            let sent = ContinuousClock.now
            defer { timing?.add(http: ContinuousClock.now - sent) }
            response = try await fetch(spec)
        } catch is CancellationError {
            throw CancellationError()
        } catch let error as HTTPClientError where Self.isTimeout(error) {
            return .retry(timeoutError(host, safeURL), retryAfter: nil)
        } catch is TransportTimeout {
            return .retry(timeoutError(host, safeURL), retryAfter: nil)
        } catch is NIOTooManyBytesError {
            return .fail(MeteoError(code: .apiError, "\(host) sent a response larger than \(maxBodyBytes / 1_048_576) MB; poll fewer places per request",
                                    detail: safeURL))
        } catch {
            try Task.checkCancellation()
            return .retry(MeteoError(code: .connection, "could not get a response from \(host): \(Self.redact(String(describing: error)))",
                                     isRetriable: true, detail: safeURL), retryAfter: nil)
        }
        switch response.status {
        case 200..<300:
            do throws(MeteoError) {
                return .success(try decode(response))
            } catch {
                return error.isRetriable ? .retry(error, retryAfter: nil) : .fail(error)
            }
        case 429:
            if let window = quotaWindow(response) {
                return .quotaRefused(MeteoError(code: .apiError, "\(host) refused the request: its \(window.adjective) quota is spent (HTTP 429): \(Self.trim(Self.redact(response.bodyText), to: 200)); check meteo plan",
                                                isRetriable: true, detail: safeURL), window)
            }
            let after = response.headers.first(name: "Retry-After").flatMap { RetryPolicy.parseRetryAfter($0) }
            return .retry(MeteoError(code: .apiError, "\(host) is rate limiting Meteo (HTTP 429): poll less often or fewer places",
                                     isRetriable: true, detail: safeURL), retryAfter: after)
        case 500..<600:
            let after = response.headers.first(name: "Retry-After").flatMap { RetryPolicy.parseRetryAfter($0) }
            return .retry(MeteoError(code: .apiError, "\(host) failed with HTTP \(response.status); it may be down, try again later",
                                     isRetriable: true, detail: Self.redact("\(safeURL): \(Self.trim(response.bodyText))")),
                          retryAfter: after)
        default:
            var error = describe(response)
            error.message = Self.redact(error.message)
            return .fail(error)
        }
    }

    private func timeoutError(_ host: String, _ safeURL: String) -> MeteoError {
        MeteoError(code: .timeout, "\(host) did not answer within \(timeout.seconds) s; raise --http-timeout or try again later",
                   isRetriable: true, detail: safeURL)
    }

    private struct TransportTimeout: Error {}

    /// One request and its body, within the time-out (AsyncHTTPClient's deadline covers the
    /// response head; the race below also covers the body).
    private func fetch(_ spec: HTTPRequestSpec) async throws -> HTTPResponseData {
        var request = HTTPClientRequest(url: spec.url)
        request.method = spec.method
        for (name, value) in spec.headers { request.headers.add(name: name, value: value) }
        if let body = spec.body { request.body = .bytes(ByteBuffer(bytes: body)) }
        let prepared = request
        let client = self.client
        let maxBodyBytes = self.maxBodyBytes
        let nanos = Int64(timeout.seconds * 1e9)
        let timeout = self.timeout
        return try await withThrowingTaskGroup(of: HTTPResponseData.self) { group in
            group.addTask {
                let response = try await client.execute(prepared, timeout: .nanoseconds(nanos))
                let buffer = try await response.body.collect(upTo: maxBodyBytes)
                return HTTPResponseData(status: Int(response.status.code), headers: response.headers, body: Array(buffer: buffer))
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                throw TransportTimeout()
            }
            defer { group.cancelAll() }
            guard let first = try await group.next() else { throw TransportTimeout() }
            return first
        }
    }

    static func isTimeout(_ error: HTTPClientError) -> Bool {
        error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout || error == .writeTimeout
    }

    /// Query parameters whose values are secrets.
    static let secretParameters: Set<String> = ["appid", "apikey", "api_key", "key", "token", "access_token"]

    /// A URL for a log line: at most 200 characters (a request for 1,000 places is 20 KB of
    /// coordinates), with its length when cut.
    static func shortened(_ url: String) -> String {
        url.count <= 200 ? url : "\(url.prefix(200))… (\(url.utf8.count) bytes)"
    }

    /// `text` with the value of every secret query parameter (`appid=…`) replaced by `<redacted>`.
    /// Works on a URL or on any text that contains one.
    static func redact(_ text: String) -> String {
        guard text.contains("=") else { return text }
        var out = ""
        out.reserveCapacity(text.count)
        var rest = Substring(text)
        while let eq = rest.firstIndex(of: "=") {
            let before = rest[..<eq]
            // The parameter name runs back to the last '?', '&', ';' or space.
            let nameStart = before.lastIndex(where: { "?&; \"'(,".contains($0) }).map { before.index(after: $0) } ?? before.startIndex
            let name = before[nameStart...].lowercased()
            out += rest[...eq]
            rest = rest[rest.index(after: eq)...]
            if secretParameters.contains(name) {
                let end = rest.firstIndex(where: { "&#; \"')\n,".contains($0) }) ?? rest.endIndex
                out += "<redacted>"
                rest = rest[end...]
            }
        }
        out += rest
        return out
    }

    /// A response body trimmed for an error's detail.
    static func trim(_ text: String, to limit: Int = 300) -> String {
        text.count <= limit ? text : String(text.prefix(limit)) + "…"
    }
}
