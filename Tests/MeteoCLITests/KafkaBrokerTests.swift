#if Kafka
import Foundation
import Logging
import MeteoCore
import MeteoEmbedded
import MeteoTestSupport
import Testing

/// `meteo ingest` and `meteo sink` as separate processes on a real Kafka-compatible broker
/// (noida-db, started by `scripts/services/kafka`; `scripts/test` sets METEO_TEST_KAFKA to its
/// address), with independent clients (kcat, kafka-python) on the same topics.
@Suite("Kafka: meteo processes on a real broker", .serialized,
       .requires(environment: "METEO_TEST_KAFKA", "host:port of a running broker; scripts/test starts one"),
       .meteoBinary)
struct KafkaBrokerTests {
    let logger = Logger(label: "kafka-broker-test")

    @Test func aHundredThousandEventsReachTheStoreOnceThroughTwoSinksInOneGroup() async throws {
        let run = KafkaRun()
        defer { run.cleanUp() }
        let expected = try await run.ingestSynthetic(ticks: 62)

        // Two sinks of one group, started together, drain the topic and exit.
        let a = try run.startSink(name: "a", extra: ["--until-idle"])
        let b = try run.startSink(name: "b", extra: ["--until-idle"])
        #expect(try await a.wait(timeout: .seconds(240)) == 0, "\(a.log)")
        #expect(try await b.wait(timeout: .seconds(240)) == 0, "\(b.log)")

        let (stored, places) = try await run.storeCounts()
        #expect(stored == expected, "every event stored")
        #expect(places == 1630)
        let sa = SinkSummary(a.log), sb = SinkSummary(b.log)
        #expect(sa.new + sb.new == expected, "each key was new exactly once across the two sinks: \(sa) \(sb)")
        #expect(sa.consumed + sb.consumed >= expected)
        #expect(sa.consumed > 0 && sb.consumed > 0, "both sinks consumed: \(sa.consumed) and \(sb.consumed)")
        #expect(a.log.contains("partitions assigned: \(run.topic)["), "sink a got partitions:\n\(a.log)")
        #expect(b.log.contains("partitions assigned: \(run.topic)["), "sink b got partitions:\n\(b.log)")
        let lag = try await run.meteo(["doctor", "--offline"])
        #expect(lag.stdout.contains("group \(run.group) lag 0"), "\(lag.stdout)")
    }

