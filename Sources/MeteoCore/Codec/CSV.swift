/// A small RFC 4180 reader: comma-separated fields, optionally quoted with `"`, `""` for a quote.
public enum CSV {
    /// Splits one line (without its newline) into fields.
    public static func fields(_ line: Substring) -> [String] {
        // Most lines quote nothing: split their bytes on commas.
        if !line.utf8.contains(UInt8(ascii: "\"")) {
            return line.utf8.split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false)
                .map { String(decoding: $0, as: UTF8.self) }
        }
        var fields: [String] = []
        var current = ""
        var quoted = false
        var iterator = line.makeIterator()
        var pendingQuote = false
        while let c = iterator.next() {
            if quoted {
                if pendingQuote {
                    pendingQuote = false
                    if c == "\"" { current.append("\""); continue }
                    quoted = false
                } else if c == "\"" {
                    pendingQuote = true
                    continue
                } else {
                    current.append(c)
                    continue
                }
            }
            switch c {
            case ",": fields.append(current); current = ""
            case "\"" where current.isEmpty: quoted = true
            default: current.append(c)
            }
        }
        fields.append(current)
        return fields
    }

    /// The non-empty lines of a document (``TextLines/split(_:)`` without the empty lines): LF or
    /// CRLF endings, a UTF-8 byte order mark dropped, no final newline needed. Use
    /// ``TextLines/split(_:)`` itself where line numbers are reported.
    public static func lines(_ text: String) -> [Substring] {
        TextLines.split(text).filter { !$0.isEmpty }
    }

    /// Quotes a field when it needs it.
    public static func escape(_ field: String) -> String {
        if field.utf8.contains(where: { $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "\"") || $0 == 0x0A || $0 == 0x0D }) {
            return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }
        return field
    }
}

