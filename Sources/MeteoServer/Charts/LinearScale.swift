import Foundation

/// A tick on an axis: where it is (in data units) and what it says.
public struct AxisTick: Sendable, Hashable {
    public var value: Double
    public var label: String

    public init(value: Double, label: String) {
        self.value = value
        self.label = label
    }
}

/// A linear scale from data values to SVG positions, with "nice" ticks.
///
/// The domain is widened to whole steps of 1, 2, 2.5 or 5 × 10ᵏ, the smallest step that gives
/// at most `maxTickCount` ticks (so about five to eight). Labels have the decimals of the
/// step, no more (`0.0`, `0.2` … `1.0`; `−10`, `0` … `40`), a true minus sign, and group
/// thousands from 10 000 up. A range of a single value is widened by 5 % on each side
/// (by 1 around zero); an empty one is 0…1.
///
/// ```swift
/// var y = LinearScale(min: -7.3, max: 38.2)    // −10…40, ticks every 10
/// y.rangeStart = 300; y.rangeEnd = 20          // SVG y grows downwards
/// y.position(of: 15)                           // 160
/// ```
public struct LinearScale: Sendable, Hashable {
    /// The niced domain.
    public let lowerBound: Double
    public let upperBound: Double
    /// The distance between two ticks.
    public let step: Double
    public let ticks: [AxisTick]
    /// The decimals of the tick labels.
    public let decimals: Int
    /// The SVG positions of `lowerBound` and `upperBound`.
    public var rangeStart: Double
    public var rangeEnd: Double

    public init(min: Double, max: Double, rangeStart: Double = 0, rangeEnd: Double = 1, maxTickCount: Int = 8) {
        var lo = Swift.min(min, max), hi = Swift.max(min, max)
        if !lo.isFinite || !hi.isFinite { (lo, hi) = (0, 1) }
        if lo == hi {
            let pad = lo == 0 ? 1 : abs(lo) * 0.05
            (lo, hi) = (lo - pad, hi + pad)
        }
        let maxTicks = Swift.max(2, maxTickCount)
        // The step is mantissa × 10^(exponent − 1), mantissa in {10, 20, 25, 50}: integers, so
        // that tick values are integer × power of ten, computed without accumulated error.
        var exponent = Int(floor(log10(hi - lo))) - 2
        var chosen: (mantissa: Int, exponent: Int, first: Int, last: Int)?
        while chosen == nil {
            for mantissa in [10, 20, 25, 50] {
                let step = Double(mantissa) * ChartFormat.powerOfTen(exponent - 1)
                let first = Int(floor(lo / step + 1e-9)), last = Int(ceil(hi / step - 1e-9))
                if last - first + 1 <= maxTicks {
                    chosen = (mantissa, exponent, first, last)
                    break
                }
            }
            exponent += 1
        }
        let (mantissa, e, first, last) = chosen!
        func value(_ index: Int) -> Double {
            let integer = Double(index * mantissa)
            return e - 1 < 0 ? integer / ChartFormat.powerOfTen(1 - e) : integer * ChartFormat.powerOfTen(e - 1)
        }
        let decimals = mantissa == 25 ? Swift.max(0, 1 - e) : Swift.max(0, -e)
        self.decimals = decimals
        self.step = value(1)
        self.lowerBound = value(first)
        self.upperBound = value(last)
        self.ticks = (first...last).map { i in
            AxisTick(value: value(i), label: ChartFormat.fixed(value(i), decimals: decimals, grouping: true))
        }
        self.rangeStart = rangeStart
        self.rangeEnd = rangeEnd
    }

    /// The scale of the finite values among `values` (0…1 when there are none).
    public init(covering values: some Sequence<Double>, rangeStart: Double = 0, rangeEnd: Double = 1, maxTickCount: Int = 8) {
        var lo = Double.infinity, hi = -Double.infinity
        for v in values where v.isFinite {
            lo = Swift.min(lo, v)
            hi = Swift.max(hi, v)
        }
        if lo > hi { (lo, hi) = (0, 1) }
        self.init(min: lo, max: hi, rangeStart: rangeStart, rangeEnd: rangeEnd, maxTickCount: maxTickCount)
    }

    public var domain: ClosedRange<Double> { lowerBound...upperBound }

    /// The SVG position of `value`: linear, not clamped.
    public func position(of value: Double) -> Double {
        rangeStart + (value - lowerBound) / (upperBound - lowerBound) * (rangeEnd - rangeStart)
    }

    /// `value` written as the tick labels are, with `extraDecimals` more decimals (for tooltips).
    public func label(for value: Double, extraDecimals: Int = 0) -> String {
        ChartFormat.fixed(value, decimals: decimals + extraDecimals, grouping: true)
    }
}