    @Test func killingASinkWithSIGKILLMidStreamThenRestartingItLosesNothing() async throws {
        let run = KafkaRun()
        defer { run.cleanUp() }
        let expected = try await run.ingestSynthetic(ticks: 62)

        // The sink and its restart share a static group membership (group.instance.id,
        // KIP-345), as a sink restarted in place (systemd, a StatefulSet) would: the restart
        // takes the partitions back at once. A dynamic member that dies keeps its partitions
        // on noida-db until its session expires, which noida-db did not do within 400 s in
        // our runs (README, "Kafka").
        let member = ["--kafka-property", "group.instance.id=\(run.group)-1", "--batch-size", "2000"]
        let victim = try run.startSink(name: "victim", extra: member)
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(120)
        var seen = 0
        while clock.now < deadline {
            seen = (try? await run.storeCounts().0) ?? 0
            if seen >= 10_000 { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        victim.kill9()
        #expect(try await victim.wait(timeout: .seconds(10)) == -SIGKILL)
        let (atKill, _) = try await run.storeCounts()
        #expect(atKill >= 10_000 && atKill < expected, "killed mid-stream at \(atKill) of \(expected)")

        let restarted = try run.startSink(name: "restarted", extra: member + ["--until-idle"])
        #expect(try await restarted.wait(timeout: .seconds(180)) == 0, "\(restarted.log)")
        let (stored, places) = try await run.storeCounts()
        #expect(stored == expected, "nothing lost. Logs:\n\(victim.log)\n\(restarted.log)")
        #expect(places == 1630)
        let summary = SinkSummary(restarted.log)
        #expect(summary.new == expected - atKill, "the restart stored exactly what was missing as new: \(summary)")
        #expect(summary.consumed >= expected - atKill)
        let lag = try await run.meteo(["doctor", "--offline"])
        #expect(lag.stdout.contains("group \(run.group) lag 0"), "every partition committed to its end: \(lag.stdout)")
    }

    /// After a broker restart without its data, a client's request made the broker create the
    /// topic again with its default of one partition, and the sinks sat without partitions for
    /// minutes (found by scripts/chaos). Here the topic is deleted and created again with one
    /// partition under a running ingestor and two sinks: the topic is grown back to its
    /// configured partitions, both sinks own partitions again, and new events are stored, all
    /// within 30 s.
    @Test func aTopicRecreatedWithOnePartitionIsGrownBackAndBothSinksResumeWithin30Seconds() async throws {
        let run = KafkaRun()
        defer { run.cleanUp() }
        guard let python = ProcessInfo.processInfo.environment["METEO_PYTHON"] else {
            Issue.record("METEO_PYTHON (a Python with kafka-python) is not set; scripts/test sets it")
            return
        }
        let ingest = try LoggedProcess.start(MeteoProcess.binary.path,
                                             ["ingest", "--source", "synthetic", "--regions", "EuropeE", "--interval", "1s", "--partitions", "4"] + run.common,
                                             environment: run.environment, log: run.dir.appendingPathComponent("ingest.log"))
        // Every process of the pipeline configures the same partitions (each checks the topic).
        let sinks = try ["a", "b"].map { try run.startSink(name: $0, extra: ["--flush-interval", "200ms", "--partitions", "4"]) }
        defer {
            for p in [ingest] + sinks { p.kill9() }
        }
        let assigned = "partitions assigned: \(run.topic)["
        let clock = ContinuousClock()
        var deadline = clock.now + .seconds(120)
        while clock.now < deadline {
            let flowing = ((try? await run.storeCounts().0) ?? 0) > 0
            if flowing && sinks.allSatisfy({ $0.log.contains(assigned) }) { break }
            try await Task.sleep(for: .milliseconds(200))
        }
        try #require(sinks.allSatisfy { $0.log.contains(assigned) }, "both sinks got partitions: \(sinks.map(\.log))")
        #expect(try await run.topicPartitions(python) == 4)

        let recreated = try await Shell.run(python, ["-c", KafkaRun.recreateWithOnePartition, run.broker, run.topic])
        try #require(recreated.status == 0, "\(recreated.stderr)")
        // Repaired: 4 partitions, each of the group's 2 members owns some (the group as the
        // broker describes it); then the store grows (new events; the old topic is gone).
        deadline = clock.now + .seconds(30)
        var partitions = 1
        var owned: [[Int]] = []
        var repairedAt: Int?
        var count = 0
        while clock.now < deadline {
            partitions = (try? await run.topicPartitions(python)) ?? partitions
            owned = (try? await run.groupAssignment(python)) ?? owned
            count = (try? await run.storeCounts().0) ?? count
            if repairedAt == nil, partitions == 4, owned.count == 2, owned.allSatisfy({ !$0.isEmpty }) { repairedAt = count }
            if let repairedAt, count > repairedAt { break }
            try await Task.sleep(for: .milliseconds(500))
        }
        #expect(partitions == 4, "the topic is grown back to its configured partitions. Ingest log:\n\(ingest.log.suffix(3000))")
        #expect(owned.count == 2 && owned.allSatisfy { !$0.isEmpty }, "both sinks own partitions again: \(owned)\n\(sinks.map(\.log).joined(separator: "\n\n"))")
        #expect(repairedAt.map { count > $0 } == true, "new events stored after the repair (\(repairedAt.map(String.init) ?? "never repaired"), then \(count))")
        // A position past the end of a new partition, if the sinks kept one, is reset with
        // Meteo's warning and counts, never with librdkafka's own line alone.
        let after = sinks.map(\.log).joined()
        #expect(!after.contains("offset reset (at offset"), "\(after)")
        // Stopped as a user would, with SIGTERM: each process finishes, commits and exits 0
        // within 30 s, including a sink that owned a partition the deletion removed: librdkafka
        // 2.0.2 never returns from rd_kafka_destroy there (in about half the runs), and
        // KafkaClient gives up waiting after 10 s with a warning instead of hanging at exit.
        for p in [ingest] + sinks { p.terminate() }
        for p in [ingest] + sinks {
            let status = try await p.wait(timeout: .seconds(30))
            #expect(status == 0, "exit \(status) after SIGTERM. Log:\n\(p.log.suffix(3000))")
        }
    }

    @Test func aPoisonMessageFromKcatGoesToTheDeadLetterTopicWithItsHeaders() async throws {
        let run = KafkaRun()
        defer { run.cleanUp() }
        _ = try await run.ingestSynthetic(ticks: 1)
        // An independent client writes a broken event and a hostile one after Meteo's.
        let poison = #"{"v":1,"place_id":"x","name":"<script>alert(1)</script>","humidity_pct":"#
        let kcat = try await Shell.run("kcat", ["-P", "-b", run.broker, "-t", run.topic, "-K", "\t"],
                                 input: "poison-key\t\(poison)\nop\t{\"$ne\": null}\n")
        #expect(kcat.status == 0, "\(kcat.stderr)")
        let sink = try run.startSink(name: "s", extra: ["--until-idle"])
        #expect(try await sink.wait(timeout: .seconds(120)) == 0, "\(sink.log)")
        #expect(SinkSummary(sink.log).stored == 1630)
        #expect(sink.log.contains("2 dead letters"), "\(sink.log)")

        let dlq = try await Shell.run("kcat", ["-C", "-b", run.broker, "-t", "\(run.topic).dlq", "-o", "beginning", "-e", "-q",
                                         "-f", "%k|%h|%s\n"])
        #expect(dlq.status == 0, "\(dlq.stderr)")
        let lines = dlq.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 2, "\(dlq.stdout)")
        let first = lines.first { $0.hasPrefix("poison-key|") } ?? ""
        #expect(first.hasSuffix("|" + poison), "the original bytes: \(first)")
        #expect(first.contains("meteo.dlq.source.topic=\(run.topic)"), "\(first)")
        #expect(first.contains("meteo.dlq.source.partition="), "\(first)")
        #expect(first.contains("meteo.dlq.source.offset="), "\(first)")
        #expect(first.contains("meteo.dlq.reason="), "\(first)")
        #expect(first.contains("meteo.dlq.failed.at=20"), "\(first)")
    }

    @Test func kcatReadsMeteoEventsAsJSONKeyedByPlace() async throws {
        let run = KafkaRun()
        defer { run.cleanUp() }
        _ = try await run.ingestSynthetic(ticks: 2)
        let out = try await Shell.run("kcat", ["-C", "-b", run.broker, "-t", run.topic, "-o", "beginning", "-e", "-q", "-f", "%k\t%s\n"])
        #expect(out.status == 0, "\(out.stderr)")
        let lines = out.stdout.split(separator: "\n")
        #expect(lines.count == 3260)
        var keys = Set<String>()
        for line in lines {
            let parts = line.split(separator: "\t", maxSplits: 1).map(String.init)
            guard parts.count == 2,
                  let object = try? JSONSerialization.jsonObject(with: Data(parts[1].utf8)) as? [String: Any] else {
                Issue.record("not a key and a JSON object: \(line.prefix(200))")
                continue
            }
            #expect(object["place_id"] as? String == parts[0], "the key is the place id")
            for field in ["v", "place_id", "name", "country", "latitude", "longitude", "observed_at", "source"] {
                #expect(object[field] != nil, "field \(field) in \(line.prefix(200))")
            }
            keys.insert(parts[0])
        }
        #expect(keys.count == 1630)
    }

    @Test func whatTheOriginalKafkaPythonProducerSentLandsInTheStore() async throws {
        let run = KafkaRun(topic: "projet")
        defer { run.cleanUp() }
        guard let python = ProcessInfo.processInfo.environment["METEO_PYTHON"] else {
            Issue.record("METEO_PYTHON (a Python with kafka-python) is not set; scripts/test sets it")
            return
        }
        let payload = run.dir.appendingPathComponent("box-city.json")
        try Data(KafkaRun.boxCity.utf8).write(to: payload)
        let sent = try await Shell.run(python, [KafkaRun.repoRoot.appendingPathComponent("scripts/kafka_legacy_producer.py").path,
                                          "--brokers", run.broker, "--topic", "projet", payload.path, payload.path])
        #expect(sent.status == 0, "\(sent.stderr)")
        let sink = try await run.meteo(["sink", "--format", "legacy-owm", "--until-idle"])
        #expect(sink.status == 0, "\(sink.stderr)")
        // Two unkeyed messages of two cities each: the same two observations, stored once each.
        let summary = SinkSummary(sink.stdout)
        #expect(summary.consumed >= 2 && summary.stored == 2 * summary.consumed, "\(sink.stdout)")
        #expect(sink.stdout.contains(", 0 dead letters"), "\(sink.stdout)")
        #expect(try await run.storeCounts().0 == 2)
        let store = try SQLiteStore.open(dataDir: run.dir, logger: logger)
        let latest = try await store.latest(region: nil)
        try await store.close()
        #expect(Set(latest.map(\.name)) == ["Strasbourg", "Paris"])
        #expect(latest.first { $0.name == "Strasbourg" }?.temperatureC == 9.68)
    }
}

/// The broker the tests use, from METEO_TEST_KAFKA.
enum KafkaBroker {
    static let address: String? = ProcessInfo.processInfo.environment["METEO_TEST_KAFKA"].flatMap { $0.isEmpty ? nil : $0 }
}

/// One test's topic, group and data dir on the shared broker.
struct KafkaRun {
    let broker = KafkaBroker.address ?? "127.0.0.1:9092"
    let topic: String
    let group: String
    let dir: URL

