import Foundation

/// A place the store holds observations of, as its latest observation describes it: what
/// ``ObservationStore/places()`` lists, so that places that exist only in the store (replayed
/// or legacy data, custom places) can be looked up like the catalogue's.
public struct StoredPlace: Sendable, Hashable {
    public var id: String
    public var name: String
    public var country: String
    public var region: String?
    public var latitude: Double
    public var longitude: Double
    /// The observed time of the place's latest observation.
    public var lastObservedAt: Date

    public init(id: String, name: String, country: String, region: String?, latitude: Double, longitude: Double, lastObservedAt: Date) {
        self.id = id
        self.name = name
        self.country = country
        self.region = region
        self.latitude = latitude
        self.longitude = longitude
        self.lastObservedAt = lastObservedAt
    }

    /// The place of a latest observation.
    public init(latest o: Observation) {
        self.init(id: o.placeID, name: o.name, country: o.country, region: o.region,
                  latitude: o.latitude, longitude: o.longitude, lastObservedAt: o.observedAt)
    }

    public var place: Place {
        Place(id: id, name: name, country: country, latitude: latitude, longitude: longitude, region: region)
    }
}
