import Foundation
import MeteoCore

/// The messages of one append, as one row of the embedded log's `batches` table: Kafka's
/// record batch, in its simplest form. One SQLite row (and one B-tree insert) per append instead
/// of one per message is what lets the log keep up with a backfill's hundreds of thousands of
/// events a second; offsets stay per message.
///
/// The blob is the records one after the other, each:
/// `key length (u32 LE, 0xFFFFFFFF: no key) · key · headers length (u32 LE, 0xFFFFFFFF: none) ·
/// headers (a JSON object of strings) · value length (u32 LE) · value`.
enum RecordBatch {
    static let absent: UInt32 = 0xFFFF_FFFF

    /// The blob of `messages`.
    static func encode(_ messages: [OutgoingMessage]) -> [UInt8] {
        var size = 0
        var headers: [[UInt8]?] = []
        headers.reserveCapacity(messages.count)
        for m in messages {
            let h: [UInt8]? = m.headers.isEmpty ? nil : Array(EmbeddedLog.encodeHeaders(m.headers).utf8)
            headers.append(h)
            size += 12 + (m.key?.utf8.count ?? 0) + (h?.count ?? 0) + m.value.count
        }
        var out = [UInt8]()
        out.reserveCapacity(size)
        func length(_ n: UInt32) {
            out.append(UInt8(truncatingIfNeeded: n))
            out.append(UInt8(truncatingIfNeeded: n >> 8))
            out.append(UInt8(truncatingIfNeeded: n >> 16))
            out.append(UInt8(truncatingIfNeeded: n >> 24))
        }
        for (m, h) in zip(messages, headers) {
            if let key = m.key {
                length(UInt32(key.utf8.count))
                out.append(contentsOf: key.utf8)
            } else {
                length(absent)
            }
            if let h {
                length(UInt32(h.count))
                out.append(contentsOf: h)
            } else {
                length(absent)
            }
            length(UInt32(m.value.count))
            out.append(contentsOf: m.value)
        }
        return out
    }

    /// Appends the records of a blob whose first record has offset `first`, from offset `from`
    /// on, until `out` holds `limit` messages. Throws when the blob is not a batch of `count`
    /// records.
    static func decode(_ blob: UnsafeRawBufferPointer, count: Int, first: Int64, from: Int64, limit: Int, topic: String,
                       timestamp: Date, into out: inout [BusMessage]) throws(MeteoError) {
        var i = 0
        func damaged() -> MeteoError {
            MeteoError(code: .bus, "the embedded log's batch at offset \(first) of topic \(topic) is damaged; move bus.sqlite away to start the log again")
        }
        func length() throws(MeteoError) -> UInt32 {
            guard i + 4 <= blob.count else { throw damaged() }
            let n = UInt32(blob[i]) | UInt32(blob[i + 1]) << 8 | UInt32(blob[i + 2]) << 16 | UInt32(blob[i + 3]) << 24
            i += 4
            return n
        }
        func bytes(_ n: UInt32) throws(MeteoError) -> UnsafeRawBufferPointer {
            let n = Int(n)
            guard n <= blob.count - i else { throw damaged() }
            defer { i += n }
            return UnsafeRawBufferPointer(rebasing: blob[i..<(i + n)])
        }
        for k in 0..<count {
            guard out.count < limit else { return }
            let keyLength = try length()
            let key = keyLength == absent ? nil : try bytes(keyLength)
            let headersLength = try length()
            let headers = headersLength == absent ? nil : try bytes(headersLength)
            let value = try bytes(try length())
            let offset = first + Int64(k)
            guard offset >= from else { continue }
            out.append(BusMessage(
                topic: topic, partition: 0, offset: offset,
                key: key.map { String(decoding: $0, as: UTF8.self) },
                value: Array(value),
                headers: headers.map { EmbeddedLog.decodeHeaders(String(decoding: $0, as: UTF8.self)) } ?? [:],
                timestamp: timestamp))
        }
        guard i == blob.count else { throw damaged() }
    }
}
