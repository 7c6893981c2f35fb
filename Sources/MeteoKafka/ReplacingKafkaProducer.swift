#if Kafka
import Foundation
import Logging
import MeteoCore
import Synchronization

/// A Kafka publisher that replaces its producer when librdkafka declares it failed for good,
/// and keeps its topics as configured.
///
/// An idempotent producer numbers its events per partition; a broker that restarts without
/// its data (noida-db keeps it in memory) no longer knows those numbers, and librdkafka raises
/// a fatal "out of order sequence number" error: that producer can never deliver again. Each
/// send first checks for such an error; if there is one, the events still waiting in the
/// old producer are failed (their polls are reported as not delivered, never as delivered),
/// and a new producer with a new producer id takes over. `publish` (the sink's dead letters)
/// goes further: a publish that failed because the producer failed for good meanwhile is sent
/// again once on the new producer, so the caller sees no error for it.
///
/// Every ``KafkaConfiguration/topicCheckInterval`` a background task checks the topics: a
/// topic the broker lost is created again with the configured partitions, one the broker
/// created by itself (one partition) is grown to them, and a failed producer is replaced even
/// when nothing is being sent (the sink's dead-letter producer sends rarely).
public final class ReplacingKafkaProducer: EventPublisher {
    private let configuration: KafkaConfiguration
    private let topics: [String]
    private let logger: Logger
    private let current: Mutex<KafkaProducer>
    private let replacements = Atomic<Int>(0)
    private let watcher = Mutex<Task<Void, Never>?>(nil)

    /// A producer, with `topics` created unless they exist (again after each replacement), and
    /// checked in the background from then on.
    public static func make(configuration: KafkaConfiguration, topics: [String], logger: Logger) async throws -> ReplacingKafkaProducer {
        let producer = try KafkaProducer.make(configuration: configuration, logger: logger)
        for topic in topics { try await producer.ensureTopic(topic) }
        let publisher = ReplacingKafkaProducer(configuration: configuration, topics: topics, logger: logger, producer: producer)
        publisher.startWatching()
        return publisher
    }

    private init(configuration: KafkaConfiguration, topics: [String], logger: Logger, producer: KafkaProducer) {
        self.configuration = configuration
        self.topics = topics
        self.logger = logger
        self.current = Mutex(producer)
    }

    deinit {
        watcher.withLock { $0?.cancel() }
    }

    /// The producer in use now.
    public var producer: KafkaProducer { current.withLock { $0 } }

    /// How many times the producer was replaced.
    public var replaced: Int { replacements.load(ordering: .relaxed) }

    public func publish(_ messages: [OutgoingMessage], to topic: String) async throws {
        let used = try await healthy()
        do {
            try await used.send(messages, to: topic).delivered()
        } catch {
            // Failed for good during this publish: its events were failed, none delivered for
            // sure. Send them again on a new producer (a repeat on the topic at worst).
            guard used.fatalError != nil else { throw error }
            try await healthy().send(messages, to: topic).delivered()
        }
    }

    public func send(_ messages: [OutgoingMessage], to topic: String) async throws -> PendingDelivery {
        try await healthy().send(messages, to: topic)
    }

    public func close() async throws {
        watcher.withLock { $0?.cancel() }
        try await current.withLock { $0 }.close()
    }

    /// Checks the producer and the topics once, as the background task does.
    public func check() async {
        do {
            _ = try await healthy()
        } catch {
            logger.warning("cannot replace the failed Kafka producer yet; trying again", metadata: [LoggingKeys.error: "\(error)"])
            return
        }
        // A short time-out: a broker that is down answers nothing, and the next check comes soon.
        let timeout = min(configuration.operationTimeout, .seconds(10))
        for topic in topics {
            do {
                try await producer.ensureTopic(topic, timeout: timeout)
            } catch {
                logger.warning("cannot check Kafka topic; trying again", metadata: [LoggingKeys.topic: "\(topic)", LoggingKeys.error: "\(error)"])
            }
        }
    }

    private func startWatching() {
        let interval = configuration.topicCheckInterval
        let task = Task { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                guard !Task.isCancelled, let self else { return }
                await self.check()
            }
        }
        watcher.withLock { $0 = task }
    }

    /// The producer, replaced first if it failed for good. Two callers that find it failed at
    /// once both make a new one; the first to install its own wins, the other is dropped.
    private func healthy() async throws -> KafkaProducer {
        let producer = current.withLock { $0 }
        guard let fatal = producer.fatalError else { return producer }
        logger.error("Kafka producer failed for good; replacing it with a new one (events it had not delivered are reported as not delivered)",
                     metadata: [LoggingKeys.error: "\(fatal.message)"])
        await producer.abandon()
        let fresh = try KafkaProducer.make(configuration: configuration, logger: logger)
        let installed = current.withLock { c -> KafkaProducer in
            if c === producer { c = fresh }
            return c
        }
        guard installed === fresh else {
            await fresh.abandon()
            return installed
        }
        replacements.add(1, ordering: .relaxed)
        // The broker may have lost the topics with the producer's state: create them now rather
        // than at the next check. A broker that does not answer yet is left to the checks.
        for topic in topics {
            do {
                try await fresh.ensureTopic(topic)
            } catch {
                logger.warning("cannot check Kafka topic; trying again", metadata: [LoggingKeys.topic: "\(topic)", LoggingKeys.error: "\(error)"])
            }
        }
        return fresh
    }
}
#endif
