import Foundation

/// The row of each place's newest observation, in one pass (per core, then merged: a later
/// row wins a tie, as a later write would).
enum LatestKernel {
    /// The latest row of each place, -1 for a place without rows.
    static func latestRows(placeIndex: [Int32], time: [Int64], placeCount: Int, parallelism: Int) -> [Int] {
        let ranges = splitRanges(count: placeIndex.count, workers: parallelism, alignment: 1 << 16)
        var partials = [([Int64], [Int])](repeating: ([], []), count: ranges.count)
        placeIndex.withUnsafeBufferPointer { places in
            time.withUnsafeBufferPointer { times in
                partials.withUnsafeMutableBufferPointer { out in
                    let sink = out
                    let run = { (w: Int) in
                        var bestTime = [Int64](repeating: .min, count: placeCount)
                        var bestRow = [Int](repeating: -1, count: placeCount)
                        bestTime.withUnsafeMutableBufferPointer { bt in
                            bestRow.withUnsafeMutableBufferPointer { br in
                                for r in ranges[w] {
                                    let p = Int(places[r])
                                    let t = times[r]
                                    if t >= bt[p] { bt[p] = t; br[p] = r }
                                }
                            }
                        }
                        sink[w] = (bestTime, bestRow)
                    }
                    parallelFor(ranges.count, run)
                }
            }
        }
        var bestTime = [Int64](repeating: .min, count: placeCount)
        var bestRow = [Int](repeating: -1, count: placeCount)
        for (times, rows) in partials where !rows.isEmpty {
            for p in 0..<placeCount where rows[p] >= 0 && times[p] >= bestTime[p] {
                bestTime[p] = times[p]
                bestRow[p] = rows[p]
            }
        }
        return bestRow
    }
}

/// Means per (group, time bucket), for time series.
enum WindowKernel {
    struct Cell: Sendable {
        var group: Int
        var start: Int64
        var rows: Int
        var means: [Double?]
    }

    /// - Parameters:
    ///   - groups: the group of each row, -1 for none (reported as its own series, with group -1).
    ///   - width: the bucket width in seconds; a row at t falls in floor(t / width) × width.
    static func compute(groups: [Int16], time: [Int64], columns: [[Double]], width: Int64) -> [Cell] {
        precondition(width > 0)
        let rows = time.count
        guard rows > 0 else { return [] }
        let v = columns.count
        // Keys pack (group + 1, bucket) so that a dictionary handles any time range; the
        // accumulators live in flat arrays indexed by the key's slot.
        var slots: [Int64: Int] = [:]
        var keys: [(group: Int, bucket: Int64)] = []
        var counts: [Int] = []
        var n: [Int] = []
        var sums: [CompensatedSum] = []
        var lastKey: Int64 = .min
        var lastSlot = -1
        withColumnPointers(columns) { bases in
            for r in 0..<rows {
                let g = Int(groups[r])
                let t = time[r]
                var bucket = t / width
                if t % width != 0 && t < 0 { bucket -= 1 }
                let key = bucket &* 65_536 &+ Int64(g + 1)
                let slot: Int
                if key == lastKey {
                    slot = lastSlot
                } else if let s = slots[key] {
                    slot = s
                } else {
                    slot = keys.count
                    slots[key] = slot
                    keys.append((g, bucket))
                    counts.append(0)
                    n.append(contentsOf: repeatElement(0, count: v))
                    sums.append(contentsOf: repeatElement(CompensatedSum(), count: v))
                }
                lastKey = key
                lastSlot = slot
                counts[slot] += 1
                for c in 0..<v {
                    let x = bases[c][r]
                    if x == x {
                        n[slot * v + c] += 1
                        sums[slot * v + c].add(x)
                    }
                }
            }
        }
        return keys.indices.map { s in
            Cell(group: keys[s].group, start: keys[s].bucket * width, rows: counts[s],
                 means: (0..<v).map { c in n[s * v + c] == 0 ? nil : sums[s * v + c].value / Double(n[s * v + c]) })
        }
    }
}
