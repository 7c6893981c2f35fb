import Foundation
import Logging
import MeteoCore
import MeteoSources
import Testing

/// The synthetic source as `meteo ingest` builds it: a live-looking run ticks at its interval
/// from the current interval boundary, a backfill (`--interval 0`) every 10 minutes.
@Suite("Synthetic source clock")
struct SyntheticClockTests {
    func firstTwoTimes(interval: Duration) async throws -> (Date, Date, Date) {
        var config = MeteoConfiguration()
        config.source = .synthetic
        config.interval = interval
        let before = Date()
        let source = try SourceFactory.make(config: config, logger: Logger(label: "clock-test"))
        let place = try #require(try PlaceCatalogue.bundled().places(in: Region.builtin).first)
        let a = try await source.poll([place]).observations[0].observedAt
        let b = try await source.poll([place]).observations[0].observedAt
        return (before, a, b)
    }

    @Test func aLiveRunTicksAtItsInterval() async throws {
        let (before, first, second) = try await firstTwoTimes(interval: .seconds(10))
        #expect(second.timeIntervalSince(first) == 10)
        #expect(first.timeIntervalSince1970.truncatingRemainder(dividingBy: 10) == 0)
        #expect(first <= before && before.timeIntervalSince(first) < 10, "the first poll is observed now, to the interval")
    }

    @Test func aBackfillTicksEveryTenMinutes() async throws {
        let (before, first, second) = try await firstTwoTimes(interval: .zero)
        #expect(second.timeIntervalSince(first) == 600)
        #expect(first.timeIntervalSince1970.truncatingRemainder(dividingBy: 600) == 0)
        #expect(first <= before && before.timeIntervalSince(first) < 600)
    }
}
