import Foundation

/// Count, mean, minimum and maximum of one variable in one group.
public struct VariableStats: Sendable, Hashable {
    /// Values present (nils are skipped).
    public var n: Int
    public var mean: Double?
    public var min: Double?
    public var max: Double?

    public init(n: Int, mean: Double?, min: Double?, max: Double?) {
        self.n = n
        self.mean = mean
        self.min = min
        self.max = max
    }
}

/// Grouped statistics in one pass: rows are visited in blocks; inside a block each group's
/// sums are plain, branch-free additions (a nil adds 0 and does not count), and at the end of
/// the block they are folded into compensated totals. Each core takes a contiguous run of
/// rows; partial results merge in a fixed order.
enum GroupKernel {
    static let blockSize = 4096

    struct Result: Sendable {
        /// Rows per group.
        var rows: [Int]
        /// Distinct places per group.
        var places: [Int]
        /// `stats[v][g]` for each requested column v.
        var stats: [[VariableStats]]
    }

    private struct Partial {
        var rows: [Int]
        var n: [Int]
        var sums: [CompensatedSum]
        var mins: [Double]
        var maxs: [Double]
        var seen: [UInt8]
    }

    /// - Parameters:
    ///   - groups: the group of each row, -1 for none.
    ///   - places: the place of each row, to count distinct places per group.
    ///   - columns: the variables to aggregate, NaN for nil.
    static func compute(groups: [Int16], groupCount: Int, places: [Int32], placeCount: Int,
                        columns: [[Double]], parallelism: Int) -> Result {
        let rowsTotal = groups.count
        let v = columns.count
        let g = groupCount
        let ranges = splitRanges(count: rowsTotal, workers: parallelism, alignment: blockSize * 4)
        var partials = [Partial?](repeating: nil, count: ranges.count)
        groups.withUnsafeBufferPointer { groupBuffer in
            places.withUnsafeBufferPointer { placeBuffer in
                withColumnPointers(columns) { columnBases in
                    partials.withUnsafeMutableBufferPointer { out in
                        let sink = out
                        let run = { (w: Int) in
                            sink[w] = accumulate(groups: groupBuffer, places: placeBuffer, columns: columnBases,
                                                 groupCount: g, placeCount: placeCount, range: ranges[w])
                        }
                        parallelFor(ranges.count, run)
                    }
                }
            }
        }
        var rows = [Int](repeating: 0, count: g)
        var n = [Int](repeating: 0, count: v * g)
        var sums = [CompensatedSum](repeating: CompensatedSum(), count: v * g)
        var mins = [Double](repeating: .infinity, count: v * g)
        var maxs = [Double](repeating: -.infinity, count: v * g)
        var seen = [UInt8](repeating: 0, count: g * placeCount)
        for p in partials.compactMap({ $0 }) {
            for i in 0..<g { rows[i] += p.rows[i] }
            for i in 0..<(v * g) {
                n[i] += p.n[i]
                sums[i].add(p.sums[i])
                mins[i] = min(mins[i], p.mins[i])
                maxs[i] = max(maxs[i], p.maxs[i])
            }
            for i in seen.indices { seen[i] |= p.seen[i] }
        }
        var placeCounts = [Int](repeating: 0, count: g)
        for i in 0..<g {
            var c = 0
            for p in 0..<placeCount where seen[i * placeCount + p] != 0 { c += 1 }
            placeCounts[i] = c
        }
        let stats = (0..<v).map { c in
            (0..<g).map { i in
                let k = c * g + i
                return n[k] == 0
                    ? VariableStats(n: 0, mean: nil, min: nil, max: nil)
                    : VariableStats(n: n[k], mean: sums[k].value / Double(n[k]), min: mins[k], max: maxs[k])
            }
        }
        return Result(rows: rows, places: placeCounts, stats: stats)
    }

    private static func accumulate(groups: UnsafeBufferPointer<Int16>, places: UnsafeBufferPointer<Int32>,
                                   columns: [UnsafePointer<Double>], groupCount g: Int, placeCount: Int,
                                   range: Range<Int>) -> Partial {
        let v = columns.count
        var rowCounts = [Int](repeating: 0, count: g)
        var counts = [Int](repeating: 0, count: v * g)
        var sums = [CompensatedSum](repeating: CompensatedSum(), count: v * g)
        var minima = [Double](repeating: .infinity, count: v * g)
        var maxima = [Double](repeating: -.infinity, count: v * g)
        var seenPlaces = [UInt8](repeating: 0, count: g * placeCount)
        var blockSums = [Double](repeating: 0, count: v * g)
        rowCounts.withUnsafeMutableBufferPointer { rows in
        counts.withUnsafeMutableBufferPointer { n in
        minima.withUnsafeMutableBufferPointer { mins in
        maxima.withUnsafeMutableBufferPointer { maxs in
        seenPlaces.withUnsafeMutableBufferPointer { seen in
        blockSums.withUnsafeMutableBufferPointer { block in
            var lo = range.lowerBound
            while lo < range.upperBound {
                let hi = min(range.upperBound, lo + blockSize)
                for r in lo..<hi {
                    let group = Int(groups[r])
                    if group < 0 { continue }
                    rows[group] += 1
                    seen[group * placeCount + Int(places[r])] = 1
                    for c in 0..<v {
                        let x = columns[c][r]
                        let k = c * g + group
                        let present = x == x
                        n[k] += present ? 1 : 0
                        block[k] += present ? x : 0
                        mins[k] = x < mins[k] ? x : mins[k]
                        maxs[k] = x > maxs[k] ? x : maxs[k]
                    }
                }
                for k in 0..<(v * g) where block[k] != 0 {
                    sums[k].add(block[k])
                    block[k] = 0
                }
                lo = hi
            }
        }}}}}}
        return Partial(rows: rowCounts, n: counts, sums: sums, mins: minima, maxs: maxima, seen: seenPlaces)
    }
}
