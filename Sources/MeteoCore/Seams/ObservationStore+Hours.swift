import Foundation

extension ObservationStore {
    /// Reads the selection through ``scan(_:batchSize:)`` and keeps each place's hours; stores
    /// that can group on the server (SQLite) override it.
    public func observedHours(_ query: ObservationQuery) async throws -> [String: [Range<Int64>]] {
        var all = query
        all.limit = nil
        all.after = nil
        var builders: [String: HourCoverage.Builder] = [:]
        for try await batch in scan(all, batchSize: 20_000) {
            for o in batch { builders[o.placeID, default: HourCoverage.Builder()].add(HourCoverage.hour(o.observedAt)) }
        }
        return builders.mapValues(\.runs)
    }
}
