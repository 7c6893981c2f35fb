/// Why a Parquet file cannot be written or read, in words that say what is wrong with it.
public struct ParquetError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String

    public init(_ message: String) {
        self.message = message
    }

    /// The bytes are not a well-formed Parquet file (truncated, corrupt, or not Parquet).
    static func corrupt(_ what: String) -> ParquetError {
        ParquetError("corrupt Parquet file: \(what)")
    }

    /// A well-formed file uses a feature this reader does not implement.
    static func unsupported(_ what: String) -> ParquetError {
        ParquetError("unsupported Parquet feature: \(what)")
    }

    public var description: String { message }
}
