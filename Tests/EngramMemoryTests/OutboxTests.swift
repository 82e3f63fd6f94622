import EngramAuth
import EngramCore
import EngramDatabase
import EngramMemoryModel
import EngramMetadata
import EngramStore
import EngramStoreModel
import Foundation
import Synchronization
import Testing

@testable import EngramMemory

/// A vector store whose writes fail while `down` is set (reads go through): Qdrant unreachable, or a
/// writer killed between its version and its store write, as the replica that recorded the version sees it.
final class OutageStore: VectorStore {
    let inner: any VectorStore
    let down = Mutex(false)
    /// Points whose reads fail (a stored value that does not open).
    let unreadable = Mutex<Set<PointID>>([])

    init(_ inner: any VectorStore) { self.inner = inner }

    struct Unreachable: Error {}

    private func check() throws { if down.withLock({ $0 }) { throw Unreachable() } }

    func createCollection(_ config: CollectionConfig) async throws { try await inner.createCollection(config) }
    func deleteCollection(_ name: String) async throws -> Bool { try await inner.deleteCollection(name) }
    func collectionInfo(_ name: String) async throws -> CollectionInfo { try await inner.collectionInfo(name) }
    func listCollections() async throws -> [CollectionConfig] { try await inner.listCollections() }
    /// Runs once, before the next upsert reaches the store (another replica acting while this write is in flight).
    let beforeNextUpsert = Mutex<(@Sendable () async throws -> Void)?>(nil)

    func upsert(_ collection: String, points: [PointStruct]) async throws {
        try check()
        if let hook = beforeNextUpsert.withLock({ h in
            defer { h = nil }
            return h
        }) {
            try await hook()
        }
        try await inner.upsert(collection, points: points)
    }
    /// Passed before every read of points (a test holds one there).
    let beforeRetrieve = Mutex<Gate?>(nil)

    func retrieve(_ collection: String, ids: [PointID], withPayload: Bool, withVector: Bool) async throws -> [Record] {
        if !unreadable.withLock({ $0.isDisjoint(with: ids) }) { throw Unreachable() }
        if let gate = beforeRetrieve.withLock({ $0 }) { await gate.pass() }
        return try await inner.retrieve(collection, ids: ids, withPayload: withPayload, withVector: withVector)
    }
    func delete(_ collection: String, _ selector: PointSelector) async throws -> Int {
        try check()
        return try await inner.delete(collection, selector)
    }
    func search(_ collection: String, _ request: SearchRequest) async throws -> [ScoredPoint] { try await inner.search(collection, request) }
    func search(_ collection: String, batch: [SearchRequest]) async throws -> [[ScoredPoint]] { try await inner.search(collection, batch: batch) }
    func scroll(_ collection: String, _ request: ScrollRequest) async throws -> ScrollResult { try await inner.scroll(collection, request) }
    func count(_ collection: String, filter: Filter?) async throws -> Int { try await inner.count(collection, filter: filter) }
    func setPayload(_ collection: String, payload: Payload, key: String?, _ selector: PointSelector, requireAll: Bool) async throws {
        try check()
        try await inner.setPayload(collection, payload: payload, key: key, selector, requireAll: requireAll)
    }
    func overwritePayload(_ collection: String, payload: Payload, _ selector: PointSelector, requireAll: Bool) async throws {
        try check()
        try await inner.overwritePayload(collection, payload: payload, selector, requireAll: requireAll)
    }
    func deletePayloadKeys(_ collection: String, keys: [String], _ selector: PointSelector, requireAll: Bool) async throws {
        try check()
        try await inner.deletePayloadKeys(collection, keys: keys, selector, requireAll: requireAll)
    }
    func clearPayload(_ collection: String, _ selector: PointSelector, requireAll: Bool) async throws {
        try check()
        try await inner.clearPayload(collection, selector, requireAll: requireAll)
    }
}

/// The outbox of memory writes: a version is recorded (with its outbox row) before the store write, and a
/// write the store refused, or that its writer never made, is finished by the reconciler from the recorded
/// version, on every replica's index. Runs on SQLite and, under `Tests/postgres.sh`, on PostgreSQL.
@Suite struct OutboxTests {
    let alice = Principal.user("alice")
    let bob = Principal.user("bob")

