import ArgumentParser
import Foundation
import Hummingbird
import Logging
import MeteoCore
import MeteoEmbedded
import MeteoServer
import ServiceLifecycle
import UnixSignals

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the latest weather as a web page and a JSON API.",
        discussion: """
        Binds 127.0.0.1:8080 by default and prints the URL. Routes:
          /                       key figures and the latest observation of every place (refreshes every 30 s)
          /api/latest?region=R    the latest observation of each place, JSON
          /api/observations?place=ID&region=R&since=T&until=T&limit=N
          /healthz
        Ctrl-C or SIGTERM stop it gracefully.
        """
    )

    @OptionGroup var common: CommonOptions
    @OptionGroup(title: "Store") var storeOptions: StoreOptions

    @Option(help: "Address to bind.")
    var host: String = "127.0.0.1"

    @Option(help: "Port to bind.")
    var port: Int = 8080

    func run() async throws {
        try await runReportingErrors {
            let logger = common.bootstrapLogging()
            let configuration = try common.configuration(extra: storeOptions.flags)
            try await Self.serve(configuration: configuration, host: host, port: port, logger: logger)
        }
    }

    static func serve(configuration: MeteoConfiguration, host: String, port: Int, logger: Logger) async throws {
        guard host == "127.0.0.1" || host == "localhost" || host == "::1" else {
            throw MeteoError(code: .invalidConfiguration, "binding \(host) would expose the data beyond this machine; only 127.0.0.1 is allowed until authentication exists")
        }
        guard (1...65_535).contains(port) else { throw MeteoError(code: .invalidConfiguration, "--port must be between 1 and 65535") }
        let store = try await Backends(configuration: configuration, logger: logger).openStore()
        let app = MeteoApp.make(store: store, deadLetters: store, configuration: .init(host: host, port: port), logger: logger)
        Terminal.progress("Serving \(configuration.dataDir) on http://\(host):\(port)/ (Ctrl-C to stop)")
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: app)], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}
