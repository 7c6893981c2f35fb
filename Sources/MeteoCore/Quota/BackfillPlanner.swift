import Foundation

/// One request of a backfill: some places over some whole UTC days, from the archive or (for
/// the days the archive does not hold yet) from the forecast API's `past_days`.
public struct BackfillChunk: Sendable, Hashable, Codable {
    public enum Endpoint: String, Sendable, Hashable, Codable { case archive, recent }

    public var endpoint: Endpoint
    /// Days since 1970-01-01 (UTC), first and last included.
    public var firstDay: Int64
    public var lastDay: Int64
    public var placeIDs: [String]
    /// The request's weight in the provider's quota.
    public var weight: Double

    public init(endpoint: Endpoint, firstDay: Int64, lastDay: Int64, placeIDs: [String], weight: Double) {
        self.endpoint = endpoint
        self.firstDay = firstDay
        self.lastDay = lastDay
        self.placeIDs = placeIDs
        self.weight = weight
    }

    public var days: Int { Int(lastDay - firstDay + 1) }
    /// Hourly observations the chunk asks for.
    public var hours: Int { days * 24 * placeIDs.count }
    /// A stable name, for the checkpoint: the days, the endpoint and a digest of the places.
    public var key: String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for id in placeIDs {
            for b in id.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
            h = (h ^ 0x1f) &* 0x100_0000_01b3
        }
        return "\(endpoint.rawValue)/\(BackfillPlanner.date(firstDay))/\(BackfillPlanner.date(lastDay))/\(placeIDs.count)/\(String(h, radix: 16))"
    }
}

/// Cuts a backfill (places × days) into requests that each fit one minute of the plan, weigh
/// as little as the formula allows, and keep responses to a sensible size; and estimates what it
/// costs.
///
/// - Days older than ``archiveLagDays`` come from the archive (`/v1/archive`), the days after
///   from the forecast API's `past_days` (the archive holds data from about five days back).
/// - A request covers at most ``maxDaysPerRequest`` days (31): Open-Meteo weighs a request by
///   `max(1, days / 14)`, so shorter requests would cost more per day and longer ones make
///   large responses. A range is cut into near-equal parts.
/// - Places per request: as many as one minute of the plan pays for, at most 1,000 and at most
///   ``maxRowsPerRequest`` hourly rows.
public struct BackfillPlanner: Sendable, Hashable {
    public var plan: ProviderPlan
    /// Variables asked for per place from the archive, and from the forecast API.
    public var archiveVariables: Int
    public var recentVariables: Int
    public var archiveLagDays: Int
    public var maxDaysPerRequest: Int
    public var maxRowsPerRequest: Int

    public init(plan: ProviderPlan, archiveVariables: Int, recentVariables: Int, archiveLagDays: Int = 5,
                maxDaysPerRequest: Int = 31, maxRowsPerRequest: Int = 100_000) {
        self.plan = plan
        self.archiveVariables = max(1, archiveVariables)
        self.recentVariables = max(1, recentVariables)
        self.archiveLagDays = max(0, archiveLagDays)
        self.maxDaysPerRequest = max(1, maxDaysPerRequest)
        self.maxRowsPerRequest = max(24, maxRowsPerRequest)
    }

    /// What one place needs: a range of whole UTC days (days since 1970-01-01, both included).
    public struct Need: Sendable, Hashable {
        public var placeID: String
        public var firstDay: Int64
        public var lastDay: Int64

        public init(placeID: String, firstDay: Int64, lastDay: Int64) {
            self.placeID = placeID
            self.firstDay = firstDay
            self.lastDay = lastDay
        }
    }

