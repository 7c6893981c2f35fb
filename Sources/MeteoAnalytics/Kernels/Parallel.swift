import Foundation

/// Runs `body(0)`, …, `body(count - 1)` in parallel and returns when all are done.
///
/// `body` is not `@Sendable`: the kernels hand each worker its own output slot and only read
/// shared inputs, so the workers never touch the same memory, which this function relies on.
func parallelFor(_ count: Int, _ body: (Int) -> Void) {
    if count <= 1 {
        if count == 1 { body(0) }
        return
    }
    withoutActuallyEscaping(body) { escapable in
        let work = UncheckedSendable(escapable)
        DispatchQueue.concurrentPerform(iterations: count) { i in work.value(i) }
    }
}

struct UncheckedSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

func splitRanges(count: Int, workers: Int, alignment: Int) -> [Range<Int>] {
    let w = max(1, min(workers, (count + alignment - 1) / max(1, alignment)))
    guard w > 1 else { return [0..<count] }
    var per = (count + w - 1) / w
    per = (per + alignment - 1) / alignment * alignment
    var out: [Range<Int>] = []
    var lo = 0
    while lo < count {
        let hi = min(count, lo + per)
        out.append(lo..<hi)
        lo = hi
    }
    return out
}

/// How many cores the engine uses by default.
public var defaultParallelism: Int { max(1, ProcessInfo.processInfo.activeProcessorCount) }

/// A sum with Neumaier's compensation (an improved Kahan–Babuška sum): the error does not
/// grow with the number of terms. Used to fold block partial sums together.
struct CompensatedSum: Sendable {
    var sum = 0.0
    var compensation = 0.0

    @inline(__always)
    mutating func add(_ x: Double) {
        let t = sum + x
        if abs(sum) >= abs(x) {
            compensation += (sum - t) + x
        } else {
            compensation += (x - t) + sum
        }
        sum = t
    }

    mutating func add(_ other: CompensatedSum) {
        add(other.sum)
        add(other.compensation)
    }

    var value: Double { sum + compensation }
}

/// Calls `body` with a pointer to the storage of each column, valid for the duration of the call.
func withColumnPointers<T>(_ columns: [[Double]], _ body: ([UnsafePointer<Double>]) -> T) -> T {
    var pointers: [UnsafePointer<Double>] = []
    pointers.reserveCapacity(columns.count)
    func nest(_ i: Int) -> T {
        if i == columns.count { return body(pointers) }
        return columns[i].withUnsafeBufferPointer { buffer in
            // An empty array may have no storage; no row is ever read through it.
            pointers.append(buffer.baseAddress ?? UnsafePointer(bitPattern: MemoryLayout<Double>.alignment)!)
            return nest(i + 1)
        }
    }
    return nest(0)
}
