#if Kafka
import CRdKafka
import Foundation
import Logging
import MeteoCore

/// What librdkafka's callbacks reach: they run on librdkafka's threads (delivery reports,
/// errors, logs) or on the consumer's own thread (rebalances), and find this object through
/// the handle's opaque pointer. The handle keeps it alive.
final class KafkaCallbacks: Sendable {
    let logger: Logger
    let onDelivery: (@Sendable (_ batch: UInt, _ report: KafkaDeliveryReport) -> Void)?
    let onRebalance: (@Sendable (OpaquePointer, rd_kafka_resp_err_t, UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?) -> Void)?
    /// A consumer's offset resets, which librdkafka reports in its log.
    let offsetResets: OffsetResets?

    init(logger: Logger,
         onDelivery: (@Sendable (UInt, KafkaDeliveryReport) -> Void)? = nil,
         onRebalance: (@Sendable (OpaquePointer, rd_kafka_resp_err_t, UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?) -> Void)? = nil,
         offsetResets: OffsetResets? = nil) {
        self.logger = logger
        self.onDelivery = onDelivery
        self.onRebalance = onRebalance
        self.offsetResets = offsetResets
    }

    static func from(_ opaque: UnsafeMutableRawPointer?) -> KafkaCallbacks? {
        opaque.map { Unmanaged<KafkaCallbacks>.fromOpaque($0).takeUnretainedValue() }
    }
}

/// Owns one `rd_kafka_t`: made by ``make(kind:properties:callbacks:)``, destroyed in `deinit`.
/// librdkafka's handle is thread-safe; the owners above decide which thread calls what.
final class KafkaClient: @unchecked Sendable {
    enum Kind { case producer, consumer }

    let handle: OpaquePointer
    let kind: Kind
    let callbacks: KafkaCallbacks
    let properties: [String: String]

    private init(handle: OpaquePointer, kind: Kind, callbacks: KafkaCallbacks, properties: [String: String]) {
        self.handle = handle
        self.kind = kind
        self.callbacks = callbacks
        self.properties = properties
    }

    /// How long `deinit` waits for librdkafka to finish destroying the handle.
    static let destroyTimeout: DispatchTimeInterval = .seconds(10)

    /// Destroys the handle on a thread of its own and waits for it at most ``destroyTimeout``.
    ///
    /// librdkafka 2.0.2 (Debian's) can wait forever in `rd_kafka_destroy` when a consumer owned
    /// partitions that were deleted (a broker thread keeps a reference to the gone partition and
    /// is never joined; the re-created-topic test in KafkaBrokerTests found it, the stack showed
    /// `rdk:main` joining that thread). By then the consumer has left its group and committed
    /// its offsets (``KafkaConsumer/close()``), and a producer has flushed, so nothing is lost
    /// by not waiting: the warning says so and the process goes on to exit.
    deinit {
        nonisolated(unsafe) let handle = self.handle  // librdkafka's handle is thread-safe
        let callbacks = self.callbacks  // the handle's callbacks live as long as it may call them
        let done = DispatchSemaphore(value: 0)
        let destroyer = Thread {
            rd_kafka_destroy(handle)
            withExtendedLifetime(callbacks) {}
            done.signal()
        }
        destroyer.name = "meteo.kafka.destroy"
        destroyer.start()
        if done.wait(timeout: .now() + Self.destroyTimeout) == .timedOut {
            callbacks.logger.warning(
                "librdkafka did not finish closing its \(kind == .consumer ? "consumer" : "producer") within 10 s (a known librdkafka 2.0 fault after a topic's partitions were deleted); its offsets were committed and its messages delivered before, so it is left behind and nothing is lost")
        }
    }

