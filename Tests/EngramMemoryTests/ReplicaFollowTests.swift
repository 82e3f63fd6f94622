import EngramAuth
import EngramDatabase
import EngramMemoryModel
import EngramMetadata
import EngramStore
import EngramStoreModel
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

    @Test func aGapGivenUpIsLookedForUntilTheWatchEnds() {
        var c = ChangeCursor(floor: 10, gapTimeout: 5)
        c.markApplied([12], now: 100)
        #expect(c.lateGaps(now: 100).isEmpty, "still a gap, not given up")
        c.expireGaps(now: 105)
        #expect(c.floor == 12 && c.lateGaps(now: 106) == [11])
        c.arrivedLate([11])
        #expect(c.lateGaps(now: 107).isEmpty)
        c.markApplied([14], now: 200)
        c.expireGaps(now: 205)
        #expect(c.lateGaps(now: 205 + ChangeCursor.lateWatch - 1) == [13])
        #expect(c.lateGaps(now: 205 + ChangeCursor.lateWatch).isEmpty, "forgotten after the watch")
    }

    @Test func aHugeJumpIsNotTrackedPositionByPosition() {
        var c = ChangeCursor(floor: 0, gapTimeout: 5)
        c.markApplied([1_000_000], now: 0)
        #expect(c.gaps <= Int(ChangeCursor.maxTrackedGap))
        c.expireGaps(now: 10)
        #expect(c.floor == 1_000_000)
    }

    func row(_ seq: Int64, _ id: UUID, version: Int = 1) -> ChangeRow {
        ChangeRow(seq: seq, kind: .memory, key: id.uuidString.lowercased(), version: version, state: "published", contentHash: "h", at: 0)
    }

    /// Two reads of the feed that overlap: the one that started earlier (and did not see `x`) finishes
    /// last. `x`'s entry, marked applied by the other, must keep waiting for the store.
    @Test func aRefreshThatDidNotLookAtAMemoryLeavesItsWaitAlone() {
        let w = UUID()
        let x = UUID()
        var waits = StoreWaits(capacity: 10)
        #expect(waits.record(refreshed: [row(2, x)], behind: [row(2, x)]) == 0)
        #expect(waits.record(refreshed: [row(1, w)], behind: []) == 0)
        #expect(waits.values.map(\.seq) == [2], "the earlier read's refresh of w leaves x waiting")
        // A refresh at an older position than the wait does not end it either.
        #expect(waits.record(refreshed: [row(1, x)], behind: []) == 0)
        #expect(waits.count == 1)
        // One that looked at x at its position and found the store caught up does.
        #expect(waits.record(refreshed: [row(2, x)], behind: []) == 0)
        #expect(waits.count == 0)
    }

    @Test func aWaitMovesOnlyForwardAndIsBounded() {
        let x = UUID()
        var waits = StoreWaits(capacity: 2)
        _ = waits.record(refreshed: [row(5, x, version: 2)], behind: [row(5, x, version: 2)])
        _ = waits.record(refreshed: [row(3, x)], behind: [row(3, x)])
        #expect(waits.values.first?.seq == 5, "an older entry does not replace a newer one")
        let more = (0..<3).map { row(10 + Int64($0), UUID()) }
        #expect(waits.record(refreshed: more, behind: more) == 2)
        #expect(waits.count == 2)
        waits.finished(key: x.uuidString.lowercased(), seq: 4)
        #expect(waits.count == 2, "finished at another position: still waits")
        waits.finished(key: x.uuidString.lowercased(), seq: 5)
        #expect(waits.count == 1)
    }

}

/// Following while writes and other reads of the feed go on.
extension ReplicaFollowTests {
    /// A transaction slower than the follower's patience: the follower read a later entry, waited for
    /// this one past `feedGapTimeout` and moved on; when it commits in the end, it is applied all the same.
    @Test func anEntryThatArrivesAfterItsGapWasGivenUpIsApplied() async throws {
        let p = try await make()
        let first = try await p.a.add(alice, NewMemory(content: "The search service reindexes nightly at 02:00")).memory
        let second = try await p.a.add(alice, NewMemory(content: "Flaky tests are quarantined with the @flaky tag")).memory
        let rows = try #require(try await p.b.lifecycle?.readGlobal { tx in try tx.changes(after: 0, limit: 1000) })
        let s1 = try #require(rows.first { $0.key == first.id.uuidString.lowercased() }?.seq)
        let s2 = try #require(rows.first { $0.key == second.id.uuidString.lowercased() }?.seq)
        // As b saw it: the second entry, and a gap where the first would be, given up.
        try await p.b.refresh(rows.filter { $0.seq == s2 })
        let now = Date().timeIntervalSince1970
        p.b.feed.withLock { c in
            c = ChangeCursor(floor: s1 - 1, gapTimeout: MemoryService.feedGapTimeout)
            c.markApplied(rows.filter { $0.seq > s1 }.map(\.seq), now: now - MemoryService.feedGapTimeout - 1)
            c.expireGaps(now: now)
        }
        #expect(p.b.feed.withLock { $0.floor } >= s2)
        #expect(throws: MemoryError.notFound) { try p.b.get(self.alice, id: first.id) }
        try await p.b.catchUp()
        #expect(try p.b.get(alice, id: first.id).content == first.content)
        #expect(p.b.feed.withLock { $0.lateGaps(now: Date().timeIntervalSince1970) }.isEmpty)
    }

    /// Two reads of the feed overlap on a follower: the first read the feed before `x` was recorded and
    /// reaches its refresh last; the second saw `x` waiting for the store and marked it applied. Before
    /// the reads were serialised, the first replaced the waits with its own view and `x` never arrived.
    @Test func aFeedReadThatReturnsLateDoesNotDropAWaitForTheStore() async throws {
        let shared = try await SharedEngines.make("overlap", members: [("alice", .member)])
        let outage = OutageStore(shared.store)
        let a = try await shared.replica(over: outage)
        let follower = OutageStore(shared.store)
        let paused = PausingMetadata(inner: shared.metadata.store)
        let b = try await shared.replica(over: follower, metadata: paused)
        try await b.catchUp()
        _ = try await a.add(alice, NewMemory(content: "The docs site builds with mkdocs build --strict"))
        // The first read of the feed sees w only, and returns late.
        let feedRead = Gate()
        paused.gate.withLock { $0 = feedRead }
        let early = Task { try await b.catchUp() }
        #expect(await feedRead.reached())
        paused.gate.withLock { $0 = nil }
        outage.down.withLock { $0 = true }
        await #expect(throws: MemoryError.self) {
            _ = try await a.add(self.alice, NewMemory(content: "Nightly builds publish to the staging bucket"))
        }
        // The second sees x as well and stops in its refresh, under the write lock (a read that waits for
        // the first never gets there) ...
        let refreshing = Gate()
        follower.beforeRetrieve.withLock { $0 = refreshing }
        let late = Task { try await b.catchUp() }
        _ = await refreshing.reached(within: .seconds(1))
        // ... while the first goes on to its own refresh, which waits for the lock.
        feedRead.open()
        try await Task.sleep(for: .milliseconds(100))
        refreshing.open()
        _ = try await early.value
        _ = try await late.value
        follower.beforeRetrieve.withLock { $0 = nil }
        outage.down.withLock { $0 = false }
        // The writer finishes its store write; the follower learns of it only through its wait.
        #expect(try await a.reconcileOutbox(olderThan: 0) == 1)
        try await b.catchUp()
        #expect(b.countsByState().values.reduce(0, +) == 2, "both memories reach the follower")
    }
}
