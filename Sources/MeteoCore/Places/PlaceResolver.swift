import Foundation
import Synchronization

/// Finds the place a user means, the same way for every command and page, over three
/// sources: the configuration's custom places (`--places` coordinates, `--places-file`, the
/// config file's `places` objects), the bundled catalogue, and the places found in the store
/// (so that replayed, legacy or custom data is found although the catalogue lacks it).
///
/// The text may be an id, `LAT,LON`, a name, `Name,CC` or `Name,CC,admin1`. Precedence:
/// 1. `LAT,LON` (two numbers) is the custom place `geo:<lat>,<lon>` (``CustomPlace``);
/// 2. an exact id, in any source;
/// 3. a name, the whole text first (names such as `Misato, Saitama` hold commas), then with
///    its country and admin1 qualifiers; names ignore case and accents. Among the places of
///    that name: the only one; else the only one of the configuration; else the only one in
///    the store (a place with data beats places without, so `Paris` is the Paris you
///    stored); else the only one of the catalogue. Otherwise the name is ambiguous and the
///    error lists the candidates in a form that resolves to each (`Paris,FR`,
///    `Paris,US,TX`, or the id).
///
/// An unknown name's error suggests the closest names of all three sources.
public struct PlaceResolver: Sendable {
    /// Where a place was found.
    public enum Source: String, Sendable, Hashable {
        case configuration, catalogue, store
    }

    /// A resolved place, with the sources that know it (in precedence order) and, for a
    /// place in the store, the time of its latest observation.
    public struct Match: Sendable, Hashable {
        public var place: Place
        public var sources: [Source]
        public var lastObservedAt: Date?

        public var isStored: Bool { sources.contains(.store) }
    }

    public let custom: [Place]
    public let catalogue: PlaceCatalogue?
    private let customIndex: NameIndex
    private let stored: StoredPlacesCache?

    /// A resolver over the configuration's custom places, the catalogue and the places of
    /// `store`, whose list is read when a lookup needs it and kept for `refresh`.
    public init(custom: [Place] = [], catalogue: PlaceCatalogue? = nil, store: (any ObservationStore)? = nil,
                refresh: Duration = .seconds(1)) {
        var storedPlaces: (@Sendable () async throws -> [StoredPlace])?
        if let store { storedPlaces = { try await store.places() } }
        self.init(custom: custom, catalogue: catalogue, storedPlaces: storedPlaces, refresh: refresh)
    }

    /// A resolver whose stored places come from `storedPlaces`.
    public init(custom: [Place], catalogue: PlaceCatalogue?, storedPlaces: (@Sendable () async throws -> [StoredPlace])?,
                refresh: Duration = .seconds(1)) {
        self.custom = custom
        self.catalogue = catalogue
        self.customIndex = NameIndex(custom.map { ($0.id, $0.name) })
        self.stored = storedPlaces.map { StoredPlacesCache(load: $0, lifetime: refresh) }
    }

    // MARK: Places

    /// Resolves a user's text to one place, reading the store's places only when the text is
    /// not the id of a custom or catalogue place.
    public func resolve(_ text: String) async throws -> Match {
        let t = text.trimmingCharacters(in: .whitespaces)
        if let m = match(id: t, stored: nil) { return m }
        return try resolve(t, in: try await storedIndex())
    }

    /// Resolves a user's text over the custom places, the catalogue and `stored`.
    public func resolve(_ text: String, stored: [StoredPlace]) throws(MeteoError) -> Match {
        try resolve(text, in: StoredIndex(stored))
    }

    /// Every place of the store, as listed at most `refresh` ago.
    public func storedPlaces() async throws -> [StoredPlace] {
        try await storedIndex()?.places ?? []
    }

    /// The stored places that `text` finds: a name containing it (case and accents ignored),
    /// its id, or the place it resolves to (`Paris,FR`, `48.58,7.75`).
    public func search(_ text: String) async throws -> [StoredPlace] {
        guard let index = try await storedIndex() else { return [] }
        let t = text.trimmingCharacters(in: .whitespaces)
        let folded = PlaceCatalogue.fold(t)
        var hits = Set<Int>()
        for (i, p) in index.places.enumerated() where index.names.folded[i].contains(folded) || p.id.lowercased() == t.lowercased() {
            hits.insert(i)
        }
        // What the text resolves to, without the suggestions of a failed lookup.
        if !t.isEmpty, case .found(let m) = lookup(t, in: index), let i = index.names.byID[m.place.id] { hits.insert(i) }
        return hits.sorted().map { index.places[$0] }
    }

    func storedIndex() async throws -> StoredIndex? {
        try await stored?.index()
    }

    /// What a lookup found: one place, several of one name, or none.
    enum Lookup {
        case found(Match)
        case ambiguous([Match])
        /// Nothing; `name` is the name part of the text, for suggestions.
        case none(name: String)
        /// `LAT,LON` whose `geo:` id no source knows.
        case noPlaceAt(id: String, name: String)
    }

