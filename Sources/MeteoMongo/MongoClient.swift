#if MongoDB
import CMongoC
import Dispatch
import Foundation
import Synchronization
import Logging
import MeteoCore

/// libmongoc's process-wide initialisation, once (a lazy global is initialised once, thread-safely).
/// Its log goes to swift-log (label `mongoc`) instead of stderr: warnings and worse only, as
/// its debug lines (one per failed connection attempt) would drown a down server's one error.
private let mongocInitialized: Bool = {
    mongoc_init()
    mongoc_log_set_handler({ level, domain, message, _ in
        guard level.rawValue <= MONGOC_LOG_LEVEL_WARNING.rawValue, let message else { return }
        let text = String(cString: message)
        let source = domain.map { String(cString: $0) } ?? "mongoc"
        switch level {
        case MONGOC_LOG_LEVEL_ERROR, MONGOC_LOG_LEVEL_CRITICAL:
            mongocLogger.error("\(text)", metadata: ["mongoc.domain": "\(source)"])
        default:
            mongocLogger.warning("\(text)", metadata: ["mongoc.domain": "\(source)"])
        }
    }, nil)
    return true
}()

/// libmongoc's log is process-wide, so its logger is too (the only one in Meteo).
private let mongocLogger = Logger(label: "mongoc")

/// Owns libmongoc's URI and client pool. Every blocking libmongoc call runs in `lane` of the
/// process's ``BlockingExecutor`` (at most ``maxConcurrentCalls`` at once), never on Swift's
/// cooperative pool; each call
/// takes a client from the pool and gives it back, so the pool never holds more clients (and
/// server connections) than that either.
final class MongoClient: @unchecked Sendable {
    private let uri: OpaquePointer
    private let pool: OpaquePointer
    let configuration: MongoConfiguration
    let lane = BlockingExecutor.shared.lane("meteo.mongo", width: MongoClient.maxConcurrentCalls)
    private let closed = Atomic(false)

    /// The most libmongoc calls of one client that block at once; more wait, suspended.
    static let maxConcurrentCalls = 8

    private init(uri: OpaquePointer, pool: OpaquePointer, configuration: MongoConfiguration) {
        self.uri = uri
        self.pool = pool
        self.configuration = configuration
    }

    deinit {
        mongoc_client_pool_destroy(pool)
        mongoc_uri_destroy(uri)
    }

    /// Refuses later calls; the pool (and its connections) goes once the calls running now
    /// end and release the client.
    func close() {
        closed.store(true, ordering: .releasing)
    }

    /// Server selection fails after this long unless the URI sets `serverSelectionTimeoutMS`:
    /// a server that is down gets a clear error in seconds rather than libmongoc's 30 s.
    static let defaultServerSelectionTimeoutMS: Int32 = 5_000

    static func make(configuration: MongoConfiguration) throws(MeteoError) -> MongoClient {
        try configuration.validate()
        _ = mongocInitialized
        var error = bson_error_t()
        guard let uri = mongoc_uri_new_with_error(configuration.uri, &error) else {
            throw MeteoError(code: .invalidConfiguration,
                             "invalid MongoDB URI \(configuration.redactedURI): \(redacted(message(error), configuration))")
        }
        mongoc_uri_set_appname(uri, configuration.appName)
        if mongoc_uri_get_option_as_int32(uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS, 0) == 0 {
            _ = mongoc_uri_set_option_as_int32(uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS, defaultServerSelectionTimeoutMS)
        }
        guard let pool = mongoc_client_pool_new(uri) else {
            mongoc_uri_destroy(uri)
            throw MeteoError(code: .invalidConfiguration, "libmongoc refused the MongoDB URI \(configuration.redactedURI)")
        }
        _ = mongoc_client_pool_set_error_api(pool, Int32(MONGOC_ERROR_API_VERSION_2))
        return MongoClient(uri: uri, pool: pool, configuration: configuration)
    }

    /// Runs `body` with a pooled client on the executor.
    func withClient<T: Sendable>(_ body: @escaping @Sendable (OpaquePointer) throws(MeteoError) -> T) async throws -> T {
        guard !closed.load(ordering: .acquiring) else {
            throw MeteoError(code: .store, "the MongoDB client of \(configuration.redactedURI) was closed: a store is used after close()")
        }
        return try await lane.run { [self] () throws(MeteoError) -> T in
            guard let client = mongoc_client_pool_pop(pool) else {
                throw MeteoError(code: .internal, "libmongoc gave no client from its pool")
            }
            defer { mongoc_client_pool_push(pool, client) }
            return try body(client)
        }
    }

