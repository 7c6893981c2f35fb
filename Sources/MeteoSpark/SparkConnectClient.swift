#if Spark
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import GRPCProtobuf
import Logging
import MeteoCore
import ServiceLifecycle

/// A Spark Connect client: one long-lived HTTP/2 connection (grpc-swift-2 on SwiftNIO) and one
/// Spark session, whose id every call carries, so temporary views and caches live across calls.
///
/// It is a `Service`: `run()` keeps the connection and returns after a graceful shutdown,
/// once the calls in flight are done. Every call has a deadline (``callTimeout``).
public final class SparkConnectClient: SparkSQLSession, Service {
    public let remote: SparkRemote
    /// The deadline of each call; an analysis is a few calls.
    public let callTimeout: Duration
    let grpc: GRPCClient<HTTP2ClientTransport.Posix>
    let service: Spark_Connect_SparkConnectService.Client<HTTP2ClientTransport.Posix>
    let logger: Logger

    /// The largest result message accepted: Spark's Arrow batches are at most about 4 MiB.
    static let maxResponseBytes = 128 * 1024 * 1024

    public init(remote: SparkRemote, callTimeout: Duration = .seconds(600), logger: Logger) throws(MeteoError) {
        self.remote = remote
        self.callTimeout = callTimeout
        self.logger = logger
        let transport: HTTP2ClientTransport.Posix
        do {
            transport = try HTTP2ClientTransport.Posix(
                target: .dns(host: remote.host, port: remote.port),
                transportSecurity: remote.useTLS ? .tls(configure: { _ in }) : .plaintext,
                config: .defaults { config in
                    config.backoff.initial = .milliseconds(200)
                    config.backoff.max = .seconds(5)
                })
        } catch {
            throw MeteoError(code: .invalidConfiguration, "cannot set up a connection to Spark Connect at \(remote): \(error)")
        }
        grpc = GRPCClient(transport: transport)
        service = Spark_Connect_SparkConnectService.Client(wrapping: grpc)
    }

    /// Runs the connection until a graceful shutdown (or ``close()``).
    public func run() async throws {
        try await withGracefulShutdownHandler {
            try await grpc.runConnections()
        } onGracefulShutdown: {
            self.grpc.beginGracefulShutdown()
        }
    }

    /// Ends the session on the server (its views and caches go) and closes the connection
    /// once the calls in flight are done.
    public func close() async {
        var request = Spark_Connect_ReleaseSessionRequest()
        request.sessionID = remote.sessionID
        request.userContext = userContext
        request.clientType = clientType
        _ = try? await service.releaseSession(request: ClientRequest(message: request, metadata: metadata),
                                              options: options(timeout: .seconds(10)))
        grpc.beginGracefulShutdown()
    }

    // MARK: Calls

    public func query(_ sql: String, _ parameters: [String: SparkParameter]) async throws -> SparkTable {
        var plan = Spark_Connect_Plan()
        plan.root = relation(sql, parameters)
        let streams = try await execute(plan, what: Self.summary(sql))
        return try SparkTable(streams: streams)
    }

    public func execute(_ sql: String, _ parameters: [String: SparkParameter]) async throws {
        var command = Spark_Connect_SqlCommand()
        command.input = relation(sql, parameters)
        var plan = Spark_Connect_Plan()
        plan.command.sqlCommand = command
        _ = try await execute(plan, what: Self.summary(sql))
    }

    /// Sets Spark SQL settings of this session.
    public func set(_ settings: [String: String]) async throws {
        var request = Spark_Connect_ConfigRequest()
        request.sessionID = remote.sessionID
        request.userContext = userContext
        request.clientType = clientType
        var set = Spark_Connect_ConfigRequest.Set()
        set.pairs = settings.sorted { $0.key < $1.key }.map { key, value in
            var pair = Spark_Connect_KeyValue()
            pair.key = key
            pair.value = value
            return pair
        }
        request.operation.set = set
        do {
            _ = try await service.config(request: ClientRequest(message: request, metadata: metadata), options: options(timeout: .seconds(60)))
        } catch {
            throw map(error, what: "set \(settings.keys.sorted().joined(separator: ", "))")
        }
    }

    /// The Spark version of the server (an `AnalyzePlan` call); a cheap check that it answers.
    public func sparkVersion() async throws -> String {
        var request = Spark_Connect_AnalyzePlanRequest()
        request.sessionID = remote.sessionID
        request.userContext = userContext
        request.clientType = clientType
        request.sparkVersion = Spark_Connect_AnalyzePlanRequest.SparkVersion()
        do {
            let response = try await service.analyzePlan(request: ClientRequest(message: request, metadata: metadata),
                                                         options: options(timeout: .seconds(30)))
            return response.sparkVersion.version
        } catch {
            throw map(error, what: "ask for its version")
        }
    }

    // MARK: Plumbing

    var userContext: Spark_Connect_UserContext {
        var context = Spark_Connect_UserContext()
        context.userID = remote.userID
        return context
    }

    var clientType: String { "\(remote.userAgent) (swift grpc)" }

    var metadata: Metadata {
        var metadata = Metadata()
        if let token = remote.token { metadata.addString("Bearer \(token)", forKey: "authorization") }
        return metadata
    }