    func resolve(_ query: String, in index: StoredIndex?) throws(MeteoError) -> Match {
        let text = query.trimmingCharacters(in: .whitespaces)
        guard !text.isEmpty else {
            throw MeteoError(code: .unknownPlace, "no place given: give a name such as Strasbourg, Name,CC such as Paris,FR, LAT,LON or an id")
        }
        switch lookup(text, in: index) {
        case .found(let m):
            return m
        case .noPlaceAt(let id, let name):
            throw MeteoError(code: .unknownPlace,
                             "no place at \(name) (id \(id)) in \(sourcesDescription(index)): give the name or id of a known place, or search around the point by distance (meteo query --near \(text))")
        case .ambiguous(let candidates):
            let labels = Self.labels(candidates)
            let shown = labels.prefix(10).joined(separator: "; ") + (labels.count > 10 ? "; …" : "")
            throw MeteoError(code: .ambiguousPlace,
                             "'\(query)' is ambiguous: \(candidates.count) places match (\(shown)); add the country code (and admin1 code) or give the id, for example '\(labels[0])'")
        case .none(let name):
            let close = closeMatches(name, stored: index, limit: 5)
            let suggestion = close.isEmpty ? "run 'meteo places' to list the catalogue's places" : "did you mean \(close.map { "'\($0)'" }.joined(separator: ", "))?"
            throw MeteoError(code: .unknownPlace, "no place named '\(query)' in \(sourcesDescription(index)): \(suggestion)")
        }
    }

    /// The lookup of a trimmed, non-empty text, in the order of the type's documentation.
    func lookup(_ text: String, in index: StoredIndex?) -> Lookup {
        if let (lat, lon) = PlaceEntry.coordinates(text[...]) {
            let id = CustomPlace.id(latitude: lat, longitude: lon)
            return match(id: id, stored: index).map(Lookup.found) ?? .noPlaceAt(id: id, name: CustomPlace.coordinateName(latitude: lat, longitude: lon))
        }
        if let m = match(id: text, stored: index) { return .found(m) }
        var candidates = matches(named: PlaceCatalogue.fold(text), stored: index)
        let parts = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        if candidates.isEmpty, parts.count > 1 {
            candidates = matches(named: PlaceCatalogue.fold(parts[0]), stored: index)
            if !parts[1].isEmpty { candidates = candidates.filter { $0.place.country.lowercased() == parts[1].lowercased() } }
            if parts.count > 2, !parts[2].isEmpty { candidates = candidates.filter { ($0.place.admin1 ?? "").lowercased() == parts[2].lowercased() } }
        }
        if let chosen = Self.choose(candidates) { return .found(chosen) }
        return candidates.isEmpty ? .none(name: parts[0]) : .ambiguous(candidates)
    }

    /// The place with this exact id in any source, its sources merged.
    func match(id: String, stored index: StoredIndex?) -> Match? {
        var found = Candidates()
        if let i = customIndex.byID[id] { found.add(custom[i], .configuration) }
        if let p = catalogue?.place(id: id) { found.add(p, .catalogue) }
        if let index, let i = index.names.byID[id] { found.add(index.places[i].place, .store, index.places[i].lastObservedAt) }
        return found.list.first
    }

    /// The places of this folded name in every source, merged by id.
    func matches(named folded: String, stored index: StoredIndex?) -> [Match] {
        var found = Candidates()
        for i in customIndex.named(folded) { found.add(custom[i], .configuration) }
        for p in catalogue?.places(named: folded) ?? [] { found.add(p, .catalogue) }
        if let index {
            for i in index.names.named(folded) { found.add(index.places[i].place, .store, index.places[i].lastObservedAt) }
        }
        return found.list
    }

    /// The one candidate the precedence picks, or nil.
    static func choose(_ candidates: [Match]) -> Match? {
        if candidates.count == 1 { return candidates[0] }
        for source in [Source.configuration, .store, .catalogue] {
            let these = candidates.filter { $0.sources.contains(source) }
            if these.count == 1 { return these[0] }
        }
        return nil
    }

    /// A text that resolves to each candidate: `Name,CC`, `Name,CC,admin1`, or the id.
    static func labels(_ candidates: [Match]) -> [String] {
        func base(_ p: Place) -> String { p.country.isEmpty ? p.name : "\(p.name),\(p.country)" }
        let bases = candidates.map { base($0.place) }
        return candidates.enumerated().map { i, m in
            let p = m.place
            let sameBase = candidates.indices.filter { bases[$0] == bases[i] }
            if sameBase.count == 1 { return bases[i] }
            if let admin1 = p.admin1, !admin1.isEmpty, !p.country.isEmpty,
               sameBase.filter({ candidates[$0].place.admin1 == admin1 }).count == 1 {
                return "\(bases[i]),\(admin1)"
            }
            return p.id
        }
    }