    init(topic: String? = nil) {
        let id = UUID().uuidString.prefix(8).lowercased()
        self.topic = topic ?? "test.\(id)"
        group = "sink-\(id)"
        dir = MeteoProcess.temporaryDataDir()
    }

    var common: [String] {
        ["--bus", "kafka", "--brokers", broker, "--topic", topic, "--data-dir", dir.path]
    }

    /// Group joins are slow with the default session time-out.
    /// noida-db also waits up to the rebalance time-out (max.poll.interval.ms) for a member that died.
    var environment: [String: String] {
        ["METEO_KAFKA_SESSION_TIMEOUT_MS": "6000", "METEO_KAFKA_MAX_POLL_INTERVAL_MS": "10000", "METEO_GROUP": group]
    }

    func meteo(_ arguments: [String]) async throws -> MeteoProcess.Result {
        try await MeteoProcess.run(arguments + common, environment: environment)
    }

    /// Publishes `ticks` polls of the 1,630 places with `meteo ingest`; returns the event count.
    func ingestSynthetic(ticks: Int) async throws -> Int {
        let expected = ticks * 1630
        let ingest = try await meteo(["ingest", "--source", "synthetic", "--ticks", "\(ticks)", "--interval", "0"])
        #expect(ingest.status == 0, "\(ingest.stderr)")
        #expect(ingest.stdout.contains("published \(formatted(expected)) events"), "\(ingest.stdout)")
        return expected
    }

