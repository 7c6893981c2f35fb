import MeteoCore

/// What Meteo asks of Open-Meteo for history (`meteo backfill`): the hourly equivalents of the
/// live `current=` variables. The archive (`/v1/archive`, ERA5 and its successors) has no
/// visibility, so that field is null for archive hours; the forecast API's `past_days`, used for
/// the days the archive does not hold yet, has all of them.
public enum OpenMeteoHistory {
    /// The archive's hourly variables.
    public static let archiveVariables = OpenMeteoSource.currentVariables.filter { $0 != "visibility" }
    /// The forecast API's hourly variables for the recent days.
    public static let recentVariables = OpenMeteoSource.currentVariables

    /// The planner of a backfill under `plan`.
    public static func planner(_ plan: ProviderPlan, archiveLagDays: Int = 5) -> BackfillPlanner {
        BackfillPlanner(plan: plan, archiveVariables: archiveVariables.count, recentVariables: recentVariables.count,
                        archiveLagDays: archiveLagDays)
    }
}
