import Foundation

/// User-facing output: results on standard output, progress and errors on standard error.
enum Terminal {
    static func out(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }

    static func progress(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

    static func error(_ message: String) {
        FileHandle.standardError.write(Data(("meteo: error: " + message + "\n").utf8))
    }
}

/// A plain text table that fits an 80-column terminal when its content does.
struct TextTable {
    var headers: [String]
    var rows: [[String]] = []
    /// Columns aligned right (numbers).
    var rightAligned: Set<Int> = []

    func render() -> String {
        var widths = headers.map(\.count)
        for row in rows {
            for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) }
        }
        func line(_ cells: [String]) -> String {
            let joined = cells.enumerated().map { i, c in
                let pad = String(repeating: " ", count: max(0, widths[i] - c.count))
                return rightAligned.contains(i) ? pad + c : c + pad
            }.joined(separator: "  ")
            return String(joined.reversed().drop { $0 == " " }.reversed())
        }
        var out = headers.allSatisfy(\.isEmpty) ? [] : [line(headers), widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")]
        out += rows.map(line)
        return out.joined(separator: "\n")
    }
}

/// Formats an optional measurement with its unit, or "–" when absent.
func formatValue(_ value: Double?, _ unit: String, decimals: Int = 1) -> String {
    guard let value else { return "–" }
    return String(format: "%.\(decimals)f", value) + (unit.isEmpty ? "" : " \(unit)")
}


