import Foundation
import Logging
import MeteoAnalytics
import MeteoCore
import MeteoEmbedded

/// The composition root's view of the configured backends. Only this file knows which
/// adapter stands behind each seam; the commands and the pipeline see the protocols.
struct Backends {
    let configuration: MeteoConfiguration
    let logger: Logger

    var dataDirURL: URL { URL(fileURLWithPath: configuration.dataDir, isDirectory: true) }

    func requireEmbeddedBus() throws {
        guard configuration.bus == .embedded else {
            throw MeteoError(code: .invalidConfiguration,
                             "--bus kafka needs a build with the Kafka trait (swift build --traits Kafka), which is not available yet; use --bus embedded")
        }
    }

    func requireSQLiteStore() throws {
        guard configuration.store == .sqlite else {
            throw MeteoError(code: .invalidConfiguration,
                             "--store mongodb needs a build with the MongoDB trait, which is not available yet; use --store sqlite")
        }
    }

    func openLog() throws -> EmbeddedLog {
        try requireEmbeddedBus()
        return try EmbeddedLog.open(dataDir: dataDirURL, retention: configuration.retention, logger: logger)
    }

    func openStore() throws -> SQLiteStore {
        try requireSQLiteStore()
        return try SQLiteStore.open(dataDir: dataDirURL, logger: logger)
    }

    /// The analytics engine: in-process today; Spark Connect comes with the Spark trait.
    func analyticsEngine(store: any ObservationStore) -> any AnalyticsEngine {
        InProcessEngine(store: store, logger: logger)
    }
}
