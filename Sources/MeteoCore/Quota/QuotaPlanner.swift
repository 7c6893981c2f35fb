import Foundation

/// Plans live polling inside a provider plan: what a poll weighs, what a schedule asks of each
/// window, whether it fits, the shortest interval that fits and the most places that fit.
///
/// The model, for `C` weighted calls a poll and an interval `I`:
/// - **A window at least as long as the interval** (an hour when polling every 10 min) sees at
///   most `⌈W / I⌉` polls (exactly `W / I` when `I` divides `W`, whatever the phase), so it
///   fits when that many polls weigh no more than its limit. A month is taken as 31 days.
/// - **A window shorter than the interval** (the minute, when polling every 10 min) sees at
///   most one poll; a poll heavier than the window's limit is spread by the limiter over as many
///   windows as its requests need, so it fits when those windows end before the next poll.
/// - One request never weighs more than the minute's limit (``placesPerRequest``).
public struct QuotaPlanner: Sendable, Hashable {
    public var plan: ProviderPlan
    /// Variables asked for per place (Open-Meteo's weight counts them; OpenWeatherMap's does not).
    public var variables: Int
    /// Days of data a request covers (Open-Meteo's weight counts them above 14).
    public var days: Double

    /// The step of `--interval auto` and the shortest interval worth polling: Open-Meteo's
    /// `current` block is its 15-minute model step, so polling more often repeats observations.
    public static let step: Int64 = 900
    /// The longest interval the planner proposes.
    public static let longestInterval: Int64 = 31 * 86_400

    public init(plan: ProviderPlan, variables: Int, days: Double = 1) {
        self.plan = plan
        self.variables = max(1, variables)
        self.days = days
    }

    /// The weight of one place in one request.
    public var placeWeight: Double {
        switch plan.provider {
        case .openMeteo: CallWeight.openMeteo(variables: variables, days: days)
        case .openWeatherMap: 1
        }
    }

    /// Places one request carries: as many as the plan's per-request maximum allows, and no more
    /// than one minute's allowance can pay for (461 at 13 variables on the free plan: 461 × 1.3 = 599.3).
    public var placesPerRequest: Int {
        var n = plan.maxPlacesPerRequest
        if let minute = plan.limits[.minute] {
            n = min(n, Int((minute / placeWeight + 1e-9).rounded(.down)))
        }
        return max(1, n)
    }

    /// The weights of the requests of one poll of `places` places.
    public func requestWeights(places: Int) -> [Double] {
        guard places > 0 else { return [] }
        let per = placesPerRequest
        var out = [Double](repeating: Double(per) * placeWeight, count: places / per)
        if places % per != 0 { out.append(Double(places % per) * placeWeight) }
        return out
    }

    /// Weighted calls of one poll.
    public func callsPerPoll(places: Int) -> Double { Double(places) * placeWeight }

    /// What a schedule asks of the plan.
    public func estimate(places: Int, interval: Duration) -> LivePlan {
        let seconds = Int64(interval.seconds.rounded(.up))
        let c = callsPerPoll(places: places)
        let weights = requestWeights(places: places)
        var calls: [QuotaWindow: Double] = [:]
        var fits: [QuotaWindow: Bool] = [:]
        for window in QuotaWindow.allCases {
            let w = window.plannedSeconds
            let limit = plan.limits[window]
            if seconds <= 0 {
                // No pause between polls: the schedule asks for as much as it can get.
                calls[window] = places == 0 ? 0 : .infinity
                fits[window] = limit == nil || places == 0
                continue
            }
            if seconds >= w {
                let bins = Self.pack(weights, into: limit)
                calls[window] = bins.max() ?? 0
                fits[window] = limit == nil || Int64(bins.count) * w <= seconds
            } else {
                let polls = (w + seconds - 1) / seconds
                calls[window] = Double(polls) * c
                fits[window] = limit.map { Double(polls) * c <= $0 + 1e-6 } ?? true
            }
        }
        return LivePlan(planner: self, places: places, intervalSeconds: seconds, callsPerPoll: c,
                        requestsPerPoll: weights.count, calls: calls, fitsByWindow: fits)
    }

    /// Whether polling `places` places every `seconds` fits every window.
    public func fits(places: Int, intervalSeconds seconds: Int64) -> Bool {
        estimate(places: places, interval: .seconds(seconds)).fits
    }

    /// The shortest interval on a 15-minute step that fits, or nil when not even polling once
    /// every 31 days does.
    public func shortestInterval(places: Int) -> Int64? {
        if plan.isUnlimited || places == 0 { return Self.step }
        var s = Self.step
        while s <= Self.longestInterval {
            if fits(places: places, intervalSeconds: s) { return s }
            s += Self.step
        }
        return nil
    }