    struct Pair {
        /// The writer, whose store writes fail while `outage.down` is set.
        let a: MemoryService
        let b: MemoryService
        let outage: OutageStore
        let store: any VectorStore
        let metadata: TestMetadata
    }

    func make() async throws -> Pair {
        let shared = try await SharedEngines.make("outbox", members: [("alice", .member), ("bob", .member)])
        let outage = OutageStore(shared.store)
        return Pair(
            a: try await shared.replica(over: outage),
            b: try await shared.replica(),
            outage: outage,
            store: shared.store,
            metadata: shared.metadata
        )
    }

    func stored(_ p: Pair, _ id: UUID) async throws -> Memory? {
        let records = try await p.store.retrieve(p.a.collection, ids: [.uuid(id)], withPayload: true, withVector: false)
        return records.first.flatMap { r in r.payload.flatMap { Memory(id: r.id, payload: $0) } }
    }

    @Test func writesThatReachTheStoreLeaveNothingToReconcile() async throws {
        let p = try await make()
        let m = try await p.a.add(alice, NewMemory(content: "The API gateway config lives in deploy/gateway.yaml")).memory
        _ = try await p.a.update(alice, id: m.id, MemoryPatch(tags: ["deploy"]))
        #expect(try await p.a.outboxStatus().pending == 2, "rows stay until the settled writes are flushed")
        #expect(try await p.a.reconcileOutbox(olderThan: 0) == 0, "the flush settles them; nothing is taken for an orphan")
        #expect(try await p.a.outboxStatus().pending == 0)
    }

    @Test func aWriteTheStoreRefusedIsFinishedByTheReconcilerOnEveryReplica() async throws {
        let p = try await make()
        p.outage.down.withLock { $0 = true }
        await #expect(throws: MemoryError.self) {
            _ = try await p.a.add(self.alice, NewMemory(content: "Integration tests need the docker compose stack running"))
        }
        #expect(try await p.a.outboxStatus().pending == 1)
        // The version is recorded and announced, but the store does not hold it: the follower waits.
        #expect(try await p.b.catchUp() == 1)
        #expect(p.b.countsByState().values.reduce(0, +) == 0)
        p.outage.down.withLock { $0 = false }
        // Within its lease the row still belongs to its writer.
        #expect(try await p.b.reconcileOutbox() == 0)
        #expect(try await p.b.reconcileOutbox(olderThan: 0) == 1)
        #expect(try await p.b.outboxStatus().pending == 0)
        let hits = try await p.b.search(alice, MemorySearchQuery(query: "what must run for integration tests", limit: 3))
        let found = try #require(hits.first?.memory)
        #expect(found.content == "Integration tests need the docker compose stack running" && found.version == 1)
        #expect(try await stored(p, found.id)?.contentHash == found.contentHash)
        // The writer follows it too: its waiting entry, or the feed, brings the index in line with the store.
        try await p.a.catchUp()
        #expect(try p.a.get(alice, id: found.id).content == found.content)
        #expect(throws: MemoryError.notFound) { try p.b.get(self.bob, id: found.id) }
    }

    @Test func anInterruptedUpdateAndDeleteAreFinishedFromTheirRecordedVersions() async throws {
        let p = try await make()
        let m = try await p.a.add(alice, NewMemory(content: "Lint with swift format lint --strict")).memory
        try await p.b.catchUp()
        p.outage.down.withLock { $0 = true }
        await #expect(throws: MemoryError.self) {
            _ = try await p.a.update(self.alice, id: m.id, MemoryPatch(content: "Lint with swift format lint --strict --recursive"))
        }
        #expect(try await stored(p, m.id)?.version == 1, "the store still holds the first version")
        try await p.b.catchUp()
        #expect(try p.b.get(alice, id: m.id).version == 1, "the follower waits for the store")
        p.outage.down.withLock { $0 = false }
        #expect(try await p.b.reconcileOutbox(olderThan: 0) == 1)
        let after = try #require(try await stored(p, m.id))
        #expect(after.version == 2 && after.content == "Lint with swift format lint --strict --recursive")
        try await p.a.catchUp()
        #expect(try p.a.get(alice, id: m.id).version == 2)
        // The next write continues from the recorded version.
        _ = try await p.a.update(alice, id: m.id, MemoryPatch(tags: ["lint"]))
        #expect(try await stored(p, m.id)?.version == 3)

        p.outage.down.withLock { $0 = true }
        await #expect(throws: MemoryError.self) { try await p.a.delete(self.alice, id: m.id) }
        p.outage.down.withLock { $0 = false }
        #expect(try await stored(p, m.id) != nil)
        try await p.b.catchUp()
        #expect(throws: MemoryError.notFound) { try p.b.get(self.alice, id: m.id) }
        #expect(try await p.b.reconcileOutbox(olderThan: 0) == 1)
        #expect(try await stored(p, m.id) == nil)
        let history = try await p.b.history(alice, id: m.id)
        #expect(history.map(\.version) == [1, 2, 3, 4] && history.last?.state == "deleted")
    }

    @Test func aRestartedProcessFinishesWhatItsPredecessorLeft() async throws {
        let p = try await make()
        p.outage.down.withLock { $0 = true }
        await #expect(throws: MemoryError.self) {
            _ = try await p.a.add(self.alice, NewMemory(content: "Staging deploys run from the release branch only"))
        }
        // A new process over the same files: the row is an orphan at once (SQLite: one process).
        let restarted = try await SharedEngines(store: p.store, metadata: p.metadata, embedder: try MemoryTestSupport.embedder()).replica()
        #expect(try await restarted.reconcileOutbox(olderThan: 0) == 1)
        let hits = try await restarted.search(alice, MemorySearchQuery(query: "where do staging deploys come from", limit: 3))
        #expect(hits.first?.memory.content == "Staging deploys run from the release branch only")
    }
}

