import EngramAuth
import EngramDatabase
import EngramEmbedding
import EngramStore
import Foundation

@testable import EngramMemory

/// What two replicas share in the replica suites: one vector store and one metadata store (SQLite, or
/// PostgreSQL under `Tests/postgres.sh`), with the members of org `acme`. Each `replica(over:)` is a
/// `MemoryService` standing in for one process.
struct SharedEngines {
    let store: any VectorStore
    let metadata: TestMetadata
    let embedder: MiniLMEmbedder

    /// - Parameter members: user id and role in `acme`.
    static func make(_ prefix: String, members: [(String, Role)]) async throws -> SharedEngines {
        let store = try await MemoryTestSupport.store().0
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("engram-\(prefix)-\(UUID().uuidString)")
        let metadata = try await TestMetadata.make { try EngramDatabase(directory: dir) }
        let directory = MemberDirectory(metadata: metadata.store)
        for (user, role) in members {
            try await directory.upsertMember(userId: user, orgId: "acme", role: role, orgName: "Acme")
        }
        return SharedEngines(store: store, metadata: metadata, embedder: try MemoryTestSupport.embedder())
    }

    /// A replica over the shared engines, writing through `store` (the shared one unless given).
    func replica(over store: (any VectorStore)? = nil) async throws -> MemoryService {
        try await MemoryService(
            store: store ?? self.store,
            embedder: embedder,
            audit: AuditLog(metadata: metadata.store),
            metadata: metadata.store,
            minRelevance: 0
        )
    }
}