    func options(timeout: Duration) -> CallOptions {
        var options = CallOptions.defaults
        options.timeout = timeout
        options.maxResponseMessageBytes = Self.maxResponseBytes
        // A server that is down fails the call at once instead of at its deadline.
        options.waitForReady = false
        return options
    }

    func relation(_ sql: String, _ parameters: [String: SparkParameter]) -> Spark_Connect_Relation {
        var query = Spark_Connect_SQL()
        query.query = sql
        for (name, value) in parameters {
            var literal = Spark_Connect_Expression.Literal()
            switch value {
            case .string(let s): literal.string = s
            case .long(let n): literal.long = n
            case .double(let x): literal.double = x
            }
            var expression = Spark_Connect_Expression()
            expression.literal = literal
            query.namedArguments[name] = expression
        }
        var relation = Spark_Connect_Relation()
        relation.sql = query
        return relation
    }

    /// Runs a plan and returns the Arrow streams of its result, in order.
    func execute(_ plan: Spark_Connect_Plan, what: String) async throws -> [[UInt8]] {
        var request = Spark_Connect_ExecutePlanRequest()
        request.sessionID = remote.sessionID
        request.userContext = userContext
        request.clientType = clientType
        request.operationID = UUID().uuidString.lowercased()
        request.plan = plan
        let clock = ContinuousClock()
        let started = clock.now
        defer { logger.debug("spark call", metadata: ["what": "\(what)", "elapsed": "\(clock.now - started)"]) }
        do {
            return try await service.executePlan(request: ClientRequest(message: request, metadata: metadata),
                                                 options: options(timeout: callTimeout)) { response in
                var streams: [[UInt8]] = []
                for try await message in response.messages {
                    if case .arrowBatch(let batch)? = message.responseType {
                        streams.append([UInt8](batch.data))
                    }
                }
                return streams
            }
        } catch let error as MeteoError {
            throw error
        } catch {
            throw map(error, what: what)
        }
    }

    /// The first words of a statement, for errors and logs.
    static func summary(_ sql: String) -> String {
        let words = sql.split(whereSeparator: \.isWhitespace).prefix(4).joined(separator: " ")
        return "run " + words + (words.count < sql.count ? " …" : "")
    }

    /// A gRPC failure as a Meteo error that says what to fix.
    func map(_ error: any Error, what: String) -> MeteoError {
        guard let rpc = error as? RPCError else {
            return MeteoError(code: .analytics, "Spark Connect at \(remote): cannot \(what): \(error)", isRetriable: true)
        }
        switch rpc.code {
        case .unavailable:
            return MeteoError(code: .connection,
                              "cannot reach Spark Connect at \(remote) (\(rpc.message)); is it running? Start it with scripts/services/spark start, or give another address with --spark or SPARK_REMOTE",
                              isRetriable: true)
        case .deadlineExceeded:
            return MeteoError(code: .timeout, "Spark Connect at \(remote) did not answer within \(callTimeout) (\(what))", isRetriable: true)
        case .unauthenticated, .permissionDenied:
            return MeteoError(code: .invalidConfiguration,
                              "Spark Connect at \(remote) refused the credentials (\(rpc.code)); check the token in the sc:// address")
        case .resourceExhausted where rpc.message.contains("message"):
            return MeteoError(code: .analytics, "Spark Connect at \(remote) sent a result larger than \(Self.maxResponseBytes / 1_048_576) MiB (\(what))")
        default:
            let spark = SparkErrorDetail(rpc)
            return MeteoError(code: .analytics, "Spark refused the query: \(spark.line)\(spark.hint.map { "; \($0)" } ?? "")",
                              isRetriable: rpc.code == .internalError && spark.errorClass == nil, detail: "\(what): \(spark.full)")
        }
    }
}

/// What Spark says about a failed call: the error class and SQL state from the `ErrorInfo`
/// of the gRPC status details, and the message.
struct SparkErrorDetail {
    var errorClass: String?
    var sqlState: String?
    var exception: String?
    var message: String

    init(_ rpc: RPCError) {
        message = rpc.message
        if let status = try? rpc.unpackGoogleRPCStatus() {
            for detail in status.details {
                if let info = detail.errorInfo {
                    exception = info.reason.isEmpty ? nil : info.reason
                    errorClass = info.metadata["errorClass"]
                    sqlState = info.metadata["sqlState"]
                }
            }
        }
        if errorClass == nil, message.hasPrefix("["), let close = message.firstIndex(of: "]") {
            errorClass = String(message[message.index(after: message.startIndex)..<close])
        }
    }

    /// One line: the message's first line, with the class and state when the message lacks them.
    var line: String {
        var first = String(message.split(whereSeparator: \.isNewline).first ?? "")
        if first.count > 400 { first = first.prefix(400) + "…" }
        if first.isEmpty { first = exception ?? "an error without a message" }
        if let errorClass, !first.contains(errorClass) { first = "[\(errorClass)] " + first }
        if let sqlState, !first.contains(sqlState) { first += " (SQL state \(sqlState))" }
        return first
    }

    var full: String { message }

    /// What to do, for the errors a user of Meteo can fix.
    var hint: String? {
        switch errorClass {
        case "PATH_NOT_FOUND":
            "the lake folder must exist and be readable by the Spark server: write it with meteo sink --lake DIR and pass the same DIR to --lake"
        case "UNABLE_TO_INFER_SCHEMA":
            "the lake folder holds no data files yet"
        default:
            nil
        }
    }
}
#endif
