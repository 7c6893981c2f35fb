import ArgumentParser
import Foundation
import MeteoCore
import MeteoStub

/// A stub of Open-Meteo (forecast and archive) and OpenWeatherMap on 127.0.0.1 that serves
/// their documented formats and enforces their limits: for scripts and benchmarks. Tests use
/// the `MeteoStub` library in process.
@main
struct MeteoStubCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "meteo-stub",
        abstract: "A local stub of the Open-Meteo and OpenWeatherMap APIs, with their quotas.",
        discussion: """
        Prints 'listening on http://127.0.0.1:PORT' once ready, then serves until SIGTERM.
          /v1/forecast   Open-Meteo forecast (current=…, hourly=… with past_days)
          /v1/archive    Open-Meteo historical archive (start_date, end_date, hourly=…)
          /data/2.5/weather  OpenWeatherMap current weather (appid)
          /stub/stats    what the stub counted, as JSON

        Examples:
          meteo-stub --port 8099
          meteo-stub --open-meteo-quota none        no limits (a self-hosted Open-Meteo)
          meteo-stub --open-meteo-quota minute=100000,hour=none,day=none,month=none
        """
    )

    @Option(help: "Port on 127.0.0.1 (0: any free port).")
    var port = 0

    @Option(name: .customLong("open-meteo-quota"), help: "Open-Meteo limits: minute=600,hour=5000,day=10000,month=300000 (the free plan), any subset, or none.")
    var openMeteoQuota: String?

    @Option(name: .customLong("owm-quota"), help: "OpenWeatherMap limits (default minute=60,month=1000000).")
    var owmQuota: String?

    @Option(name: .customLong("open-meteo-api-key"), help: "Require this apikey on Open-Meteo requests.")
    var openMeteoAPIKey: String?

    @Option(name: .customLong("owm-key"), help: "Require this appid on OpenWeatherMap requests (default: any non-empty one).")
    var owmKey: String?

    @Option(name: .customLong("archive-lag-days"), help: "The last days (today included) that the archive does not hold yet.")
    var archiveLagDays = 5

    @Flag(help: "Keep each hourly answer and send the same bytes for the same request again (benchmarks: the second run leaves out the stub's work).")
    var memoize = false

    func run() async throws {
        var options = WeatherAPIStub.Options()
        options.port = port
        options.openMeteoAPIKey = openMeteoAPIKey
        options.openWeatherMapKey = owmKey
        options.archiveLagDays = archiveLagDays
        options.memoize = memoize
        if let openMeteoQuota { options.openMeteoLimits = try Self.limits(openMeteoQuota, base: options.openMeteoLimits) }
        if let owmQuota { options.openWeatherMapLimits = try Self.limits(owmQuota, base: options.openWeatherMapLimits) }
        let stub = try await WeatherAPIStub.bind(options)
        FileHandle.standardOutput.write(Data("listening on \(stub.baseURL)\n".utf8))
        await stub.run()
    }

    static func limits(_ text: String, base: [QuotaWindow: Double]) throws -> [QuotaWindow: Double] {
        guard let parsed = ProviderPlan.parseLimits(text) else {
            throw ValidationError("invalid quota '\(text)': expected minute=600,hour=5000,day=10000,month=300000 or none")
        }
        var out = base
        for (window, limit) in parsed { out[window] = limit }
        return out
    }
}