    /// The requests for these needs, given that today (UTC) is `today` (days since 1970). Days
    /// after today are not asked for.
    public func chunks(_ needs: [Need], today: Int64) -> [BackfillChunk] {
        // Places needing the same days travel together.
        var groups: [Range: [String]] = [:]
        var order: [Range] = []
        let firstRecent = today - Int64(archiveLagDays) + 1
        for need in needs {
            let last = min(need.lastDay, today)
            guard need.firstDay <= last else { continue }
            var parts: [Range] = []
            if need.firstDay < firstRecent {
                parts.append(Range(endpoint: .archive, first: need.firstDay, last: min(last, firstRecent - 1)))
            }
            if last >= firstRecent {
                parts.append(Range(endpoint: .recent, first: max(need.firstDay, firstRecent), last: last))
            }
            for part in parts {
                if groups[part] == nil { order.append(part) }
                groups[part, default: []].append(need.placeID)
            }
        }
        var out: [BackfillChunk] = []
        for range in order {
            let ids = groups[range]!
            for (first, last) in split(range) {
                let days = Int(last - first + 1)
                let weighedDays = range.endpoint == .recent
                    ? Double(Self.recentRequest(firstDay: first, lastDay: last, today: today).days) : Double(days)
                let variables = range.endpoint == .recent ? recentVariables : archiveVariables
                let placeWeight = CallWeight.openMeteo(variables: variables, days: weighedDays)
                var perRequest = min(plan.maxPlacesPerRequest, max(1, maxRowsPerRequest / (days * 24)))
                if let minute = plan.limits[.minute] { perRequest = min(perRequest, max(1, Int((minute / placeWeight + 1e-9).rounded(.down)))) }
                var start = 0
                while start < ids.count {
                    let slice = Array(ids[start..<min(ids.count, start + perRequest)])
                    out.append(BackfillChunk(endpoint: range.endpoint, firstDay: first, lastDay: last, placeIDs: slice,
                                             weight: placeWeight * Double(slice.count)))
                    start += perRequest
                }
            }
        }
        return out
    }

    /// The forecast API's request for recent days: `past_days` reaches back to the first day
    /// and `forecast_days` is 1 (today) when the last day is today, else 0. Open-Meteo weighs it
    /// by `past_days + forecast_days` days; the hours after the last day asked for, and after now,
    /// are dropped from its answer.
    public static func recentRequest(firstDay: Int64, lastDay: Int64, today: Int64) -> (pastDays: Int, forecastDays: Int, days: Int) {
        let past = Int(max(0, today - firstDay))
        let forecast = lastDay >= today ? 1 : 0
        return (past, forecast, max(1, past + forecast))
    }

    struct Range: Hashable {
        var endpoint: BackfillChunk.Endpoint
        var first: Int64
        var last: Int64
    }

    /// A range cut into near-equal parts of at most `maxDaysPerRequest` days (the recent days
    /// stay one request: past_days reaches 92 days back).
    func split(_ range: Range) -> [(Int64, Int64)] {
        let days = range.last - range.first + 1
        if range.endpoint == .recent { return [(range.first, range.last)] }
        let parts = (days + Int64(maxDaysPerRequest) - 1) / Int64(maxDaysPerRequest)
        var out: [(Int64, Int64)] = []
        var first = range.first
        for i in 0..<parts {
            let size = days / parts + (i < days % parts ? 1 : 0)
            out.append((first, first + size - 1))
            first += size
        }
        return out
    }

    /// What a backfill costs, and how long the plan makes it take at the least.
    public func estimate(_ chunks: [BackfillChunk]) -> BackfillEstimate {
        let calls = chunks.reduce(0) { $0 + $1.weight }
        var longest = 0.0
        for (window, limit) in plan.limits {
            // At most `limit` calls a window: the last window starts after all full ones.
            let full = (calls / limit).rounded(.up) - 1
            longest = max(longest, full * Double(window.plannedSeconds == 31 * 86_400 ? 30 * 86_400 : window.plannedSeconds))
        }
        return BackfillEstimate(requests: chunks.count, calls: calls, observations: chunks.reduce(0) { $0 + $1.hours },
                                minimumSeconds: longest)
    }

    /// Days since 1970-01-01 of a UTC time.
    public static func day(_ date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 / 86_400).rounded(.down))
    }

    /// `2026-12-07` for a day number.
    public static func date(_ day: Int64) -> String {
        String(ISO8601.string(from: Date(timeIntervalSince1970: Double(day) * 86_400)).prefix(10))
    }
}

/// The cost of a backfill.
public struct BackfillEstimate: Sendable, Hashable {
    public var requests: Int
    /// Weighted calls.
    public var calls: Double
    /// Hourly observations asked for.
    public var observations: Int
    /// The least time the plan's limits allow it to take (the requests' own time aside).
    public var minimumSeconds: Double
}
