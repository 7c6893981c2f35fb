/// Parquet's RLE / bit-packing hybrid, for definition levels and dictionary indices: runs of
/// one repeated value (`count << 1` as a varint, then the value in ⌈width / 8⌉ bytes), and
/// groups of eight bit-packed values (`groups << 1 | 1`, then `groups × width` bytes, least
/// significant bit first).
enum Hybrid {
    /// The bits needed for values up to `max`.
    static func bitWidth(_ max: UInt32) -> Int {
        max == 0 ? 0 : 32 - max.leadingZeroBitCount
    }

    static func encode(_ values: [UInt32], bitWidth: Int, into out: inout [UInt8]) {
        precondition(bitWidth >= 0 && bitWidth <= 32)
        let n = values.count
        var i = 0
        while i < n {
            let run = runLength(values, at: i)
            if run >= 8 {
                varint(UInt64(run) << 1, into: &out)
                var v = values[i]
                for _ in 0..<((bitWidth + 7) / 8) {
                    out.append(UInt8(truncatingIfNeeded: v))
                    v >>= 8
                }
                i += run
                continue
            }
            // Bit-packed groups of eight, until a run of eight or more starts at a group's end.
            let start = i
            var groups = 0
            repeat {
                groups += 1
                i += 8
            } while i < n && runLength(values, at: i) < 8
            varint(UInt64(groups) << 1 | 1, into: &out)
            pack(values, from: start, count: groups * 8, bitWidth: bitWidth, into: &out)
            i = min(i, n)
        }
    }

    private static func runLength(_ values: [UInt32], at i: Int) -> Int {
        let v = values[i]
        var j = i + 1
        while j < values.count && values[j] == v { j += 1 }
        return j - i
    }

    /// `count` values from `start`, zeros past the end, packed `bitWidth` bits each.
    private static func pack(_ values: [UInt32], from start: Int, count: Int, bitWidth: Int, into out: inout [UInt8]) {
        guard bitWidth > 0 else { return }
        var buffer: UInt64 = 0
        var bits = 0
        for k in 0..<count {
            let v = start + k < values.count ? UInt64(values[start + k]) : 0
            buffer |= v << UInt64(bits)
            bits += bitWidth
            while bits >= 8 {
                out.append(UInt8(truncatingIfNeeded: buffer))
                buffer >>= 8
                bits -= 8
            }
        }
        if bits > 0 { out.append(UInt8(truncatingIfNeeded: buffer)) }
    }

    static func varint(_ value: UInt64, into out: inout [UInt8]) {
        var v = value
        while v >= 0x80 {
            out.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        out.append(UInt8(v))
    }

    /// Decodes `count` values from `bytes[range]`; every value must be ≤ `maxValue` (a level
    /// or a dictionary index out of range is corrupt data, refused here).
    static func decode(_ bytes: [UInt8], _ range: Range<Int>, bitWidth: Int, count: Int, maxValue: UInt32) throws(ParquetError) -> [UInt32] {
        guard bitWidth >= 0 && bitWidth <= 32 else { throw ParquetError.corrupt("a bit width of \(bitWidth)") }
        var out: [UInt32] = []
        out.reserveCapacity(count)
        var p = range.lowerBound
        let end = range.upperBound
        func readVarint() throws(ParquetError) -> UInt64 {
            var result: UInt64 = 0
            var shift: UInt64 = 0
            while true {
                guard p < end else { throw ParquetError.corrupt("RLE data ends inside a run header") }
                let b = bytes[p]
                p += 1
                result |= UInt64(b & 0x7F) << shift
                if b & 0x80 == 0 { return result }
                shift += 7
                guard shift < 64 else { throw ParquetError.corrupt("an RLE run header longer than 10 bytes") }
            }
        }
        while out.count < count {
            let header = try readVarint()
            if header & 1 == 0 {
                let run = header >> 1
                let width = (bitWidth + 7) / 8
                guard end - p >= width else { throw ParquetError.corrupt("RLE data ends inside a run value") }
                var v: UInt32 = 0
                for k in 0..<width { v |= UInt32(bytes[p + k]) << UInt32(8 * k) }
                p += width
                guard v <= maxValue else { throw ParquetError.corrupt("an RLE value \(v) above \(maxValue)") }
                guard run > 0 else { throw ParquetError.corrupt("an empty RLE run") }
                let take = Int(min(run, UInt64(count - out.count)))
                out.append(contentsOf: repeatElement(v, count: take))
            } else {
                let groups = header >> 1
                guard groups > 0, groups <= UInt64(end - p + 1) else { throw ParquetError.corrupt("a bit-packed run of \(groups) groups runs past its page") }
                let byteCount = Int(groups) * bitWidth
                guard end - p >= byteCount else { throw ParquetError.corrupt("a bit-packed run of \(groups) groups runs past its page") }
                let values = Int(groups) * 8
                var buffer: UInt64 = 0
                var bits = 0
                var q = p
                let mask: UInt64 = bitWidth == 32 ? 0xFFFF_FFFF : (1 << UInt64(bitWidth)) - 1
                for _ in 0..<min(values, count - out.count) {
                    while bits < bitWidth {
                        buffer |= UInt64(bytes[q]) << UInt64(bits)
                        q += 1
                        bits += 8
                    }
                    let v = UInt32(buffer & mask)
                    buffer >>= UInt64(bitWidth)
                    bits -= bitWidth
                    guard v <= maxValue else { throw ParquetError.corrupt("a bit-packed value \(v) above \(maxValue)") }
                    out.append(v)
                }
                p += byteCount
            }
        }
        return out
    }
}
