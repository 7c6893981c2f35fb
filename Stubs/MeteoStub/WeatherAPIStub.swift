import Dispatch
import Foundation
import MeteoCore
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// A local stand-in for the weather APIs Meteo calls, serving their documented response formats
/// and enforcing their documented limits, so that what would break against the real services
/// breaks in a test first:
///
/// - `GET|POST /v1/forecast`: Open-Meteo's forecast API. `current=` (the block is the
///   15-minute model step: `current.time` is the time rounded down to 15 minutes), and
///   `hourly=` with `past_days`/`forecast_days` or `start_date`/`end_date`. One location is an
///   object, several are an array in request order.
/// - `GET|POST /v1/archive`: the historical archive: `start_date`, `end_date` and `hourly=`
///   are required; hours the archive does not hold yet (the last ``Options/archiveLagDays`` days,
///   today included) are `null`; a variable the archive does not have (`visibility`) is a 400 with
///   Open-Meteo's reason.
/// - Open-Meteo's weighted quota (``StubQuota``): a request weighs
///   `max(1, variables / 10) × max(1, days / 14) × locations`; a request that would take the
///   minute, hour, day or month over its limit gets a 429 `{"error":true,"reason":"Daily API
///   request limit exceeded. Please try again tomorrow."}`. With ``openMeteoAPIKey`` set, the
///   key (`apikey=`) is required and wrong keys are refused.
/// - `GET /data/2.5/weather`: OpenWeatherMap's current weather, `appid` required
///   (``openWeatherMapKey``), one call a request against its own quota (free plan: 60 a
///   minute, 1,000,000 a month), a 429 with OpenWeatherMap's message beyond it.
/// - `GET /stub/stats`: what the stub counted, as JSON.
///
/// Time comes from a ``MeteoClock`` (a ``VirtualClock`` in simulated-day tests). Connections
/// are kept alive.
public final class WeatherAPIStub: Sendable {
    public struct Options: Sendable {
        public var openMeteoLimits: [QuotaWindow: Double] = ProviderPlan.openMeteoFree.limits
        public var openWeatherMapLimits: [QuotaWindow: Double] = ProviderPlan.openWeatherMapFree.limits
        public var openMeteoAPIKey: String? = nil
        public var openWeatherMapKey: String? = nil
        /// Keep each Open-Meteo answer and send the same bytes when the same request comes again
        /// (the same parameters on the same UTC day; with `current`, in the same 15-minute
        /// step): for benchmarks,
        /// so that the stub's own work of making a year of weather is left out of a second run.
        /// Counting (quota, counters) is unchanged.
        public var memoize = false
        /// The last days (UTC, today included) that the archive does not hold yet: with 5, the
        /// archive holds the days up to six days ago, and the forecast API's `past_days` serves
        /// the last five (``BackfillPlanner`` cuts a backfill the same way).
        public var archiveLagDays: Int = 5
        public var clock: any MeteoClock = SystemClock()
        public var host = "127.0.0.1"
        public var port = 0

        public init() {}
    }

    /// What the stub saw.
    public struct Counters: Sendable {
        public var requests: [String: Int] = [:]
        public var locations = 0
        public var hourlyRows = 0
        public var badRequests = 0
        /// Answers sent again from ``Options/memoize``'s memory.
        public var memoized = 0
        /// Every Open-Meteo request for hourly data that was answered, in arrival order.
        public var hourly: [HourlyRequest] = []

        /// Place-days asked for by the hourly requests that were answered.
        public var hourlyPlaceDays: Int { hourly.reduce(0) { $0 + $1.points.count * $1.days } }
    }

    /// One answered request for hourly data: where, and which UTC days (the first and the
    /// last included, as days since 1970-01-01).
    public struct HourlyRequest: Sendable, Hashable {
        public var archive: Bool
        public var points: [Point]
        public var firstDay: Int64
        public var lastDay: Int64
        public var days: Int { Int(lastDay - firstDay + 1) }

