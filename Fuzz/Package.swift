// swift-tools-version:6.1
// The libFuzzer targets of Meteo's parsers (the decoders, the Arrow reader, the config loader), a
// package of its own so that the main package's default build never sees `-sanitize=fuzzer`. Build and run it with `scripts/fuzz` (see README.md).
import PackageDescription

let package = Package(
    name: "MeteoFuzz",
    platforms: [.macOS(.v15)],
    dependencies: [
        // The main package, by path: its identity is the name of the folder that holds it.
        .package(path: ".."),
    ],
    targets: [
        .executableTarget(
            name: "MeteoFuzz",
            dependencies: [.product(name: "MeteoCore", package: mainPackageIdentity)],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        // The Arrow IPC stream reader (Spark Connect's result batches).
        .executableTarget(
            name: "MeteoFuzzArrow",
            dependencies: [.product(name: "MeteoArrow", package: mainPackageIdentity),
                           .product(name: "MeteoCore", package: mainPackageIdentity)],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        // The configuration loader: a config file's JSON and each setting's text.
        .executableTarget(
            name: "MeteoFuzzConfig",
            dependencies: [.product(name: "MeteoCore", package: mainPackageIdentity)],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
    ]
)

/// SwiftPM names a path dependency after its folder (`main` in a work tree, anything in a clone).
var mainPackageIdentity: String {
    var directory = Context.packageDirectory
    while directory.hasSuffix("/") { directory.removeLast() }
    let parent = directory.split(separator: "/").dropLast().last.map(String.init) ?? "main"
    return parent.lowercased()
}
