import MeteoCore

/// A read-only view of one FlatBuffers buffer, enough to read Arrow's IPC metadata (tables,
/// vectors of tables and of structs, strings, unions, scalars). Every offset is checked
/// against the buffer: a corrupt message throws, it never reads out of bounds.
struct FlatBuffer {
    let bytes: [UInt8]

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    func check(_ position: Int, _ size: Int) throws(MeteoError) {
        guard position >= 0, size >= 0, position <= bytes.count - size else {
            throw MeteoError(code: .malformedPayload, "Arrow metadata is corrupt: a read of \(size) bytes at \(position) leaves the \(bytes.count)-byte message")
        }
    }

    func read<T: FixedWidthInteger>(_ type: T.Type, at position: Int) throws(MeteoError) -> T {
        try check(position, MemoryLayout<T>.size)
        var value: T = 0
        for i in 0..<MemoryLayout<T>.size {
            value |= T(truncatingIfNeeded: bytes[position + i]) << (8 * i)
        }
        return value
    }

    /// The root table.
    func root() throws(MeteoError) -> Table {
        Table(buffer: self, position: Int(try read(UInt32.self, at: 0)))
    }

    struct Table {
        let buffer: FlatBuffer
        let position: Int

        /// The position of field `index` (0-based, in schema order), or nil when absent.
        func field(_ index: Int) throws(MeteoError) -> Int? {
            let vtable = position - Int(try buffer.read(Int32.self, at: position))
            let vtableSize = Int(try buffer.read(UInt16.self, at: vtable))
            let entry = 4 + 2 * index
            guard entry + 2 <= vtableSize else { return nil }
            let offset = Int(try buffer.read(UInt16.self, at: vtable + entry))
            return offset == 0 ? nil : position + offset
        }

        func scalar<T: FixedWidthInteger>(_ index: Int, _ type: T.Type, default value: T) throws(MeteoError) -> T {
            guard let at = try field(index) else { return value }
            return try buffer.read(T.self, at: at)
        }

        func bool(_ index: Int, default value: Bool) throws(MeteoError) -> Bool {
            try scalar(index, UInt8.self, default: value ? 1 : 0) != 0
        }

        /// The position a field's uoffset points to.
        func indirect(_ index: Int) throws(MeteoError) -> Int? {
            guard let at = try field(index) else { return nil }
            return at + Int(try buffer.read(UInt32.self, at: at))
        }

        func table(_ index: Int) throws(MeteoError) -> Table? {
            try indirect(index).map { Table(buffer: buffer, position: $0) }
        }

        func string(_ index: Int) throws(MeteoError) -> String? {
            guard let at = try indirect(index) else { return nil }
            let length = Int(try buffer.read(UInt32.self, at: at))
            try buffer.check(at + 4, length)
            return String(decoding: buffer.bytes[(at + 4)..<(at + 4 + length)], as: UTF8.self)
        }

        /// A vector's element count and the position of its first element.
        func vector(_ index: Int) throws(MeteoError) -> (count: Int, start: Int)? {
            guard let at = try indirect(index) else { return nil }
            let count = Int(try buffer.read(UInt32.self, at: at))
            return (count, at + 4)
        }

        func tables(_ index: Int) throws(MeteoError) -> [Table] {
            guard let (count, start) = try vector(index) else { return [] }
            try buffer.check(start, count * 4)
            var out: [Table] = []
            out.reserveCapacity(count)
            for i in 0..<count {
                let slot = start + 4 * i
                out.append(Table(buffer: buffer, position: slot + Int(try buffer.read(UInt32.self, at: slot))))
            }
            return out
        }
    }
}
