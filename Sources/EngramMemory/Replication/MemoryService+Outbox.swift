import EngramCore
package import EngramMemoryModel
package import EngramMetadata
import EngramStore
import EngramStoreModel
import Foundation
import Logging
import Metrics
import Synchronization

/// Finishing the store writes that their writers left behind.
///
/// Every memory write records its version and an outbox row in one transaction, then writes the vector
/// store, then settles the row (`MemoryLedger.settled`, flushed in batches). A row older than the lease
/// belongs to a writer that crashed or to a store that refused the write: `reconcileOutbox` writes the
/// memory's latest recorded version to the store (an upsert by point id, or a delete), so whatever the
/// ledger and the change feed announce reaches the store, and settles the row. Replicas on PostgreSQL run
/// it one at a time (an advisory lock, in `engram serve`); it is idempotent either way.
extension MemoryService {
    /// How long an outbox row belongs to its writer before the reconciler takes it over (seconds).
    public static let outboxLease = 10.0
    /// How many memories one reconciler pass finishes at most.
    package static let outboxBatch = 64

    /// Writes the latest recorded version of every memory whose outbox rows are older than `age` seconds
    /// to the store, updates this replica's index, and settles the rows. Settled writes of this replica
    /// are flushed first, so they are never taken for orphans.
    /// - Parameter age: the lease; 0 at the start of the only process on a SQLite file, whose earlier
    ///   writers are all gone.
    /// - Returns: how many memories were finished (0 without a service database).
    @discardableResult
    public func reconcileOutbox(olderThan age: Double = MemoryService.outboxLease) async throws -> Int {
        guard let lifecycle, let ledger else { return 0 }
        try await ledger.flushSettled()
        let rows = try await lifecycle.readGlobal { tx in
            try tx.staleOutbox(olderThan: age, now: Date().timeIntervalSince1970, limit: Self.outboxBatch)
        }
        guard !rows.isEmpty else { return 0 }
        var done: [OutboxKey] = []
        var failed = 0
        await exclusively {
            for row in rows {
                // One memory that cannot be finished (its stored value does not open, the store refuses it)
                // leaves its row for the next pass without holding up the others.
                do {
                    if try await finishLatestStoreWrite(row) { done.append(OutboxKey(memoryId: row.memoryId, version: row.version)) }
                } catch {
                    failed += 1
                }
            }
        }
        if failed > 0 { logger.warning("outbox: store writes left for the next pass", metadata: ["count": "\(failed)"]) }
        let keys = done
        guard !keys.isEmpty else { return 0 }
        try await lifecycle.writeGlobal { tx in try tx.settleOutbox(keys) }
        Counter(label: "engram_outbox_reconciled_total").increment(by: keys.count)
        logger.notice("outbox: finished store writes left by their writers", metadata: ["count": "\(keys.count)"])
        return keys.count
    }

    /// How many newer versions one reconciler write follows before it leaves the memory to their writers.
    package static let reconcileFollowLimit = 8

    /// `finishStoreWrite(row)`, then the memory's latest recorded version read again: while a newer one was
    /// recorded meanwhile, it is written too. A live writer on another replica records its version before its
    /// store write, so when that write lands before the reconciler's (which carries the older version, or
    /// resurrects a deleted memory), the second read finds the newer version and the store ends on it.
    /// Qdrant has no conditional write to do this in one step. Runs under the write lock.
    package func finishLatestStoreWrite(_ row: VersionRow) async throws -> Bool {
        var current = row
        for _ in 0..<Self.reconcileFollowLimit {
            guard try await finishStoreWrite(current) else { return current.version != row.version }
            guard let newer = try await latestRecordedVersion(of: current), newer.version > current.version else { return true }
            current = newer
        }
        return true
    }

    /// The latest recorded version of `row`'s memory, read in the memory's own tenant (nil when the
    /// recorded value does not say whose it is).
    package func latestRecordedVersion(of row: VersionRow) async throws -> VersionRow? {
        guard let memory = MemoryLedger.version(row)?.memory else { return nil }
        return try await latestRecordedVersion(of: memory)
    }

    /// The latest recorded version of `memory`, read in its own tenant.
    package func latestRecordedVersion(of memory: Memory) async throws -> VersionRow? {
        guard let lifecycle else { return nil }
        let scope = TenantScope(tenants: [memory.tenant], userId: memory.userId)
        return try await lifecycle.read(scope) { tx in try tx.versions(memoryId: memory.id.lowercasedText) }.last
    }

    /// A store write slower than this may have outlived its lease: the reconciler may have finished it
    /// meanwhile and a newer version may already be in the store, which this late write has just replaced.
    package static let slowStoreWrite: Duration = .seconds(1)

    /// After a slow store write of `written`: when a newer version was recorded meanwhile, the store is
    /// brought to it (under the write lock, as every write). A failure is left to the newer version's
    /// outbox row and the reconciler.
    package func followNewerVersion(after written: Memory) async {
        do {
            guard let newer = try await latestRecordedVersion(of: written), newer.version > written.version else { return }
            _ = try await finishLatestStoreWrite(newer)
            logger.notice("store write outlived its lease; the newer version was written again", metadata: ["memory": "\(written.id)"])
        } catch {
            logger.warning(
                "store write outlived its lease; left to the reconciler",
                metadata: ["memory": "\(written.id)", "error": "\(type(of: error))"]
            )
        }
    }

