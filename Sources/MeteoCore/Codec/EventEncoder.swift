/// Encodes observations as version-1 events (``EventCodec``), byte for byte as
/// ``EventCodec/encode(_:)`` does, and faster when consecutive observations are of the same
/// place, as a backfill's hours are: the place's fields (`{"v":1,"place_id":…,"longitude":…`)
/// and the source are written once and copied for each hour.
public struct EventEncoder: Sendable {
    /// The place whose fields ``prefix`` holds.
    private var place: PlaceFields?
    private var prefix: [UInt8] = []
    private var source: String?
    /// `,"source":"…"`
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

    public init() {}

    public mutating func encode(_ o: Observation) -> [UInt8] {
        if place?.matches(o) != true {
            var w = JSONWriter(capacity: 200)
            w.raw("{\"v\":1")
            EventCodec.writePlace(o, into: &w, leadingComma: true)
            w.raw(",\"observed_at\":")
            prefix = w.bytes
            place = PlaceFields(o)
        }
        if source != o.source {
            var w = JSONWriter(capacity: 40)
            w.raw(",\"source\":")
            w.string(o.source)
            sourceFragment = w.bytes
            source = o.source
        }
        var w = JSONWriter(capacity: prefix.count + sourceFragment.count + 320)
        w.raw(bytes: prefix)
        w.time(o.observedAt)
        w.raw(bytes: sourceFragment)
        EventCodec.writeValues(o, into: &w)
        w.raw("}")
        return w.bytes
    }
}