    func startSink(name: String, extra: [String]) throws -> LoggedProcess {
        try LoggedProcess.start(MeteoProcess.binary.path, ["sink"] + extra + common, environment: environment,
                                log: dir.appendingPathComponent("sink-\(name).log"))
    }

    /// Observations in the store and distinct places.
    func storeCounts() async throws -> (Int, Int) {
        let store = try SQLiteStore.open(dataDir: dir, logger: Logger(label: "count"))
        let n = try await store.count()
        let places = try await store.latest(region: nil).count
        try await store.close()
        return (n, places)
    }

    func cleanUp() { try? FileManager.default.removeItem(at: dir) }

    /// The topic's partition count, as kafka-python sees it.
    func topicPartitions(_ python: String) async throws -> Int {
        let out = try await Shell.run(python, ["-c", """
            import sys
            from kafka import KafkaAdminClient
            a = KafkaAdminClient(bootstrap_servers=sys.argv[1])
            print(len(a.describe_topics([sys.argv[2]])[0]["partitions"]))
            """, broker, topic])
        guard out.status == 0, let n = Int(out.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw MeteoError(code: .internal, "cannot describe topic \(topic): \(out.stderr)")
        }
        return n
    }

    /// The partitions of the topic each member of the group owns, as the broker describes the group.
    func groupAssignment(_ python: String) async throws -> [[Int]] {
        let out = try await Shell.run(python, ["-c", """
            import sys
            from kafka import KafkaAdminClient
            a = KafkaAdminClient(bootstrap_servers=sys.argv[1])
            for m in a.describe_consumer_groups([sys.argv[2]])[0].members:
                print(",".join(str(p) for t, ps in m.member_assignment.assignment if t == sys.argv[3] for p in sorted(ps)))
            """, broker, group, topic])
        guard out.status == 0 else { throw MeteoError(code: .internal, "cannot describe group \(group): \(out.stderr)") }
        return out.stdout.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map { $0.split(separator: ",").compactMap { Int($0) } }
    }

