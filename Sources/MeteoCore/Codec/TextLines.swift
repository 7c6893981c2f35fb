/// Splits a text file into its lines: the one line reader of every line-based file Meteo reads
/// (replay recordings in NDJSON and CSV, the delivery log, the place catalogue).
///
/// It works on bytes, not `Character`s: Swift reads `"\r\n"` as one `Character`, so splitting a
/// `String` on `"\n"` never cuts a file with CRLF endings (RFC 4180's, and the default of
/// Python's `csv` module and of spreadsheets), and the whole file became one line.
///
/// - `"\n"` and `"\r\n"` end a line; the line is returned without them.
/// - A UTF-8 byte order mark (EF BB BF) at the start of the text is dropped.
/// - The last line needs no newline; a newline at the very end does not start another line.
/// - Empty lines are kept, so that line *n* of the file is element *n − 1*: readers report
///   `line N:` and skip blank lines themselves.
/// - A lone `"\r"` (classic Mac OS) does not end a line; it stays in the line's text.
public enum TextLines {
    /// The lines of `text`, empty ones included.
    public static func split(_ text: String) -> [Substring] {
        let body = droppingBOM(text)
        let utf8 = body.utf8
        // The byte offsets of the "\n"s, found on the contiguous bytes (a native string's).
        let newlines = utf8.withContiguousStorageIfAvailable { bytes in
            var found: [Int] = []
            for i in bytes.indices where bytes[i] == 0x0A { found.append(i) }
            return found
        } ?? utf8.enumerated().compactMap { $0.element == 0x0A ? $0.offset : nil }
        var lines: [Substring] = []
        lines.reserveCapacity(newlines.count + 1)
        // "\n" and "\r" are ASCII, so every cut below falls on a scalar boundary of the text.
        var start = utf8.startIndex
        var startOffset = 0
        for offset in newlines {
            let newline = utf8.index(start, offsetBy: offset - startOffset)
            lines.append(line(body, from: start, to: newline))
            start = utf8.index(after: newline)
            startOffset = offset + 1
        }
        if start != utf8.endIndex { lines.append(line(body, from: start, to: utf8.endIndex)) }
        return lines
    }

    /// The text without a UTF-8 byte order mark at its start.
    public static func droppingBOM(_ text: String) -> Substring {
        let utf8 = text.utf8
        guard utf8.starts(with: [0xEF, 0xBB, 0xBF]) else { return text[...] }
        return text[utf8.index(utf8.startIndex, offsetBy: 3)...]
    }

    /// Whether the text's lines end with lone carriage returns (classic Mac OS): a `"\r"`
    /// followed by more text, and no `"\n"` anywhere. ``split(_:)`` reads such a file as one
    /// line, so a reader can say why instead of reporting one odd line.
    public static func hasLoneCarriageReturns(_ text: String) -> Bool {
        let utf8 = droppingBOM(text).utf8
        guard !utf8.contains(0x0A), let cr = utf8.firstIndex(of: 0x0D) else { return false }
        return utf8[utf8.index(after: cr)...].contains { $0 != 0x0D }
    }

    /// The text between two byte positions, without one `"\r"` at its end.
    private static func line(_ text: Substring, from start: String.Index, to end: String.Index) -> Substring {
        let utf8 = text.utf8
        var last = end
        if last > start, utf8[utf8.index(before: last)] == 0x0D { last = utf8.index(before: last) }
        return text[start..<last]
    }
}
