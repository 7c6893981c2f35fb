import ArgumentParser
import MeteoCore

@main
struct Meteo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "meteo",
        abstract: "Pull live weather for thousands of places, stream it, store it, query it.",
        discussion: """
        Meteo polls a weather source (Open-Meteo by default, OpenWeatherMap, a recording, or a \
        deterministic synthetic generator), publishes each observation as a keyed event on a bus \
        (an embedded durable log, or Kafka), and a sink writes them idempotently into a store \
        (embedded SQLite, or MongoDB). 'meteo analyze' computes correlations, per-region \
        statistics, rain and snow counts, time windows and extremes over what was stored.

        With no servers, everything runs in one process from the data dir (default ./meteo-data).

        Start here:
          meteo demo --ticks 3 --no-serve      synthetic weather for 1,630 places, end to end
          meteo query --place Strasbourg       the latest weather of a place and its history
          meteo analyze                        correlations, region statistics, rain and snow
          meteo places --region EuropeW        which places a region covers

        Settings come from flags, then METEO_* environment variables, then a JSON config file \
        (--config FILE or METEO_CONFIG). 'meteo doctor' checks them and reaches each backend.

        \(PlaceCatalogue.attribution)
        """,
        subcommands: [DemoCommand.self, IngestCommand.self, SinkCommand.self, QueryCommand.self, AnalyzeCommand.self, ServeCommand.self,
                      PlacesCommand.self, PlanCommand.self, BackfillCommand.self, GapsCommand.self, LakeCommand.self, DoctorCommand.self]
    )
}
