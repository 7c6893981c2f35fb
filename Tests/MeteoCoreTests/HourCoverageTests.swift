import Foundation
import MeteoCore
import Testing

@Suite("Hour coverage: the arithmetic of meteo gaps and backfill --fill-gaps")
struct HourCoverageTests {
    @Test func runsMergeConsecutiveHoursAndIgnoreRepeats() {
        #expect(HourCoverage.runs([Int64]()) == [])
        #expect(HourCoverage.runs([1, 2, 2, 3, 7, 9, 10] as [Int64]) == [1..<4, 7..<8, 9..<11])
        var builder = HourCoverage.Builder()
        for h in [10, 3, 4, 10, 11, 5, 20] as [Int64] { builder.add(h) }
        #expect(builder.runs == [3..<6, 10..<12, 20..<21])
    }

    @Test func missingIsTheComplementWithinTheExpectedSpan() {
        #expect(HourCoverage.missing(0..<48, observed: []) == [0..<48])
        #expect(HourCoverage.missing(0..<48, observed: [0..<48]) == [])
        #expect(HourCoverage.missing(0..<48, observed: [-10..<5, 10..<12, 40..<100]) == [5..<10, 12..<40])
        #expect(HourCoverage.missing(24..<48, observed: [0..<10, 30..<31]) == [24..<30, 31..<48])
        #expect(HourCoverage.count([5..<10, 12..<40]) == 33)
    }

    @Test func expectedHoursStopAtNow() throws {
        let now = try #require(ISO8601.date(from: "2026-01-02T07:30:00Z"))
        let day = BackfillPlanner.day(now)
        // Two whole days before, then today up to the hour that holds now (07:00).
        #expect(HourCoverage.expected(firstDay: day - 2, lastDay: day, now: now) == (day - 2) * 24..<(day * 24 + 8))
        #expect(HourCoverage.expected(firstDay: day - 2, lastDay: day - 1, now: now).count == 48)
        #expect(HourCoverage.expected(firstDay: day + 1, lastDay: day + 2, now: now).isEmpty)
    }

    @Test func needsAreTheWholeDaysOfTheMissingHoursMerged() {
        let d: Int64 = 20_000
        let missing: [Range<Int64>] = [
            (d * 24 + 3)..<(d * 24 + 5),          // day d
            (d * 24 + 20)..<((d + 1) * 24 + 2),   // days d and d+1
            ((d + 4) * 24)..<((d + 5) * 24),      // day d+4 whole
        ]
        let needs = HourCoverage.needs(placeID: "p", missing: missing)
        #expect(needs == [.init(placeID: "p", firstDay: d, lastDay: d + 1), .init(placeID: "p", firstDay: d + 4, lastDay: d + 4)])
        #expect(HourCoverage.needs(placeID: "p", missing: []).isEmpty)
    }

    @Test func placeGapsKeepOnlyPlacesWithMissingHours() {
        let gaps = PlaceGaps.find(placeIDs: ["a", "b", "c"], expected: 0..<24, observed: ["a": [0..<24], "b": [0..<12]])
        #expect(gaps == [PlaceGaps(placeID: "b", missing: [12..<24]), PlaceGaps(placeID: "c", missing: [0..<24])])
        #expect(gaps.map(\.hours) == [12, 24])
    }

    @Test func recentRequestsWeighWhatOpenMeteoCounts() {
        let planner = BackfillPlanner(plan: .openMeteoFree, archiveVariables: 12, recentVariables: 13, archiveLagDays: 5)
        let today: Int64 = 20_000
        // Up to today: past_days 4 and forecast_days 1, five days.
        #expect(BackfillPlanner.recentRequest(firstDay: today - 4, lastDay: today, today: today) == (4, 1, 5))
        // Up to yesterday: past_days 4 and no forecast day.
        #expect(BackfillPlanner.recentRequest(firstDay: today - 4, lastDay: today - 1, today: today) == (4, 0, 4))
        let chunks = planner.chunks([.init(placeID: "a", firstDay: today - 4, lastDay: today - 2)], today: today)
        #expect(chunks.count == 1 && chunks[0].endpoint == .recent)
        #expect(abs(chunks[0].weight - CallWeight.openMeteo(variables: 13, days: 4)) < 1e-12)
    }
}
