import Foundation

/// Sums of one (x, y) pair over the rows where both are present, with x and y shifted by a
/// per-column constant (the column's first value), so that the sums of squares do not cancel
/// catastrophically when the mean is large against the spread (pressure around 1013 hPa).
struct PairMoments: Sendable {
    var n = 0
    var sa = CompensatedSum(), sb = CompensatedSum()
    var saa = CompensatedSum(), sbb = CompensatedSum(), sab = CompensatedSum()
    var minA = Double.infinity, maxA = -Double.infinity
    var minB = Double.infinity, maxB = -Double.infinity

    mutating func merge(_ o: PairMoments) {
        n += o.n
        sa.add(o.sa); sb.add(o.sb); saa.add(o.saa); sbb.add(o.sbb); sab.add(o.sab)
        minA = min(minA, o.minA); maxA = max(maxA, o.maxA)
        minB = min(minB, o.minB); maxB = max(maxB, o.maxB)
    }

    /// Pearson's r, or nil when it is undefined: fewer than two rows, or a constant x or y.
    var r: Double? {
        Pearson.r(n: n, sa: sa.value, sb: sb.value, saa: saa.value, sbb: sbb.value, sab: sab.value,
                  constant: !(minA < maxA) || !(minB < maxB))
    }
}

/// Pearson's r from the sums of one pair, as every engine computes it (`docs/analytics.md`).
public enum Pearson {
    /// r from the count and the sums (of a, b, a², b², ab) over the rows where both are
    /// present, with each column shifted by any constant; nil when undefined: fewer than two
    /// rows, or `constant` (a or b takes one value over those rows, by its exact min and max).
    public static func r(n: Int, sa: Double, sb: Double, saa: Double, sbb: Double, sab: Double, constant: Bool) -> Double? {
        guard n >= 2, !constant else { return nil }
        let count = Double(n)
        let cov = sab - sa * sb / count
        let va = saa - sa * sa / count
        let vb = sbb - sb * sb / count
        guard va > 0, vb > 0 else { return nil }
        return max(-1, min(1, cov / (va * vb).squareRoot()))
    }
}

/// The pairwise-complete Pearson correlation matrix of k columns in one pass over the rows.
///
/// Rows are taken in blocks of ``blockSize``. For each block every column is shifted into a
/// scratch buffer while its block sum, sum of squares, minimum, maximum and number of nils are
/// taken. Then for each pair:
/// - both columns complete in the block: the pair's sums are the columns' sums, and only the
///   cross product is new, a SIMD dot product over the two scratch columns (the common case);
/// - either column entirely nil: nothing to add;
/// - otherwise: a masked loop over the block.
/// Block sums are folded into compensated totals, and the cores each take a contiguous run of
/// blocks whose totals are merged in a fixed order.
enum CorrelationKernel {
    static let blockSize = 1024

    struct Result: Sendable {
        /// `r[i][j]`, nil when undefined.
        var r: [[Double?]]
        /// Rows where both i and j are present.
        var n: [[Int]]
    }

    static func compute(columns: [[Double]], parallelism: Int) -> Result {
        let k = columns.count
        let rows = columns.first?.count ?? 0
        var shifts = [Double](repeating: 0, count: k)
        for c in 0..<k {
            if let first = columns[c].first(where: { !$0.isNaN }) { shifts[c] = first }
        }
        let ranges = splitRanges(count: rows, workers: parallelism, alignment: blockSize * 16)
        var partials = [[PairMoments]](repeating: [], count: ranges.count)
        partials.withUnsafeMutableBufferPointer { out in
            let sink = out
            withColumnPointers(columns) { bases in
                parallelFor(ranges.count) { w in
                    sink[w] = accumulate(bases: bases, shifts: shifts, range: ranges[w])
                }
            }
        }
        var total = [PairMoments](repeating: PairMoments(), count: k * k)
        for p in partials { for i in p.indices { total[i].merge(p[i]) } }
        var r = [[Double?]](repeating: [Double?](repeating: nil, count: k), count: k)
        var n = [[Int]](repeating: [Int](repeating: 0, count: k), count: k)
        for i in 0..<k {
            for j in i..<k {
                let m = total[i * k + j]
                n[i][j] = m.n; n[j][i] = m.n
                let value: Double? = i == j ? (m.r == nil ? nil : 1.0) : m.r
                r[i][j] = value; r[j][i] = value
            }
        }
        return Result(r: r, n: n)
    }

    /// Column statistics of one block.
    private struct BlockColumn {
        var missing = 0
        var sum = 0.0, sumSquares = 0.0
        var min = Double.infinity, max = -Double.infinity
    }

