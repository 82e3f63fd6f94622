import EngramCore
import EngramMemoryModel
package import EngramMetadata
import EngramStore
import EngramStoreModel
public import Foundation
import Logging
import Metrics
import Synchronization

/// Following the writes of other replicas.
///
/// Replicas that share one metadata database and one vector store each keep an in-memory index of the
/// memories (payloads, BM25 postings, content hashes). A replica's own writes update its index at once
/// (read-your-writes); the writes of the others reach it through the change feed: every recorded version
/// appends a feed entry in the same transaction (a trigger on PostgreSQL), and `catchUp()` reads the new
/// entries and re-reads those memories from the store. A version is recorded before its store write (the
/// outbox, `MemoryService+Outbox`), so the re-read may find the store behind the version that announced
/// it: such an entry waits, and is retried at every pass until the store catches up (its writer, or the
/// reconciler, finishes the write). The last entry of a memory leaves the index equal to the store.
extension MemoryService {
    /// How long a follower waits for a gap in the feed (a transaction still committing) before its floor
    /// moves past it; the gap is then still looked for (`ChangeCursor.lateWatch`), in case it commits late.
    package static let feedGapTimeout = 5.0
    /// How many feed entries one `catchUp()` reads at most.
    package static let feedPage = 1000
    /// How many entries may wait for the store at once (an outage of the store during heavy writes).
    package static let maxStoreWaits = 100_000

    /// Applies the change feed's new entries to the in-memory index: memories whose recorded version this
    /// replica does not hold yet are read again from the store (or removed when deleted); an organisation's
    /// changed settings reload its lifecycle policy.
    /// - Returns: how many feed entries were applied (0 without a service database).
    @discardableResult
    public func catchUp() async throws -> Int {
        guard lifecycle != nil else { return 0 }
        // Every add on a follower catches up first (`settleRecordedDuplicates`), beside `followChanges`:
        // reads run one at a time, so no read applies an older view of the feed over a newer one's.
        return try await feedReads.withLock { try await catchUpOnce() }
    }

    private func catchUpOnce() async throws -> Int {
        guard let lifecycle else { return 0 }
        // A replica that has not read the feed for half its retention (paused, or cut off from the database)
        // may have missed entries the sweep has purged since: it reads the whole collection again instead.
        if let last = feed.withLock({ $0.lastReadAt }),
            Date().timeIntervalSince1970 - last > Self.changeFeedRetentionDays * 86_400 / 2
        {
            try await rebuildIndexFromStore()
        }
        let (floor, late) = feed.withLock { ($0.floor, $0.lateGaps(now: Date().timeIntervalSince1970)) }
        let (rows, arrived) = try await lifecycle.readGlobal { tx in
            (try tx.changes(after: floor, limit: Self.feedPage), try tx.changes(at: late))
        }
        if !arrived.isEmpty {
            logger.notice("change feed: entries given up as gaps arrived late", metadata: ["count": "\(arrived.count)"])
        }
        let fresh = feed.withLock { $0.unapplied(rows) } + arrived
        let now = Date().timeIntervalSince1970
        let waiting = storeWaits.withLock { $0.values }
        guard !fresh.isEmpty else {
            feed.withLock { cursor in
                cursor.expireGaps(now: now)
                cursor.lastReadAt = now
            }
            if !waiting.isEmpty { try? await retryWaiting(waiting) }
            return 0
        }
        let refreshed = waiting + fresh.filter { $0.kind == .memory }
        let behind = try await refresh(refreshed)
        let dropped = storeWaits.withLock { $0.record(refreshed: refreshed, behind: behind) }
        if dropped > 0 {
            logger.warning(
                "change feed: too many entries wait for the store; the rest are read at the next restart",
                metadata: ["dropped": "\(dropped)"]
            )
        }
        Gauge(label: "engram_change_feed_waiting").record(storeWaits.withLock { $0.count })
        if fresh.contains(where: { $0.kind == .organisation }) { try await reloadPolicies() }
        let gaps = feed.withLock { cursor in
            cursor.arrivedLate(arrived.map(\.seq))
            cursor.markApplied(fresh.map(\.seq), now: Date().timeIntervalSince1970)
            cursor.lastReadAt = now
            if let newest = fresh.map(\.at).max(), newest > 0 { cursor.newestAppliedAt = max(cursor.newestAppliedAt ?? 0, newest) }
            return cursor.gaps
        }
        if let newest = fresh.map(\.at).max(), newest > 0 {
            Gauge(label: "engram_change_feed_lag_seconds").record(max(0, Date().timeIntervalSince1970 - newest))
        }
        Gauge(label: "engram_change_feed_gaps").record(gaps)
        Counter(label: "engram_change_feed_applied_total").increment(by: fresh.count)
        return fresh.count
    }