extension OutboxTests {
    @Test func aRetryOfARecordedButUnwrittenAddFindsTheFirstInsteadOfSavingTwice() async throws {
        let p = try await make()
        // Both follow each other (as `engram serve` does on PostgreSQL).
        p.a.following.withLock { $0 = true }
        p.b.following.withLock { $0 = true }
        let text = "Database migrations run with make migrate before the app starts"
        p.outage.down.withLock { $0 = true }
        await #expect(throws: MemoryError.self) { _ = try await p.a.add(self.alice, NewMemory(content: text)) }
        // The client retries on the other replica, long before the lease would hand the row to the reconciler.
        let retried = try await p.b.add(alice, NewMemory(content: text))
        #expect(retried.status == .duplicate)
        let versions = try await p.b.history(alice, id: retried.memory.id)
        #expect(versions.map(\.version) == [1], "the first recorded memory, not a second one")
        #expect(try await stored(p, retried.memory.id)?.content == text)
        // Bob's same text is his own memory: alice's pending write is not his duplicate.
        p.outage.down.withLock { $0 = true }
        await #expect(throws: MemoryError.self) { _ = try await p.a.add(self.alice, NewMemory(content: text + " (v2)")) }
        let bobs = try await p.b.add(bob, NewMemory(content: text + " (v2)"))
        #expect(bobs.status == .created && bobs.memory.userId == "bob")
        p.outage.down.withLock { $0 = false }
        #expect(try await p.b.outboxStatus().pending >= 1, "alice's second write still waits for the reconciler")
        #expect(try await p.b.reconcileOutbox(olderThan: 0) == 1)
    }
}

extension OutboxTests {
    @Test func oneMemoryThatCannotBeFinishedDoesNotHoldUpTheOthers() async throws {
        let p = try await make()
        p.outage.down.withLock { $0 = true }
        for text in ["Feature flags are read from flags.yaml", "The nightly job rebuilds the search index"] {
            await #expect(throws: MemoryError.self) { _ = try await p.a.add(self.alice, NewMemory(content: text)) }
        }
        p.outage.down.withLock { $0 = false }
        let pending = try await p.metadata.store.readGlobal { tx in try tx.staleOutbox(olderThan: 0, now: Date().timeIntervalSince1970 + 1, limit: 10)
        }
        #expect(pending.count == 2)
        let stuck = try #require(UUID(uuidString: pending[0].memoryId))
        p.outage.unreadable.withLock { $0 = [.uuid(stuck)] }
        #expect(try await p.a.reconcileOutbox(olderThan: 0) == 1, "the other memory is finished")
        #expect(try await p.a.outboxStatus().pending == 1, "the stuck one stays for the next pass")
        p.outage.unreadable.withLock { $0 = [] }
        #expect(try await p.a.reconcileOutbox(olderThan: 0) == 1)
        #expect(try await p.a.outboxStatus().pending == 0)
    }
}

