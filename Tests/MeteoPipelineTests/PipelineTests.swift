import Foundation
import Logging
import MeteoCore
import MeteoEmbedded
import MeteoPipeline
import MeteoSources
import ServiceLifecycle
import Synchronization
import Testing

/// The pipeline over the real embedded log and store, in temporary data dirs.
@Suite("Pipeline: ingestor and sink over the embedded log and store")
struct PipelineTests {
    let logger = Logger(label: "pipeline-test")
    let topic = "weather.observations"

    func tempDir() -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("meteo-pipeline-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    func places(_ n: Int) throws -> [Place] {
        Array(try PlaceCatalogue.bundled().places(in: Region.builtin).prefix(n))
    }

    func runSink(_ log: EmbeddedLog, _ writer: any SinkWriter, group: String = "g", batch: Int = 100,
                 format: PayloadFormat = .auto) async throws -> Sink.Stats {
        let sink = Sink(consumer: try log.consumer(group: group, topic: topic), writer: writer,
                        configuration: .init(batchSize: batch, pollTimeout: .milliseconds(20), format: format,
                                             stopWhenIdle: { true }, maxRetryDelay: .milliseconds(20)),
                        logger: logger)
        try await sink.run()
        return sink.stats
    }

    @Test func everyEventIsStoredOnceAndAReplayOverwrites() async throws {
        let dir = tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let log = try EmbeddedLog.open(dataDir: dir, logger: logger)
        let store = try SQLiteStore.open(dataDir: dir, logger: logger)
        let ingestor = Ingestor(source: SyntheticSource(seed: 7), publisher: try log.publisher(),
                                configuration: .init(topic: topic, places: try places(250), interval: .zero, ticks: 4, publishBatch: 300),
                                logger: logger)
        try await ingestor.run()
        #expect(ingestor.stats.published == 1000)

        let first = try await runSink(log, store)
        #expect(first.consumed == 1000)
        #expect(first.inserted == 1000)
        #expect(first.updated == 0)
        #expect(try await store.count() == 1000)

        // A second group reads the same events again: the store overwrites, never duplicates.
        let replay = try await runSink(log, store, group: "replay")
        #expect(replay.inserted == 0)
        #expect(replay.updated == 1000)
        #expect(try await store.count() == 1000)
        try await log.close()
        try await store.close()
    }

    @Test func aPoisonMessageIsDeadLetteredAndTheRestFlowOn() async throws {
        let dir = tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let log = try EmbeddedLog.open(dataDir: dir, logger: logger)
        let store = try SQLiteStore.open(dataDir: dir, logger: logger)
        let good = SyntheticSource(seed: 1).observations(places: try places(10), tick: 0)
        var messages = good.prefix(5).map { OutgoingMessage(key: $0.placeID, value: EventCodec.encode($0)) }
        let poison: [UInt8] = [0x7B, 0xFF, 0x00, 0x22]  // "{", invalid UTF-8, NUL, quote
        messages.append(OutgoingMessage(key: "bad", value: poison))
        var impossible = good[5]
        impossible.humidityPct = 140
        var impossibleBytes = EventCodec.encode(good[5])
        impossibleBytes = Array(String(decoding: impossibleBytes, as: UTF8.self)
            .replacingOccurrences(of: "\"humidity_pct\":\(Self.jsonNumber(good[5].humidityPct!))", with: "\"humidity_pct\":140").utf8)
        messages.append(OutgoingMessage(key: impossible.placeID, value: impossibleBytes))
        messages += good.suffix(4).map { OutgoingMessage(key: $0.placeID, value: EventCodec.encode($0)) }
        try await log.publisher().publish(messages, to: topic)

        let stats = try await runSink(log, store, batch: 4)
        #expect(stats.consumed == 11)
        #expect(stats.stored == 9)
        #expect(stats.deadLettered == 2)
        #expect(try await store.count() == 9)
        let letters = try await store.deadLetters(limit: 10)
        #expect(letters.count == 2)
        let bad = try #require(letters.first { $0.key == "bad" })
        #expect(bad.payload == poison, "the raw bytes are kept exactly")
        #expect(bad.reason.contains("JSON"))
        #expect(letters.contains { $0.reason.contains("humidity_pct") })
        let lag = try await log.stats(group: "g", topic: topic)
        #expect(lag.lag == 0, "offsets were committed past the poison messages")
        try await log.close()
        try await store.close()
    }

