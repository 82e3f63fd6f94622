import EngramAuth
import EngramCore
public import EngramMemory
import EngramMemoryModel
import EngramMetadata
public import Foundation
import Synchronization

/// What one freshness sweep changed.
public struct SweepReport: Sendable, Hashable {
    /// Published memories nobody served or confirmed for their stale period: now `stale`.
    public var staled: [UUID] = []
    /// Memories past `expires_at`: now `archived`.
    public var archived: [UUID] = []
    /// Deleted memories whose versions passed the retention period and were purged.
    public var purged: [UUID] = []
    /// Served-log rows past their retention, deleted.
    public var servedRowsPurged = 0
}

extension MemoryService {
    /// The freshness sweep: expired memories are archived, published memories nobody served or confirmed
    /// for their policy's `stale_after_days` become `stale`, versions of memories deleted longer than the
    /// retention period ago are purged, and old served-log rows and delivery ids are dropped.
    ///
    /// Idempotent: every rule reads the current state, so a second run (or a run after a restart) finds
    /// nothing left to do. Each change is a version (actor `system`) and an audit entry.
    @discardableResult
    public func sweep(now: Date = Date()) async throws -> SweepReport {
        var report = SweepReport()
        // Replicas: what the others served decides staleness and ranking here too.
        try await followUsage()
        usage.refreshRanking()
        let all = usage.all()
        let candidates = index.all { m in
            if let e = m.expiresAt, e <= now, m.state != .archived, m.state != .rejected { return true }
            return m.state == .published
        }
        for m in candidates {
            if let e = m.expiresAt, e <= now, m.state != .archived, m.state != .rejected {
                let reason = "expired at \(RFC3339.format(e.timeIntervalSince1970))"
                if let changed = try await changeState(
                    m.id,
                    to: .archived,
                    actor: "system",
                    origin: .system,
                    reason: reason,
                    from: [.draft, .pendingReview, .published, .stale]
                ) {
                    report.archived.append(changed.id)
                    try await recordAudit(
                        changed.orgId,
                        actor: "system",
                        action: "expire",
                        memory: changed,
                        before: m.contentHash,
                        after: changed.contentHash,
                        detail: "state \(m.state.rawValue)→archived; \(reason)"
                    )
                }
                continue
            }
            let days = policy(of: m).staleAfterDays
            let alive = Freshness.lastAlive(m, all[m.id] ?? MemoryUsage())
            guard now.timeIntervalSince(alive) > Double(days) * 86_400 else { continue }
            let reason = "stale: not served or confirmed for \(days) days"
            if let changed = try await changeState(m.id, to: .stale, actor: "system", origin: .system, reason: reason, from: [.published]) {
                report.staled.append(changed.id)
                try await recordAudit(
                    changed.orgId,
                    actor: "system",
                    action: "stale",
                    memory: changed,
                    before: m.contentHash,
                    after: changed.contentHash,
                    detail: "state published→stale; \(reason)"
                )
            }
        }
        guard let lifecycle else { return report }
        do {
            // Retention: versions of memories deleted longer ago than their org's period (the shortest
            // period bounds the query; each memory is then judged by its own org's period).
            let shortest = policies.withLock { map in map.values.map(\.versionRetentionDays).min() } ?? LifecyclePolicy.default.versionRetentionDays
            let cutoff = now.timeIntervalSince1970 - Double(min(shortest, LifecyclePolicy.default.versionRetentionDays)) * 86_400
            var purge: [String] = []
            for d in try await lifecycle.readGlobal({ tx in try tx.deletedBefore(cutoff) }) {
                let days = d.orgId.map { policy(orgId: $0).versionRetentionDays } ?? LifecyclePolicy.default.versionRetentionDays
                if d.at < now.timeIntervalSince1970 - Double(days) * 86_400 { purge.append(d.memoryId) }
            }
            // A memory restored meanwhile is live again: never purge what the index holds.
            purge = purge.filter { UUID(uuidString: $0).map { index.get($0) == nil } ?? true }
            let purged = purge
            if !purged.isEmpty { try await lifecycle.writeGlobal { tx in try tx.purge(memoryIds: purged) } }
            let ids = purge.compactMap(UUID.init(uuidString:))
            ledger?.forget(ids)
            usage.forget(ids)
            report.purged = ids
            let servedCutoff = now.timeIntervalSince1970 - Self.servedLogRetentionDays * 86_400
            report.servedRowsPurged = try await lifecycle.writeGlobal { tx in try tx.purgeServedLog(before: servedCutoff) }
            let deliveryCutoff = now.timeIntervalSince1970 - Self.deliveryRetentionDays * 86_400
            try await lifecycle.writeGlobal { tx in try tx.purgeDeliveries(before: deliveryCutoff) }
            // Replicas read the change feed within seconds; a day of it (by the real clock: `now` may be a test's
            // future) is kept for one that stood still.
            let feedCutoff = Date().timeIntervalSince1970 - Self.changeFeedRetentionDays * 86_400
            try await lifecycle.writeGlobal { tx in try tx.purgeChanges(before: feedCutoff) }
        } catch let e as MemoryError {
            throw e
        } catch {
            throw MemoryError.unavailable("the retention sweep could not write")
        }
        if !report.purged.isEmpty {
            try await recordAudit(
                nil,
                actor: "system",
                action: "purge",
                memory: nil,
                before: nil,
                after: nil,
                detail: "versions of \(report.purged.count) deleted memories past retention"
            )
        }
        return report
    }
}
