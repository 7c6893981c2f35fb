import Foundation

/// A user's places file (`--places-file`, METEO_PLACES_FILE, config key `places_file`): CSV
/// (RFC 4180: quote a field that holds a comma, `""` for a quote) with a header line.
///
/// Columns, in any order, the header's case ignored: `name`, `latitude`, `longitude`
/// (required; degrees), `country` (two letters), `region` and `id` (optional). A row without
/// an id gets `geo:<lat>,<lon>` (``CustomPlace``). A UTF-8 byte order mark, CRLF line ends
/// and a missing final newline are fine; blank lines are skipped. Every error names the file
/// and the line and says what to fix; two rows with one id, an unknown column and a file
/// without rows are errors.
public enum PlacesFile {
    public static let requiredColumns = ["name", "latitude", "longitude"]
    public static let optionalColumns = ["country", "region", "id"]

    /// Reads and parses the file at `path`; `origin` says where the path came from.
    public static func load(path: String, origin: String) throws(MeteoError) -> [Place] {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw MeteoError(code: .invalidConfiguration, "cannot read the places file \(path) (from \(origin)): check the path, or create it with the header name,latitude,longitude")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw MeteoError(code: .invalidConfiguration, "the places file \(path) is not UTF-8 text: save it as UTF-8 CSV")
        }
        return try parse(text, file: path)
    }

    /// Parses the text of a places file; `file` names it in errors.
    public static func parse(_ text: String, file: String) throws(MeteoError) -> [Place] {
        func fail(_ line: Int, _ why: String) -> MeteoError {
            MeteoError(code: .invalidConfiguration, "line \(line) of the places file \(file): \(why)")
        }
        let lines = numberedLines(text)
        guard let (headerLine, header) = lines.first else {
            throw MeteoError(code: .invalidConfiguration, "the places file \(file) is empty: write the header name,latitude,longitude, then one place a line")
        }
        let columns = CSV.fields(header).map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        var index: [String: Int] = [:]
        for (i, c) in columns.enumerated() {
            guard (requiredColumns + optionalColumns).contains(c) else {
                throw fail(headerLine, "unknown column '\(c)': the columns are \((requiredColumns + optionalColumns).joined(separator: ", ")) (the last three optional)")
            }
            guard index[c] == nil else { throw fail(headerLine, "the column '\(c)' appears twice") }
            index[c] = i
        }
        if let missing = requiredColumns.first(where: { index[$0] == nil }) {
            throw fail(headerLine, "the header has no '\(missing)' column: it needs name, latitude and longitude (and may have country, region, id), such as name,latitude,longitude")
        }
        var places: [Place] = []
        var lineOfID: [String: Int] = [:]
        for (number, line) in lines.dropFirst() {
            let fields = CSV.fields(line)
            guard fields.count == columns.count else {
                throw fail(number, "\(fields.count) fields where the header has \(columns.count): quote a field that holds a comma, as \"Paris, Texas\"")
            }
            func field(_ column: String) -> String? { index[column].map { fields[$0].trimmingCharacters(in: .whitespaces) } }
            func degrees(_ column: String) throws(MeteoError) -> Double {
                let text = field(column) ?? ""
                guard PlaceEntry.looksNumeric(text[...]), let v = Double(text) else {
                    throw fail(number, "\(column) '\(text.prefix(40))' is not a number: write degrees such as 48.58")
                }
                return v
            }
            if (field("name") ?? "").isEmpty { throw fail(number, "the name is empty: give each place a name") }
            let latitude = try degrees("latitude"), longitude = try degrees("longitude")
            let place: Place
            switch CustomPlace.make(name: field("name"), latitude: latitude, longitude: longitude,
                                    country: field("country"), region: field("region"), id: field("id")) {
            case .success(let p): place = p
            case .failure(let problem): throw fail(number, problem.message)
            }
            if let first = lineOfID[place.id] {
                throw fail(number, "the id \(place.id) is already on line \(first): give each place its own id (places at the same coordinates, to 4 decimals, need an id column)")
            }
            lineOfID[place.id] = number
            places.append(place)
        }
        guard !places.isEmpty else {
            throw MeteoError(code: .invalidConfiguration, "the places file \(file) has a header but no places: add one place a line, such as Mont Ventoux,44.17,5.28")
        }
        return places
    }

    /// The non-blank lines with their 1-based numbers, a UTF-8 byte order mark dropped, split
    /// on LF by bytes with a trailing CR dropped (so CRLF files read as LF ones).
    static func numberedLines(_ text: String) -> [(Int, Substring)] {
        var text = text[...]
        if text.unicodeScalars.first == "\u{FEFF}" { text = text[text.unicodeScalars.index(after: text.startIndex)...] }
        var out: [(Int, Substring)] = []
        for (i, line) in text.utf8.split(separator: 0x0A, omittingEmptySubsequences: false).enumerated() {
            var end = line.endIndex
            if let last = line.last, last == 0x0D { end = line.index(before: end) }
            let s = text[line.startIndex..<end]
            if !s.trimmingCharacters(in: .whitespaces).isEmpty { out.append((i + 1, s)) }
        }
        return out
    }
}
