import EngramAccounts
import EngramAuth
import EngramDatabase
import EngramEmbedding
import EngramMetadata
import EngramStore
import EngramStoreModel
import Foundation
import Synchronization

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

    /// A replica over the shared engines, writing through `store` and `metadata` (the shared ones unless given).
    func replica(over store: (any VectorStore)? = nil, metadata: (any MetadataStore)? = nil) async throws -> MemoryService {
        try await MemoryService(
            store: store ?? self.store,
            embedder: embedder,
            audit: AuditLog(metadata: metadata ?? self.metadata.store),
            metadata: metadata ?? self.metadata.store,
            minRelevance: 0
        )
    }
}

/// Holds the first caller of `pass()` until `open()` (later callers, and every caller once open, go
/// through): a test stops one task at a chosen point while others run.
final class Gate: Sendable {
    private struct State {
        var taken = false
        var opened = false
        var held: CheckedContinuation<Void, Never>?
    }
    private let state = Mutex(State())

    init() {}

    func pass() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let hold = state.withLock { s -> Bool in
                guard !s.taken, !s.opened else { return false }
                s.taken = true
                s.held = c
                return true
            }
            if !hold { c.resume() }
        }
    }

    /// Whether a caller is held (or was, before `open()`); waits for one up to `timeout`.
    func reached(within timeout: Duration = .seconds(3)) async -> Bool {
        let end = ContinuousClock.now + timeout
        while ContinuousClock.now < end {
            if state.withLock({ $0.taken }) { return true }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return false
    }

    func open() {
        let held = state.withLock { s -> CheckedContinuation<Void, Never>? in
            s.opened = true
            defer { s.held = nil }
            return s.held
        }
        held?.resume()
    }
}

/// A metadata store whose next cross-tenant transaction, once `gate` is set, waits at the gate after it
/// has run: a replica's read of the change feed that returns late.
final class PausingMetadata: MetadataStore {
    let inner: any MetadataStore
    let gate = Mutex<Gate?>(nil)

    init(inner: any MetadataStore) { self.inner = inner }

    var engine: MetadataEngine { inner.engine }
    var sealsSecrets: Bool { inner.sealsSecrets }

    func withTenant<T: Sendable>(
        _ scope: TenantScope,
        _ access: MetadataAccess,
        _ body: @escaping @Sendable (any MetadataTransaction) throws -> T
    ) async throws -> T {
        try await inner.withTenant(scope, access, body)
    }

    func withGlobal<T: Sendable>(_ access: MetadataAccess, _ body: @escaping @Sendable (any GlobalQueries) throws -> T) async throws -> T {
        let result = try await inner.withGlobal(access, body)
        if let gate = gate.withLock({ $0 }) { await gate.pass() }
        return result
    }
}
