import EngramAuth
import EngramDatabase
import EngramMetadata
import EngramStore
import Foundation
import Testing

@testable import EngramMemory

/// Replicas that share one vector store and one metadata store: each keeps its own in-memory index and
/// follows the others' writes through the change feed (`MemoryService.catchUp`). Two services over the
/// same store and database stand in for two processes; the suite runs on SQLite and, under
/// `Tests/postgres.sh`, on PostgreSQL (whose feed is the `engram.changes` table, filled by trigger).
@Suite struct ReplicaFollowTests {
    let alice = Principal.user("alice")
    let bob = Principal.user("bob")
    let carol = Principal.user("carol", role: .admin)

    struct Pair {
        let a: MemoryService
        let b: MemoryService
        let metadata: TestMetadata
    }

    func make() async throws -> Pair {
        let shared = try await SharedEngines.make("replicas", members: [("alice", .member), ("bob", .member), ("carol", .admin)])
        return Pair(a: try await shared.replica(), b: try await shared.replica(), metadata: shared.metadata)
    }

    @Test func aWriteOnOneReplicaReachesTheOtherThroughTheFeed() async throws {
        let p = try await make()
        let m = try await p.a.add(alice, NewMemory(content: "The billing service deploys with make ship-billing")).memory
        // The writer serves it at once; the other replica only after it follows the feed.
        #expect(try p.a.get(alice, id: m.id).content == m.content)
        #expect(throws: MemoryError.notFound) { try p.b.get(self.alice, id: m.id) }
        #expect(try await p.b.catchUp() >= 1)
        let followed = try p.b.get(alice, id: m.id)
        #expect(followed.content == m.content && followed.version == m.version && followed.state == m.state)
        #expect(followed.contentHash == m.contentHash && followed.userId == m.userId && followed.scope == m.scope)
        let hits = try await p.b.search(alice, MemorySearchQuery(query: "how does billing deploy", limit: 3))
        #expect(hits.first?.memory.id == m.id)
        // Still private on the follower.
        #expect(throws: MemoryError.notFound) { try p.b.get(self.bob, id: m.id) }
        // Nothing new: nothing applied.
        #expect(try await p.b.catchUp() == 0)
    }

    @Test func updatesStateChangesAndDeletesFollowToo() async throws {
        let p = try await make()
        let m = try await p.a.add(alice, NewMemory(content: "Release notes live in CHANGES.md", scope: .org, taskId: "REL-1")).memory
        try await p.b.catchUp()
        #expect(try p.b.get(alice, id: m.id).state == .draft)
        #expect(throws: MemoryError.notFound) { try p.b.get(self.bob, id: m.id) }
        _ = try await p.a.finish(alice, taskId: "REL-1")
        try await p.b.catchUp()
        #expect(try p.b.get(bob, id: m.id).state == .published)
        _ = try await p.a.update(alice, id: m.id, MemoryPatch(content: "Release notes live in docs/releases.md"))
        try await p.b.catchUp()
        #expect(try p.b.get(bob, id: m.id).content == "Release notes live in docs/releases.md")
        let stale = try await p.b.search(bob, MemorySearchQuery(query: "CHANGES.md", limit: 5))
        #expect(!stale.contains { $0.memory.content.contains("CHANGES.md") })
        // A write on the follower is followed back by the first.
        _ = try await p.b.update(alice, id: m.id, MemoryPatch(tags: ["docs"]))
        try await p.a.catchUp()
        #expect(try p.a.get(alice, id: m.id).tags == ["docs"])
        try await p.a.delete(alice, id: m.id)
        try await p.b.catchUp()
        #expect(throws: MemoryError.notFound) { try p.b.get(self.alice, id: m.id) }
        #expect(try await p.b.search(alice, MemorySearchQuery(query: "release notes", limit: 5)).isEmpty)
    }

    @Test func anOrganisationsPolicyFollowsOnPostgreSQL() async throws {
        let p = try await make()
        try await p.b.catchUp()
        let changed = LifecyclePolicy(staleAfterDays: 45, versionRetentionDays: 10, approverMustDiffer: false)
        _ = try await p.a.setPolicy(carol, changed)
        try await p.b.catchUp()
        if TestMetadata.onPostgres {
            #expect(p.b.policy(orgId: "acme") == changed)
        } else {
            // One process owns a SQLite file: its feed carries memory versions only.
            #expect(p.a.policy(orgId: "acme") == changed)
        }
    }
}