    static func make(kind: Kind, properties: [String: String], callbacks: KafkaCallbacks) throws(MeteoError) -> KafkaClient {
        guard let conf = rd_kafka_conf_new() else { throw MeteoError(code: .internal, "librdkafka could not allocate a configuration") }
        var errstr = [CChar](repeating: 0, count: 512)
        for name in properties.keys.sorted() {
            let value = properties[name]!
            let result = rd_kafka_conf_set(conf, name, value, &errstr, errstr.count)
            if result != RD_KAFKA_CONF_OK {
                rd_kafka_conf_destroy(conf)
                let why = String(errorBuffer: errstr)
                let shown = KafkaConfiguration.isSecret(name) ? "" : "=\(value)"
                throw MeteoError(code: .invalidConfiguration,
                                 "librdkafka refused the Kafka property \(name)\(shown): \(why); check its name and value in librdkafka's CONFIGURATION.md")
            }
        }
        rd_kafka_conf_set_opaque(conf, Unmanaged.passUnretained(callbacks).toOpaque())
        rd_kafka_conf_set_error_cb(conf, kafkaErrorCallback)
        rd_kafka_conf_set_log_cb(conf, kafkaLogCallback)
        switch kind {
        case .producer:
            rd_kafka_conf_set_dr_msg_cb(conf, kafkaDeliveryCallback)
        case .consumer:
            rd_kafka_conf_set_rebalance_cb(conf, kafkaRebalanceCallback)
        }
        guard let handle = rd_kafka_new(kind == .producer ? RD_KAFKA_PRODUCER : RD_KAFKA_CONSUMER, conf, &errstr, errstr.count) else {
            rd_kafka_conf_destroy(conf)
            throw MeteoError(code: .invalidConfiguration, "librdkafka could not start a \(kind): \(String(errorBuffer: errstr))")
        }
        return KafkaClient(handle: handle, kind: kind, callbacks: callbacks, properties: properties)
    }

    /// The fatal error of an idempotent producer or a consumer, if one was raised.
    func fatalError() -> MeteoError? {
        var errstr = [CChar](repeating: 0, count: 512)
        let err = rd_kafka_fatal_error(handle, &errstr, errstr.count)
        guard err != RD_KAFKA_RESP_ERR_NO_ERROR else { return nil }
        return MeteoError(code: .bus, "Kafka client failed for good: \(String(errorBuffer: errstr)) (\(KafkaClient.name(err))); restart the process",
                          isRetriable: false)
    }

    static func name(_ err: rd_kafka_resp_err_t) -> String { String(cString: rd_kafka_err2name(err)) }
    static func text(_ err: rd_kafka_resp_err_t) -> String { String(cString: rd_kafka_err2str(err)) }

    /// A Meteo error for a librdkafka error code, retriable unless the code is one that
    /// trying again cannot cure.
    static func error(_ err: rd_kafka_resp_err_t, _ what: String) -> MeteoError {
        MeteoError(code: .bus, "\(what): \(text(err)) (\(name(err)))", isRetriable: !permanent.contains(err.rawValue))
    }

    static let permanent: Set<Int32> = Set([
        RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE, RD_KAFKA_RESP_ERR_INVALID_MSG_SIZE,
        RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED, RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED,
        RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED, RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED,
        RD_KAFKA_RESP_ERR__AUTHENTICATION, RD_KAFKA_RESP_ERR__INVALID_ARG, RD_KAFKA_RESP_ERR__FATAL,
        RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION, RD_KAFKA_RESP_ERR_INVALID_PARTITIONS,
        RD_KAFKA_RESP_ERR_INVALID_REPLICATION_FACTOR, RD_KAFKA_RESP_ERR_POLICY_VIOLATION,
    ].map(\.rawValue))

    /// Milliseconds for librdkafka's `timeout_ms` arguments.
    static func milliseconds(_ d: Duration) -> Int32 {
        Int32(clamping: Int64((d.seconds * 1000).rounded(.up)))
    }
}

// MARK: - The C callbacks. They capture nothing; the context comes through the opaque pointer.

