// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "meteo",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "meteo", targets: ["meteo"]),
        .library(name: "MeteoCore", targets: ["MeteoCore"]),
        .library(name: "MeteoSources", targets: ["MeteoSources"]),
        .library(name: "MeteoEmbedded", targets: ["MeteoEmbedded"]),
        .library(name: "MeteoPipeline", targets: ["MeteoPipeline"]),
        .library(name: "MeteoAnalytics", targets: ["MeteoAnalytics"]),
        .library(name: "MeteoServer", targets: ["MeteoServer"]),
        .library(name: "MeteoKafka", targets: ["MeteoKafka"]),
        .library(name: "MeteoMongo", targets: ["MeteoMongo"]),
        .library(name: "MeteoSpark", targets: ["MeteoSpark"]),
        .library(name: "MeteoArrow", targets: ["MeteoArrow"]),
        .library(name: "MeteoParquet", targets: ["MeteoParquet"]),
    ],
    traits: [
        // Reserved for the optional adapters; each needs a system library or a large build.
        .trait(name: "Kafka", description: "librdkafka bus adapter (apt: librdkafka-dev)"),
        .trait(name: "MongoDB", description: "libmongoc store adapter (apt: libmongoc-dev)"),
        .trait(name: "Spark", description: "Spark Connect analytics engine (grpc-swift-2)"),
        .default(enabledTraits: []),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/vapor/sqlite-nio.git", from: "1.13.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        // Spark Connect (trait Spark): the generated messages and client, and the HTTP/2 transport.
        .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.39.0"),
        .package(url: "https://github.com/grpc/grpc-swift-2.git", from: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport.git", from: "2.9.2"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf.git", from: "2.4.1"),
    ],
    targets: [
        .target(
            name: "MeteoCore",
            dependencies: [
                .product(name: "Logging", package: "swift-log"),
            ],
            resources: [.copy("Resources/cities15000.csv")]
        ),
        .target(
            name: "MeteoSources",
            dependencies: [
                "MeteoCore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .target(
            name: "MeteoEmbedded",
            dependencies: [
                "MeteoCore",
                .product(name: "SQLiteNIO", package: "sqlite-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ]
        ),
        .target(
            name: "MeteoPipeline",
            dependencies: [
                "MeteoCore",
                "MeteoParquet",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // librdkafka, only with the Kafka trait: every source file of MeteoKafka is inside `#if Kafka`,
        // so the default build needs no system library.
        .systemLibrary(
            name: "CRdKafka",
            pkgConfig: "rdkafka",
            providers: [.apt(["librdkafka-dev"]), .brew(["librdkafka"])]
        ),
        .target(
            name: "MeteoKafka",
            dependencies: [
                "MeteoCore",
                .target(name: "CRdKafka", condition: .when(traits: ["Kafka"])),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ]
        ),
        // libmongoc and libbson, only with the MongoDB trait: every source file of MeteoMongo that
        // uses them is inside `#if MongoDB`.
        .systemLibrary(
            name: "CMongoC",
            pkgConfig: "libmongoc-1.0",
            providers: [.apt(["libmongoc-dev"]), .brew(["mongo-c-driver"])]
        ),
        .target(
            name: "MeteoMongo",
            dependencies: [
                "MeteoCore", "MeteoAnalytics",
                .target(name: "CMongoC", condition: .when(traits: ["MongoDB"])),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // A reader of Arrow IPC streams (Spark Connect's result batches), in Swift: no Arrow
        // or FlatBuffers package is available.
        .target(
            name: "MeteoParquet"
        ),
        .target(
            name: "MeteoArrow",
            dependencies: ["MeteoCore"]
        ),
        // Spark Connect: the engine and its SQL are plain Swift; the gRPC client and the code
        // generated from Spark's protocol files (Generated/, by scripts/generate-spark-connect)
        // are compiled only with the Spark trait.
        .target(
            name: "MeteoSpark",
            dependencies: [
                "MeteoCore", "MeteoAnalytics", "MeteoArrow",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "GRPCCore", package: "grpc-swift-2", condition: .when(traits: ["Spark"])),
                .product(name: "GRPCNIOTransportHTTP2Posix", package: "grpc-swift-nio-transport", condition: .when(traits: ["Spark"])),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf", condition: .when(traits: ["Spark"])),
                .product(name: "SwiftProtobuf", package: "swift-protobuf", condition: .when(traits: ["Spark"])),
            ]
        ),
        .target(
            name: "MeteoAnalytics",
            dependencies: [
                "MeteoCore",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "MeteoServer",
            dependencies: [
                "MeteoCore", "MeteoAnalytics",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            exclude: ["Resources/ATTRIBUTION.md"],
            resources: [.copy("Resources/world-110m.topo.json")]
        ),
        .executableTarget(
            name: "meteo",
            dependencies: [
                "MeteoCore", "MeteoSources", "MeteoEmbedded", "MeteoPipeline", "MeteoAnalytics", "MeteoServer",
                .target(name: "MeteoKafka", condition: .when(traits: ["Kafka"])),
                .target(name: "MeteoMongo", condition: .when(traits: ["MongoDB"])),
                "MeteoSpark",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ]
        ),
        // A stub of the weather APIs with their documented formats and quotas, for tests (in
        // process) and scripts (the meteo-stub executable); never part of the meteo binary.
        .target(
            name: "MeteoStub",
            dependencies: [
                "MeteoCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "Stubs/MeteoStub"
        ),
        .executableTarget(
            name: "meteo-stub",
            dependencies: ["MeteoStub", "MeteoCore", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Stubs/meteo-stub"
        ),
        .executableTarget(
            name: "meteo-bench",
            dependencies: ["MeteoCore", "MeteoSources", "MeteoEmbedded", "MeteoPipeline",
                           .product(name: "Logging", package: "swift-log")],
            path: "Benchmarks/SinkThroughput"
        ),
        .executableTarget(
            name: "meteo-kafka-bench",
            dependencies: ["MeteoCore", .target(name: "MeteoKafka", condition: .when(traits: ["Kafka"])),
                           .product(name: "Logging", package: "swift-log")],
            path: "Benchmarks/KafkaConsume"
        ),
        .executableTarget(
            name: "meteo-analytics-bench",
            dependencies: ["MeteoCore", "MeteoSources", "MeteoEmbedded", "MeteoAnalytics",
                           .product(name: "Logging", package: "swift-log")],
            path: "Benchmarks/Analytics",
            exclude: ["peers.py", "requirements.txt"]
        ),
        // What the test suites share: a suite's requirements (a server, the binary, a tool),
        // skipped in a partial run and failed under METEO_TEST_REQUIRE_ALL=1 (scripts/test).
        .target(name: "MeteoTestSupport", dependencies: [.product(name: "Logging", package: "swift-log")], path: "Tests/MeteoTestSupport"),
        .testTarget(name: "MeteoCoreTests", dependencies: ["MeteoCore", "MeteoTestSupport"]),
        .testTarget(
            name: "MeteoKafkaTests",
            dependencies: ["MeteoTestSupport", "MeteoCore", "MeteoKafka", "MeteoPipeline", "MeteoEmbedded",
                           .product(name: "Logging", package: "swift-log"),
                           .product(name: "MetricsTestKit", package: "swift-metrics")]
        ),
        .testTarget(
            name: "MeteoMongoTests",
            dependencies: ["MeteoTestSupport", "MeteoCore", "MeteoMongo", "MeteoSources", "MeteoEmbedded", "MeteoPipeline", "MeteoAnalytics",
                           .product(name: "Logging", package: "swift-log"),
                           .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")]
        ),
        .testTarget(
            name: "MeteoAnalyticsTests",
            dependencies: ["MeteoCore", "MeteoAnalytics", "MeteoEmbedded", "MeteoSources",
                           .product(name: "Logging", package: "swift-log")]
        ),
        .testTarget(
            name: "MeteoParquetTests",
            dependencies: ["MeteoTestSupport", "MeteoParquet"]
        ),
        .testTarget(
            name: "MeteoArrowTests",
            dependencies: ["MeteoTestSupport", "MeteoArrow", "MeteoCore"],
            exclude: ["Fixtures"]
        ),
        .testTarget(
            name: "MeteoSparkTests",
            dependencies: ["MeteoSpark", "MeteoCore", "MeteoAnalytics", "MeteoArrow",
                           .product(name: "Logging", package: "swift-log")]
        ),
        .testTarget(
            name: "MeteoServerTests",
            dependencies: ["MeteoCore", "MeteoServer", "MeteoEmbedded", "MeteoAnalytics",
                           .product(name: "Metrics", package: "swift-metrics"),
                           .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                           .product(name: "Prometheus", package: "swift-prometheus"),
                           .product(name: "Hummingbird", package: "hummingbird"),
                           .product(name: "HummingbirdTesting", package: "hummingbird"),
                           .product(name: "Logging", package: "swift-log")]
        ),
        .testTarget(
            name: "MeteoSourcesTests",
            dependencies: [
                "MeteoTestSupport", "MeteoCore", "MeteoSources", "MeteoStub",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "MeteoEmbeddedTests",
            dependencies: ["MeteoCore", "MeteoEmbedded", .product(name: "Logging", package: "swift-log"),
                           .product(name: "MetricsTestKit", package: "swift-metrics")]
        ),
        .testTarget(
            name: "MeteoPipelineTests",
            dependencies: ["MeteoCore", "MeteoPipeline", "MeteoEmbedded", "MeteoSources", "MeteoStub",
                           .product(name: "Logging", package: "swift-log"),
                           .product(name: "MetricsTestKit", package: "swift-metrics"),
                           .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")]
        ),
        .testTarget(
            name: "MeteoCLITests",
            dependencies: ["MeteoTestSupport", "meteo", "MeteoCore", "MeteoEmbedded", "MeteoPipeline", "MeteoStub", .product(name: "Logging", package: "swift-log"),
                           .target(name: "MeteoMongo", condition: .when(traits: ["MongoDB"]))]
        ),
    ]
)

for target in package.targets where target.type != .system {
    var settings = target.swiftSettings ?? []
    settings.append(.enableUpcomingFeature("ExistentialAny"))
    settings.append(.enableUpcomingFeature("MemberImportVisibility"))
    settings.append(.swiftLanguageMode(.v6))
    target.swiftSettings = settings
}