    /// Deletes a topic (argv 2) and creates it again with one partition, as a broker's
    /// auto-creation would, through kafka-python's admin client.
    static let recreateWithOnePartition = """
        import sys, time
        from kafka import KafkaAdminClient
        from kafka.admin import NewTopic
        a = KafkaAdminClient(bootstrap_servers=sys.argv[1])
        a.delete_topics([sys.argv[2]])
        for _ in range(100):
            if sys.argv[2] not in a.list_topics():
                break
            time.sleep(0.05)
        a.create_topics([NewTopic(sys.argv[2], 1, 1)])
        """

    static let repoRoot: URL = {
        var dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while !FileManager.default.fileExists(atPath: dir.appendingPathComponent("Package.swift").path) { dir = dir.deletingLastPathComponent() }
        return dir
    }()

    /// A box/city response as the original producer sent it: two cities.
    static let boxCity = #"""
    {"cod":200,"calctime":0.3107,"cnt":2,"list":[
     {"id":2973783,"dt":1485784982,"name":"Strasbourg","coord":{"Lon":7.74553,"Lat":48.58392},
      "main":{"temp":9.68,"temp_min":9.681,"temp_max":9.681,"pressure":961.02,"sea_level":1036.82,"grnd_level":961.02,"humidity":85},
      "wind":{"speed":3.96,"deg":356.5},"rain":{"3h":0.255},"snow":null,"clouds":{"today":88},
      "weather":[{"id":500,"main":"Rain","description":"light rain","icon":"10d"}]},
     {"id":2988507,"dt":1485784982,"name":"Paris","coord":{"Lon":2.3488,"Lat":48.85341},
      "main":{"temp":3.1,"pressure":1020,"humidity":70},"wind":{"speed":1.2,"deg":90},
      "rain":null,"snow":{"1h":0.5},"clouds":{"today":100},"visibility":3000,
      "weather":[{"id":600,"main":"Snow","description":"light snow","icon":"13d"}]}
    ]}
    """#
}

#endif
