import Foundation

/// Fills in, from the place catalogue, what the original system's legacy `box/city` payloads
/// lack: a country (the payload has no `sys.country`) and a region.
///
/// The original producer's city ids are OpenWeatherMap ids, which for most cities are GeoNames
/// ids, the ids of the bundled catalogue. A city whose id is a catalogue place within
/// ``maxDistanceKM`` of the payload's coordinates (an OWM id that happens to be the GeoNames id
/// of a place elsewhere is another place) gets:
/// - the place's country, unless the observation has a non-empty country of its own;
/// - unless it has a region already, the first built-in region (``Region/builtin``) whose box
///   holds the catalogue place's coordinates, or none.
///
/// Name and coordinates stay the payload's own.
public struct CatalogueEnrichment: Sendable {
    /// The farthest a payload's coordinates may be from the catalogue place of its id.
    public static let maxDistanceKM = 50.0

    private let catalogue: PlaceCatalogue?

    /// Enrichment from `catalogue`; `nil` enriches nothing.
    public init(catalogue: PlaceCatalogue?) {
        self.catalogue = catalogue
    }

    /// Enrichment from the bundled catalogue (or `METEO_CATALOGUE`), loaded on first use, once:
    /// only a legacy payload uses it, so a sink that reads Meteo events never loads it. Without a
    /// catalogue (not found next to the binary) observations pass unchanged.
    public static let bundled = CatalogueEnrichment(catalogue: try? PlaceCatalogue.bundled())

    /// The observation with the catalogue's country and region filled in where they are missing.
    public func enrich(_ observation: Observation) -> Observation {
        guard let catalogue, observation.country.isEmpty || observation.region == nil,
              let place = catalogue.place(id: observation.placeID),
              GeoPoint(latitude: place.latitude, longitude: place.longitude)
                  .distanceKM(to: GeoPoint(latitude: observation.latitude, longitude: observation.longitude)) <= Self.maxDistanceKM
        else { return observation }
        var o = observation
        if o.country.isEmpty { o.country = place.country }
        if o.region == nil {
            o.region = Region.builtin.first { $0.box.contains(latitude: place.latitude, longitude: place.longitude) }?.name
        }
        return o
    }
}