    /// Brings the store (and this replica's index) to the recorded version `row`, the memory's latest:
    /// nothing to write when the store holds it already. Runs under the write lock.
    /// - Returns: false when the version cannot be read here (a snapshot under a key this replica lacks).
    package func finishStoreWrite(_ row: VersionRow) async throws -> Bool {
        guard let id = UUID(uuidString: row.memoryId) else { return false }
        let stored: Memory?
        do {
            let records = try await store.retrieve(collection, ids: [.uuid(id)], withPayload: true, withVector: false)
            stored = records.first.flatMap { r in r.payload.flatMap { Memory(id: r.id, payload: $0) } }
        } catch {
            throw MemoryError.unavailable("the store is not reachable")
        }
        if row.state == "deleted" {
            if stored != nil { try await storeWrite { try await store.delete(collection, .ids([.uuid(id)])) } }
            index.remove(id)
        } else {
            guard let recorded = MemoryLedger.version(row)?.memory else {
                logger.warning("outbox: recorded version unreadable", metadata: ["memory": "\(id)", "version": "\(row.version)"])
                return false
            }
            // The store holds the recorded version when its text, hash and state are the recorded ones (a
            // payload changed around the service at the same version number is rewritten from the record).
            if let stored, stored.version == recorded.version, stored.content == recorded.content,
                stored.contentHash == recorded.contentHash, stored.state == recorded.state
            {
                index.put(stored)
            } else {
                let vector = try await embed(recorded.content)
                try await storeWrite {
                    try await store.upsert(collection, points: [PointStruct(id: .uuid(id), vector: vector, payload: recorded.payload)])
                }
                index.put(recorded)
            }
        }
        ledger?.noteRecorded(id, version: row.version)
        ledger?.settled(id, version: row.version)
        return true
    }

    /// Before a replica that follows others saves new text: catches up with the change feed, and finishes
    /// at once the store writes that wait with the same content hash in `tenant` (a writer killed after
    /// recording them, whose client now retries here), so the duplicate check finds the memory instead of
    /// saving it twice. Best effort: a failure leaves the ordinary check.
    package func settleRecordedDuplicates(tenant: String, userId: String, hash: String) async {
        guard following.withLock({ $0 }), let lifecycle else { return }
        do {
            try await catchUp()
            let candidates = storeWaits.withLock { $0.waiting(hash: hash) }
            guard !candidates.isEmpty else { return }
            let scope = TenantScope(tenants: [tenant], userId: userId)
            for change in candidates {
                // Row security on PostgreSQL, and the recorded memory's own tenant, keep another tenant's memory out.
                let versions = try await lifecycle.read(scope) { tx in try tx.versions(memoryId: change.key) }
                guard let latest = versions.last, MemoryLedger.version(latest)?.memory.tenant == tenant else { continue }
                _ = try await exclusively { try await finishLatestStoreWrite(latest) }
                storeWaits.withLock { $0.finished(key: change.key, seq: change.seq) }
            }
        } catch {
            logger.warning("duplicate check: could not finish recorded writes", metadata: ["error": "\(type(of: error))"])
        }
    }

    /// How many store writes are pending, and the age of the oldest (for `/readyz` and `/metrics`).
    public func outboxStatus() async throws -> OutboxStatus {
        guard let lifecycle else { return OutboxStatus(pending: 0, oldestAge: nil) }
        let depth = try await lifecycle.readGlobal { tx in try tx.outboxDepth() }
        let age = depth.oldestAt.map { max(0, Date().timeIntervalSince1970 - $0) }
        Gauge(label: "engram_outbox_pending").record(depth.pending)
        Gauge(label: "engram_outbox_oldest_seconds").record(age ?? 0)
        return OutboxStatus(pending: depth.pending, oldestAge: age)
    }

    /// Keeps the outbox short until cancelled: every `interval`, flushes this replica's settled writes and,
    /// through `exclusive` (one replica at a time on PostgreSQL), reconciles rows past their lease. A
    /// failure (an engine unreachable) is logged once per outage and retried.
    public func maintainOutbox(
        every interval: Duration,
        exclusive: @escaping @Sendable (@Sendable () async throws -> Void) async throws -> Void = { try await $0() }
    ) async {
        var failing = false
        while !Task.isCancelled {
            do {
                try await ledger?.flushSettled()
                try await exclusive { [self] in try await reconcileOutbox() }
                _ = try await outboxStatus()
                if failing {
                    logger.notice("outbox: engines reachable again")
                    failing = false
                }
            } catch {
                // Stopping (the server drained) is not an outage.
                if Task.isCancelled { break }
                if !failing { logger.warning("outbox: reconciliation failed; retrying", metadata: ["error": "\(type(of: error))"]) }
                failing = true
            }
            try? await Task.sleep(for: interval)
        }
    }

    private func storeWrite(_ body: () async throws -> Void) async throws {
        do { try await body() } catch { throw MemoryError.unavailable("the store did not accept the write") }
    }
}

/// The outbox as `/readyz` reports it.
public struct OutboxStatus: Sendable, Hashable {
    /// Store writes recorded but not settled.
    public var pending: Int
    /// Seconds since the oldest of them was recorded (nil when none is pending).
    public var oldestAge: Double?
}
