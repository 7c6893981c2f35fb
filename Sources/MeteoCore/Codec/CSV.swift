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

    /// Splits a document into lines, dropping a trailing `\r` and empty lines.
    public static func lines(_ text: String) -> [Substring] {
        // By bytes, not Characters: "\n" and "\r" are ASCII, so each cut is a valid index.
        var out: [Substring] = []
        let utf8 = text.utf8
        var start = utf8.startIndex
        func take(upTo end: String.Index) {
            var last = end
            if last > start, utf8[utf8.index(before: last)] == 0x0D { last = utf8.index(before: last) }
            if last > start { out.append(text[start..<last]) }
        }
        var i = start
        while i != utf8.endIndex {
            if utf8[i] == 0x0A {
                take(upTo: i)
                start = utf8.index(after: i)
            }
            i = utf8.index(after: i)
        }
        take(upTo: utf8.endIndex)
        return out
    }

    /// Quotes a field when it needs it.
    public static func escape(_ field: String) -> String {
        if field.utf8.contains(where: { $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "\"") || $0 == 0x0A || $0 == 0x0D }) {
            return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }
        return field
    }
}

