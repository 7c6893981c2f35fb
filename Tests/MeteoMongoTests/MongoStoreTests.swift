#if MongoDB
import Foundation
import Logging
import MeteoCore
@testable import MeteoMongo
import MeteoEmbedded
import MeteoPipeline
import MeteoSources
import ServiceLifecycle
import MeteoTestSupport
import Synchronization
import Testing

/// The store against a real MongoDB-wire server (SecantusDB's secantusd-rs, started by
/// `scripts/services/mongo`; `scripts/test` sets METEO_TEST_MONGO to its URI). Each test
/// works in a database of its own and drops it.
@Suite("MongoDB store on a real server", .serialized,
       .requires(environment: "METEO_TEST_MONGO", "the URI of a running server; scripts/test starts one"))
struct MongoStoreTests {
    let logger = Logger(label: "mongo-test")

    func withStore<T>(_ body: (MongoStore) async throws -> T) async throws -> T {
        let database = "meteo_test_\(UInt32.random(in: 0...UInt32.max))"
        let store = try await MongoStore.open(configuration: MongoConfiguration(uri: try #require(MongoServer.uri), database: database),
                                              logger: logger)
        do {
            let result = try await body(store)
            try await store.dropDatabase()
            return result
        } catch {
            try? await store.dropDatabase()
            throw error
        }
    }

    func observations(places: Int, ticks: Int, seed: UInt64 = 7) async throws -> [Observation] {
        let source = SyntheticSource(seed: seed)
        let catalogue = try PlaceCatalogue.bundled()
        let chosen = Array(catalogue.places(in: Region.builtin).prefix(places))
        var out: [Observation] = []
        for _ in 0..<ticks { out += try await source.poll(chosen).observations }
        return out
    }

    @Test func upsertsLandOnceByKeyAndAReplayChangesNothing() async throws {
        try await withStore { store in
            let batch = try await observations(places: 200, ticks: 5)
            #expect(batch.count == 1_000)
            let first = try await store.upsert(batch)
            #expect(first.inserted == 1_000)
            #expect(first.updated == 0)
            #expect(try await store.count() == 1_000)
            let again = try await store.upsert(batch)
            #expect(again.inserted == 0)
            #expect(again.updated == 1_000)
            #expect(try await store.count() == 1_000)
        }
    }

    @Test func documentsReadBackAsTheObservationsWritten() async throws {
        try await withStore { store in
            let batch = try await observations(places: 30, ticks: 3)
            _ = try await store.upsert(batch)
            let one = batch[0]
            let read = try await store.observations(ObservationQuery(placeIDs: [one.placeID], newestFirst: false))
            let expected = batch.filter { $0.placeID == one.placeID }.sorted { $0.observedAt < $1.observedAt }
            #expect(read == expected)
            // Newest first, limited, and a time range with an exclusive end.
            let newest = try await store.observations(ObservationQuery(placeIDs: [one.placeID], limit: 1))
            #expect(newest == [expected.last!])
            let ranged = try await store.observations(ObservationQuery(placeIDs: [one.placeID], since: expected[0].observedAt,
                                                                       until: expected[2].observedAt, newestFirst: false))
            #expect(ranged == Array(expected[0..<2]))
            if let region = one.region {
                let inRegion = try await store.observations(ObservationQuery(region: region))
                #expect(inRegion.count == batch.filter { $0.region == region }.count)
            }
        }
    }

    @Test func aScanPagesThroughTheSelectionOnce() async throws {
        try await withStore { store in
            let batch = try await observations(places: 100, ticks: 10)
            _ = try await store.upsert(batch)
            var pages: [Int] = []
            var seen: [Observation] = []
            for try await page in store.scan(ObservationQuery(), batchSize: 300) {
                pages.append(page.count)
                seen += page
            }
            #expect(pages == [300, 300, 300, 100])
            #expect(Set(seen) == Set(batch))
            #expect(seen.count == batch.count)
            // A filtered scan: one region.
            if let region = batch.first?.region {
                var n = 0
                for try await page in store.scan(ObservationQuery(region: region), batchSize: 7) { n += page.count }
                #expect(n == batch.filter { $0.region == region }.count)
            }
        }
    }

    /// A slow consumer (here, one that makes server round trips between pages) holds the scan
    /// back: a page is read only when asked for, so the scan is never more than one page ahead,
    /// and the rows still come complete and in `_id` order.
    @Test func aScanReadsAPageOnlyWhenTheConsumerAsks() async throws {
        try await withStore { store in
            let batch = try await observations(places: 100, ticks: 10)
            _ = try await store.upsert(batch)
            let before = store.scanPagesRead.load(ordering: .relaxed)
            var consumed = 0
            var seen: [Observation] = []
            var mostAhead = 0
            for try await page in store.scan(ObservationQuery(), batchSize: 50) {
                consumed += 1
                seen += page
                for _ in 0..<3 { try await store.ping() }
                mostAhead = max(mostAhead, store.scanPagesRead.load(ordering: .relaxed) - before - consumed)
            }
            #expect(consumed == 20)
            #expect(mostAhead == 0)
            // 20 full pages, then the empty one that ends the scan.
            #expect(store.scanPagesRead.load(ordering: .relaxed) - before == 21)
            #expect(seen.map(ObservationDocument.id) == batch.map(ObservationDocument.id).sorted())
            #expect(Set(seen) == Set(batch))
        }
    }

    /// The version moves after every write of observations, from this store or another
    /// process's, and stays put while only reads happen.
    @Test func theVersionMovesOnEveryWriteFromAnywhere() async throws {
        try await withStore { store in
            let empty = try await store.version()
            let batch = try await observations(places: 20, ticks: 2)
            _ = try await store.upsert(Array(batch.prefix(20)))
            let once = try await store.version()
            #expect(once != empty)
            _ = try await store.observations(ObservationQuery())
            #expect(try await store.version() == once)
            // Another client on the same database (another process, as `meteo sink`).
            let other = try await MongoStore.open(configuration: store.configuration, logger: logger)
            _ = try await other.upsert(Array(batch.suffix(20)))
            try await other.close()
            let twice = try await store.version()
            #expect(twice != once && twice != empty)
            // A replay overwrites: the data may have changed, so the version moves too.
            _ = try await store.upsert(Array(batch.suffix(20)))
            #expect(try await store.version() != twice)
        }
    }

    @Test func latestHoldsTheNewestObservationOfEachPlaceWhateverTheOrder() async throws {
        try await withStore { store in
            var byTime = try await observations(places: 40, ticks: 3).sorted { $0.observedAt < $1.observedAt }
            // Names that an aggregation expression would read as a field path or a variable.
            byTime[byTime.count - 1].name = "$$ROOT"
            byTime[byTime.count - 2].name = "$name"
            byTime[byTime.count - 3].region = #"{"$ne": null}"#
            // Newest first, then the older ones in another write: latest must not go back.
            let newestTick = Array(byTime.suffix(40))
            _ = try await store.upsert(newestTick)
            _ = try await store.upsert(Array(byTime.prefix(80)))
            var latest = try await store.latest(region: nil)
            #expect(latest.sorted { $0.placeID < $1.placeID } == newestTick.sorted { $0.placeID < $1.placeID },
                    "latest holds exactly the newest observations, strings as written")
            // A newer one replaces it; the same again changes nothing.
            var newer = newestTick[0]
            newer.observedAt += 600
            newer.temperatureC = 99
            _ = try await store.upsert([newer])
            _ = try await store.upsert([newer])
            latest = try await store.latest(region: nil)
            #expect(latest.count == 40)
            #expect(latest.first { $0.placeID == newer.placeID } == newer)
        }
    }

