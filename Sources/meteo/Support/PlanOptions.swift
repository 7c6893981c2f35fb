import ArgumentParser

/// The provider plan: which tier, and its limits.
struct PlanOptions: ParsableArguments {
    @Option(help: ArgumentHelp("auto, free, api-key or self-hosted (METEO_PLAN). auto: api-key when METEO_OPEN_METEO_API_KEY is set, else free.", valueName: "plan"))
    var plan: String?

    @Option(help: ArgumentHelp("The plan's limits, replacing its defaults: minute=600,hour=5000,day=10000,month=300000; any subset; a window =none lifts it, none lifts all (METEO_QUOTA).", valueName: "limits"))
    var quota: String?

    var flags: [String: String?] { ["plan": plan, "quota": quota] }
}
