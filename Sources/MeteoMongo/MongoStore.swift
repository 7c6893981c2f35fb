#if MongoDB
import CMongoC
import Foundation
import Logging
import MeteoCore
import Synchronization

/// Meteo's store on MongoDB, through libmongoc: observations upserted by their natural key in
/// unordered bulk writes, the newest observation of each place in `latest`, and dead letters
/// in `dead_letters`. Writes use the configured write concern (`majority` by default), so a
/// write returns only once the server has it durably; the sink commits its offsets after.
public final class MongoStore: ObservationStore, DeadLetterStore, SinkWriter {
    let client: MongoClient
    private let logger: Logger
    public let configuration: MongoConfiguration
    /// Pages the scans of this store have read from the server (the tests check that a scan
    /// reads ahead of its consumer by at most one page).
    let scanPagesRead = Atomic<Int>(0)

    private init(client: MongoClient, logger: Logger) {
        self.client = client
        self.logger = logger
        self.configuration = client.configuration
    }

    /// Connects, checks the server answers (with the credentials), and creates the indexes
    /// if they are missing. Optional indexes the server does not support are skipped with a
    /// notice.
    public static func open(configuration: MongoConfiguration, logger: Logger) async throws -> MongoStore {
        let store = MongoStore(client: try MongoClient.make(configuration: configuration), logger: logger)
        try await store.ping()
        try await store.ensureIndexes()
        return store
    }

    /// Refuses later calls; the client pool closes once the calls running now end.
    public func close() async throws {
        client.close()
    }

    /// Runs a database command given as extended JSON and returns the reply as JSON (tests,
    /// and administration such as `collMod`).
    func runCommand(_ json: String) async throws -> String {
        try await client.command(try BSONDocument.make(json: json), what: "MongoDB command failed").json
    }

