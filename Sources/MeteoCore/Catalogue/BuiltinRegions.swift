extension Region {
    /// The ten bounding boxes that the original system polled (its producer's `bbox` list).
    /// 1,630 places of the bundled catalogue fall inside them.
    public static let builtin: [Region] = {
        // name, lon_min, lat_min, lon_max, lat_max
        let rows: [(String, Double, Double, Double, Double)] = [
            ("EuropeW", 3.183905, 48.124541, 13.027655, 50.585558),
            ("EuropeE", 17.984474, 48.723510, 25.455177, 51.866246),
            ("AsieW", 72.989052, 28.244139, 78.614052, 31.595136),
            ("AsieE", 115.193519, 32.842490, 119.390297, 35.317188),
            ("AfriqueN", -4.328613, 33.852170, 0.439453, 35.389050),
            ("AfriqueC", 12.325603, 6.321483, 16.939861, 9.974979),
            ("AfriqueS", 19.827204, -8.148851, 24.990778, -4.414764),
            ("AmeriqueN", -76.955032, 42.559503, -71.110306, 45.558631),
            ("AmeriqueC", -92.598430, 13.389995, -87.808391, 17.665328),
            ("AmeriqueS", -51.072407, -21.156289, -47.468892, -17.717346),
        ]
        return rows.map { row in
            // The literals above are inside the globe and ordered, so this cannot fail.
            let box = try! BoundingBox(lonMin: row.1, latMin: row.2, lonMax: row.3, latMax: row.4)
            return Region(name: row.0, box: box)
        }
    }()

    /// Finds a built-in region by name, ignoring case.
    public static func named(_ name: String) -> Region? {
        builtin.first { $0.name.lowercased() == name.lowercased() }
    }
}