    /// The names closest to `name`: the configuration's and the store's first, then the
    /// catalogue's by population.
    func closeMatches(_ name: String, stored index: StoredIndex?, limit: Int) -> [String] {
        var names = custom.map(\.name)
        if let index { names += index.places.map(\.name) }
        if let catalogue { names += catalogue.places.map(\.name) }
        return PlaceCatalogue.closeMatches(name, among: names, limit: limit)
    }

    /// "the catalogue", "the configured places, the catalogue or the store", ….
    func sourcesDescription(_ index: StoredIndex?) -> String {
        var sources: [String] = []
        if !custom.isEmpty { sources.append("the configured places") }
        if catalogue != nil { sources.append("the catalogue") }
        if stored != nil || !(index?.places.isEmpty ?? true) { sources.append("the store") }
        switch sources.count {
        case 0: return "no source of places"
        case 1: return sources[0]
        default: return sources.dropLast().joined(separator: ", ") + " or " + sources.last!
        }
    }

    // MARK: Regions

    /// The regions of the configuration's places and of the store, built-in ones excepted,
    /// sorted.
    public func customRegions() async throws -> [String] {
        var names = Set(custom.compactMap(\.region))
        for p in try await storedPlaces() { if let r = p.region { names.insert(r) } }
        return names.filter { Region.named($0) == nil }.sorted()
    }

    /// A built-in region (case ignored), `world`, or a region of the configuration's places or
    /// of the store (such as a places file's region), or an error listing them.
    public func resolveRegion(_ text: String) async throws -> String {
        let t = text.trimmingCharacters(in: .whitespaces)
        if let region = Region.named(t) { return region.name }
        if t.lowercased() == "world" { return "world" }
        let known = try await customRegions()
        if known.contains(t) { return t }
        let sameFolded = known.filter { PlaceCatalogue.fold($0) == PlaceCatalogue.fold(t) }
        if sameFolded.count == 1 { return sameFolded[0] }
        let others = known.isEmpty ? "" : "; the configured places and the store also have \(known.prefix(20).joined(separator: ", "))\(known.count > 20 ? ", …" : "")"
        let close = PlaceCatalogue.closeMatches(t, among: Region.builtin.map(\.name) + known, limit: 3)
        throw MeteoError(code: .invalidConfiguration,
                         "unknown region '\(t)': the built-in regions are \(Region.builtin.map(\.name).joined(separator: ", ")), and world\(others)"
                         + (close.isEmpty ? "" : "; did you mean \(close.map { "'\($0)'" }.joined(separator: ", "))?"))
    }
}

/// Candidates found so far, merged by id in the order found.
private struct Candidates {
    var list: [PlaceResolver.Match] = []
    var at: [String: Int] = [:]

    mutating func add(_ place: Place, _ source: PlaceResolver.Source, _ lastObservedAt: Date? = nil) {
        guard let i = at[place.id] else {
            at[place.id] = list.count
            list.append(.init(place: place, sources: [source], lastObservedAt: lastObservedAt))
            return
        }
        list[i].sources.append(source)
        if list[i].place.region == nil { list[i].place.region = place.region }
        if list[i].lastObservedAt == nil { list[i].lastObservedAt = lastObservedAt }
    }
}

/// Ids and folded names of a list of places, for lookups.
struct NameIndex: Sendable {
    let byID: [String: Int]
    let folded: [String]
    private let byName: [String: [Int]]

    init(_ places: [(id: String, name: String)]) {
        var byID: [String: Int] = [:]
        var byName: [String: [Int]] = [:]
        var folded: [String] = []
        folded.reserveCapacity(places.count)
        for (i, p) in places.enumerated() {
            if byID[p.id] == nil { byID[p.id] = i }
            let f = PlaceCatalogue.fold(p.name)
            folded.append(f)
            byName[f, default: []].append(i)
        }
        self.byID = byID
        self.byName = byName
        self.folded = folded
    }

    func named(_ folded: String) -> [Int] { byName[folded] ?? [] }
}

/// The store's places with their index.
struct StoredIndex: Sendable {
    let places: [StoredPlace]
    let names: NameIndex

    init(_ places: [StoredPlace]) {
        self.places = places
        self.names = NameIndex(places.map { ($0.id, $0.name) })
    }
}

/// The store's places, read at most once per lifetime: under load one read serves every
/// lookup; concurrent misses may each read, and the last one is kept.
final class StoredPlacesCache: Sendable {
    let load: @Sendable () async throws -> [StoredPlace]
    let lifetime: Duration
    private let state = Mutex<(index: StoredIndex, expires: ContinuousClock.Instant)?>(nil)

    init(load: @escaping @Sendable () async throws -> [StoredPlace], lifetime: Duration) {
        self.load = load
        self.lifetime = lifetime
    }

    func index() async throws -> StoredIndex {
        let now = ContinuousClock.now
        if let cached = state.withLock({ $0 }), cached.expires > now { return cached.index }
        let index = StoredIndex(try await load())
        state.withLock { $0 = (index, now + lifetime) }
        return index
    }
}
