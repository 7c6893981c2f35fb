import Foundation

/// What a weather provider lets this user call: the calls allowed per window, how one request
/// is weighed, and how many places one request may carry.
///
/// The plans Meteo knows:
/// - **Open-Meteo free** (the default): 600 calls a minute, 5,000 an hour, 10,000 a day and
///   300,000 a month, per IP address, for non-commercial use.
/// - **Open-Meteo with an API key** (`METEO_OPEN_METEO_API_KEY`): the customer endpoint
///   (`customer-api.open-meteo.com`) and the `apikey` parameter. Its limits depend on the
///   subscription, so they are the user's to set (`--quota`); the default is the Standard
///   subscription's 1,000,000 calls a month.
/// - **Self-hosted Open-Meteo** (its server is open source): no limits at all.
/// - **OpenWeatherMap free**: 60 calls a minute and 1,000,000 a month; one place a request.
public struct ProviderPlan: Sendable, Hashable {
    public enum Provider: String, Sendable, Hashable {
        case openMeteo = "open-meteo", openWeatherMap = "openweathermap"
    }

    public enum Tier: String, Sendable, Hashable, CaseIterable {
        case free, apiKey = "api-key", selfHosted = "self-hosted"
    }

    public var provider: Provider
    public var tier: Tier
    /// Calls allowed per window; a window that is absent has no limit.
    public var limits: [QuotaWindow: Double]
    /// Places one request may carry (Open-Meteo: 1,000; OpenWeatherMap: 1).
    public var maxPlacesPerRequest: Int
    /// Whether `limits` were set by the user (`--quota`) rather than the plan's defaults.
    public var customLimits: Bool = false

    public init(provider: Provider, tier: Tier, limits: [QuotaWindow: Double], maxPlacesPerRequest: Int, customLimits: Bool = false) {
        self.provider = provider
        self.tier = tier
        self.limits = limits
        self.maxPlacesPerRequest = max(1, maxPlacesPerRequest)
        self.customLimits = customLimits
    }

    public static let openMeteoFree = ProviderPlan(
        provider: .openMeteo, tier: .free,
        limits: [.minute: 600, .hour: 5_000, .day: 10_000, .month: 300_000], maxPlacesPerRequest: 1_000)
    public static let openMeteoAPIKey = ProviderPlan(
        provider: .openMeteo, tier: .apiKey, limits: [.month: 1_000_000], maxPlacesPerRequest: 1_000)
    public static let openMeteoSelfHosted = ProviderPlan(
        provider: .openMeteo, tier: .selfHosted, limits: [:], maxPlacesPerRequest: 1_000)
    public static let openWeatherMapFree = ProviderPlan(
        provider: .openWeatherMap, tier: .free, limits: [.minute: 60, .month: 1_000_000], maxPlacesPerRequest: 1)

    /// The plan of a provider and tier, with its default limits.
    public static func standard(_ provider: Provider, _ tier: Tier) -> ProviderPlan {
        switch (provider, tier) {
        case (.openMeteo, .free): openMeteoFree
        case (.openMeteo, .apiKey): openMeteoAPIKey
        case (.openMeteo, .selfHosted): openMeteoSelfHosted
        case (.openWeatherMap, .selfHosted):
            ProviderPlan(provider: .openWeatherMap, tier: .selfHosted, limits: [:], maxPlacesPerRequest: 1)
        case (.openWeatherMap, _): ProviderPlan(provider: .openWeatherMap, tier: tier, limits: openWeatherMapFree.limits, maxPlacesPerRequest: 1)
        }
    }

    /// The same plan with some windows' limits replaced (`--quota day=20000,month=none`).
    public func with(limits overrides: [QuotaWindow: Double?]) -> ProviderPlan {
        var copy = self
        for (window, limit) in overrides {
            copy.limits[window] = limit
        }
        copy.customLimits = !overrides.isEmpty
        return copy
    }

    /// Whether no window is limited.
    public var isUnlimited: Bool { limits.isEmpty }

    /// "the Open-Meteo free plan", "Open-Meteo with an API key", "a self-hosted Open-Meteo".
    public var name: String {
        let provider = self.provider == .openMeteo ? "Open-Meteo" : "OpenWeatherMap"
        switch tier {
        case .free: return "the \(provider) free plan" + (customLimits ? " (limits from --quota)" : "")
        case .apiKey: return "\(provider) with an API key" + (customLimits ? " (limits from --quota)" : " (Standard subscription limits; set --quota to yours)")
        case .selfHosted: return "a self-hosted \(provider)" + (customLimits ? " (limits from --quota)" : "")
        }
    }

    /// The name of the file that keeps this plan's counts in the data dir: one per provider and
    /// tier, shared by every Meteo process that uses the same data dir (live polling and
    /// backfill count against the same allowance).
    public var ledgerName: String { "\(provider.rawValue)-\(tier.rawValue)" }

    /// `minute=600, hour=5,000, day=10,000, month=300,000` (or `none`).
    public var limitsDescription: String {
        let parts = QuotaWindow.allCases.compactMap { w in limits[w].map { "\(w.rawValue)=\(formatCalls($0))" } }
        return parts.isEmpty ? "none" : parts.joined(separator: ", ")
    }

    /// Parses `--quota`: `minute=600,hour=5000,day=10000,month=300000`, any subset; a window's
    /// value may be `none` (no limit there). `none` alone lifts every limit.
    public static func parseLimits(_ text: String) -> [QuotaWindow: Double?]? {
        let t = text.trimmingCharacters(in: .whitespaces).lowercased()
        if t == "none" || t == "unlimited" {
            return Dictionary(uniqueKeysWithValues: QuotaWindow.allCases.map { ($0, Double?.none) })
        }
        var out: [QuotaWindow: Double?] = [:]
        for part in t.split(whereSeparator: { $0 == "," || $0 == ";" }) {
            let kv = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard kv.count == 2, let window = QuotaWindow(name: kv[0]) else { return nil }
            if kv[1] == "none" || kv[1] == "unlimited" {
                out[window] = .some(nil)
                continue
            }
            guard let v = Double(kv[1].replacingOccurrences(of: "_", with: "")), v.isFinite, v > 0 else { return nil }
            out[window] = .some(v)
        }
        return out.isEmpty ? nil : out
    }
}

/// How a provider weighs one request.
public enum CallWeight {
    /// Open-Meteo's documented weight of one place in one request:
    /// `max(1, variables / 10) × max(1, days / 14)`. A request weighs that times its places.
    ///
    /// Open-Meteo's server computes `max(1, variables / 10 × max(1, days / 14))`, which is never
    /// more than this, so counting with this formula never undercounts.
    public static func openMeteo(variables: Int, days: Double) -> Double {
        max(1, Double(variables) / 10) * max(1, days / 14)
    }

    /// The weight of a request of `places` places.
    public static func openMeteo(variables: Int, days: Double, places: Int) -> Double {
        openMeteo(variables: variables, days: days) * Double(places)
    }
}

/// `2,119` or `599.3`: calls with at most one decimal, thousands separated.
public func formatCalls(_ calls: Double) -> String {
    guard calls.isFinite else { return "∞" }
    let tenths = (calls * 10).rounded()
    let whole = formatCount(Int(tenths / 10))
    let frac = Int(tenths.truncatingRemainder(dividingBy: 10))
    return frac == 0 ? whole : "\(whole).\(frac)"
}
