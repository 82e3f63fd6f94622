package import EngramAccounts
import EngramBackup
import EngramConfig
import EngramDatabase
import EngramEmbedding
package import EngramMemory
package import EngramMetadata
import EngramQdrantClient
import EngramStore
package import EngramStoreModel
package import Foundation
package import Logging

/// Opens the memory domain for a command: over the embedded store in a data directory or a remote
/// Qdrant, with the embedder the memories were made with (`ModelGuard`), creating nothing when the
/// command only reads.
package enum MemoryStores {
    /// What a command does with the memories.
    package enum Mode {
        /// Reads only (export, a migration's source): the database and the memory collection must
        /// already exist; nothing is created.
        case readOnly
        /// Writes (serve, import, a migration's target): creates the collection when missing and
        /// records the embedding model in the data directory.
        case readWrite
    }

    /// Opens `spec` (`embedded` or `qdrant://…`).
    /// `metadata` is the PostgreSQL metadata store when `--metadata` names one; nil: the embedded store's
    /// SQLite file (a remote Qdrant without it has no versions, usage or audit log).
    package static func open(
        _ spec: String,
        dataDirectory: URL,
        setup: Runtime.EmbedderSetup,
        mode: Mode,
        metadata: (any MetadataStore)? = nil,
        logger: Logger
    ) async throws -> MemoryService {
        let store: any VectorStore
        let location: String
        var audit: AuditLog?
        var database: (any MetadataStore)?
        if spec == "embedded" {
            let file = dataDirectory.appendingPathComponent(StoreBackup.databaseFile)
            if mode == .readOnly, !FileManager.default.fileExists(atPath: file.path) {
                throw Runtime.Failure(
                    description: "no Engram database at \(file.path): pass --data-dir (or set ENGRAM_DATA_DIR) to the server's data directory"
                )
            }
            let embedded = try EmbeddedStore(directory: dataDirectory, cipher: try EngramConfiguration().atRestCipher(), logger: logger)
            store = embedded
            database = metadata ?? embedded.database
            location = "the data directory \(dataDirectory.path)"
            // Writes (import, a migration's target) are audited like every other path.
            if mode == .readWrite { audit = AuditLog(metadata: metadata ?? embedded.database) }
        } else {
            let remote = try QdrantRemoteStore(url: spec, apiKey: EngramConfiguration().qdrantRemoteAPIKey, logger: logger)
            store = remote
            location = "the Qdrant store at \(remote.baseURL.host ?? spec)"
            database = metadata
            if mode == .readWrite, let metadata { audit = AuditLog(metadata: metadata) }
        }
        return try await open(
            store: store,
            location: location,
            dataDirectory: dataDirectory,
            setup: setup,
            mode: mode,
            audit: audit,
            database: database,
            logger: logger
        )
    }

    /// Opens the memories in `store` after `ModelGuard`'s check; records the model when writing.
    package static func open(
        store: any VectorStore,
        location: String,
        dataDirectory: URL,
        setup: Runtime.EmbedderSetup,
        mode: Mode,
        requiresReview: @escaping @Sendable (String) async -> Bool = { _ in false },
        audit: AuditLog? = nil,
        database: (any MetadataStore)? = nil,
        minRelevance: Double = MemoryService.defaultMinRelevance,
        secretsNeedKey: Bool = false,
        logger: Logger
    ) async throws -> MemoryService {
        let record = DataDirectoryRecord.load(from: dataDirectory)
        try await ModelGuard.check(
            store: store,
            collection: MemoryService.collectionName(for: setup.embedder),
            embedder: setup.embedder,
            record: record,
            location: location,
            unavailable: setup.unavailable
        )
        setup.announce(logger)
        let service = try await MemoryService(
            store: store,
            embedder: setup.embedder,
            requiresReview: requiresReview,
            audit: audit,
            metadata: database,
            createIfMissing: mode == .readWrite,
            minRelevance: minRelevance,
            secretsNeedKey: secretsNeedKey,
            logger: logger
        )
        if mode == .readWrite, FileManager.default.fileExists(atPath: dataDirectory.path) {
            try DataDirectoryRecord(embedder: setup.embedder, modelDirectory: setup.modelDirectory).save(in: dataDirectory)
        }
        return service
    }

    /// Whether the service's collection exists (a read-only open of a store without memories has none).
    package static func hasCollection(_ service: MemoryService) async throws -> Bool {
        try await service.store.listCollections().contains { $0.name == service.collection }
    }

    /// Shuts down what the services opened (a remote store's HTTP client) at the end of a command.
    package static func close(_ services: MemoryService...) async {
        for service in services {
            if let remote = service.store as? QdrantRemoteStore { try? await remote.shutdown() }
        }
    }

    package static func quietLogger() -> Logger {
        var l = Logger(label: "engram.transfer")
        l.logLevel = .warning
        return l
    }
}