    /// Where this replica stands in the change feed (for `/readyz`).
    public func changeFeedStatus() -> ChangeFeedStatus {
        feed.withLock { c in
            ChangeFeedStatus(
                position: c.floor,
                gaps: c.gaps,
                lastReadAt: c.lastReadAt.map(Date.init(timeIntervalSince1970:)),
                newestAppliedAt: c.newestAppliedAt.map(Date.init(timeIntervalSince1970:))
            )
        }
    }

    /// Follows the change feed until cancelled: `catchUp()` every `interval`, at once again while it reads
    /// full pages. A failure (the database unreachable) is logged once per outage and retried; nothing is
    /// lost meanwhile, since the feed keeps the entries.
    public func followChanges(every interval: Duration) async {
        following.withLock { $0 = true }
        defer { following.withLock { $0 = false } }
        var failing = false
        while !Task.isCancelled {
            do {
                let applied = try await catchUp()
                if failing {
                    logger.notice("change feed reachable again")
                    failing = false
                }
                if applied >= Self.feedPage { continue }
            } catch {
                // Stopping (the server drained) is not an outage.
                if Task.isCancelled { break }
                if !failing { logger.warning("change feed unreachable; retrying", metadata: ["error": "\(type(of: error))"]) }
                failing = true
            }
            try? await Task.sleep(for: interval)
        }
    }

    /// Retries the entries waiting for the store; a failure leaves them waiting.
    private func retryWaiting(_ waiting: [ChangeRow]) async throws {
        let behind = try await refresh(waiting)
        _ = storeWaits.withLock { $0.record(refreshed: waiting, behind: behind) }
        Gauge(label: "engram_change_feed_waiting").record(storeWaits.withLock { $0.count })
    }

    /// Brings the index in line with the store for the memories of `changes` (the latest entry per memory
    /// decides), under the write lock so that no local write interleaves.
    /// - Returns: the entries whose version the store does not hold yet (left as they are in the index).
    @discardableResult
    package func refresh(_ changes: [ChangeRow]) async throws -> [ChangeRow] {
        var latest: [UUID: ChangeRow] = [:]
        for c in changes {
            guard let id = UUID(uuidString: c.key) else { continue }
            if let seen = latest[id], seen.seq > c.seq { continue }
            latest[id] = c
        }
        guard !latest.isEmpty else { return [] }
        return try await exclusively {
            for (id, change) in latest { if let v = change.version { ledger?.noteRecorded(id, version: v) } }
            var reread: [UUID] = []
            for (id, change) in latest {
                let held = index.get(id)
                if change.state == "deleted" {
                    if held != nil { index.remove(id) }
                    continue
                }
                // The index holds this version or a newer one (this replica's own write): nothing to read.
                if let held, let announced = change.version, held.version >= announced { continue }
                reread.append(id)
            }
            var behind: [ChangeRow] = []
            var start = 0
            while start < reread.count {
                let ids = Array(reread[start..<min(reread.count, start + 256)])
                start += ids.count
                let records: [Record]
                do {
                    records = try await store.retrieve(collection, ids: ids.map { .uuid($0) }, withPayload: true, withVector: false)
                } catch {
                    throw MemoryError.unavailable("the store is not reachable")
                }
                var found = Set<UUID>()
                for record in records {
                    guard let payload = record.payload, let m = Memory(id: record.id, payload: payload) else { continue }
                    found.insert(m.id)
                    if let change = latest[m.id], let announced = change.version, m.version < announced {
                        behind.append(change)
                        continue
                    }
                    // Only a newer version replaces what the index holds: a stored payload at a version the
                    // index has already was written around the service (the Qdrant-compatible API), and
                    // `reloadFromStore` applies the memory rules to it before anyone may read it.
                    if let held = index.get(m.id), held.version >= m.version { continue }
                    index.put(m)
                }
                // Not in the store: the write of a recorded version still to come.
                for id in ids where !found.contains(id) { if let change = latest[id] { behind.append(change) } }
            }
            return behind
        }
    }

