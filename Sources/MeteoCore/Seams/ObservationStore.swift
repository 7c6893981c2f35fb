import Foundation

/// What a store did with a batch of observations.
public struct UpsertSummary: Sendable, Hashable {
    /// Keys that were not in the store before.
    public var inserted: Int
    /// Keys that were there and were overwritten (a replay, or a redelivery after a crash).
    public var updated: Int
    /// Observations the store refused for good (a server-side validation, say): the store
    /// recorded each as a dead letter with its reason instead.
    public var refused: Int

    public init(inserted: Int = 0, updated: Int = 0, refused: Int = 0) {
        self.inserted = inserted
        self.updated = updated
        self.refused = refused
    }

    public static func + (a: UpsertSummary, b: UpsertSummary) -> UpsertSummary {
        UpsertSummary(inserted: a.inserted + b.inserted, updated: a.updated + b.updated, refused: a.refused + b.refused)
    }
}

/// A query for observations. Every filter is optional.
public struct ObservationQuery: Sendable, Hashable {
    public var placeIDs: [String]?
    public var region: String?
    /// Inclusive lower bound on the observed time.
    public var since: Date?
    /// Exclusive upper bound on the observed time.
    public var until: Date?
    /// Newest first when true.
    public var newestFirst: Bool
    public var limit: Int?
    /// Only the rows after this one in the query's order (time, then place id): the next page.
    public var after: ObservationCursor?

    public init(placeIDs: [String]? = nil, region: String? = nil, since: Date? = nil, until: Date? = nil,
                newestFirst: Bool = true, limit: Int? = nil, after: ObservationCursor? = nil) {
        self.placeIDs = placeIDs
        self.region = region
        self.since = since
        self.until = until
        self.newestFirst = newestFirst
        self.limit = limit
        self.after = after
    }
}

/// A row's position in the order of ``ObservationQuery`` (observed time to the second, then
/// place id), for keyset pagination: a page starts after the last row of the previous one, so
/// rows written meanwhile never shift the pages.
public struct ObservationCursor: Sendable, Hashable {
    /// Unix seconds (rounded down) of the observed time.
    public var epochSeconds: Int64
    public var placeID: String

    public init(epochSeconds: Int64, placeID: String) {
        self.epochSeconds = epochSeconds
        self.placeID = placeID
    }

    /// The position of a row.
    public init(_ o: Observation) {
        self.init(epochSeconds: ObservationKey(placeID: o.placeID, observedAt: o.observedAt).epochSeconds, placeID: o.placeID)
    }