        /// Coordinates as sent (degrees).
        public struct Point: Sendable, Hashable {
            public var latitude: Double
            public var longitude: Double
        }
    }

    public let options: Options
    public let openMeteoQuota: StubQuota
    public let openWeatherMapQuota: StubQuota
    private let counters = Mutex(Counters())
    /// Answers kept by ``Options/memoize``.
    private let memo = Mutex<[String: [UInt8]]>([:])
    private let channel: NIOAsyncChannel<NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>, Never>
    public let port: Int

    public var baseURL: String { "http://\(options.host):\(port)" }
    public var forecastURL: String { baseURL + "/v1/forecast" }
    public var archiveURL: String { baseURL + "/v1/archive" }
    public var openWeatherMapURL: String { baseURL + "/data/2.5/weather" }
    public var clock: any MeteoClock { options.clock }
    public var stats: Counters { counters.withLock { $0 } }

    private init(options: Options, channel: NIOAsyncChannel<NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>, Never>) {
        self.options = options
        self.channel = channel
        self.port = channel.channel.localAddress?.port ?? 0
        self.openMeteoQuota = StubQuota(limits: options.openMeteoLimits)
        self.openWeatherMapQuota = StubQuota(limits: options.openWeatherMapLimits)
    }

    /// Binds the stub; ``run()`` serves it until cancelled.
    public static func bind(_ options: Options = Options()) async throws -> WeatherAPIStub {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: options.host, port: options.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    return try NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>(wrappingChannelSynchronously: channel)
                }
            }
        return WeatherAPIStub(options: options, channel: channel)
    }

    /// Starts a stub, runs `body` with it, and stops it.
    public static func with<T: Sendable>(_ options: Options = Options(), _ body: (WeatherAPIStub) async throws -> T) async throws -> T {
        let stub = try await bind(options)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await stub.run() }
            defer { group.cancelAll() }
            let result = try await body(stub)
            try? await stub.channel.channel.close()
            return result
        }
    }

    /// Serves connections until the task is cancelled or the channel closes.
    public func run() async {
        try? await withThrowingDiscardingTaskGroup { group in
            try await channel.executeThenClose { connections in
                for try await connection in connections {
                    group.addTask { await self.serve(connection) }
                }
            }
        }
    }

    private func serve(_ connection: NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>) async {
        try? await connection.executeThenClose { inbound, outbound in
            var head: HTTPRequestHead?
            var body = ByteBuffer()
            for try await part in inbound {
                switch part {
                case .head(let h):
                    head = h
                    body.clear()
                case .body(var b):
                    body.writeBuffer(&b)
                case .end:
                    guard let request = head else { return }
                    // Made on a Dispatch thread, not on the cooperative pool: a year of hourly
                    // data is seconds of CPU, which would hold up every other task of a test
                    // process running the stub.
                    let requestBody = body
                    let (status, contentType, bytes) = await withCheckedContinuation { continuation in
                        DispatchQueue.global(qos: .userInitiated).async {
                            continuation.resume(returning: self.respond(request, body: requestBody))
                        }
                    }
                    var headers = HTTPHeaders()
                    headers.add(name: "Content-Type", value: contentType)
                    headers.add(name: "Content-Length", value: String(bytes.count))
                    let keepAlive = request.isKeepAlive
                    headers.add(name: "Connection", value: keepAlive ? "keep-alive" : "close")
                    try await outbound.write(.head(HTTPResponseHead(version: request.version, status: .init(statusCode: status), headers: headers)))
                    try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: bytes))))
                    try await outbound.write(.end(nil))
                    // Without keep-alive the client closes once it has read the answer, which
                    // ends the loop: returning here would close the channel while a large body
                    // may still be queued, cutting it short.
                    head = nil
                }
            }
        }
    }

    /// The parameters of a request: the query string, and for a form POST its body too.
    static func parameters(_ head: HTTPRequestHead, body: ByteBuffer) -> [String: String] {
        var out: [String: String] = [:]
        func add(_ query: Substring) {
            for pair in query.split(separator: "&") {
                let kv = pair.split(separator: "=", maxSplits: 1)
                guard let k = kv.first else { continue }
                out[decode(k)] = kv.count > 1 ? decode(kv[1]) : ""
            }
        }
        if let q = head.uri.firstIndex(of: "?") { add(head.uri[head.uri.index(after: q)...]) }
        if head.method == .POST { add(Substring(String(buffer: body))) }
        return out
    }

    static func decode(_ s: Substring) -> String {
        var out = [UInt8]()
        var bytes = Array(s.utf8)[...]
        while let b = bytes.popFirst() {
            if b == UInt8(ascii: "%"), bytes.count >= 2, let v = UInt8(String(decoding: bytes.prefix(2), as: UTF8.self), radix: 16) {
                out.append(v)
                bytes = bytes.dropFirst(2)
            } else {
                out.append(b == UInt8(ascii: "+") ? 32 : b)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private func respond(_ head: HTTPRequestHead, body: ByteBuffer) -> (Int, String, [UInt8]) {
        let path = String(head.uri.split(separator: "?", maxSplits: 1).first ?? "")
        counters.withLock { $0.requests[path, default: 0] += 1 }
        let parameters = Self.parameters(head, body: body)
        let result: (Int, [UInt8])
        switch path {
        case "/v1/forecast", "/forecast": result = openMeteo(parameters, archive: false)
        case "/v1/archive", "/archive": result = openMeteo(parameters, archive: true)
        case "/data/2.5/weather": result = openWeatherMap(parameters)
        case "/stub/stats": result = (200, statsJSON())
        default: result = (404, Array(#"{"error":true,"reason":"Not found"}"#.utf8))
        }
        if result.0 == 400 { counters.withLock { $0.badRequests += 1 } }
        return (result.0, "application/json; charset=utf-8", result.1)
    }

    private func openMeteoError(_ status: Int, _ reason: String) -> (Int, [UInt8]) {
        var w = JSONWriter(capacity: 128)
        w.raw("{\"error\":true,\"reason\":")
        w.string(reason)
        w.raw("}")
        return (status, w.bytes)
    }

    /// The variables the forecast API's `hourly`/`current` and the archive's `hourly` know.
    static let forecastVariables: Set<String> = [
        "temperature_2m", "apparent_temperature", "relative_humidity_2m", "pressure_msl", "wind_speed_10m",
        "wind_direction_10m", "wind_gusts_10m", "cloud_cover", "visibility", "rain", "snowfall", "precipitation", "weather_code",
    ]
    static let archiveVariables: Set<String> = forecastVariables.subtracting(["visibility"])

    private func openMeteo(_ p: [String: String], archive: Bool) -> (Int, [UInt8]) {
        let now = options.clock.now()
        if let key = options.openMeteoAPIKey, p["apikey"] != key {
            return openMeteoError(400, p["apikey"] == nil ? "API key required. Add &apikey= to the URL." : "The supplied API key is invalid.")
        }
        let latitudes = (p["latitude"] ?? "").split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
        let longitudes = (p["longitude"] ?? "").split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard !latitudes.isEmpty, latitudes.count == longitudes.count else {
            return openMeteoError(400, "Parameter 'latitude' and 'longitude' must have the same number of elements")
        }
        var points: [(Double, Double)] = []
        for (a, b) in zip(latitudes, longitudes) {
            guard let a, let b, (-90...90).contains(a), (-180...180).contains(b) else {
                return openMeteoError(400, "Latitude must be in range of -90 to 90°. Longitude must be in range of -180 to 180°.")
            }
            points.append((a, b))
        }
        guard points.count <= 1000 else { return openMeteoError(400, "Only up to 1000 locations can be requested at once") }
        let known = archive ? Self.archiveVariables : Self.forecastVariables
        func list(_ name: String) -> [String] { (p[name] ?? "").split(separator: ",").map(String.init).filter { !$0.isEmpty } }
        let current = archive ? [] : list("current")
        let hourly = list("hourly")
        for v in current + hourly where !known.contains(v) {
            return openMeteoError(400, "Cannot initialize \(archive ? "ArchiveVariable" : "ForecastVariable") from invalid String value \(v)")
        }
        guard !(current.isEmpty && hourly.isEmpty) else { return openMeteoError(400, "No variables requested") }
        // The time range of the hourly data: dates, or days around today.
        let today = QuotaWindow.day.start(of: now)
        var start: Date, end: Date
        if let s = p["start_date"], let e = p["end_date"] {
            guard let sd = ISO8601.date(from: s + "T00:00:00Z"), let ed = ISO8601.date(from: e + "T00:00:00Z"), sd <= ed else {
                return openMeteoError(400, "Parameter 'start_date' and 'end_date' must be dates as yyyy-mm-dd, the start not after the end")
            }
            start = sd
            end = ed.addingTimeInterval(86_400)
        } else if archive {
            return openMeteoError(400, "Parameter 'start_date' and 'end_date' are required")
        } else {
            let past = Int(p["past_days"] ?? "0") ?? -1
            let forecast = Int(p["forecast_days"] ?? "7") ?? -1
            guard (0...92).contains(past), (0...16).contains(forecast) else {
                return openMeteoError(400, "Parameter 'past_days' must be 0...92 and 'forecast_days' 0...16")
            }
            start = today.addingTimeInterval(-86_400 * Double(past))
            end = today.addingTimeInterval(86_400 * Double(forecast))
        }
        let days = end.timeIntervalSince(start) / 86_400
        guard days <= 366 * 2 else { return openMeteoError(400, "The requested time range is too long: at most two years per request") }
        let weight = CallWeight.openMeteo(variables: current.count + hourly.count, days: days, places: points.count)
        if let refused = openMeteoQuota.take(weight, at: now) {
            return openMeteoError(429, StubQuota.openMeteoReason(refused))
        }
        let windMS = (p["wind_speed_unit"] ?? "kmh") == "ms"
        let unixtime = p["timeformat"] == "unixtime"
        let hours = hourly.isEmpty ? 0 : Int((end.timeIntervalSince(start) / 3600).rounded())
        let holdsUntil = archive ? today.addingTimeInterval(86_400 * Double(1 - options.archiveLagDays)) : .distantFuture
        counters.withLock {
            $0.locations += points.count
            $0.hourlyRows += points.count * hours
            if hours > 0 {
                $0.hourly.append(HourlyRequest(
                    archive: archive, points: points.map { HourlyRequest.Point(latitude: $0.0, longitude: $0.1) },
                    firstDay: Int64((start.timeIntervalSince1970 / 86_400).rounded(.down)),
                    lastDay: Int64((end.timeIntervalSince1970 / 86_400).rounded(.up)) - 1))
            }
        }
        // Hourly data changes with the UTC day (what the archive holds); `current` every 15 minutes.
        let step = Int64(now.timeIntervalSince1970) / (current.isEmpty ? 86_400 : 900)
        let memoKey = options.memoize
            ? "\(archive) \(step) " + p.keys.sorted().map { "\($0)=\(p[$0]!)" }.joined(separator: "&")
            : nil
        if let memoKey, let kept = memo.withLock({ $0[memoKey] }) {
            counters.withLock { $0.memoized += 1 }
            return (200, kept)
        }
        var w = JSONWriter(capacity: 256 + points.count * (current.count * 24 + hours * (hourly.count + 1) * 7))
        if points.count > 1 { w.raw("[") }
        for (i, (lat, lon)) in points.enumerated() {
            if i > 0 { w.raw(",") }
            w.raw("{\"latitude\":")
            w.number((lat * 100).rounded() / 100)
            w.raw(",\"longitude\":")
            w.number((lon * 100).rounded() / 100)
            w.raw(",\"generationtime_ms\":0.5,\"utc_offset_seconds\":0,\"timezone\":\"GMT\",\"timezone_abbreviation\":\"GMT\",\"elevation\":100.0")
            if !current.isEmpty {
                let t = Int64(now.timeIntervalSince1970) / 900 * 900
                let weather = StubWeather(latitude: lat, longitude: lon, t: t, stepSeconds: 900)
                w.raw(",\"current_units\":{\"time\":")
                w.string(unixtime ? "unixtime" : "iso8601")
                w.raw(",\"interval\":\"seconds\"")
                for v in current {
                    w.key(v)
                    w.string(Self.unit(v, windMS: windMS))
                }
                w.raw("},\"current\":{\"time\":")
                timestamp(t, unixtime: unixtime, into: &w)
                w.raw(",\"interval\":900")
                for v in current {
                    w.key(v)
                    w.optional(Self.convert(weather.value(v), v, windMS: windMS))
                }
                w.raw("}")
            }
            if !hourly.isEmpty {
                let t0 = Int64(start.timeIntervalSince1970)
                let weathers = (0..<hours).map { h in StubWeather(latitude: lat, longitude: lon, t: t0 + Int64(h) * 3600) }
                w.raw(",\"hourly_units\":{\"time\":")
                w.string(unixtime ? "unixtime" : "iso8601")
                for v in hourly {
                    w.key(v)
                    w.string(Self.unit(v, windMS: windMS))
                }
                w.raw("},\"hourly\":{\"time\":[")
                for h in 0..<hours {
                    if h > 0 { w.raw(",") }
                    timestamp(t0 + Int64(h) * 3600, unixtime: unixtime, into: &w)
                }
                w.raw("]")
                let limit = Int64(holdsUntil.timeIntervalSince1970)
                for v in hourly {
                    w.key(v)
                    w.raw("[")
                    for h in 0..<hours {
                        if h > 0 { w.raw(",") }
                        let t = t0 + Int64(h) * 3600
                        if t >= limit { w.raw("null") } else { w.optional(Self.convert(weathers[h].value(v), v, windMS: windMS)) }
                    }
                    w.raw("]")
                }
                w.raw("}")
            }
            w.raw("}")
        }
        if points.count > 1 { w.raw("]") }
        if let memoKey { memo.withLock { $0[memoKey] = w.bytes } }
        return (200, w.bytes)
    }

    private func timestamp(_ t: Int64, unixtime: Bool, into w: inout JSONWriter) {
        if unixtime {
            w.number(Int(t))
        } else {
            // Open-Meteo's ISO form has no seconds and no zone: "2026-12-07T10:15".
            w.string(String(ISO8601.string(from: Date(timeIntervalSince1970: Double(t))).prefix(16)))
        }
    }

    static func unit(_ variable: String, windMS: Bool) -> String {
        let u = StubWeather.unit(variable)
        return u == "m/s" && !windMS ? "km/h" : u
    }

    static func convert(_ value: Double?, _ variable: String, windMS: Bool) -> Double? {
        guard let value else { return nil }
        if !windMS, variable == "wind_speed_10m" || variable == "wind_gusts_10m" { return (value * 36).rounded() / 10 }
        return value
    }

    private func openWeatherMap(_ p: [String: String]) -> (Int, [UInt8]) {
        let now = options.clock.now()
        func error(_ status: Int, _ message: String) -> (Int, [UInt8]) {
            var w = JSONWriter(capacity: 128)
            w.raw("{\"cod\":")
            w.number(status)
            w.raw(",\"message\":")
            w.string(message)
            w.raw("}")
            return (status, w.bytes)
        }
        guard let appid = p["appid"], options.openWeatherMapKey.map({ $0 == appid }) ?? !appid.isEmpty else {
            return error(401, "Invalid API key. Please see https://openweathermap.org/faq#error401 for more info.")
        }
        guard let lat = p["lat"].flatMap(Double.init), let lon = p["lon"].flatMap(Double.init),
              (-90...90).contains(lat), (-180...180).contains(lon) else {
            return error(400, "wrong latitude")
        }
        if openWeatherMapQuota.take(1, at: now) != nil {
            return error(429, StubQuota.openWeatherMapMessage)
        }
        let metric = p["units"] == "metric"
        let t = Int64(now.timeIntervalSince1970) / 600 * 600
        let x = StubWeather(latitude: lat, longitude: lon, t: t)
        let condition = x.weatherCode == 73 ? 601 : (x.weatherCode == 61 ? 501 : (x.weatherCode == 3 ? 804 : (x.weatherCode == 2 ? 802 : 800)))
        func temp(_ c: Double) -> Double { metric ? c : ((c + 273.15) * 100).rounded() / 100 }
        var w = JSONWriter(capacity: 512)
        w.raw("{\"coord\":{\"lon\":"); w.number(lon); w.raw(",\"lat\":"); w.number(lat)
        w.raw("},\"weather\":[{\"id\":"); w.number(condition); w.raw(",\"main\":\"Stub\",\"description\":\"stub weather\",\"icon\":\"01d\"}]")
        w.raw(",\"base\":\"stations\",\"main\":{\"temp\":"); w.number(temp(x.temperature))
        w.raw(",\"feels_like\":"); w.number(temp(x.apparentTemperature))
        w.raw(",\"pressure\":"); w.number(x.pressure.rounded())
        w.raw(",\"humidity\":"); w.number(x.humidity)
        w.raw("},\"visibility\":"); w.number(min(10_000, x.visibility))
        w.raw(",\"wind\":{\"speed\":"); w.number(x.windSpeed); w.raw(",\"deg\":"); w.number(x.windDirection)
        w.raw(",\"gust\":"); w.number(x.windGusts)
        w.raw("},\"clouds\":{\"all\":"); w.number(x.cloudCover); w.raw("}")
        if x.rain > 0 { w.raw(",\"rain\":{\"1h\":"); w.number(x.rain); w.raw("}") }
        if x.snowfall > 0 { w.raw(",\"snow\":{\"1h\":"); w.number((x.snowfall / 0.7 * 100).rounded() / 100); w.raw("}") }
        w.raw(",\"dt\":"); w.number(Int(t))
        w.raw(",\"sys\":{\"country\":\"XX\"},\"timezone\":0,\"id\":0,\"name\":\"\",\"cod\":200}")
        return (200, w.bytes)
    }

    private func statsJSON() -> [UInt8] {
        var w = JSONWriter(capacity: 512)
        let c = stats
        w.raw("{\"requests\":{")
        for (i, k) in c.requests.keys.sorted().enumerated() {
            w.key(k, first: i == 0)
            w.number(c.requests[k]!)
        }
        w.raw("},\"locations\":"); w.number(c.locations)
        w.raw(",\"hourly_rows\":"); w.number(c.hourlyRows)
        w.raw(",\"bad_requests\":"); w.number(c.badRequests)
        for (name, quota) in [("open_meteo", openMeteoQuota), ("openweathermap", openWeatherMapQuota)] {
            let s = quota.stats
            w.key(name)
            w.raw("{\"accepted\":"); w.number(s.accepted)
            w.raw(",\"weight\":"); w.number((s.weight * 1000).rounded() / 1000)
            w.raw(",\"refused\":{")
            for (i, window) in QuotaWindow.allCases.enumerated() {
                w.key(window.rawValue, first: i == 0)
                w.number(s.refused[window] ?? 0)
            }
            w.raw("},\"peak\":{")
            for (i, window) in QuotaWindow.allCases.enumerated() {
                w.key(window.rawValue, first: i == 0)
                w.number(((s.peak[window] ?? 0) * 1000).rounded() / 1000)
            }
            w.raw("},\"limits\":{")
            for (i, window) in QuotaWindow.allCases.enumerated() {
                w.key(window.rawValue, first: i == 0)
                w.optional(quota.limits[window])
            }
            w.raw("}}")
        }
        w.raw("}")
        return w.bytes
    }
}
