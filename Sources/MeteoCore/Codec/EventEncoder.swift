import Foundation

/// Encodes observations as version-1 events (``EventCodec``), byte for byte as
/// ``EventCodec/write(_:into:leadingComma:)`` writes them, into one allocation of the event's
/// final size written through a pointer. Consecutive observations of the same place, as a
/// backfill's hours are, share the place's fields (`{"v":1,"place_id":…,"longitude":…`) and the
/// source, written once and copied.
public struct EventEncoder: Sendable {
    /// The place whose fields ``prefix`` holds.
    private var place: PlaceFields?
    private var prefix: [UInt8] = []
    private var source: String?
    /// `","source":"…"` (it closes the time's quote).
    private var sourceFragment: [UInt8] = []

    private struct PlaceFields: Sendable, Equatable {
        var id: String
        var name: String
        var country: String
        var region: String?
        var latitude: Double
        var longitude: Double

        init(_ o: Observation) {
            (id, name, country, region, latitude, longitude) = (o.placeID, o.name, o.country, o.region, o.latitude, o.longitude)
        }

        func matches(_ o: Observation) -> Bool {
            id == o.placeID && name == o.name && country == o.country && region == o.region
                && latitude == o.latitude && longitude == o.longitude
        }
    }

    /// The most bytes the measurements take: 12 keys and numbers, and the weather code.
    private static let valuesBound = 13 * (24 + JSONWriter.maxShortNumber) + 8

    public init() {}

    public mutating func encode(_ o: Observation) -> [UInt8] {
        if place?.matches(o) != true {
            var w = JSONWriter(capacity: 200)
            w.raw("{\"v\":1")
            EventCodec.writePlace(o, into: &w, leadingComma: true)
            w.raw(",\"observed_at\":\"")
            prefix = w.bytes
            place = PlaceFields(o)
        }
        if source != o.source {
            var w = JSONWriter(capacity: 40)
            w.raw("\",\"source\":")
            w.string(o.source)
            sourceFragment = w.bytes
            source = o.source
        }
        // Written into a scratch area as large as the longest event can be, then copied into
        // an array of its exact size (the events wait in memory until the bus has them).
        let bound = prefix.count + ISO8601.maxLength + sourceFragment.count + Self.valuesBound + 1
        if scratch.count < bound { scratch = [UInt8](repeating: 0, count: bound) }
        let (prefix, sourceFragment) = (self.prefix, self.sourceFragment)
        return scratch.withUnsafeMutableBufferPointer { buffer in
            var c = JSONCursor(buffer.baseAddress!)
            c.bytes(prefix)
            c.time(o.observedAt)
            c.bytes(sourceFragment)
            EventCodec.writeValues(o, into: &c)
            c.raw("}")
            return Array(UnsafeBufferPointer(rebasing: buffer[..<c.count]))
        }
    }

    private var scratch: [UInt8] = []
}

/// What ``EventCodec/writeValues(_:into:)`` needs of a writer.
protocol JSONFragmentWriter {
    mutating func raw(_ s: StaticString)
    mutating func optional(_ d: Double?)
    mutating func number(_ i: Int)
}

extension JSONWriter: JSONFragmentWriter {}

/// Writes JSON at a pointer into memory its caller reserved for the whole text.
struct JSONCursor: JSONFragmentWriter {
    let p: UnsafeMutablePointer<UInt8>
    private(set) var count = 0

    init(_ p: UnsafeMutablePointer<UInt8>) { self.p = p }

    @inline(__always)
    mutating func raw(_ s: StaticString) {
        (p + count).update(from: s.utf8Start, count: s.utf8CodeUnitCount)
        count += s.utf8CodeUnitCount
    }

    @inline(__always)
    mutating func bytes(_ a: [UInt8]) {
        a.withUnsafeBufferPointer { b in
            if let base = b.baseAddress { (p + count).update(from: base, count: b.count) }
        }
        count += a.count
    }

    /// As ``JSONWriter/optional(_:)``: `null` for nil and for non-finite numbers.
    @inline(__always)
    mutating func optional(_ d: Double?) {
        guard let d, d.isFinite else { raw("null"); return }
        if let n = JSONWriter.shortNumber(d, to: p + count) {
            count += n
        } else {
            for b in d.description.utf8 {
                p[count] = b
                count += 1
            }
        }
    }

    @inline(__always)
    mutating func number(_ i: Int) {
        count += JSONWriter.decimal(Int64(i), decimals: 0, to: p + count)
    }

    /// The ISO 8601 text of `date`, without its quotes.
    @inline(__always)
    mutating func time(_ date: Date) {
        count += ISO8601.write(date, to: p + count)
    }
}