private let kafkaErrorCallback: @convention(c) (OpaquePointer?, Int32, UnsafePointer<CChar>?, UnsafeMutableRawPointer?) -> Void = { _, err, reason, opaque in
    guard let callbacks = KafkaCallbacks.from(opaque) else { return }
    let code = rd_kafka_resp_err_t(rawValue: err)
    let text = reason.map { String(cString: $0) } ?? KafkaClient.text(code)
    // Transport errors are retried by librdkafka by itself; say so instead of alarming.
    if code == RD_KAFKA_RESP_ERR__FATAL {
        callbacks.logger.critical("Kafka fatal error", metadata: [LoggingKeys.error: "\(text)"])
    } else if code == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN {
        callbacks.logger.error("no Kafka broker reachable; librdkafka keeps retrying", metadata: [LoggingKeys.error: "\(text)"])
    } else {
        callbacks.logger.warning("Kafka client error (retried by librdkafka)", metadata: [LoggingKeys.error: "\(text) (\(KafkaClient.name(code)))"])
    }
}

private let kafkaLogCallback: @convention(c) (OpaquePointer?, Int32, UnsafePointer<CChar>?, UnsafePointer<CChar>?) -> Void = { rk, level, facility, message in
    guard let rk, let callbacks = KafkaCallbacks.from(rd_kafka_opaque(rk)) else { return }
    let text = message.map { String(cString: $0) } ?? ""
    let fac = facility.map { String(cString: $0) } ?? ""
    // An offset reset is reported once, with its counts, by the consumer (OffsetResets).
    if fac == "OFFSET", let resets = callbacks.offsetResets, resets.librdkafkaLogged(text) { return }
    // syslog levels: 0-3 error, 4 warning, 5-6 notice/info, 7 debug.
    let swiftLevel: Logger.Level = switch level {
    case ...3: .error
    case 4: .warning
    case 5: .notice
    case 6: .info
    default: .debug
    }
    // A shared --kafka-property list reaches both the producer and the consumer; librdkafka
    // warns that each ignores the other's properties, which is expected here.
    let level = text.contains("will be ignored by this") ? Logger.Level.debug : swiftLevel
    callbacks.logger.log(level: level, "librdkafka: \(text)", metadata: ["rdkafka.facility": "\(fac)"])
}

private let kafkaDeliveryCallback: @convention(c) (OpaquePointer?, UnsafePointer<rd_kafka_message_t>?, UnsafeMutableRawPointer?) -> Void = { _, message, opaque in
    guard let message, let callbacks = KafkaCallbacks.from(opaque), let onDelivery = callbacks.onDelivery else { return }
    let m = message.pointee
    let batch = UInt(bitPattern: m._private)
    let topic = m.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? ""
    let key: String? = m.key.map { String(decoding: UnsafeRawBufferPointer(start: $0, count: m.key_len), as: UTF8.self) }
    let error: MeteoError? = m.err == RD_KAFKA_RESP_ERR_NO_ERROR ? nil : KafkaClient.error(m.err, "Kafka did not take an event for topic \(topic)")
    onDelivery(batch, KafkaDeliveryReport(topic: topic, partition: Int(m.partition), offset: m.offset, key: key, error: error))
}

private let kafkaRebalanceCallback: @convention(c) (OpaquePointer?, rd_kafka_resp_err_t, UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?, UnsafeMutableRawPointer?) -> Void = { rk, err, partitions, opaque in
    guard let rk else { return }
    guard let callbacks = KafkaCallbacks.from(opaque), let onRebalance = callbacks.onRebalance else {
        // No handler: take what the group assigns.
        _ = rd_kafka_assign(rk, err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS ? partitions : nil)
        return
    }
    onRebalance(rk, err, partitions)
}

/// The partitions of a librdkafka list.
func partitionsOf(_ list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?) -> [KafkaPartition] {
    guard let list, let elems = list.pointee.elems else { return [] }
    return (0..<Int(list.pointee.cnt)).map { i in
        KafkaPartition(topic: String(cString: elems[i].topic), partition: Int(elems[i].partition))
    }
}
#endif

#if Kafka
extension String {
    /// The text librdkafka wrote into an error buffer.
    init(errorBuffer: [CChar]) {
        self = errorBuffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }
}
#endif