    /// Brings the whole index in line with the store, for a follower that may have missed feed entries: the
    /// feed position is taken first (a write made meanwhile is applied again by the next `catchUp()`, never
    /// missed), then every stored memory newer than the index's copy replaces it and memories no longer
    /// stored leave the index; organisation policies are read again.
    package func rebuildIndexFromStore() async throws {
        guard let lifecycle else { return }
        let head = try await lifecycle.readGlobal { tx in try tx.latestChange() }
        let (replaced, removed): (Int, Int) = try await exclusively {
            var present = Set<UUID>()
            var replaced = 0
            var offset: PointID?
            repeat {
                let page: ScrollResult
                do {
                    page = try await store.scroll(collection, ScrollRequest(limit: 1000, offset: offset, withPayload: true))
                } catch {
                    throw MemoryError.unavailable("the store is not reachable")
                }
                for record in page.points {
                    guard let payload = record.payload, let m = Memory(id: record.id, payload: payload) else { continue }
                    present.insert(m.id)
                    // As in `refresh`: only a newer version replaces what the index holds.
                    if let held = index.get(m.id), held.version >= m.version { continue }
                    index.put(m)
                    replaced += 1
                }
                offset = page.nextPageOffset
            } while offset != nil
            let gone = index.all(where: { !present.contains($0.id) })
            for m in gone { index.remove(m.id) }
            return (replaced, gone.count)
        }
        try await reloadPolicies()
        feed.withLock { cursor in
            let read = cursor.lastReadAt
            cursor = ChangeCursor(floor: head, gapTimeout: Self.feedGapTimeout)
            cursor.lastReadAt = read
        }
        logger.notice(
            "change feed: the index was read again from the store after a long pause",
            metadata: ["replaced": "\(replaced)", "removed": "\(removed)"]
        )
    }

    /// Reads the usage counters again from the service database (what other replicas served and flushed,
    /// plus what this one has not flushed yet) and takes them as the ranking's, so that replicas rank and
    /// judge freshness alike. A no-op unless this replica follows others (`followChanges`). `engram serve`
    /// calls it on every replica at each sweep interval, right after a flush; the sweep calls it first.
    public func followUsage() async throws {
        guard following.withLock({ $0 }) else { return }
        try await usage.reload()
        usage.refreshRanking()
    }

    /// Reloads every organisation's lifecycle policy from the service database.
    package func reloadPolicies() async throws {
        guard let lifecycle else { return }
        let rows = try await lifecycle.readGlobal { tx in try tx.policies() }
        policies.withLock { map in
            map = [:]
            for (org, p) in rows {
                map[org] = LifecyclePolicy(
                    staleAfterDays: p.staleAfterDays,
                    versionRetentionDays: p.versionRetentionDays,
                    approverMustDiffer: p.approverMustDiffer
                )
            }
        }
    }
}

/// A replica's position in the change feed.
public struct ChangeFeedStatus: Sendable, Hashable {
    /// The feed position below which every entry is applied.
    public var position: Int64
    /// Positions being waited for (transactions still committing).
    public var gaps: Int
    /// When the feed was last read successfully (nil: never).
    public var lastReadAt: Date?
    /// When the newest entry applied was recorded (nil: none yet).
    public var newestAppliedAt: Date?
}
