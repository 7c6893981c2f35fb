import Foundation
import MeteoCore
@testable import MeteoEmbedded
import Testing

@Suite("SQLite store")
struct SQLiteStoreTests {
    @Test func upsertIsIdempotentOnPlaceAndTime() async throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try SQLiteStore.open(dataDir: dir, logger: testLogger)
        let batch = (0..<100).map { sample("p\($0 % 10)", at: 1_700_000_000 + Double($0 / 10) * 600) }
        let first = try await store.upsert(batch)
        #expect(first == UpsertSummary(inserted: 100, updated: 0))
        var changed = batch
        changed[0].temperatureC = 25
        let second = try await store.upsert(changed)
        #expect(second == UpsertSummary(inserted: 0, updated: 100))
        #expect(try await store.count() == 100)
        let p0 = try await store.observations(ObservationQuery(placeIDs: ["p0"], newestFirst: false))
        #expect(p0.first?.temperatureC == 25)
    }

    /// `close()` waits for the calls made before it, closes the database, and refuses later
    /// calls with a message; the file keeps what was written, for the next open.
    @Test func closeFinishesEarlierCallsThenRefusesLaterOnes() async throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try SQLiteStore.open(dataDir: dir, logger: testLogger)
        let batch = (0..<50).map { sample("p\($0)", at: 1_700_000_000) }
        async let written = store.upsert(batch)
        try await Task.sleep(for: .milliseconds(1))
        try await store.close()
        #expect(try await written == UpsertSummary(inserted: 50, updated: 0))
        do {
            _ = try await store.count()
            Issue.record("a closed store answered")
        } catch let error as MeteoError {
            #expect(error.code == .store)
            #expect(error.message.contains("was closed"), "\(error)")
        }
        try await store.close()
        let again = try SQLiteStore.open(dataDir: dir, logger: testLogger)
        #expect(try await again.count() == 50)
    }

    @Test func absentValuesComeBackAbsent() async throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try SQLiteStore.open(dataDir: dir, logger: testLogger)
        var o = sample("x", at: 1_700_000_000, temperature: nil, region: nil)
        o.rainMM = 0
        o.snowMM = nil
        o.weatherCode = 61
        _ = try await store.upsert([o])
        let back = try #require(try await store.observations(ObservationQuery()).first)
        #expect(back == o)
        #expect(back.temperatureC == nil)
        #expect(back.rainMM == 0)
        #expect(back.snowMM == nil)
    }

    @Test func latestKeepsTheNewestAndIgnoresOlderReplays() async throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try SQLiteStore.open(dataDir: dir, logger: testLogger)
        _ = try await store.upsert([sample("a", at: 2000, temperature: 2), sample("a", at: 3000, temperature: 3), sample("b", at: 1000, region: "Other")])
        _ = try await store.upsert([sample("a", at: 1000, temperature: 1)])  // an old replay
        let latest = try await store.latest(region: nil)
        #expect(latest.count == 2)
        #expect(latest.first { $0.placeID == "a" }?.temperatureC == 3)
        #expect(try await store.latest(region: "Other").map(\.placeID) == ["b"])
        #expect(try await store.count() == 4)
    }

    @Test func queriesFilterOrderAndLimit() async throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try SQLiteStore.open(dataDir: dir, logger: testLogger)
        var batch: [Observation] = []
        for t in 0..<10 {
            batch.append(sample("a", at: Double(t) * 600))
            batch.append(sample("b", at: Double(t) * 600, region: "R2"))
        }
        _ = try await store.upsert(batch)
        let a = try await store.observations(ObservationQuery(placeIDs: ["a"]))
        #expect(a.count == 10)
        #expect(a.first?.observedAt == Date(timeIntervalSince1970: 5400), "newest first")
        let window = try await store.observations(ObservationQuery(placeIDs: ["a", "b"], since: Date(timeIntervalSince1970: 1200),
                                                                   until: Date(timeIntervalSince1970: 3000), newestFirst: false))
        #expect(window.map(\.observedAt.timeIntervalSince1970) == [1200, 1200, 1800, 1800, 2400, 2400])
        let region = try await store.observations(ObservationQuery(region: "R2", limit: 3))
        #expect(region.count == 3)
        #expect(region.allSatisfy { $0.placeID == "b" })
        #expect(try await store.observations(ObservationQuery(placeIDs: [])).isEmpty)
    }

    @Test func scanPagesThroughEveryMatchingRowOnce() async throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try SQLiteStore.open(dataDir: dir, logger: testLogger)
        var batch: [Observation] = []
        for t in 0..<50 {
            batch.append(sample("a", at: Double(t) * 600))
            batch.append(sample("b", at: Double(t) * 600, region: "R2"))
        }
        _ = try await store.upsert(batch)
        _ = try await store.upsert([sample("a", at: 0)])  // an overwrite is still one row
        var pages: [Int] = []
        var keys: [ObservationKey] = []
        for try await page in store.scan(ObservationQuery(), batchSize: 7) {
            pages.append(page.count)
            keys += page.map(\.key)
        }
        #expect(keys.count == 100 && Set(keys).count == 100)
        #expect(pages.allSatisfy { $0 <= 7 } && pages.count == 15)
        var filtered = 0
        for try await page in store.scan(ObservationQuery(region: "R2", since: Date(timeIntervalSince1970: 6000)), batchSize: 4) {
            #expect(page.allSatisfy { $0.placeID == "b" && $0.observedAt.timeIntervalSince1970 >= 6000 })
            filtered += page.count
        }
        #expect(filtered == 40)
        var none = 0
        for try await page in store.scan(ObservationQuery(placeIDs: []), batchSize: 10) { none += page.count }
        #expect(none == 0)
    }

    @Test func deadLettersKeepTheirBytesAndAreIdempotent() async throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try SQLiteStore.open(dataDir: dir, logger: testLogger)
        let payload: [UInt8] = [0xFF, 0x00, 0x7B, 0xC3, 0x28]
        let letter = DeadLetter(reason: "malformed JSON", topic: "t", partition: 0, offset: 42, key: "k", payload: payload, failedAt: Date())
        _ = try await store.write([sample("a", at: 1)], deadLetters: [letter])
        _ = try await store.write([], deadLetters: [letter])  // redelivered after a crash
        #expect(try await store.deadLetterCount() == 1)
        let back = try #require(try await store.deadLetters(limit: 5).first)
        #expect(back.payload == payload)
        #expect(back.offset == 42)
        #expect(back.reason == "malformed JSON")
        #expect(try await store.count() == 1)
    }

    /// After a log reset or a topic re-creation, offsets start again: a new bad message at a
    /// position already used is kept too, and a redelivery still counts once.
    @Test func deadLettersAtAPositionUsedAgainAreAllKeptAndRedeliveriesOnce() async throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try SQLiteStore.open(dataDir: dir, logger: testLogger)
        let sent = Date(timeIntervalSince1970: 1_790_000_000.123)
        func letter(_ payload: String, sent: Date?, failedAt: Date = Date()) -> DeadLetter {
            DeadLetter(reason: "bad \(payload)", topic: "t", partition: 3, offset: 7, key: nil, payload: Array(payload.utf8),
                       failedAt: failedAt, messageTimestamp: sent)
        }
        let first = letter("{not json", sent: sent)
        _ = try await store.write([], deadLetters: [first])
        // The same message redelivered after a crash: decoded again later, so failedAt differs.
        _ = try await store.write([], deadLetters: [letter("{not json", sent: sent, failedAt: Date(timeIntervalSinceNow: 60))])
        #expect(try await store.deadLetterCount() == 1)
        // Offsets restarted: another payload, and the same payload sent at another time.
        _ = try await store.write([], deadLetters: [letter("[1, 2", sent: sent.addingTimeInterval(5))])
        _ = try await store.write([], deadLetters: [letter("{not json", sent: sent.addingTimeInterval(9))])
        #expect(try await store.deadLetterCount() == 3)
        #expect(Set(try await store.deadLetters(limit: 10).map { String(decoding: $0.payload, as: UTF8.self) }) == ["{not json", "[1, 2"])
    }

    /// A store made before fingerprints (unique on topic, partition and offset alone) is
    /// rebuilt on open, keeping its dead letters.
    @Test func anOlderDeadLetterTableIsMigratedKeepingItsRows() async throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        do {
            let old = try SQLiteConnection.open(path: dir.appendingPathComponent(SQLiteStore.fileName).path, errorCode: .store)
            try old.execute("""
                CREATE TABLE dead_letters (id INTEGER PRIMARY KEY AUTOINCREMENT, reason TEXT NOT NULL, topic TEXT NOT NULL,
                    partition INTEGER NOT NULL, offset INTEGER NOT NULL, key TEXT, payload BLOB NOT NULL, failed_at_ms INTEGER NOT NULL,
                    UNIQUE (topic, partition, offset));
                INSERT INTO dead_letters (reason, topic, partition, offset, key, payload, failed_at_ms) VALUES ('old', 't', 0, 1, NULL, x'01', 0);
                """)
        }
        let store = try SQLiteStore.open(dataDir: dir, logger: testLogger)
        #expect(try await store.deadLetterCount() == 1)
        _ = try await store.write([], deadLetters: [DeadLetter(reason: "new", topic: "t", partition: 0, offset: 1, key: nil, payload: [2],
                                                               failedAt: Date(), messageTimestamp: Date())])
        #expect(try await store.deadLetterCount() == 2)
        let reopened = try SQLiteStore.open(dataDir: dir, logger: testLogger)
        #expect(try await reopened.deadLetterCount() == 2)
    }

    /// A write that returned survives a power cut: the store commits in WAL mode with
    /// synchronous=FULL (2), so that the sink's offset commit never runs ahead of it.
    @Test func theStoreSyncsEachCommit() async throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try SQLiteStore.open(dataDir: dir, logger: testLogger)
        #expect(try await store.connection.perform { try $0.pragma("synchronous") } == 2)
        // NORMAL (1) only when asked, as scripts/bench sink does to measure what FULL costs.
        let other = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: other) }
        let normal = try SQLiteStore.open(dataDir: other, logger: testLogger, synchronous: .normal)
        #expect(try await normal.connection.perform { try $0.pragma("synchronous") } == 1)
        let mode = try await store.connection.perform { db in
            let s = try db.prepare("PRAGMA journal_mode")
            defer { s.finalize() }
            return try s.step() ? s.text(0) : nil
        }
        #expect(mode == "wal")
    }

    @Test func hostileStringsAreStoredLiterally() async throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try SQLiteStore.open(dataDir: dir, logger: testLogger)
        let names = ["<script>alert(1)</script>", "'); DROP TABLE observations;--", "{\"$ne\": null}", "Zürich", "東京"]
        _ = try await store.upsert(names.enumerated().map { i, name in
            var o = sample(name, at: Double(i))
            o.name = name
            return o
        })
        let back = try await store.observations(ObservationQuery(newestFirst: false))
        #expect(back.map(\.name) == names)
        #expect(back.map(\.placeID) == names)
        #expect(try await store.count() == 5)
    }

    @Test func placesListsEachPlaceOnceAsItsLatestObservationDescribesIt() async throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try SQLiteStore.open(dataDir: dir, logger: testLogger)
        #expect(try await store.places().isEmpty)
        var renamed = sample("geo:48.5800,7.7500", at: 1_700_000_600, region: "Alsace")
        renamed.name = "<b>Centre</b>"
        renamed.country = ""
        _ = try await store.upsert([sample("b", at: 1_700_000_000), sample("geo:48.5800,7.7500", at: 1_700_000_000), renamed,
                                    sample("a", at: 1_700_000_000, region: nil), sample("b", at: 1_700_001_200)])
        let places = try await store.places()
        #expect(places.map(\.id) == ["a", "b", "geo:48.5800,7.7500"], "each place once, by id")
        #expect(places[2] == StoredPlace(id: "geo:48.5800,7.7500", name: "<b>Centre</b>", country: "", region: "Alsace",
                                         latitude: 48.5, longitude: 7.7, lastObservedAt: Date(timeIntervalSince1970: 1_700_000_600)))
        #expect(places[0].region == nil && places[1].lastObservedAt == Date(timeIntervalSince1970: 1_700_001_200))
        // The protocol's default (from the latest observations, as MongoDB's) agrees with SQLite's own.
        #expect(try await DefaultPlaces(base: store).places() == places)
    }

    @Test func aDataDirUnderAFileIsAClearError() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("file")
        try Data().write(to: file)
        #expect(throws: MeteoError.self) { try SQLiteStore.open(dataDir: file, logger: testLogger) }
    }
}

/// A store that keeps the protocol's default `places()`.
private struct DefaultPlaces: ObservationStore {
    let base: SQLiteStore
    func upsert(_ observations: [Observation]) async throws -> UpsertSummary { try await base.upsert(observations) }
    func observations(_ query: ObservationQuery) async throws -> [Observation] { try await base.observations(query) }
    func latest(region: String?) async throws -> [Observation] { try await base.latest(region: region) }
    func count() async throws -> Int { try await base.count() }
    func close() async throws {}
}