    @Test func placesNearAPointComeFromTheGeospatialIndexNearestFirst() async throws {
        try await withStore { store in
            let batch = try await observations(places: 300, ticks: 2)
            _ = try await store.upsert(batch)
            let centre = GeoPoint(latitude: batch[0].latitude, longitude: batch[0].longitude)
            let near = try await store.latest(near: centre, radiusKM: 1500, limit: 50)
            // The same answer as filtering every latest row here by haversine distance.
            let expected = NearbyObservation.nearest(in: try await store.latest(region: nil), to: centre, radiusKM: 1500, limit: 50)
            #expect(near.count > 1 && near.count == expected.count)
            #expect(near.map(\.observation.placeID) == expected.map(\.observation.placeID))
            for (a, b) in zip(near, expected) {
                #expect(abs(a.distanceKM - b.distanceKM) < 1e-6 * max(1, b.distanceKM), "\(a.observation.name): \(a.distanceKM) km vs \(b.distanceKM) km")
            }
            #expect(near.first?.observation.placeID == batch[0].placeID && near.first!.distanceKM < 0.001)
            #expect(near.allSatisfy { $0.distanceKM <= 1500 })
            #expect(try await store.latest(near: centre, radiusKM: 1500, limit: 3).count == 3)
        }
    }

    @Test func deadLettersAreKeptOnceWithTheirBytes() async throws {
        try await withStore { store in
            let payload = Array(#"{"city": "<script>alert(1)</script>", "temp": "hot"}"#.utf8)
            let letter = DeadLetter(reason: "temp should be a number", topic: "projet", partition: 2, offset: 41,
                                    key: nil, payload: payload, failedAt: Date(timeIntervalSince1970: 1_790_000_000))
            try await store.record([letter])
            try await store.record([letter])  // a redelivery of the same message
            #expect(try await store.deadLetterCount() == 1)
            let read = try await store.deadLetters(limit: 10)
            #expect(read.count == 1)
            #expect(read.first?.payload == payload)
            #expect(read.first?.reason == letter.reason)
            #expect(read.first?.offset == 41)
        }
    }

    /// Offsets that start again (a topic re-created) must not hide a new dead letter behind
    /// an old `_id`; a redelivery still counts once.
    @Test func deadLettersAtAPositionUsedAgainAreAllKept() async throws {
        try await withStore { store in
            let sent = Date(timeIntervalSince1970: 1_790_000_000)
            func letter(_ payload: String, sent: Date) -> DeadLetter {
                DeadLetter(reason: "bad", topic: "projet", partition: 0, offset: 12, key: nil, payload: Array(payload.utf8),
                           failedAt: Date(), messageTimestamp: sent)
            }
            try await store.record([letter("{", sent: sent)])
            try await store.record([letter("{", sent: sent)])
            #expect(try await store.deadLetterCount() == 1)
            try await store.record([letter("[", sent: sent.addingTimeInterval(1))])
            try await store.record([letter("{", sent: sent.addingTimeInterval(2))])
            #expect(try await store.deadLetterCount() == 3)
        }
    }

    @Test func aDocumentTheServerRefusesBecomesADeadLetterWithTheServersReason() async throws {
        try await withStore { store in
            let batch = try await observations(places: 10, ticks: 1)
            let refused = batch[3]
            _ = try await store.runCommand(#"{"collMod": "observations", "validator": {"place_id": {"$ne": "\#(refused.placeID)"}}}"#)
            let summary = try await store.write(batch, deadLetters: [])
            #expect(summary.inserted == 9)
            #expect(summary.refused == 1)
            #expect(try await store.count() == 9)
            let letters = try await store.deadLetters(limit: 10)
            #expect(letters.count == 1)
            #expect(letters.first?.reason.contains("validation") == true, "\(letters.first?.reason ?? "no dead letter")")
            #expect(letters.first?.key == ObservationDocument.id(refused))
            #expect(try letters.first.map { try EventCodec.decode($0.payload) } == refused)
            // The others made it to latest; the refused one did not.
            let latest = try await store.latest(region: nil)
            #expect(latest.count == 9)
            #expect(!latest.contains { $0.placeID == refused.placeID })
            // The same place refused again at another time is a second dead letter, not a
            // duplicate of the first; the same document refused again is not a new one.
            var later = refused
            later.observedAt += 600
            _ = try await store.write([later], deadLetters: [])
            _ = try await store.write([refused], deadLetters: [])
            #expect(try await store.deadLetterCount() == 2)
        }
    }

    @Test func wrongCredentialsAreAClearErrorWithoutThePassword() async throws {
        let uri = try #require(MongoServer.uri)
        guard let at = uri.firstIndex(of: "@"), let colon = uri[uri.index(uri.startIndex, offsetBy: 10)..<at].firstIndex(of: ":") else {
            Issue.record("METEO_TEST_MONGO has no credentials to get wrong: \(MongoConfiguration.redact(uri))")
            return
        }
        let wrong = String(uri[..<uri.index(after: colon)]) + "Wr0ngPassw0rd" + String(uri[at...])
        do {
            _ = try await MongoStore.open(configuration: MongoConfiguration(uri: wrong), logger: logger)
            Issue.record("a wrong password was accepted")
        } catch {
            let text = "\(error)"
            #expect(!text.contains("Wr0ngPassw0rd"))
            #expect(text.contains("credentials"))
        }
    }

    /// The server killed (SIGKILL, as a crash) in the middle of a sink's run and started again
    /// 5 s later on the same data: the sink retries its write (consumption waits), resumes, and
    /// every event is stored exactly once. (A graceful stop waits for busy clients to go
    /// quiet, so a busy sink would outlive it.)
    @Test(.requires("the server of METEO_TEST_MONGO is not the one scripts/services/mongo runs here (METEO_MONGO_PORT)") { MongoServer.managedByScript })
    func stoppingTheServerMidStreamLosesNothingAndDoublesNothing() async throws {
        try await withStore { store in
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("meteo-mongo-outage-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: dir) }
            let log = try EmbeddedLog.open(dataDir: dir, logger: logger)
            let events = try await observations(places: 100, ticks: 80)
            try await log.publisher().publish(events.map { OutgoingMessage(key: $0.placeID, value: EventCodec.encode($0)) }, to: "t")
            let consumer = try log.consumer(group: "g", topic: "t")
            let sink = Sink(consumer: consumer, writer: store,
                            configuration: .init(batchSize: 500, pollTimeout: .milliseconds(50), maxRetryDelay: .seconds(1)),
                            logger: logger)
            let group = ServiceGroup(services: [sink], logger: logger)
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                let deadline = ContinuousClock.now + .seconds(120)
                while sink.stats.stored < 1_000, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
                try MongoServer.script("kill")
                try await Task.sleep(for: .seconds(5))
                let storedWhileDown = sink.stats.stored
                try MongoServer.script("start")
                while sink.stats.stored < events.count, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
                #expect(storedWhileDown < events.count, "the outage came after the sink had finished")
            }
            #expect(sink.stats.writeRetries > 0, "no write failed while the server was down")
            #expect(sink.stats.stored == events.count)
            #expect(try await store.count() == events.count)
            try await log.close()
        }
    }

    /// A closed store refuses later calls with a message naming the server, and its data
    /// stays for a new client.
    @Test func aClosedStoreRefusesLaterCalls() async throws {
        let configuration = MongoConfiguration(uri: try #require(MongoServer.uri), database: "meteo_test_\(UInt32.random(in: 0...UInt32.max))")
        let store = try await MongoStore.open(configuration: configuration, logger: logger)
        let reopened = try await MongoStore.open(configuration: configuration, logger: logger)
        defer { Task { try? await reopened.dropDatabase() } }
        _ = try await store.upsert(try await observations(places: 5, ticks: 1))
        try await store.close()
        do {
            _ = try await store.count()
            Issue.record("a closed store answered")
        } catch let error as MeteoError {
            #expect(error.code == .store && error.message.contains("was closed"), "\(error)")
        }
        #expect(try await reopened.count() == 5)
        try await reopened.dropDatabase()
    }

    /// 200 concurrent reads (as a busy dashboard makes) all answer, while libmongoc's
    /// blocking calls never run more than the client's 8 at once: the rest wait suspended.
    /// (How many run side by side depends on timing; BlockingExecutorTests pins the bound.)
    @Test func twoHundredConcurrentReadsUseAtMostEightThreads() async throws {
        try await withStore { store in
            _ = try await store.upsert(try await observations(places: 30, ticks: 2))
            let counts = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<200 { group.addTask { try await store.count() } }
                var all: [Int] = []
                for try await c in group { all.append(c) }
                return all
            }
            #expect(counts == Array(repeating: 60, count: 200))
            #expect(store.client.lane.peakRunning <= MongoClient.maxConcurrentCalls)
            #expect(store.client.lane.waiting == 0)
        }
    }

    /// The original notebook's query, by an independent client: pymongo's
    /// `find({"name": "Strasbourg"})` returns Strasbourg's observations with the documented fields.
    @Test func pymongoReadsMeteoDocumentsWithTheNotebooksQuery() async throws {
        let python = try #require(ProcessInfo.processInfo.environment["METEO_PYTHON"],
                                  "METEO_PYTHON (a Python with pymongo) is not set; scripts/test sets it")
        let uri = try #require(MongoServer.uri)
        let database = "meteo_test_pymongo_\(UInt32.random(in: 0...UInt32.max))"
        let store = try await MongoStore.open(configuration: MongoConfiguration(uri: uri, database: database), logger: logger)
        defer { Task { try? await store.dropDatabase() } }
        let strasbourg = try PlaceCatalogue.bundled().resolve("Strasbourg")
        let source = SyntheticSource(seed: 11)
        var batch: [Observation] = []
        for _ in 0..<3 { batch += try await source.poll([strasbourg]).observations }
        batch += try await observations(places: 20, ticks: 1).filter { $0.placeID != strasbourg.id }
        _ = try await store.upsert(batch)

        let script = """
        import json, sys, pymongo
        db = pymongo.MongoClient(sys.argv[1], serverSelectionTimeoutMS=5000)[sys.argv[2]]
        docs = list(db.observations.find({"name": "Strasbourg"}).sort("observed_at", 1))
        print(json.dumps([{k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in d.items()} for d in docs]))
        """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = ["-c", script, uri, database]
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let errors = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "pymongo failed: \(errors)")
        guard case .array(let docs) = try JSONValue.parse(String(decoding: data, as: UTF8.self)) else {
            Issue.record("pymongo printed no list")
            return
        }
        let expected = batch.filter { $0.placeID == strasbourg.id }.sorted { $0.observedAt < $1.observedAt }
        #expect(docs.count == expected.count)
        for (doc, o) in zip(docs, expected) {
            #expect(doc["place_id"] == .string(strasbourg.id))
            #expect(doc["name"] == .string("Strasbourg"))
            #expect(doc["_id"] == .string("\(strasbourg.id)@\(ISO8601.string(from: o.observedAt))"))
            #expect(doc["temperature_c"] == o.temperatureC.map { .number($0) } ?? .null)
            #expect(doc["humidity_pct"] == o.humidityPct.map { .number($0) } ?? .null)
            #expect(doc["location"]?["type"] == .string("Point"))
            #expect(doc["location"]?["coordinates"] == .array([.number(strasbourg.longitude), .number(strasbourg.latitude)]))
            if case .string(let when)? = doc["observed_at"] {
                #expect(when.hasPrefix(String(ISO8601.string(from: o.observedAt).prefix(19))))
            } else {
                Issue.record("observed_at is not a date: \(String(describing: doc["observed_at"]))")
            }
        }
    }

    @Test func aServerThatIsDownIsARetriableErrorThatSaysSo() async throws {
        let started = ContinuousClock.now
        do {
            _ = try await MongoStore.open(configuration: MongoConfiguration(uri: "mongodb://root:example@127.0.0.1:1/?serverSelectionTimeoutMS=500"),
                                          logger: logger)
            Issue.record("a store opened on a closed port")
        } catch let error as MeteoError {
            #expect(error.isRetriable)
            #expect(error.message.contains("no MongoDB server reachable"))
            #expect(!error.message.contains("example"))
        }
        #expect(ContinuousClock.now - started < .seconds(30))
    }
}

#endif