extension OutboxTests {
    /// A payload changed in the store around the service (the Qdrant-compatible API) at a version the index
    /// already holds is not a recorded version: neither the follower nor the reconciler serves it (only
    /// `reloadFromStore`, which applies the memory rules, may admit it).
    @Test func aStoredPayloadAtAVersionAlreadyHeldIsNeverServedUnvetted() async throws {
        let p = try await make()
        let m = try await p.a.add(alice, NewMemory(content: "Release builds are signed by the CI key only")).memory
        let updated = try await p.a.update(alice, id: m.id, MemoryPatch(content: "Release builds are signed in CI, never locally"))
        try await p.b.catchUp()
        #expect(try p.b.get(alice, id: m.id).version == 2)
        // The store's text changes, version and hash untouched.
        try await p.store.setPayload(
            p.a.collection,
            payload: [Memory.Field.content: .string("Release builds may be signed on any laptop")],
            key: nil,
            .ids([.uuid(m.id)]),
            requireAll: false
        )
        // A feed entry older than the index (a page read before the newer entry committed) is not a reason
        // to copy the store's payload into the index, on the writer or on a follower.
        let stale = ChangeRow(
            seq: 1,
            kind: .memory,
            key: m.id.lowercasedText,
            version: 1,
            state: m.state.rawValue,
            contentHash: m.contentHash,
            at: 0
        )
        for replica in [p.a, p.b] {
            #expect(try await replica.refresh([stale]).isEmpty)
            #expect(try replica.get(alice, id: m.id).content == updated.content)
        }
        // The reconciler finishing the recorded version rewrites the store from the record.
        let versions = try await p.metadata.store.read(TenantScope(tenants: [m.tenant], userId: "alice")) { tx in
            try tx.versions(memoryId: m.id.lowercasedText)
        }
        let latest = try #require(versions.last)
        #expect(latest.version == 2)
        #expect(try await p.b.finishStoreWrite(latest))
        #expect(try await stored(p, m.id)?.content == updated.content)
        #expect(try p.b.get(alice, id: m.id).content == updated.content)
    }
}

extension OutboxTests {
    /// A store write that lands after a newer version's (a second reconciler, or a writer slower than its
    /// lease) would turn the store back: the late writer reads the latest recorded version again and ends
    /// the store on it.
    @Test func aLateStoreWriteDoesNotTurnTheStoreBack() async throws {
        let p = try await make()
        let m = try await p.a.add(alice, NewMemory(content: "Benchmarks run on the quiet runner only")).memory
        try await p.b.catchUp()
        p.outage.down.withLock { $0 = true }
        await #expect(throws: MemoryError.self) {
            _ = try await p.a.update(self.alice, id: m.id, MemoryPatch(content: "Benchmarks run on the quiet runner, never on laptops"))
        }
        p.outage.down.withLock { $0 = false }
        // While a's reconciler is about to write v2, b finishes v2 too and writes v3, whose store write lands first.
        let live = "Benchmarks run on the quiet runner with the CPU governor pinned"
        let alice = self.alice
        p.outage.beforeNextUpsert.withLock {
            $0 = {
                #expect(try await p.b.reconcileOutbox(olderThan: 0) == 1)
                _ = try await p.b.update(alice, id: m.id, MemoryPatch(content: live))
            }
        }
        #expect(try await p.a.reconcileOutbox(olderThan: 0) == 1)
        #expect(try await stored(p, m.id)?.content == live)
        #expect(try await stored(p, m.id)?.version == 3)
        #expect(try p.a.get(alice, id: m.id).content == live)

        // A live write slower than `slowStoreWrite` whose version was overtaken meanwhile.
        let late = "Benchmarks run on the quiet runner; results go to bench/results"
        let newest = "Benchmarks run on the quiet runner; results are kept for 90 days"
        p.outage.beforeNextUpsert.withLock {
            $0 = {
                try await Task.sleep(for: MemoryService.slowStoreWrite + .milliseconds(200))
                #expect(try await p.b.reconcileOutbox(olderThan: 0) == 1, "the lease has run out: the reconciler takes v4")
                _ = try await p.b.update(alice, id: m.id, MemoryPatch(content: newest))
            }
        }
        _ = try await p.a.update(alice, id: m.id, MemoryPatch(content: late))
        #expect(try await stored(p, m.id)?.content == newest)
        #expect(try await stored(p, m.id)?.version == 5)
    }
}