    static func jsonNumber(_ d: Double) -> String {
        var w = JSONWriter()
        w.number(d)
        return String(decoding: w.bytes, as: UTF8.self)
    }

    @Test func legacyPayloadsFromTheOriginalProducerAreStored() async throws {
        let dir = tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let log = try EmbeddedLog.open(dataDir: dir, logger: logger)
        let store = try SQLiteStore.open(dataDir: dir, logger: logger)
        let payload = #"""
        {"cod":200,"calctime":0.3,"cnt":2,"list":[
         {"id":2973783,"dt":1485784982,"name":"Strasbourg","coord":{"Lon":7.74553,"Lat":48.58392},
          "main":{"temp":9.68,"pressure":1036.82,"humidity":85},"wind":{"speed":3.96,"deg":356.5},"rain":{"3h":0.255},"snow":null,"clouds":{"today":88}},
         {"id":1,"dt":1485784982,"name":"Broken","coord":{"Lon":1,"Lat":1},"main":{"humidity":-3}}]}
        """#
        try await log.publisher().publish([OutgoingMessage(key: nil, value: Array(payload.utf8))], to: topic)
        let stats = try await runSink(log, store, format: .legacyOWM)
        #expect(stats.stored == 1)
        #expect(stats.deadLettered == 1)
        let stored = try await store.observations(ObservationQuery(placeIDs: ["2973783"]))
        #expect(stored.first?.temperatureC == 9.68)
        let letter = try #require(try await store.deadLetters(limit: 1).first)
        #expect(letter.reason.contains("humidity"))
        #expect(letter.payload == Array(payload.utf8))
        try await log.close()
        try await store.close()
    }

    /// A writer that fails a few times (a store that is down), then writes to the real store.
    final class FlakyWriter: SinkWriter {
        let store: SQLiteStore
        let failures = Mutex(3)
        init(store: SQLiteStore) { self.store = store }
        func write(_ observations: [Observation], deadLetters: [DeadLetter]) async throws -> UpsertSummary {
            let fail = failures.withLock { n -> Bool in
                if n > 0 { n -= 1; return true }
                return false
            }
            if fail { throw MeteoError(code: .store, "store unavailable", isRetriable: true) }
            return try await store.write(observations, deadLetters: deadLetters)
        }
    }

    @Test func aFailingStoreIsRetriedAndNothingIsCommittedBeforeTheWrite() async throws {
        let dir = tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let log = try EmbeddedLog.open(dataDir: dir, logger: logger)
        let store = try SQLiteStore.open(dataDir: dir, logger: logger)
        let obs = SyntheticSource(seed: 3).observations(places: try places(50), tick: 0)
        try await log.publisher().publish(obs.map { OutgoingMessage(key: $0.placeID, value: EventCodec.encode($0)) }, to: topic)
        let stats = try await runSink(log, FlakyWriter(store: store), batch: 50)
        #expect(stats.writeRetries == 3)
        #expect(stats.stored == 50)
        #expect(try await store.count() == 50)
        try await log.close()
        try await store.close()
    }

    @Test func gracefulShutdownStopsTheSinkWithItsWorkCommitted() async throws {
        let dir = tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let log = try EmbeddedLog.open(dataDir: dir, logger: logger)
        let store = try SQLiteStore.open(dataDir: dir, logger: logger)
        let obs = SyntheticSource(seed: 4).observations(places: try places(300), tick: 0)
        try await log.publisher().publish(obs.map { OutgoingMessage(key: $0.placeID, value: EventCodec.encode($0)) }, to: topic)
        let sink = Sink(consumer: try log.consumer(group: "g", topic: topic), writer: store,
                        configuration: .init(batchSize: 100, pollTimeout: .milliseconds(20)), logger: logger)
        let group = ServiceGroup(services: [sink], logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            // Wait until everything is stored, then ask for a graceful shutdown.
            let deadline = ContinuousClock.now + .seconds(20)
            while try await store.count() < 300, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(10))
            }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        #expect(try await store.count() == 300)
        #expect(try await log.stats(group: "g", topic: topic).lag == 0)
        try await log.close()
        try await store.close()
    }

    @Test func aPartialBatchFillsForTheFlushIntervalBeforeItIsWritten() async throws {
        let dir = tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let log = try EmbeddedLog.open(dataDir: dir, logger: logger)
        let store = try SQLiteStore.open(dataDir: dir, logger: logger)
        let obs = SyntheticSource(seed: 5).observations(places: try places(20), tick: 0)
        let messages = obs.map { OutgoingMessage(key: $0.placeID, value: EventCodec.encode($0)) }
        try await log.publisher().publish(Array(messages.prefix(10)), to: topic)
        let sink = Sink(consumer: try log.consumer(group: "g", topic: topic), writer: store,
                        configuration: .init(batchSize: 1000, pollTimeout: .milliseconds(20), flushInterval: .seconds(2),
                                             stopWhenIdle: { true }),
                        logger: logger)
        async let run: Void = sink.run()
        // The first ten are read; the next ten arrive while that batch waits to fill.
        try await Task.sleep(for: .milliseconds(300))
        #expect(try await store.count() == 0, "nothing is written before the batch is full or the interval is over")
        try await log.publisher().publish(Array(messages.suffix(10)), to: topic)
        try await run
        #expect(sink.stats.consumed == 20)
        #expect(sink.stats.batches == 1, "one write of 20, not two of 10")
        #expect(try await store.count() == 20)
        try await log.close()
        try await store.close()
    }

    /// A source whose second poll fails, as an API that is down.
    struct FailingSecondPoll: WeatherSource {
        let inner = SyntheticSource(seed: 9)
        let polls = Counter()
        var name: String { "flaky" }
        func poll(_ places: [Place]) async throws -> SourceBatch {
            if polls.next() == 2 { throw MeteoError(code: .apiError, "HTTP 503", isRetriable: true) }
            return try await inner.poll(places)
        }
        final class Counter: Sendable {
            let n = Mutex(0)
            func next() -> Int { n.withLock { $0 += 1; return $0 } }
        }
    }

    @Test func aFailedPollIsCountedAndTheNextTickGoesOn() async throws {
        let dir = tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let log = try EmbeddedLog.open(dataDir: dir, logger: logger)
        let ingestor = Ingestor(source: FailingSecondPoll(), publisher: try log.publisher(),
                                configuration: .init(topic: topic, places: try places(20), interval: .milliseconds(1)),
                                logger: logger)
        let group = ServiceGroup(services: [ingestor], logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            let deadline = ContinuousClock.now + .seconds(20)
            while ingestor.stats.ticks < 3, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        let stats = ingestor.stats
        #expect(stats.failedPolls == 1)
        #expect(stats.ticks >= 3)
        #expect(stats.published == stats.ticks * 20)
        try await log.close()
    }

    /// Records what is published, in order.
    final class RecordingPublisher: EventPublisher {
        let published = Mutex<[OutgoingMessage]>([])
        func publish(_ messages: [OutgoingMessage], to topic: String) async throws {
            // Acknowledge slowly, so that the next poll (prefetched at interval 0) overlaps.
            try await Task.sleep(for: .milliseconds(2))
            published.withLock { $0 += messages }
        }
        func close() async throws {}
    }

    @Test func atIntervalZeroTheNextPollOverlapsButEventsStayInTickOrder() async throws {
        let publisher = RecordingPublisher()
        let ingestor = Ingestor(source: SyntheticSource(seed: 3), publisher: publisher,
                                configuration: .init(topic: topic, places: try places(50), interval: .zero, ticks: 12),
                                logger: logger)
        try await ingestor.run()
        let events = publisher.published.withLock { $0 }
        #expect(events.count == 12 * 50)
        #expect(ingestor.stats.published == 12 * 50)
        #expect(ingestor.stats.ticks == 12)
        // Per place, observed times strictly increase: tick order is kept on the bus.
        var last: [String: Date] = [:]
        for m in events {
            let o = try EventCodec.decode(m.value)
            if let previous = last[o.placeID] { #expect(o.observedAt > previous, "\(o.placeID) out of order") }
            last[o.placeID] = o.observedAt
        }
        #expect(last.count == 50)
    }

    @Test func aFailedPollAtIntervalZeroWithTicksEndsTheRun() async throws {
        let publisher = RecordingPublisher()
        let ingestor = Ingestor(source: FailingSecondPoll(), publisher: publisher,
                                configuration: .init(topic: topic, places: try places(10), interval: .zero, ticks: 5),
                                logger: logger)
        await #expect(throws: MeteoError.self) { try await ingestor.run() }
        #expect(ingestor.stats.failedPolls == 1)
        #expect(publisher.published.withLock { $0.count } == 10, "the first tick was published, then the failure stopped it")
    }

    /// Queues at once and acknowledges later, when the test releases the acknowledgements;
    /// acknowledgement `failing` (counted from 1) is refused.
    final class DeferredAckPublisher: EventPublisher {
        struct State {
            var queued: [[OutgoingMessage]] = []
            var released = 0
        }
        let state = Mutex(State())
        let failing: Int?
        init(failing: Int? = nil) { self.failing = failing }

        func publish(_ messages: [OutgoingMessage], to topic: String) async throws {
            try await send(messages, to: topic).delivered()
        }

        func send(_ messages: [OutgoingMessage], to topic: String) async throws -> PendingDelivery {
            let number = state.withLock { s -> Int in
                s.queued.append(messages)
                return s.queued.count
            }
            let failing = self.failing
            return PendingDelivery(count: messages.count) { [self] in
                while state.withLock({ $0.released < number }) { try await Task.sleep(for: .milliseconds(1)) }
                if number == failing { throw MeteoError(code: .bus, "broker refused the batch") }
            }
        }

        func release(upTo n: Int) { state.withLock { $0.released = max($0.released, n) } }
        var queuedCount: Int { state.withLock { $0.queued.count } }
        func close() async throws {}
    }

    @Test func pollsAreQueuedAheadButCountedOnlyWhenAcknowledgedInTickOrder() async throws {
        let publisher = DeferredAckPublisher()
        let progress = Mutex<[Int]>([])
        let ingestor = Ingestor(source: SyntheticSource(seed: 4), publisher: publisher,
                                configuration: .init(topic: topic, places: try places(10), interval: .zero, ticks: 6,
                                                     inFlightPolls: 3),
                                logger: logger, onProgress: { p in progress.withLock { $0.append(p.tick) } })
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await ingestor.run() }
            // Three polls are queued while none is acknowledged, and none is counted yet.
            let deadline = ContinuousClock.now + .seconds(20)
            while publisher.queuedCount < 3, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(2)) }
            try await Task.sleep(for: .milliseconds(50))
            #expect(publisher.queuedCount == 3, "no more than inFlightPolls polls wait for acknowledgements")
            #expect(ingestor.stats.published == 0)
            #expect(ingestor.stats.ticks == 0)
            publisher.release(upTo: 1)
            while ingestor.stats.ticks < 1, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(2)) }
            #expect(ingestor.stats.published == 10)
            publisher.release(upTo: 6)
            try await tasks.waitForAll()
        }
        #expect(ingestor.stats.published == 60)
        #expect(progress.withLock { $0 } == [1, 2, 3, 4, 5, 6])
    }

    @Test func aRefusedAcknowledgementEndsATicksRunOnceTheRestAreSettled() async throws {
        let publisher = DeferredAckPublisher(failing: 2)
        publisher.release(upTo: 100)
        let ingestor = Ingestor(source: SyntheticSource(seed: 5), publisher: publisher,
                                configuration: .init(topic: topic, places: try places(10), interval: .zero, ticks: 5,
                                                     inFlightPolls: 4),
                                logger: logger)
        await #expect(throws: MeteoError.self) { try await ingestor.run() }
        let stats = ingestor.stats
        #expect(stats.failedPolls == 1)
        // Tick 2 was refused; the ticks queued after it were still acknowledged and counted.
        #expect(stats.published == (publisher.queuedCount - 1) * 10)
        #expect(stats.ticks == publisher.queuedCount - 1)
    }
}

@Suite("Data lake writer")
struct LakeWriterTests {
    let logger = Logger(label: "lake-test")

    func files(_ dir: URL) -> [String] {
        (FileManager.default.enumerator(atPath: dir.path)?.allObjects as? [String] ?? [])
            .filter { $0.hasSuffix(".jsonl") || $0.hasSuffix(".tmp") }.sorted()
    }

    @Test func observationsLandInHourPartitionsAsEventLinesWholeFilesOnly() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("meteo-lake-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let places = Array(try PlaceCatalogue.bundled().places(in: Region.builtin).prefix(5))
        // Ticks 40 minutes apart from 23:00 UTC: hours 23, 00 and 01 of two days.
        let source = SyntheticSource(seed: 3, start: Date(timeIntervalSince1970: 1_764_457_200), step: .seconds(2400))
        var rows: [Observation] = []
        for tick in 0..<Int64(4) { rows += source.observations(places: places, tick: tick) }
        rows[0].name = "<script>\n\"quoted\""
        let lake = try LakeWriter(directory: dir, writerID: "w1", format: .ndjson)
        let written = try lake.write(rows)
        #expect(files(dir) == [
            "date=2025-11-29/hour=23/part-w1-000001.jsonl",
            "date=2025-11-30/hour=00/part-w1-000002.jsonl",
            "date=2025-11-30/hour=01/part-w1-000003.jsonl",
        ], "one file per hour, no temporary file left")
        #expect(written.count == 3)
        var back: [Observation] = []
        for url in written {
            let text = try String(contentsOf: url, encoding: .utf8)
            #expect(text.hasSuffix("\n"))
            for line in TextLines.split(text) { back.append(try EventCodec.decode(Array(line.utf8))) }
        }
        #expect(back.sorted { ($0.observedAt, $0.placeID) < ($1.observedAt, $1.placeID) }
                == rows.sorted { ($0.observedAt, $0.placeID) < ($1.observedAt, $1.placeID) }, "every line is an observation, exactly")

        // A new writer of the same id goes on after the highest sequence in the lake.
        let again = try LakeWriter(directory: dir, writerID: "w1", format: .ndjson)
        let more = try again.write(Array(rows.prefix(1)))
        #expect(more.map(\.lastPathComponent) == ["part-w1-000004.jsonl"])
        #expect(throws: MeteoError.self) { try LakeWriter(directory: dir, writerID: "../x") }
    }

    /// `--lake-format parquet`: the same partitions, `.parquet` files, and every observation
    /// read back exactly (hostile names, absent values, the time to the microsecond); the
    /// sequence goes on across formats.
    @Test func aParquetLakeHoldsTheSameObservations() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("meteo-lake-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let places = Array(try PlaceCatalogue.bundled().places(in: Region.builtin).prefix(50))
        let source = SyntheticSource(seed: 4, start: Date(timeIntervalSince1970: 1_764_457_200), step: .seconds(2400))
        var rows: [Observation] = []
        for tick in 0..<Int64(3) { rows += source.observations(places: places, tick: tick) }
        rows[0].name = "<script>\n\"quoted\""
        rows[1].region = nil
        rows[2].temperatureC = nil
        rows[2].weatherCode = nil
        rows[3].observedAt = Date(timeIntervalSince1970: 1_764_457_200.25)
        _ = try LakeWriter(directory: dir, writerID: "w1", format: .ndjson).write(Array(rows.prefix(1)))
        let lake = try LakeWriter(directory: dir, writerID: "w1", format: .parquet)
        let written = try lake.write(rows)
        #expect(written.map(\.lastPathComponent) == ["part-w1-000002.parquet", "part-w1-000003.parquet"], "hours 23 and 00, after the NDJSON file's 1")
        var back: [Observation] = []
        for url in written { back += try ObservationParquet.decode(Array(try Data(contentsOf: url))) }
        #expect(back.sorted { ($0.observedAt, $0.placeID) < ($1.observedAt, $1.placeID) }
                == rows.sorted { ($0.observedAt, $0.placeID) < ($1.observedAt, $1.placeID) })
        #expect(ObservationParquet.fields.map(\.name) == ObservationSchema.names)
    }

    @Test func theSinkWritesTheStoreAndTheLakeAndCommitsAfterBoth() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("meteo-lake-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let log = try EmbeddedLog.open(dataDir: dir, logger: logger)
        let store = try SQLiteStore.open(dataDir: dir, logger: logger)
        let obs = SyntheticSource(seed: 8).observations(places: Array(try PlaceCatalogue.bundled().places(in: Region.builtin).prefix(120)), tick: 0)
        try await log.publisher().publish(obs.map { OutgoingMessage(key: $0.placeID, value: EventCodec.encode($0)) }, to: "weather.observations")
        let lake = try LakeWriter(directory: dir.appendingPathComponent("lake"), writerID: "sink", format: .ndjson)
        let sink = Sink(consumer: try log.consumer(group: "g", topic: "weather.observations"),
                        writer: StoreAndLakeWriter(store: store, lake: lake),
                        configuration: .init(batchSize: 50, pollTimeout: .milliseconds(20), stopWhenIdle: { true }), logger: logger)
        try await sink.run()
        #expect(try await store.count() == 120)
        let lines = try files(dir.appendingPathComponent("lake")).reduce(0) { n, path in
            n + TextLines.split(try String(contentsOf: dir.appendingPathComponent("lake").appendingPathComponent(path), encoding: .utf8)).count
        }
        #expect(lines == 120)
        #expect(try await log.stats(group: "g", topic: "weather.observations").lag == 0)
        try await log.close()
        try await store.close()
    }
}

/// `meteo ingest --delivery-log`: the record holds exactly the events whose acknowledgement
/// arrived, the chunk the bus refused left out.
@Suite("Delivery log: the producer's record of acknowledged events")
struct DeliveryLogTests {
    /// Acknowledges every chunk but the second.
    final class RefusingSecondChunk: EventPublisher {
        let chunks = Mutex(0)
        func publish(_ messages: [OutgoingMessage], to topic: String) async throws {
            try await send(messages, to: topic).delivered()
        }
        func send(_ messages: [OutgoingMessage], to topic: String) async throws -> PendingDelivery {
            let n = chunks.withLock { $0 += 1; return $0 }
            return PendingDelivery(count: messages.count) {
                if n == 2 { throw MeteoError(code: .bus, "broker refused the chunk", isRetriable: true) }
            }
        }
        func close() async throws {}
    }

    @Test func onlyAcknowledgedEventsAreRecorded() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("meteo-deliveries-\(UUID().uuidString).log").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let places = Array(try PlaceCatalogue.bundled().places(in: Region.builtin).prefix(30))
        let source = SyntheticSource(seed: 11)
        let expected = source.observations(places: places, tick: 0)
        let log = try DeliveryLog(path: path)
        let ingestor = Ingestor(source: SyntheticSource(seed: 11), publisher: RefusingSecondChunk(),
                                configuration: .init(topic: "t", places: places, interval: .zero, ticks: 1, publishBatch: 10),
                                logger: Logger(label: "delivery-log-test"),
                                onAcknowledged: { log.record($0) })
        await #expect(throws: MeteoError.self) { try await ingestor.run() }
        log.close()
        let lines = try DeliveryLog.read(path: path)
        let acknowledged = (expected[0..<10] + expected[20..<30]).map(\.eventID)
        #expect(lines == acknowledged)
        #expect(ingestor.stats.published == 20)
        #expect(lines.first == "\(expected[0].placeID)@\(ISO8601.string(from: expected[0].observedAt))")
    }

    @Test func anUnwritablePathIsAClearError() throws {
        #expect {
            _ = try DeliveryLog(path: "/nonexistent-dir/deliveries.log")
        } throws: { error in
            (error as? MeteoError)?.message.contains("--delivery-log") == true
        }
    }
}

/// SIGTERM while a poll waits on a slow API (time-outs and retries can take minutes) stops the
/// ingestor at once, with nothing half-published.
@Suite("Ingestor shutdown during a slow poll")
struct SlowPollShutdownTests {
    struct HangingSource: WeatherSource {
        var name: String { "hanging" }
        func poll(_ places: [Place]) async throws -> SourceBatch {
            try await Task.sleep(for: .seconds(120))
            return SourceBatch(observations: [])
        }
    }

    final class CountingPublisher: EventPublisher {
        let count = Mutex(0)
        func publish(_ messages: [OutgoingMessage], to topic: String) async throws { count.withLock { $0 += messages.count } }
        func close() async throws {}
    }

    @Test func gracefulShutdownEndsAPollInProgress() async throws {
        let logger = Logger(label: "slow-poll-test")
        let places = Array(try PlaceCatalogue.bundled().places(in: Region.builtin).prefix(3))
        let publisher = CountingPublisher()
        let ingestor = Ingestor(source: HangingSource(), publisher: publisher,
                                configuration: .init(topic: "t", places: places, interval: .seconds(10)), logger: logger)
        let group = ServiceGroup(services: [ingestor], logger: logger)
        let clock = ContinuousClock()
        let elapsed = try await clock.measure {
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                try await Task.sleep(for: .milliseconds(300))
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
            }
        }
        #expect(elapsed < .seconds(60), "the shutdown waited for the poll: \(elapsed)")
        #expect(ingestor.stats.failedPolls == 0, "an abandoned poll is not a failure")
        #expect(publisher.count.withLock { $0 } == 0)
    }
}
