#if Kafka
import Foundation
import Logging
import MeteoCore
import Synchronization

/// A Kafka publisher that replaces its producer when librdkafka declares it failed for good.
///
/// An idempotent producer numbers its events per partition; a broker that restarts without
/// its data (noida-db keeps it in memory) no longer knows those numbers, and librdkafka raises
/// a fatal "out of order sequence number" error: that producer can never deliver again. Each
/// publish first checks for such an error; if there is one, the events still waiting in the
/// old producer are failed (their polls are reported as not delivered, never as delivered),
/// a new producer with a new producer id takes over, and the topic is created again if the
/// broker lost it.
public final class ReplacingKafkaProducer: EventPublisher {
    private let configuration: KafkaConfiguration
    private let topics: [String]
    private let logger: Logger
    private let current: Mutex<KafkaProducer>
    private let replacements = Atomic<Int>(0)

    /// A producer, with `topics` created unless they exist (again after each replacement).
    public static func make(configuration: KafkaConfiguration, topics: [String], logger: Logger) async throws -> ReplacingKafkaProducer {
        let producer = try KafkaProducer.make(configuration: configuration, logger: logger)
        for topic in topics { try await producer.ensureTopic(topic) }
        return ReplacingKafkaProducer(configuration: configuration, topics: topics, logger: logger, producer: producer)
    }

    private init(configuration: KafkaConfiguration, topics: [String], logger: Logger, producer: KafkaProducer) {
        self.configuration = configuration
        self.topics = topics
        self.logger = logger
        self.current = Mutex(producer)
    }

    /// The producer in use now.
    public var producer: KafkaProducer { current.withLock { $0 } }

    /// How many times the producer was replaced.
    public var replaced: Int { replacements.load(ordering: .relaxed) }

    public func publish(_ messages: [OutgoingMessage], to topic: String) async throws {
        try await send(messages, to: topic).delivered()
    }

    public func send(_ messages: [OutgoingMessage], to topic: String) async throws -> PendingDelivery {
        try await healthy().send(messages, to: topic)
    }

    public func close() async throws {
        try await current.withLock { $0 }.close()
    }

    private func healthy() async throws -> KafkaProducer {
        let producer = current.withLock { $0 }
        guard let fatal = producer.fatalError else { return producer }
        logger.error("Kafka producer failed for good; replacing it with a new one (events it had not delivered are reported as not delivered)",
                     metadata: [LoggingKeys.error: "\(fatal.message)"])
        await producer.abandon()
        let fresh = try KafkaProducer.make(configuration: configuration, logger: logger)
        current.withLock { $0 = fresh }
        replacements.add(1, ordering: .relaxed)
        for topic in topics { try await fresh.ensureTopic(topic) }
        return fresh
    }
}
#endif
