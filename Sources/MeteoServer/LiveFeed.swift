import Foundation
import Logging
import MeteoCore
import ServiceLifecycle
import Synchronization

/// The key figures of the overview, computed from the latest observation of each place.
public struct KeyFigures: Sendable, Hashable {
    public var places: Int
    public var observations: Int
    public var lastUpdate: Date?
    public var meanTemperatureC: Double?
    public var meanHumidityPct: Double?
    public var rainPlaces: Int
    public var snowPlaces: Int
    public var deadLetters: Int?

    public init(latest: [Observation], observations: Int, deadLetters: Int?) {
        func mean(_ values: [Double?]) -> Double? {
            let v = values.compactMap { $0 }
            return v.isEmpty ? nil : v.reduce(0, +) / Double(v.count)
        }
        places = latest.count
        self.observations = observations
        lastUpdate = latest.map(\.observedAt).max()
        meanTemperatureC = mean(latest.map(\.temperatureC))
        meanHumidityPct = mean(latest.map(\.humidityPct))
        rainPlaces = latest.filter { ($0.rainMM ?? 0) > 0 }.count
        snowPlaces = latest.filter { ($0.snowMM ?? 0) > 0 }.count
        self.deadLetters = deadLetters
    }

    /// `{"places":…,"observations":…,"last_update":iso|null,"mean_temperature_c":…,…}`.
    public var json: [UInt8] {
        var w = JSONWriter(capacity: 256)
        w.raw("{")
        w.key("places", first: true); w.number(places)
        w.key("observations"); w.number(observations)
        w.key("last_update"); if let lastUpdate { w.string(ISO8601.string(from: lastUpdate)) } else { w.raw("null") }
        w.key("mean_temperature_c"); w.optional(meanTemperatureC.map { ($0 * 10).rounded() / 10 })
        w.key("mean_humidity_pct"); w.optional(meanHumidityPct.map { ($0 * 10).rounded() / 10 })
        w.key("rain_places"); w.number(rainPlaces)
        w.key("snow_places"); w.number(snowPlaces)
        w.key("dead_letters"); if let deadLetters { w.number(deadLetters) } else { w.raw("null") }
        w.raw("}")
        return w.bytes
    }
}

/// Watches the store for new observations and tells every open page (`/api/stream`,
/// server-sent events). One poll of the latest observations per interval serves all the
/// subscribers, and only while there are some; a change sends the places whose latest
/// observation changed (`event: latest`) and the refreshed key figures (`event: figures`).
/// A `Service`: graceful shutdown ends every stream, so that the server can stop.
public final class LiveFeed: Service, Sendable {
    let store: any ObservationStore
    let deadLetters: (any DeadLetterStore)?
    let interval: Duration
    let logger: Logger
    private let state = Mutex(State())

    struct State {
        var subscribers: [UUID: AsyncStream<[UInt8]>.Continuation] = [:]
        var seen: [String: Date] = [:]
        var primed = false
        var stopped = false
    }

    public init(store: any ObservationStore, deadLetters: (any DeadLetterStore)?, interval: Duration = .seconds(1), logger: Logger) {
        self.store = store
        self.deadLetters = deadLetters
        self.interval = interval
        self.logger = logger
    }

    /// A stream of SSE-encoded bytes; it ends when the feed stops or the client goes.
    public func subscribe() -> AsyncStream<[UInt8]> {
        let (stream, continuation) = AsyncStream<[UInt8]>.makeStream(bufferingPolicy: .bufferingNewest(64))
        let id = UUID()
        let stopped = state.withLock { s -> Bool in
            if !s.stopped { s.subscribers[id] = continuation }
            return s.stopped
        }
        continuation.yield(Array("retry: 2000\n\n".utf8))
        if stopped { continuation.finish() }
        continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLock { $0.subscribers.removeValue(forKey: id) }
        }
        return stream
    }

    public var subscriberCount: Int { state.withLock { $0.subscribers.count } }

    public func run() async throws {
        var beat = 0
        await withGracefulShutdownHandler {
            while !Task.isCancelled, !state.withLock({ $0.stopped }) {
                do { try await Task.sleep(for: interval) } catch { break }
                beat += 1
                guard subscriberCount > 0 else { continue }
                do {
                    try await tick()
                } catch {
                    logger.warning("live feed: cannot read the store", metadata: [LoggingKeys.error: "\(error)"])
                }
                // A comment every 15 s keeps proxies from closing an idle stream.
                if beat % max(1, Int(15 / max(0.001, interval.seconds))) == 0 { broadcast(Array(": ping\n\n".utf8)) }
            }
        } onGracefulShutdown: {
            self.stop()
        }
        stop()
    }

    func stop() {
        let subscribers = state.withLock { s -> [AsyncStream<[UInt8]>.Continuation] in
            s.stopped = true
            defer { s.subscribers = [:] }
            return Array(s.subscribers.values)
        }
        for c in subscribers { c.finish() }
    }

    /// One poll: the latest observations that changed since the last poll, then the figures.
    func tick() async throws {
        let latest = try await store.latest(region: nil)
        let changed = state.withLock { s -> [Observation] in
            let wasPrimed = s.primed
            s.primed = true
            var out: [Observation] = []
            for o in latest where s.seen[o.placeID] != o.observedAt {
                s.seen[o.placeID] = o.observedAt
                if wasPrimed { out.append(o) }
            }
            return out
        }
        guard !changed.isEmpty else { return }
        var w = JSONWriter(capacity: changed.count * 480 + 64)
        w.raw("[")
        for (i, o) in changed.prefix(5000).enumerated() {
            if i > 0 { w.raw(",") }
            w.raw("{")
            EventCodec.write(o, into: &w, leadingComma: false)
            w.key("marker_color")
            w.string(ChartColors.temperature(o.temperatureC))
            w.raw("}")
        }
        w.raw("]")
        broadcast(Self.event("latest", w.bytes))
        let figures = KeyFigures(latest: latest, observations: try await store.count(),
                                 deadLetters: try await deadLetters?.deadLetterCount())
        broadcast(Self.event("figures", figures.json))
    }

    static func event(_ name: String, _ data: [UInt8]) -> [UInt8] {
        // JSON from JSONWriter has no raw newline, so one data line carries it.
        Array("event: \(name)\ndata: ".utf8) + data + Array("\n\n".utf8)
    }

    private func broadcast(_ bytes: [UInt8]) {
        for c in state.withLock({ Array($0.subscribers.values) }) { c.yield(bytes) }
    }
}