    /// The most places that fit at this interval, or nil when the plan has no limit.
    public func maxPlaces(intervalSeconds seconds: Int64) -> Int? {
        if plan.isUnlimited { return nil }
        var low = 0, high = 1
        while high < 100_000_000, fits(places: high, intervalSeconds: seconds) {
            low = high
            high *= 2
        }
        // fits(low) holds (or low == 0); fits(high) does not.
        while high - low > 1 {
            let mid = (low + high) / 2
            if fits(places: mid, intervalSeconds: seconds) { low = mid } else { high = mid }
        }
        return low
    }

    /// Consecutive requests packed into windows of `limit` calls: the calls each window holds.
    static func pack(_ weights: [Double], into limit: Double?) -> [Double] {
        guard let limit else { return [weights.reduce(0, +)] }
        var bins: [Double] = []
        var current = 0.0
        for w in weights {
            if current > 0, current + w > limit + 1e-9 {
                bins.append(current)
                current = 0
            }
            current += w
        }
        if current > 0 || bins.isEmpty { bins.append(current) }
        return bins
    }
}

/// A schedule's demands on a plan (``QuotaPlanner/estimate(places:interval:)``).
public struct LivePlan: Sendable, Hashable {
    public var planner: QuotaPlanner
    public var places: Int
    public var intervalSeconds: Int64
    public var callsPerPoll: Double
    public var requestsPerPoll: Int
    /// The most calls the schedule asks of one window of each kind.
    public var calls: [QuotaWindow: Double]
    public var fitsByWindow: [QuotaWindow: Bool]

    public var fits: Bool { fitsByWindow.values.allSatisfy { $0 } }
    public var plan: ProviderPlan { planner.plan }
    /// The windows that do not fit, shortest first.
    public var overWindows: [QuotaWindow] { QuotaWindow.allCases.filter { fitsByWindow[$0] == false } }

    /// The one line that refuses a schedule that does not fit, with what would fit.
    /// For example: `1,630 places × 13 variables every 10 min need 305,136 calls a day; the
    /// Open-Meteo free plan allows 10,000: use --interval 6h, at most 51 places, or an API key
    /// (METEO_OPEN_METEO_API_KEY)`.
    public func refusal() -> String {
        let what = planner.plan.provider == .openMeteo
            ? "\(formatCount(places)) places × \(planner.variables) variables"
            : "\(formatCount(places)) places"
        let every = intervalSeconds > 0 ? "every \(Self.duration(Double(intervalSeconds)))" : "with no pause between polls"
        // The window named: the day when it is over (the allowance people know), else the most over.
        let over = overWindows
        let named = over.contains(.day) ? .day : over.max { ratio($0) < ratio($1) } ?? .day
        let needs: String
        if intervalSeconds >= named.plannedSeconds, let limit = plan.limits[named] {
            let windows = QuotaPlanner.pack(planner.requestWeights(places: places), into: limit).count
            needs = "need \(windows) \(named.rawValue)s of \(formatCalls(limit)) calls for each poll of \(formatCalls(callsPerPoll)); \(plan.name) allows \(formatCalls(limit)) a\(named == .hour ? "n" : "") \(named.rawValue)"
        } else {
            let span = named == .month ? "a 31-day month" : "a\(named == .hour ? "n" : "") \(named.rawValue)"
            needs = "need \(formatCalls(calls[named] ?? 0)) calls \(span); \(plan.name) allows \(plan.limits[named].map(formatCalls) ?? "no limit")"
        }
        var fixes: [String] = []
        if let s = planner.shortestInterval(places: places) { fixes.append("use --interval \(Self.flag(s))") }
        if let n = planner.maxPlaces(intervalSeconds: intervalSeconds) { fixes.append("at most \(formatCount(n)) places") }
        if planner.plan.provider == .openMeteo && planner.plan.tier == .free {
            fixes.append("or an API key (METEO_OPEN_METEO_API_KEY)")
        } else {
            fixes.append("or raise --quota to your subscription's limits")
        }
        return "\(what) \(every) \(needs): \(fixes.joined(separator: ", "))"
    }

    /// How far over its limit a window is.
    func ratio(_ window: QuotaWindow) -> Double {
        guard let limit = plan.limits[window], let c = calls[window] else { return 0 }
        return c / limit
    }

    /// `10 min`, `6h`, `5h15m`, `90 s`, `2d`: how intervals are written in sentences.
    public static func duration(_ seconds: Double) -> String {
        let s = Int64(seconds.rounded())
        if s < 60 { return "\(s) s" }
        if s < 3600, s % 60 == 0 { return "\(s / 60) min" }
        return flag(s)
    }

    /// `10m`, `6h`, `5h15m`, `90s`, `2d`: an interval as `--interval` reads it.
    public static func flag(_ seconds: Int64) -> String {
        var rest = max(0, seconds)
        var out = ""
        for (unit, size) in [("d", Int64(86_400)), ("h", 3600), ("m", 60)] where rest >= size {
            out += "\(rest / size)\(unit)"
            rest %= size
        }
        if rest > 0 || out.isEmpty { out += "\(rest)s" }
        return out
    }
}