    /// An opaque, URL-safe token (`<seconds>.<place id>` in base64url).
    public var token: String {
        Data("\(epochSeconds).\(placeID)".utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    /// Reads a token back; nil when it is not one.
    public init?(token: String) {
        guard token.count <= 400 else { return nil }
        var b64 = token.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while b64.count % 4 != 0 { b64 += "=" }
        guard let data = Data(base64Encoded: b64), let text = String(data: data, encoding: .utf8),
              let dot = text.firstIndex(of: "."), let seconds = Int64(text[..<dot]) else { return nil }
        let id = String(text[text.index(after: dot)...])
        guard !id.isEmpty else { return nil }
        self.init(epochSeconds: seconds, placeID: id)
    }
}

/// Stores observations idempotently on (place id, observed time).
public protocol ObservationStore: Sendable {
    /// Inserts or overwrites each observation, and returns once the write is durable: it
    /// survives a crash of the process and of the machine (a power cut, an OS crash), so that
    /// the sink may commit the bus offsets of the batch right after.
    ///
    /// - The embedded SQLite store commits in WAL mode with `synchronous=FULL`: the WAL is
    ///   fsynced before the call returns (on a disk that honours fsync).
    /// - MongoDB returns once the configured write concern is met: `majority` (the default)
    ///   is on the journal of a majority of members; `1` is acknowledged by the primary before
    ///   its journal is flushed (up to 100 ms later); `w=0` is refused.
    func upsert(_ observations: [Observation]) async throws -> UpsertSummary
    func observations(_ query: ObservationQuery) async throws -> [Observation]
    /// The newest observation of each place, optionally of one region.
    func latest(region: String?) async throws -> [Observation]
    /// How many observations the store holds.
    func count() async throws -> Int
    /// Every observation the query selects, in batches of at most `batchSize`, in no particular
    /// order: for analyses that read more rows than fit comfortably as one array.
    func scan(_ query: ObservationQuery, batchSize: Int) -> AsyncThrowingStream<[Observation], any Error>

    // Hour coverage, for `meteo gaps` and `meteo backfill --fill-gaps` (default in ObservationStore+Hours.swift).
    /// The whole UTC hours in which each place has at least one observation, as sorted runs of
    /// hour numbers (``HourCoverage``). `query` selects places and times (`placeIDs`, `region`,
    /// `since`, `until`); its order, limit and cursor are ignored. A place with no observation
    /// there is absent.
    func observedHours(_ query: ObservationQuery) async throws -> [String: [Range<Int64>]]

    /// The latest observation of each place within `radiusKM` of a point, nearest first
    /// (ties by place id), at most `limit`.
    func latest(near point: GeoPoint, radiusKM: Double, limit: Int) async throws -> [NearbyObservation]
    /// Every place the store holds observations of, as its latest observation describes it,
    /// ordered by place id: what ``PlaceResolver`` looks names and ids up in.
    func places() async throws -> [StoredPlace]
    /// A token that changes whenever the stored observations may have changed, whether this
    /// process or another wrote them; read it before reading the data, and whatever was
    /// computed from that data may be reused while the token stays the same. Nil when the
    /// store cannot tell cheaply: then nothing read from it may be cached.
    func version() async throws -> String?
    func close() async throws
}

/// A point on the Earth, in degrees.
public struct GeoPoint: Sendable, Hashable {
    public var latitude: Double
    public var longitude: Double

    public init(latitude: Double, longitude: Double) {
        self.latitude = latitude
        self.longitude = longitude
    }

    /// The Earth's radius of MongoDB's spherical geometry, km, used by every store so that
    /// their distances agree.
    public static let earthRadiusKM = 6378.1

    /// Great-circle distance (haversine), km.
    public func distanceKM(to other: GeoPoint) -> Double {
        let rad = Double.pi / 180
        let dLat = (other.latitude - latitude) * rad, dLon = (other.longitude - longitude) * rad
        let h = pow(sin(dLat / 2), 2) + cos(latitude * rad) * cos(other.latitude * rad) * pow(sin(dLon / 2), 2)
        return 2 * Self.earthRadiusKM * asin(min(1, h.squareRoot()))
    }
}

/// A place's latest observation and its distance from the point asked about.
public struct NearbyObservation: Sendable, Hashable {
    public var observation: Observation
    public var distanceKM: Double

    public init(observation: Observation, distanceKM: Double) {
        self.observation = observation
        self.distanceKM = distanceKM
    }

    /// The rows within `radiusKM` of `point`, nearest first (ties by place id), at most `limit`.
    public static func nearest(in rows: [Observation], to point: GeoPoint, radiusKM: Double, limit: Int) -> [NearbyObservation] {
        rows.map { NearbyObservation(observation: $0, distanceKM: point.distanceKM(to: GeoPoint(latitude: $0.latitude, longitude: $0.longitude))) }
            .filter { $0.distanceKM <= radiusKM }
            .sorted { a, b in
                a.distanceKM != b.distanceKM ? a.distanceKM < b.distanceKM
                    : a.observation.placeID.unicodeScalars.lexicographicallyPrecedes(b.observation.placeID.unicodeScalars)
            }
            .prefix(max(0, limit)).map { $0 }
    }
}

extension ObservationStore {
    /// A store that cannot tell when its data changed.
    public func version() async throws -> String? { nil }

    /// The places of every place's latest observation; stores that can read fewer columns
    /// override it.
    public func places() async throws -> [StoredPlace] {
        try await latest(region: nil).map(StoredPlace.init(latest:)).sorted { $0.id.unicodeScalars.lexicographicallyPrecedes($1.id.unicodeScalars) }
    }

    /// Filters every place's latest observation by distance; stores with a geospatial index
    /// override it.
    public func latest(near point: GeoPoint, radiusKM: Double, limit: Int) async throws -> [NearbyObservation] {
        NearbyObservation.nearest(in: try await latest(region: nil), to: point, radiusKM: radiusKM, limit: limit)
    }

    /// Reads the whole selection at once and hands it out in batches; stores that can page
    /// through a cursor override it.
    public func scan(_ query: ObservationQuery, batchSize: Int) -> AsyncThrowingStream<[Observation], any Error> {
        let size = max(1, batchSize)
        return AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    var all = query
                    all.limit = nil
                    let rows = try await observations(all)
                    var start = 0
                    while start < rows.count {
                        let end = min(rows.count, start + size)
                        continuation.yield(Array(rows[start..<end]))
                        start = end
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }
}

/// A message that could not be stored, kept with its reason and its raw bytes.
public struct DeadLetter: Sendable, Hashable {
    public var reason: String
    public var topic: String
    public var partition: Int
    public var offset: Int64
    public var key: String?
    public var payload: [UInt8]
    public var failedAt: Date
    /// When the bus accepted the message, when known; it goes into ``fingerprint``.
    public var messageTimestamp: Date?

    public init(reason: String, topic: String, partition: Int, offset: Int64, key: String?, payload: [UInt8], failedAt: Date,
                messageTimestamp: Date? = nil) {
        self.reason = reason
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.key = key
        self.payload = payload
        self.failedAt = failedAt
        self.messageTimestamp = messageTimestamp
    }

    /// Tells this message apart from another one at the same (topic, partition, offset), which
    /// happens once offsets start again (a log reset, a topic re-created): 16 hex digits of the
    /// 64-bit FNV-1a hash of the payload followed by the message timestamp in milliseconds
    /// (when known). A redelivery of the same message has the same fingerprint.
    public var fingerprint: String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        func mix(_ byte: UInt8) {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        for byte in payload { mix(byte) }
        if let t = messageTimestamp {
            let ms = UInt64(bitPattern: Int64((t.timeIntervalSince1970 * 1000).rounded()))
            for shift in stride(from: 0, to: 64, by: 8) { mix(UInt8(truncatingIfNeeded: ms >> UInt64(shift))) }
        }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}

/// Keeps dead letters: one per bad message, idempotent on (topic, partition, offset,
/// ``DeadLetter/fingerprint``), so that a message redelivered after a crash is not
/// dead-lettered twice, and a different message at a position used again (offsets restarted
/// after a log reset or a topic re-creation) is kept too.
public protocol DeadLetterStore: Sendable {
    func record(_ letters: [DeadLetter]) async throws
    func deadLetters(limit: Int) async throws -> [DeadLetter]
    func deadLetterCount() async throws -> Int
}