    /// Runs `body` with a collection of Meteo's database.
    func withCollection<T: Sendable>(_ name: String,
                                     _ body: @escaping @Sendable (OpaquePointer) throws(MeteoError) -> T) async throws -> T {
        let database = configuration.database
        return try await withClient { client throws(MeteoError) -> T in
            guard let collection = mongoc_client_get_collection(client, database, name) else {
                throw MeteoError(code: .internal, "libmongoc gave no handle for collection \(database).\(name)")
            }
            defer { mongoc_collection_destroy(collection) }
            return try body(collection)
        }
    }

    /// Runs a command on Meteo's database and returns its reply.
    func command(_ command: BSONDocument, what: String) async throws -> BSONDocument {
        let database = configuration.database
        let configuration = self.configuration
        return try await withClient { client throws(MeteoError) -> BSONDocument in
            try MongoClient.withReply { reply throws(MeteoError) -> BSONDocument in
                var error = bson_error_t()
                guard mongoc_client_command_simple(client, database, command.pointer, nil, reply, &error) else {
                    throw MongoClient.error(error, what, configuration)
                }
                return BSONDocument.copy(reply)
            }
        }
    }

    /// A reply document for a libmongoc call to fill, sized and aligned as C's bson_t. It is
    /// initialised empty first, so destroying it is safe whether or not the call filled it.
    static func withReply<T>(_ body: (OpaquePointer) throws(MeteoError) -> T) throws(MeteoError) -> T {
        try BSONDocument.withScratch { reply throws(MeteoError) -> T in
            bson_init(reply)
            defer { bson_destroy(reply) }
            return try body(reply)
        }
    }

    // MARK: Errors

    static func message(_ error: bson_error_t) -> String {
        var e = error
        return withUnsafeBytes(of: &e.message) { raw in
            String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
    }

    /// The text of an error with the URI's password removed, in case libmongoc quoted it.
    static func redacted(_ text: String, _ configuration: MongoConfiguration) -> String {
        text.replacingOccurrences(of: configuration.uri, with: configuration.redactedURI)
    }

    /// Server error codes that a retry can outlive: the server shutting down or stepping
    /// down, network and time-outs, write concern not yet satisfied.
    static let retriableServerCodes: Set<UInt32> = [6, 7, 89, 91, 189, 262, 9001, 10107, 11600, 11602, 13435, 13436, 50, 64, 112, 134]

    static func isRetriable(_ error: bson_error_t) -> Bool {
        switch error.domain {
        case MONGOC_ERROR_STREAM.rawValue, MONGOC_ERROR_SERVER_SELECTION.rawValue:
            return true
        case MONGOC_ERROR_SERVER.rawValue, MONGOC_ERROR_WRITE_CONCERN.rawValue, MONGOC_ERROR_QUERY.rawValue,
             MONGOC_ERROR_COMMAND.rawValue, MONGOC_ERROR_COLLECTION.rawValue:
            return retriableServerCodes.contains(error.code)
        default:
            return false
        }
    }

    static func error(_ error: bson_error_t, _ what: String, _ configuration: MongoConfiguration) -> MeteoError {
        let text = redacted(message(error), configuration)
        if error.domain == MONGOC_ERROR_CLIENT.rawValue && error.code == MONGOC_ERROR_CLIENT_AUTHENTICATE.rawValue
            || error.code == 18 {
            return MeteoError(code: .invalidConfiguration,
                              "\(what): MongoDB refused the credentials of \(configuration.redactedURI) (\(text)); check the user, the password and authSource")
        }
        if error.domain == MONGOC_ERROR_SERVER_SELECTION.rawValue {
            return MeteoError(code: .connection,
                              "\(what): no MongoDB server reachable at \(configuration.redactedURI) (\(text)); is it running? (scripts/services/mongo start)",
                              isRetriable: true)
        }
        return MeteoError(code: .store, "\(what): \(text) (MongoDB error \(error.domain).\(error.code))",
                          isRetriable: isRetriable(error))
    }
}
#endif