    /// Drops Meteo's database with everything in it (for tests, and for starting over).
    public func dropDatabase() async throws {
        _ = try await client.command(try BSONDocument.make(json: #"{"dropDatabase": 1}"#),
                                     what: "cannot drop the MongoDB database \(configuration.database)")
    }

    /// Round trip to the server: throws a clear error if it is down or refuses the credentials.
    public func ping() async throws {
        _ = try await client.command(try BSONDocument.make(json: #"{"ping": 1}"#), what: "cannot reach MongoDB")
    }

    // MARK: Indexes

    struct IndexSpec {
        var json: String
        var required: Bool
    }

    static let observationIndexes: [IndexSpec] = [
        IndexSpec(json: #"{"key": {"place_id": 1, "observed_at": 1}, "name": "place_time", "unique": true}"#, required: true),
        IndexSpec(json: #"{"key": {"region": 1, "observed_at": 1}, "name": "region_time"}"#, required: true),
        IndexSpec(json: #"{"key": {"observed_at": 1}, "name": "time"}"#, required: true),
        IndexSpec(json: #"{"key": {"name": 1}, "name": "name_ci", "collation": {"locale": "en", "strength": 2}}"#, required: false),
        // No 2dsphere index here: a place never moves, so a search by distance goes through
        // `latest` (which has one) and then by place id; on SecantusDB a 2dsphere index on
        // `observations` made every insert four times as slow (README, "Running against MongoDB").
    ]

    func ensureIndexes() async throws {
        for spec in Self.observationIndexes {
            try await createIndex(MongoConfiguration.observations, spec)
        }
        try await createIndex(MongoConfiguration.latest, IndexSpec(json: #"{"key": {"region": 1}, "name": "region"}"#, required: true))
        try await createIndex(MongoConfiguration.latest, IndexSpec(json: #"{"key": {"location": "2dsphere"}, "name": "location"}"#, required: false))
        try await createIndex(MongoConfiguration.deadLetters,
                              IndexSpec(json: #"{"key": {"failed_at": -1}, "name": "failed_at"}"#, required: true))
    }

    private func createIndex(_ collection: String, _ spec: IndexSpec) async throws {
        let command = try BSONDocument.make(json: #"{"createIndexes": "\#(collection)", "indexes": [\#(spec.json)]}"#)
        do {
            _ = try await client.command(command, what: "cannot create an index on \(configuration.database).\(collection)")
        } catch let error as MeteoError where !spec.required && !error.isRetriable && error.code != .connection {
            logger.notice("MongoDB index skipped: the server does not support it", metadata: [
                LoggingKeys.error: "\(error.message)", "mongo.index": "\(spec.json)",
            ])
        }
    }

    // MARK: Writing

    public func upsert(_ observations: [Observation]) async throws -> UpsertSummary {
        try await write(observations, deadLetters: [])
    }

    public func record(_ letters: [DeadLetter]) async throws {
        _ = try await write([], deadLetters: letters)
    }

    /// One unordered bulk upsert of the observations (by `_id`), then the `latest` updates,
    /// then the dead letters. A document the server refuses for good (a validation error, a
    /// bad value) becomes a dead letter with the server's reason; anything a retry can outlive
    /// throws, and the sink writes the whole batch again: every write is idempotent.
    public func write(_ observations: [Observation], deadLetters: [DeadLetter]) async throws -> UpsertSummary {
        var summary = UpsertSummary()
        var letters = deadLetters
        if !observations.isEmpty {
            // New events are the common case, and an insert costs the server less than an
            // upsert: insert all, then replace those whose _id is already there (a replay, a
            // redelivery after a crash).
            var outcome = try await bulk(MongoConfiguration.observations, what: "cannot write observations to MongoDB") { bulk throws(MeteoError) in
                for o in observations { try bulk.insert(ObservationDocument.make(o)) }
            }
            let existing = outcome.failures.filter { $0.code == BulkOutcome.duplicateKey }.map(\.index)
            outcome.failures.removeAll { $0.code == BulkOutcome.duplicateKey }
            if !existing.isEmpty {
                let again = existing.map { observations[$0] }
                let replaced = try await bulk(MongoConfiguration.observations, what: "cannot write observations to MongoDB") { bulk throws(MeteoError) in
                    for o in again {
                        let selector = BSONDocument()
                        selector.append("_id", ObservationDocument.id(o))
                        try bulk.replace(selector: selector, with: ObservationDocument.make(o), upsert: true)
                    }
                }
                outcome.matched += replaced.matched
                outcome.upserted += replaced.upserted
                outcome.failures += replaced.failures.map { (existing[$0.index], $0.code, $0.message) }
            }
            outcome.upserted += outcome.inserted
            summary.inserted = outcome.upserted
            summary.updated = outcome.matched
            summary.refused = outcome.failures.count
            var refused = Set<Int>()
            for failure in outcome.failures {
                guard failure.index >= 0, failure.index < observations.count else { continue }
                refused.insert(failure.index)
                let o = observations[failure.index]
                letters.append(DeadLetter(
                    reason: "MongoDB refused the document: \(failure.message) (code \(failure.code))",
                    topic: "mongodb:\(configuration.database).\(MongoConfiguration.observations)", partition: 0, offset: Int64(failure.index),
                    key: ObservationDocument.id(o), payload: EventCodec.encode(o), failedAt: Date()))
            }
            try await updateLatest(observations.enumerated().filter { !refused.contains($0.offset) }.map(\.element))
            try await bumpVersion()
        }
        if !letters.isEmpty {
            try await insertDeadLetters(letters)
        }
        return summary
    }

    /// The newest observation of each place in the batch replaces the place's `latest`
    /// document unless that one is newer. Each is one update by `_id` (upsert) whose pipeline
    /// keeps the stored document when it is newer: atomic per place, so concurrent sinks cannot
    /// move it back in time, and found through the `_id` index (a filter on `_id` and
    /// `observed_at` made SecantusDB scan the collection for each place: 1.1 s a batch of
    /// 1,630 places instead of 0.15 s). The new document goes in as a `$literal`, so that no
    /// string of it (a name starting with `$`) is read as an expression.
    private func updateLatest(_ observations: [Observation]) async throws {
        var newest: [String: Observation] = [:]
        for o in observations where newest[o.placeID].map({ $0.observedAt <= o.observedAt }) ?? true {
            newest[o.placeID] = o
        }
        guard !newest.isEmpty else { return }
        let places = Array(newest.values)
        let outcome = try await bulk(MongoConfiguration.latest, what: "cannot update the latest observations in MongoDB") { bulk throws(MeteoError) in
            for o in places {
                let selector = BSONDocument()
                selector.append("_id", o.placeID)
                try bulk.update(selector: selector, pipeline: Self.newerOrKept(o), upsert: true)
            }
        }
        try outcome.requireOnlyDuplicates("cannot update the latest observations in MongoDB")
    }

    /// `[{"$replaceWith": {"$cond": [{"$gt": ["$observed_at", t]}, "$$ROOT", {"$literal": doc}]}}]`:
    /// the stored document if it is newer than `o`, otherwise `o`'s.
    static func newerOrKept(_ o: Observation) -> BSONDocument {
        let fields = BSONDocument()
        fields.append("_id", o.placeID)
        ObservationDocument.fill(fields, o)
        let literal = BSONDocument()
        literal.append("$literal", document: fields)
        let time = BSONDocument()
        time.append("0", "$observed_at")
        time.append("1", date: o.observedAt)
        let newer = BSONDocument()
        newer.append("$gt", array: time)
        let choice = BSONDocument()
        choice.append("0", document: newer)
        choice.append("1", "$$ROOT")
        choice.append("2", document: literal)
        let cond = BSONDocument()
        cond.append("$cond", array: choice)
        let stage = BSONDocument()
        stage.append("$replaceWith", document: cond)
        let pipeline = BSONDocument()
        pipeline.append("0", document: stage)
        return pipeline
    }

    private func insertDeadLetters(_ letters: [DeadLetter]) async throws {
        let outcome = try await bulk(MongoConfiguration.deadLetters, what: "cannot record dead letters in MongoDB") { bulk throws(MeteoError) in
            for d in letters {
                let doc = BSONDocument()
                doc.append("_id", Self.deadLetterID(d))
                doc.append("reason", d.reason)
                doc.append("topic", d.topic)
                doc.append("partition", Int64(d.partition))
                doc.append("offset", d.offset)
                doc.append("key", d.key)
                doc.append("payload", binary: d.payload)
                doc.append("failed_at", date: d.failedAt)
                try bulk.insert(doc)
            }
        }
        // The same message recorded again (a redelivery) is already there: idempotent.
        try outcome.requireOnlyDuplicates("cannot record dead letters in MongoDB")
    }

    /// A dead letter's `_id`: its source position and fingerprint
    /// (`topic/partition/offset/fingerprint`, see ``DeadLetter/fingerprint``), so that a
    /// redelivered message is recorded once and another message at a position used again
    /// (offsets restarted) is recorded too; for a document the server refused, the
    /// observation's own key (`mongodb:<db>.observations/<place>@<time>`).
    static func deadLetterID(_ d: DeadLetter) -> String {
        if d.topic.hasPrefix("mongodb:"), let key = d.key { return "\(d.topic)/\(key)" }
        return "\(d.topic)/\(d.partition)/\(d.offset)/\(d.fingerprint)"
    }

    // MARK: Bulk writes

    struct BulkOutcome: Sendable {
        var upserted = 0
        var matched = 0
        var inserted = 0
        /// Documents the server refused, by their index in the bulk.
        var failures: [(index: Int, code: Int, message: String)] = []

        /// MongoDB's duplicate-key error: the document (or a newer one) is already there.
        static let duplicateKey = 11000

        /// Throws the first refusal other than a duplicate key, for writes where a document
        /// already there means the work is done.
        func requireOnlyDuplicates(_ what: String) throws(MeteoError) {
            guard let first = failures.first(where: { $0.code != Self.duplicateKey }) else { return }
            throw MeteoError(code: .store, "\(what): \(first.message) (code \(first.code))",
                             isRetriable: MongoClient.retriableServerCodes.contains(UInt32(first.code)))
        }
    }

    /// Builds and runs one unordered bulk write with the configured write concern.
    private func bulk(_ collection: String, what: String,
                      _ build: @escaping @Sendable (BulkBuilder) throws(MeteoError) -> Void) async throws -> BulkOutcome {
        let configuration = self.configuration
        let options = try BSONDocument.make(json: #"{"ordered": false, "writeConcern": {"w": \#(Self.writeConcernJSON(configuration.writeConcern))}}"#)
        return try await client.withCollection(collection) { collectionHandle throws(MeteoError) -> BulkOutcome in
            guard let handle = mongoc_collection_create_bulk_operation_with_opts(collectionHandle, options.pointer) else {
                throw MeteoError(code: .internal, "libmongoc could not start a bulk write")
            }
            defer { mongoc_bulk_operation_destroy(handle) }
            let builder = BulkBuilder(handle: handle, configuration: configuration)
            try build(builder)
            return try MongoClient.withReply { reply throws(MeteoError) -> BulkOutcome in
                var error = bson_error_t()
                let server = mongoc_bulk_operation_execute(handle, reply, &error)
                let result = BSONDocument.copy(reply)
                var outcome = BulkOutcome()
                outcome.upserted = Int(result["nUpserted"]?.int ?? 0)
                outcome.matched = Int(result["nMatched"]?.int ?? 0)
                outcome.inserted = Int(result["nInserted"]?.int ?? 0)
                if case .array(let errors)? = result["writeErrors"] {
                    for e in errors {
                        outcome.failures.append((Int(e["index"]?.int ?? -1), Int(e["code"]?.int ?? 0),
                                                 MongoClient.redacted(e["errmsg"]?.string ?? "refused", configuration)))
                    }
                }
                if server == 0 {
                    // Per-document refusals go back to the caller; anything else (the server
                    // down, the write concern not met, a refusal a retry can outlive) throws.
                    var concernErrors = false
                    if case .array(let a)? = result["writeConcernErrors"] { concernErrors = !a.isEmpty }
                    if outcome.failures.isEmpty || concernErrors
                        || outcome.failures.contains(where: { MongoClient.retriableServerCodes.contains(UInt32($0.code)) }) {
                        throw MongoClient.error(error, what, configuration)
                    }
                }
                return outcome
            }
        }
    }

    static func writeConcernJSON(_ w: String) -> String {
        Int(w).map(String.init) ?? #""majority""#
    }

    /// Adds operations to one libmongoc bulk write.
    final class BulkBuilder: @unchecked Sendable {
        let handle: OpaquePointer
        let configuration: MongoConfiguration

        init(handle: OpaquePointer, configuration: MongoConfiguration) {
            self.handle = handle
            self.configuration = configuration
        }

        func replace(selector: BSONDocument, with document: BSONDocument, upsert: Bool) throws(MeteoError) {
            let options = BSONDocument()
            options.append("upsert", upsert)
            var error = bson_error_t()
            guard mongoc_bulk_operation_replace_one_with_opts(handle, selector.pointer, document.pointer, options.pointer, &error) else {
                throw MongoClient.error(error, "cannot add a replacement to a MongoDB bulk write", configuration)
            }
        }

        /// An update whose second argument is an aggregation pipeline (an array document).
        func update(selector: BSONDocument, pipeline: BSONDocument, upsert: Bool) throws(MeteoError) {
            let options = BSONDocument()
            options.append("upsert", upsert)
            var error = bson_error_t()
            guard mongoc_bulk_operation_update_one_with_opts(handle, selector.pointer, pipeline.pointer, options.pointer, &error) else {
                throw MongoClient.error(error, "cannot add an update to a MongoDB bulk write", configuration)
            }
        }

        func insert(_ document: BSONDocument) throws(MeteoError) {
            var error = bson_error_t()
            guard mongoc_bulk_operation_insert_with_opts(handle, document.pointer, nil, &error) else {
                throw MongoClient.error(error, "cannot add an insert to a MongoDB bulk write", configuration)
            }
        }
    }

    // MARK: Reading

    public func count() async throws -> Int {
        try await countDocuments(MongoConfiguration.observations)
    }

    /// The counter in `versions`, which every write of observations increments once it has
    /// landed (from any process): a reader that reads it before the data never caches new
    /// data under an old version. "0" before the first write.
    public func version() async throws -> String? {
        let filter = BSONDocument()
        filter.append("_id", MongoConfiguration.observations)
        let found = try await documents(MongoConfiguration.versions, filter: filter, options: BSONDocument())
        return "\(found.first?["n"]?.int ?? 0)"
    }

    private func bumpVersion() async throws {
        let command = try BSONDocument.make(json: #"""
            {"update": "\#(MongoConfiguration.versions)",
             "updates": [{"q": {"_id": "\#(MongoConfiguration.observations)"}, "u": {"$inc": {"n": 1}}, "upsert": true}],
             "writeConcern": {"w": \#(Self.writeConcernJSON(configuration.writeConcern))}}
            """#)
        _ = try await client.command(command, what: "cannot count a write in \(configuration.database).\(MongoConfiguration.versions)")
    }

    public func deadLetterCount() async throws -> Int {
        try await countDocuments(MongoConfiguration.deadLetters)
    }

    private func countDocuments(_ collection: String) async throws -> Int {
        let configuration = self.configuration
        return try await client.withCollection(collection) { handle throws(MeteoError) -> Int in
            let filter = BSONDocument()
            return try MongoClient.withReply { reply throws(MeteoError) -> Int in
                var error = bson_error_t()
                let n = mongoc_collection_count_documents(handle, filter.pointer, nil, nil, reply, &error)
                guard n >= 0 else { throw MongoClient.error(error, "cannot count \(configuration.database).\(collection)", configuration) }
                return Int(n)
            }
        }
    }

    /// The filter of a query: place ids, region, and a time range on `observed_at`.
    static func filter(_ query: ObservationQuery) -> BSONDocument {
        let f = BSONDocument()
        if let ids = query.placeIDs {
            let inList = BSONDocument()
            inList.append("$in", array: BSONDocument.array(ids))
            f.append("place_id", document: inList)
        }
        if let region = query.region { f.append("region", region) }
        if query.since != nil || query.until != nil {
            let range = BSONDocument()
            if let since = query.since { range.append("$gte", date: since) }
            if let until = query.until { range.append("$lt", date: until) }
            f.append("observed_at", document: range)
        }
        if let after = query.after {
            // Keyset: past the cursor in the (time to the second, place id) order of the query.
            let second = Date(timeIntervalSince1970: Double(after.epochSeconds))
            let past = BSONDocument()
            past.append(query.newestFirst ? "$lt" : "$gte", date: query.newestFirst ? second : second.addingTimeInterval(1))
            let earlier = BSONDocument()
            earlier.append("observed_at", document: past)
            let within = BSONDocument()
            within.append("$gte", date: second)
            within.append("$lt", date: second.addingTimeInterval(1))
            let greaterID = BSONDocument()
            greaterID.append("$gt", after.placeID)
            let same = BSONDocument()
            same.append("observed_at", document: within)
            same.append("place_id", document: greaterID)
            let either = BSONDocument()
            either.append("0", document: earlier)
            either.append("1", document: same)
            f.append("$or", array: either)
        }
        return f
    }

    public func observations(_ query: ObservationQuery) async throws -> [Observation] {
        if let ids = query.placeIDs, ids.isEmpty { return [] }
        let filter = Self.filter(query)
        let options = BSONDocument()
        let sort = BSONDocument()
        sort.append("observed_at", int32: query.newestFirst ? -1 : 1)
        sort.append("place_id", int32: 1)
        options.append("sort", document: sort)
        if let limit = query.limit { options.append("limit", Int64(max(0, limit))) }
        return try await find(MongoConfiguration.observations, filter: filter, options: options)
    }

    /// Pages through the selection in `_id` order (keyset pagination: each page is one query
    /// that starts after the last `_id` seen). Pull-based, like the SQLite scan: the next page
    /// is read only when the consumer asks for it, so memory holds the page being handed out
    /// and nothing more, however slow the consumer.
    public func scan(_ query: ObservationQuery, batchSize: Int) -> AsyncThrowingStream<[Observation], any Error> {
        let size = max(1, batchSize)
        let cursor = MongoScanCursor()
        return AsyncThrowingStream { [self] in
            guard case .after(let after) = cursor.state else { return nil }
            let filter = Self.filter(query)
            if let after {
                let greater = BSONDocument()
                greater.append("$gt", after)
                filter.append("_id", document: greater)
            }
            let options = try BSONDocument.make(json: #"{"sort": {"_id": 1}, "limit": \#(size)}"#)
            let page = try await documents(MongoConfiguration.observations, filter: filter, options: options)
            scanPagesRead.add(1, ordering: .relaxed)
            guard let last = page.last?["_id"]?.string else {
                cursor.state = .finished
                return nil
            }
            var rows: [Observation] = []
            rows.reserveCapacity(page.count)
            for document in page { rows.append(try ObservationDocument.observation(document)) }
            cursor.state = page.count < size ? .finished : .after(last)
            return rows
        }
    }

    public func latest(region: String?) async throws -> [Observation] {
        let filter = BSONDocument()
        if let region { filter.append("region", region) }
        let options = BSONDocument()
        let sort = BSONDocument()
        sort.append("_id", int32: 1)
        options.append("sort", document: sort)
        return try await find(MongoConfiguration.latest, filter: filter, options: options)
    }

    /// `$geoNear` on `latest` (its 2dsphere index); on a server without one, the latest rows
    /// filtered here.
    public func latest(near point: GeoPoint, radiusKM: Double, limit: Int) async throws -> [NearbyObservation] {
        guard limit > 0 else { return [] }
        let pipeline = try BSONDocument.make(json: #"""
            {"pipeline": [
              {"$geoNear": {"near": {"type": "Point", "coordinates": [\#(point.longitude), \#(point.latitude)]},
                            "key": "location", "distanceField": "distance_m", "maxDistance": \#(radiusKM * 1000), "spherical": true}},
              {"$sort": {"distance_m": 1, "_id": 1}},
              {"$limit": \#(limit)}]}
            """#)
        let rows: [BSONDocument]
        do {
            rows = try await aggregate(MongoConfiguration.latest, pipeline, what: "cannot search the latest observations by distance")
        } catch let error as MeteoError where !error.isRetriable && error.code != .connection {
            logger.notice("MongoDB $geoNear refused; filtering the latest observations here", metadata: [LoggingKeys.error: "\(error.message)"])
            return NearbyObservation.nearest(in: try await latest(region: nil), to: point, radiusKM: radiusKM, limit: limit)
        }
        return try rows.map { d throws(MeteoError) in
            NearbyObservation(observation: try ObservationDocument.observation(d), distanceKM: (d["distance_m"]?.double ?? 0) / 1000)
        }
    }

    private func find(_ collection: String, filter: BSONDocument, options: BSONDocument) async throws -> [Observation] {
        var out: [Observation] = []
        for document in try await documents(collection, filter: filter, options: options) {
            out.append(try ObservationDocument.observation(document))
        }
        return out
    }

    /// The documents of a query, read to the end of its cursor.
    private func documents(_ collection: String, filter: BSONDocument, options: BSONDocument) async throws -> [BSONDocument] {
        try await read(collection, what: "cannot read \(configuration.database).\(collection)") { handle in
            mongoc_collection_find_with_opts(handle, filter.pointer, options.pointer, nil)
        }
    }

    /// The result of an aggregation pipeline (`{"pipeline": [...]}`) run on the server.
    func aggregate(_ collection: String, _ pipeline: BSONDocument, what: String) async throws -> [BSONDocument] {
        try await read(collection, what: what) { handle in
            mongoc_collection_aggregate(handle, MONGOC_QUERY_NONE, pipeline.pointer, nil, nil)
        }
    }

    /// Reads a cursor to its end; `open` starts it on the collection's handle.
    private func read(_ collection: String, what: String,
                      _ open: @escaping @Sendable (OpaquePointer) -> OpaquePointer?) async throws -> [BSONDocument] {
        let configuration = self.configuration
        return try await client.withCollection(collection) { handle throws(MeteoError) -> [BSONDocument] in
            guard let cursor = open(handle) else {
                throw MeteoError(code: .internal, "libmongoc could not start a query")
            }
            defer { mongoc_cursor_destroy(cursor) }
            var out: [BSONDocument] = []
            var document: OpaquePointer?
            while mongoc_cursor_next(cursor, &document) {
                if let document { out.append(BSONDocument.copy(document)) }
            }
            var error = bson_error_t()
            if mongoc_cursor_error(cursor, &error) {
                throw MongoClient.error(error, what, configuration)
            }
            return out
        }
    }

    public func deadLetters(limit: Int) async throws -> [DeadLetter] {
        let options = try BSONDocument.make(json: #"{"sort": {"failed_at": -1}, "limit": \#(max(0, limit))}"#)
        return try await documents(MongoConfiguration.deadLetters, filter: BSONDocument(), options: options).map { d in
            var payload: [UInt8] = []
            if case .binary(let bytes)? = d["payload"] { payload = bytes }
            return DeadLetter(reason: d["reason"]?.string ?? "", topic: d["topic"]?.string ?? "",
                              partition: Int(d["partition"]?.int ?? 0), offset: d["offset"]?.int ?? 0,
                              key: d["key"]?.string, payload: payload, failedAt: d["failed_at"]?.date ?? Date(timeIntervalSince1970: 0))
        }
    }
}

/// Where a MongoDB scan stands: past an `_id` (nil before the first page), or finished.
final class MongoScanCursor: Sendable {
    enum State: Sendable {
        case after(String?)
        case finished
    }

    private let mutex = Mutex(State.after(nil))

    var state: State {
        get { mutex.withLock { $0 } }
        set { mutex.withLock { $0 = newValue } }
    }
}
#endif