extension ReplicaFollowTests {
    /// A replica that stood still (paused, cut off from the database) for longer than half the feed's
    /// retention may have missed entries the sweep purged meanwhile: it reads the store again. On PostgreSQL
    /// the purge empties the feed here; on SQLite the feed is the version history, which nothing purges.
    @Test func aFollowerThatStoodStillPastTheFeedsRetentionReadsTheStoreAgain() async throws {
        let p = try await make()
        let kept = try await p.a.add(alice, NewMemory(content: "Service owners are listed in OWNERS.md")).memory
        let dropped = try await p.a.add(alice, NewMemory(content: "The staging database is reset every Monday")).memory
        try await p.b.catchUp()
        _ = try await p.a.update(alice, id: kept.id, MemoryPatch(content: "Service owners are listed in .github/CODEOWNERS"))
        try await p.a.delete(alice, id: dropped.id)
        let added = try await p.a.add(alice, NewMemory(content: "Feature branches are deleted after they merge")).memory
        _ = try await p.metadata.store.writeGlobal { tx in try tx.purgeChanges(before: Date().timeIntervalSince1970 + 1) }
        p.b.feed.withLock { $0.lastReadAt = Date().timeIntervalSince1970 - 13 * 3600 }
        try await p.b.catchUp()
        #expect(try p.b.get(alice, id: kept.id).content == "Service owners are listed in .github/CODEOWNERS")
        #expect(throws: MemoryError.notFound) { try p.b.get(self.alice, id: dropped.id) }
        #expect(try p.b.get(alice, id: added.id).content == added.content)
        // Following resumes from the feed's head.
        _ = try await p.a.update(alice, id: added.id, MemoryPatch(tags: ["git"]))
        try await p.b.catchUp()
        #expect(try p.b.get(alice, id: added.id).tags == ["git"])
    }
}

extension ReplicaFollowTests {
    /// What one replica served reaches the others' counters and ranking at their next sweep interval (not
    /// only at their next start), without counting anything twice.
    @Test func whatOneReplicaServedCountsOnTheOthers() async throws {
        let p = try await make()
        for r in [p.a, p.b] { r.following.withLock { $0 = true } }
        let m = try await p.a.add(alice, NewMemory(content: "Lockfiles are committed for every service")).memory
        try await p.b.catchUp()
        let query = MemorySearchQuery(query: "are lockfiles committed", limit: 1)
        #expect(try await p.a.search(alice, query).first?.memory.id == m.id)
        try await p.a.usage.flush()
        #expect(p.b.usage.usage(m.id).servedCount == 0)
        // b serves it too, and has not flushed that yet.
        #expect(try await p.b.search(alice, query).first?.memory.id == m.id)
        try await p.b.followUsage()
        #expect(p.b.usage.usage(m.id).servedCount == 2)
        #expect(p.b.usage.rankingCounts([m.id])[m.id] == 2)
        try await p.b.usage.flush()
        try await p.b.followUsage()
        #expect(p.b.usage.usage(m.id).servedCount == 2, "a flushed increment is not counted twice")
        try await p.a.followUsage()
        #expect(p.a.usage.usage(m.id).servedCount == 2)
        #expect(p.a.usage.usage(m.id).lastServedAt != nil)
    }
}

/// The follower's bookkeeping of the feed's gaps.
@Suite struct ChangeCursorTests {
    @Test func aGapHoldsTheFloorUntilItArrives() {
        var c = ChangeCursor(floor: 0, gapTimeout: 5)
        c.markApplied([1, 2, 4], now: 0)
        #expect(c.floor == 2 && c.gaps == 1)
        let rows = [3, 4, 5].map { ChangeRow(seq: $0, kind: .memory, key: "k", version: 1, state: "published", contentHash: "h", at: 0) }
        #expect(c.unapplied(rows).map(\.seq) == [3, 5])
        c.markApplied([3, 5], now: 1)
        #expect(c.floor == 5 && c.gaps == 0)
    }

    @Test func aGapThatNeverArrivesIsGivenUpAfterTheTimeout() {
        var c = ChangeCursor(floor: 10, gapTimeout: 5)
        c.markApplied([12, 13], now: 100)
        #expect(c.floor == 10)
        c.expireGaps(now: 104)
        #expect(c.floor == 10, "still waiting within the timeout")
        c.expireGaps(now: 105)
        #expect(c.floor == 13 && c.gaps == 0)
    }

    @Test func aHugeJumpIsNotTrackedPositionByPosition() {
        var c = ChangeCursor(floor: 0, gapTimeout: 5)
        c.markApplied([1_000_000], now: 0)
        #expect(c.gaps <= Int(ChangeCursor.maxTrackedGap))
        c.expireGaps(now: 10)
        #expect(c.floor == 1_000_000)
    }
}
