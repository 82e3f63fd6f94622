import EngramCore
package import EngramHTTP
import EngramMemory
import EngramMemoryModel
package import EngramQdrantAPI
import EngramServer
package import EngramStore
import EngramStoreModel
import Foundation
package import Hummingbird
package import Logging
import ServiceLifecycle
import UnixSignals

/// `engram serve`'s optional second listener: the Qdrant-compatible API, on only when
/// `ENGRAM_QDRANT_API_KEY` is set, at `--qdrant-listen` / `ENGRAM_QDRANT_LISTEN` (default 127.0.0.1:6333).
package enum QdrantListener {
    package static let defaultListen = "127.0.0.1:6333"

    /// Runs `main` alone, or `main` and the Qdrant listener together in one service group that
    /// shuts both down gracefully on SIGTERM / SIGINT.
    package static func run(
        main app: some ApplicationProtocol,
        store: EmbeddedStore,
        listener: (apiKey: String, address: String)?,
        logger: Logger,
        limits: ServerLimits,
        memoryCollection: String? = nil,
        onMemoryCollectionWrite: (@Sendable (String) async -> Void)? = nil
    ) async throws {
        guard let (key, address) = listener else {
            logger.info("Qdrant-compatible API off (set ENGRAM_QDRANT_API_KEY to enable it)")
            try await app.runService()
            return
        }
        guard let (host, port) = QdrantAPI.parseListen(address) else {
            throw Runtime.Failure(description: "--qdrant-listen takes HOST:PORT, e.g. \(defaultListen); got \(address)")
        }
        let qdrant = QdrantAPI.application(
            store: store,
            configuration: QdrantAPIConfiguration(
                apiKey: key,
                onMemoryCollectionWrite: onMemoryCollectionWrite,
                memoryPayloadProblem: memoryRules(for: memoryCollection),
                // Quarantined memories leave this read path too.
                readExclusion: memoryCollection.map {
                    ReadExclusion(collection: $0, key: Memory.stateField, values: [.string(MemoryState.quarantined.rawValue)])
                },
                // The main listener's edge settings: timeouts, connection cap, proxies, failed-credential limit.
                connections: limits.connections,
                trustedProxies: limits.trustedProxies,
                keyFailuresPerMinute: limits.authFailuresPerMinute,
                keyFailureBurst: limits.authFailureBurst
            ),
            host: host,
            port: port,
            logger: logger
        )
        logger.info("Qdrant-compatible API on", metadata: ["address": "\(host):\(port)", "emulates": "\(QdrantAPI.emulatedVersion)"])
        let group = ServiceGroup(
            configuration: .init(
                services: [app, qdrant],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        try await group.run()
    }

    /// The memory rules for writes into `live`, the collection the memory service reads; other `memories_*`
    /// collections (another model's, a test's) get the secret filter only.
    package static func memoryRules(for live: String?) -> MemoryPayloadCheck? {
        guard let live else { return nil }
        return { collection, id, payload, complete in
            collection == live ? Memory.storePayloadProblem(id: id, payload, complete: complete) : nil
        }
    }
}