    private static func accumulate(bases: [UnsafePointer<Double>], shifts: [Double], range: Range<Int>) -> [PairMoments] {
        let k = bases.count
        var moments = [PairMoments](repeating: PairMoments(), count: k * k)
        let scratch = UnsafeMutablePointer<Double>.allocate(capacity: k * blockSize)
        defer { scratch.deallocate() }
        var stats = [BlockColumn](repeating: BlockColumn(), count: k)
        var lo = range.lowerBound
        while lo < range.upperBound {
            let len = min(blockSize, range.upperBound - lo)
            for c in 0..<k {
                stats[c] = prepare(bases[c] + lo, shift: shifts[c], into: scratch + c * blockSize, count: len)
            }
            for i in 0..<k {
                let si = stats[i]
                if si.missing == len { continue }
                let ai = scratch + i * blockSize
                for j in i..<k {
                    let sj = stats[j]
                    if sj.missing == len { continue }
                    let bj = scratch + j * blockSize
                    if si.missing == 0 && sj.missing == 0 {
                        let cross = i == j ? si.sumSquares : dot(ai, bj, len)
                        var m = moments[i * k + j]
                        m.n += len
                        m.sa.add(si.sum); m.sb.add(sj.sum)
                        m.saa.add(si.sumSquares); m.sbb.add(sj.sumSquares); m.sab.add(cross)
                        m.minA = min(m.minA, si.min); m.maxA = max(m.maxA, si.max)
                        m.minB = min(m.minB, sj.min); m.maxB = max(m.maxB, sj.max)
                        moments[i * k + j] = m
                    } else {
                        masked(ai, bj, rawA: bases[i] + lo, rawB: bases[j] + lo, count: len, into: &moments[i * k + j])
                    }
                }
            }
            lo += len
        }
        return moments
    }

    /// Shifts one block of a column into `out` (nils stay NaN) and takes its statistics. The
    /// sums are only meaningful, and only used, when the block has no nil.
    @inline(__always)
    private static func prepare(_ x: UnsafePointer<Double>, shift: Double, into out: UnsafeMutablePointer<Double>, count: Int) -> BlockColumn {
        typealias V = SIMD4<Double>
        let vshift = V(repeating: shift)
        var s0 = V(), s1 = V(), q0 = V(), q1 = V()
        var lo = V(repeating: .infinity), hi = V(repeating: -.infinity)
        var missing = 0
        var r = 0
        let raw = UnsafeRawPointer(x)
        let dst = UnsafeMutableRawPointer(out)
        while r + 8 <= count {
            let x0 = raw.loadUnaligned(fromByteOffset: r * 8, as: V.self)
            let x1 = raw.loadUnaligned(fromByteOffset: (r + 4) * 8, as: V.self)
            let d0 = x0 - vshift, d1 = x1 - vshift
            dst.storeBytes(of: d0, toByteOffset: r * 8, as: V.self)
            dst.storeBytes(of: d1, toByteOffset: (r + 4) * 8, as: V.self)
            s0 += d0; s1 += d1
            q0 += d0 * d0; q1 += d1 * d1
            lo.replace(with: x0, where: x0 .< lo)
            lo.replace(with: x1, where: x1 .< lo)
            hi.replace(with: x0, where: x0 .> hi)
            hi.replace(with: x1, where: x1 .> hi)
            let nan0 = x0 .!= x0, nan1 = x1 .!= x1
            if any(nan0 .| nan1) {
                for l in 0..<4 { if nan0[l] { missing += 1 }; if nan1[l] { missing += 1 } }
            }
            r += 8
        }
        var sum = (s0 + s1).sum(), squares = (q0 + q1).sum()
        var mn = lo.min(), mx = hi.max()
        while r < count {
            let v = x[r]
            let d = v - shift
            out[r] = d
            if v.isNaN { missing += 1 } else {
                sum += d; squares += d * d
                mn = Swift.min(mn, v); mx = Swift.max(mx, v)
            }
            r += 1
        }
        // A NaN never compares less or greater, so the range above skips nils; it is
        // recomputed anyway when the block had nils, for the masked path.
        if missing > 0 && missing < count {
            mn = .infinity; mx = -.infinity
            for i in 0..<count where !x[i].isNaN { mn = Swift.min(mn, x[i]); mx = Swift.max(mx, x[i]) }
        }
        return BlockColumn(missing: missing, sum: sum, sumSquares: squares, min: mn, max: mx)
    }

    @inline(__always)
    private static func dot(_ a: UnsafePointer<Double>, _ b: UnsafePointer<Double>, _ count: Int) -> Double {
        typealias V = SIMD4<Double>
        var s0 = V(), s1 = V()
        let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b)
        var r = 0
        while r + 8 <= count {
            s0 += ra.loadUnaligned(fromByteOffset: r * 8, as: V.self) * rb.loadUnaligned(fromByteOffset: r * 8, as: V.self)
            s1 += ra.loadUnaligned(fromByteOffset: (r + 4) * 8, as: V.self) * rb.loadUnaligned(fromByteOffset: (r + 4) * 8, as: V.self)
            r += 8
        }
        var s = (s0 + s1).sum()
        while r < count { s += a[r] * b[r]; r += 1 }
        return s
    }

    private static func masked(_ a: UnsafePointer<Double>, _ b: UnsafePointer<Double>,
                               rawA: UnsafePointer<Double>, rawB: UnsafePointer<Double>,
                               count: Int, into m: inout PairMoments) {
        var n = 0
        var sa = 0.0, sb = 0.0, saa = 0.0, sbb = 0.0, sab = 0.0
        var minA = m.minA, maxA = m.maxA, minB = m.minB, maxB = m.maxB
        for r in 0..<count {
            let x = a[r], y = b[r]
            if x.isNaN || y.isNaN { continue }
            n += 1
            sa += x; sb += y; saa += x * x; sbb += y * y; sab += x * y
            let u = rawA[r], v = rawB[r]
            minA = min(minA, u); maxA = max(maxA, u); minB = min(minB, v); maxB = max(maxB, v)
        }
        m.n += n
        m.sa.add(sa); m.sb.add(sb); m.saa.add(saa); m.sbb.add(sbb); m.sab.add(sab)
        m.minA = minA; m.maxA = maxA; m.minB = minB; m.maxB = maxB
    }
}
