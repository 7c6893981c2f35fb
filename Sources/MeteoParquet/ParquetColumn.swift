/// What a column holds, as Meteo writes it and reads it back.
public enum ParquetKind: Sendable, Hashable {
    /// DOUBLE.
    case double
    /// INT64.
    case int64
    /// INT32.
    case int32
    /// BOOLEAN.
    case boolean
    /// BYTE_ARRAY annotated STRING (UTF-8), dictionary-encoded by the writer.
    case string
    /// INT64 annotated TIMESTAMP(isAdjustedToUTC = true, MICROS): microseconds since the Unix
    /// epoch, UTC.
    case timestampMicros
}

/// One column of a file's schema (a flat schema: no nesting, no repetition).
public struct ParquetField: Sendable, Hashable {
    public var name: String
    public var kind: ParquetKind
    /// OPTIONAL (nulls allowed) or REQUIRED.
    public var nullable: Bool

    public init(_ name: String, _ kind: ParquetKind, nullable: Bool) {
        self.name = name
        self.kind = kind
        self.nullable = nullable
    }
}

/// The values of one column in one row group; nil is null.
public enum ParquetColumn: Sendable, Equatable {
    case doubles([Double?])
    case int64s([Int64?])
    case int32s([Int32?])
    case booleans([Bool?])
    case strings([String?])

    public var count: Int {
        switch self {
        case .doubles(let v): v.count
        case .int64s(let v): v.count
        case .int32s(let v): v.count
        case .booleans(let v): v.count
        case .strings(let v): v.count
        }
    }

    /// Equal, doubles compared bit for bit (NaN equals the same NaN; 0.0 and -0.0 differ).
    public func identical(to other: ParquetColumn) -> Bool {
        switch (self, other) {
        case (.doubles(let a), .doubles(let b)):
            a.count == b.count && zip(a, b).allSatisfy { $0?.bitPattern == $1?.bitPattern }
        default:
            self == other
        }
    }
}
