import Foundation

/// Which whole UTC hours a place has observations for, and which it lacks: the arithmetic of
/// `meteo gaps` and `meteo backfill --fill-gaps`.
///
/// Hours are numbered from the Unix epoch (`unix seconds / 3600`, rounded down), and kept as
/// sorted, disjoint, non-adjacent runs (`Range<Int64>`, upper bound excluded): a year of
/// complete history is one run, so the coverage of thousands of places stays small.
/// An hour counts as observed when the place has at least one observation in it (a live
/// observation at 10:15 covers the hour of 10:00).
public enum HourCoverage {
    /// The hour that holds `date`.
    public static func hour(_ date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 / 3600).rounded(.down))
    }

    /// The start of hour `hour`.
    public static func date(_ hour: Int64) -> Date {
        Date(timeIntervalSince1970: Double(hour) * 3600)
    }

    /// The hours that a backfill of days `firstDay...lastDay` (days since 1970) can fill at
    /// `now`: every hour of those days up to the one that holds `now`. Empty when the days are
    /// all after now.
    public static func expected(firstDay: Int64, lastDay: Int64, now: Date) -> Range<Int64> {
        let lower = firstDay * 24
        let upper = min((lastDay + 1) * 24, hour(now) + 1)
        return lower..<max(lower, upper)
    }

    /// Adds hours one by one, in any order, and hands back the runs.
    public struct Builder: Sendable {
        private var hours: [Int64] = []
        private var sorted = true

        public init() {}

        public mutating func add(_ hour: Int64) {
            if let last = hours.last {
                if hour == last { return }
                if hour < last { sorted = false }
            }
            hours.append(hour)
        }

        public var runs: [Range<Int64>] {
            HourCoverage.runs(sorted ? hours : hours.sorted())
        }
    }

    /// The runs of a sorted list of hours (repeats allowed).
    public static func runs<S: Sequence<Int64>>(_ sortedHours: S) -> [Range<Int64>] {
        var out: [Range<Int64>] = []
        for h in sortedHours {
            if let last = out.last, h <= last.upperBound {
                if h == last.upperBound { out[out.count - 1] = last.lowerBound..<(h + 1) }
                continue
            }
            out.append(h..<(h + 1))
        }
        return out
    }

    /// The hours of `expected` not in `observed` (sorted runs), as sorted runs.
    public static func missing(_ expected: Range<Int64>, observed: [Range<Int64>]) -> [Range<Int64>] {
        var out: [Range<Int64>] = []
        var next = expected.lowerBound
        for run in observed {
            if run.upperBound <= next { continue }
            if run.lowerBound >= expected.upperBound { break }
            if run.lowerBound > next { out.append(next..<run.lowerBound) }
            next = max(next, run.upperBound)
            if next >= expected.upperBound { break }
        }
        if next < expected.upperBound { out.append(next..<expected.upperBound) }
        return out
    }

    /// The hours in runs.
    public static func count(_ runs: [Range<Int64>]) -> Int {
        runs.reduce(0) { $0 + Int($1.count) }
    }

    /// What a backfill must ask for to fill `missing` hours of a place: the whole days that
    /// hold them, consecutive days merged into one need.
    public static func needs(placeID: String, missing: [Range<Int64>]) -> [BackfillPlanner.Need] {
        var out: [BackfillPlanner.Need] = []
        for run in missing where !run.isEmpty {
            let first = floorDiv(run.lowerBound, 24)
            let last = floorDiv(run.upperBound - 1, 24)
            if let previous = out.last, first <= previous.lastDay + 1 {
                out[out.count - 1].lastDay = max(previous.lastDay, last)
            } else {
                out.append(BackfillPlanner.Need(placeID: placeID, firstDay: first, lastDay: last))
            }
        }
        return out
    }

    private static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
        let (q, r) = a.quotientAndRemainder(dividingBy: b)
        return r < 0 ? q - 1 : q
    }
}

/// The hours one place lacks over a span: a line of `meteo gaps`.
public struct PlaceGaps: Sendable, Hashable {
    public var placeID: String
    /// Sorted runs of missing hours.
    public var missing: [Range<Int64>]

    public init(placeID: String, missing: [Range<Int64>]) {
        self.placeID = placeID
        self.missing = missing
    }

    public var hours: Int { HourCoverage.count(missing) }

    /// The gaps of `placeIDs` over `expected`, given the hours each has (places with none
    /// lack them all); places without a gap are left out, the others keep their order.
    public static func find(placeIDs: [String], expected: Range<Int64>, observed: [String: [Range<Int64>]]) -> [PlaceGaps] {
        placeIDs.compactMap { id in
            let missing = HourCoverage.missing(expected, observed: observed[id] ?? [])
            return missing.isEmpty ? nil : PlaceGaps(placeID: id, missing: missing)
        }
    }
}
