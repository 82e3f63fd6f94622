import EngramCore
package import EngramMetadata
public import Foundation
import Synchronization

/// How much a memory is used: served by searches, confirmed helpful, reported.
public struct MemoryUsage: Sendable, Hashable, Codable {
    public var servedCount: Int = 0
    public var lastServedAt: Date?
    public var lastConfirmedAt: Date?
    /// Open `outdated`/`wrong` reports.
    public var openReports: Int = 0

    public init(servedCount: Int = 0, lastServedAt: Date? = nil, lastConfirmedAt: Date? = nil, openReports: Int = 0) {
        self.servedCount = servedCount
        self.lastServedAt = lastServedAt
        self.lastConfirmedAt = lastConfirmedAt
        self.openReports = openReports
    }
}

/// Usage counters of every memory, kept in memory and written to the service database in batches.
///
/// A search only takes a lock and appends to a buffer (`served`); `flush()` (run by the server on a
/// timer, and at shutdown) writes the buffered served-log rows and the changed counters in one
/// transaction: the served-count increments since the last flush, added to the stored counts, and the
/// times, kept when later than the stored ones. So several trackers on one database (replicas) add up.
/// Counters are loaded once at start-up (what other replicas add later shows here at the next start).
/// Without a database the counters live in memory only.
public final class UsageTracker: Sendable {
    package let metadata: (any MetadataStore)?
    private struct State {
        var usage: [UUID: MemoryUsage] = [:]
        /// Served counts as of the last `refreshRanking()`: what the ranking prior reads.
        var ranking: [UUID: Int] = [:]
        /// Served entries not yet written: text conversion waits for the flush, off the search path.
        var pending: [(at: Double, id: UUID, userId: String, rank: Int)] = []
        var dirty: Set<UUID> = []
        /// Served counts added since the last flush: what the flush adds to the stored counts (a replica
        /// never writes an absolute count, which would overwrite what other replicas added).
        var increments: [UUID: Int] = [:]
    }
    private let state = Mutex(State())
    /// Buffered served-log rows beyond this are dropped from the log (counters still count them) so a
    /// stalled database cannot grow memory without bound.
    package static let maxPending = 100_000

    package init(metadata: (any MetadataStore)?) {
        self.metadata = metadata
    }

    /// Loads counters and open report counts from the database.
    package func load() async throws {
        guard let metadata else { return }
        let map = try await Self.stored(metadata)
        state.withLock { $0.usage = map }
    }

    /// Reads every counter again from the database, keeping what this tracker has not flushed yet: what
    /// other replicas served (and flushed) shows here too. Run after a flush, never during one (a batch
    /// being written is in neither place until it commits): `engram serve` runs both from one loop.
    package func reload() async throws {
        guard let metadata else { return }
        let stored = try await Self.stored(metadata)
        state.withLock { s in
            var merged = stored
            for (id, n) in s.increments { merged[id, default: MemoryUsage()].servedCount += n }
            for id in s.dirty {
                guard let local = s.usage[id] else { continue }
                var u = merged[id, default: MemoryUsage()]
                u.lastServedAt = [u.lastServedAt, local.lastServedAt].compactMap { $0 }.max()
                u.lastConfirmedAt = [u.lastConfirmedAt, local.lastConfirmedAt].compactMap { $0 }.max()
                merged[id] = u
            }
            s.usage = merged
        }
    }

    /// Every tenant's counters and open report counts as stored (the global surface).
    private static func stored(_ metadata: any MetadataStore) async throws -> [UUID: MemoryUsage] {
        let (rows, reports) = try await metadata.readGlobal { tx in (try tx.allUsage(), try tx.allReports()) }
        var map: [UUID: MemoryUsage] = [:]
        for r in rows {
            guard let id = UUID(uuidString: r.memoryId) else { continue }
            map[id] = MemoryUsage(
                servedCount: r.servedCount,
                lastServedAt: r.lastServedAt.map(Date.init(timeIntervalSince1970:)),
                lastConfirmedAt: r.lastConfirmedAt.map(Date.init(timeIntervalSince1970:))
            )
        }
        for report in reports where !report.resolved && report.verdict != "helpful" {
            guard let id = UUID(uuidString: report.memoryId) else { continue }
            map[id, default: MemoryUsage()].openReports += 1
        }
        return map
    }

    /// The usage of one memory.
    public func usage(_ id: UUID) -> MemoryUsage { state.withLock { $0.usage[id] ?? MemoryUsage() } }

    /// The usage of many memories (missing ones have none).
    package func usage(_ ids: [UUID]) -> [UUID: MemoryUsage] {
        state.withLock { s in
            var out: [UUID: MemoryUsage] = [:]
            for id in ids { out[id] = s.usage[id] }
            return out
        }
    }

    /// Every memory's usage.
    package func all() -> [UUID: MemoryUsage] { state.withLock { $0.usage } }

    /// The served counts the ranking prior reads, as of the last refresh (nil entries: never served then).
    /// Searches change the live counts at once but these only at a refresh (each freshness sweep), so a
    /// search never changes the scores of the next one: results stay reproducible between sweeps.
    package func rankingCounts(_ ids: [UUID]) -> [UUID: Int] {
        state.withLock { s in
            var out: [UUID: Int] = [:]
            for id in ids { out[id] = s.ranking[id] }
            return out
        }
    }

    /// Takes the live served counts as the ranking's.
    package func refreshRanking() {
        state.withLock { s in s.ranking = s.usage.mapValues(\.servedCount).filter { $0.value > 0 } }
    }

    /// Records that `ids` were served to `userId`, in rank order (off the request path: a lock and an append).
    package func served(_ ids: [UUID], to userId: String, at time: Date = Date()) {
        guard !ids.isEmpty else { return }
        let t = time.timeIntervalSince1970
        state.withLock { s in
            for (rank, id) in ids.enumerated() {
                s.usage[id, default: MemoryUsage()].servedCount += 1
                s.usage[id]!.lastServedAt = time
                s.increments[id, default: 0] += 1
                s.dirty.insert(id)
                if s.pending.count < Self.maxPending { s.pending.append((t, id, userId, rank + 1)) }
            }
        }
    }

    /// Records a confirmation (`helpful`, an approval, a revert by its owner).
    package func confirmed(_ id: UUID, at time: Date = Date()) {
        state.withLock { s in
            s.usage[id, default: MemoryUsage()].lastConfirmedAt = time
            s.dirty.insert(id)
        }
    }

    /// Sets the number of open reports of a memory.
    package func setOpenReports(_ id: UUID, _ n: Int) {
        state.withLock { s in s.usage[id, default: MemoryUsage()].openReports = n }
    }

    /// Restores imported counters (export/import round trips).
    package func restore(_ id: UUID, _ u: MemoryUsage) {
        state.withLock { s in
            s.increments[id, default: 0] += u.servedCount - (s.usage[id]?.servedCount ?? 0)
            s.usage[id] = u
            s.dirty.insert(id)
        }
    }

    /// Forgets memories purged by retention.
    package func forget(_ ids: [UUID]) {
        state.withLock { s in
            for id in ids {
                s.usage[id] = nil
                s.increments[id] = nil
                s.dirty.remove(id)
            }
        }
    }

    /// Writes what was buffered since the last flush; on failure the batch is put back for the next one.
    /// - Returns: the number of served-log rows written.
    @discardableResult
    public func flush() async throws -> Int {
        guard let metadata else {
            state.withLock { s in
                s.pending.removeAll()
                s.dirty.removeAll()
                s.increments.removeAll()
            }
            return 0
        }
        let (pending, usage) = state.withLock { s -> ([(at: Double, id: UUID, userId: String, rank: Int)], [UsageRow]) in
            let pending = s.pending
            let usage = s.dirty.map { id in
                let u = s.usage[id] ?? MemoryUsage()
                return UsageRow(
                    memoryId: id.lowercasedText,
                    servedCount: s.increments[id] ?? 0,
                    lastServedAt: u.lastServedAt?.timeIntervalSince1970,
                    lastConfirmedAt: u.lastConfirmedAt?.timeIntervalSince1970
                )
            }
            s.pending.removeAll(keepingCapacity: true)
            s.dirty.removeAll(keepingCapacity: true)
            s.increments.removeAll(keepingCapacity: true)
            return (pending, usage)
        }
        let rows = pending.map { ServedRow(at: $0.at, memoryId: $0.id.lowercasedText, userId: $0.userId, rank: $0.rank) }
        do {
            // The batched background flush covers many tenants' memories: the global surface.
            try await metadata.writeGlobal { tx in try tx.recordUsage(served: rows, usage: usage) }
        } catch {
            state.withLock { s in
                s.pending = Array((pending + s.pending).prefix(Self.maxPending))
                for u in usage {
                    guard let id = UUID(uuidString: u.memoryId) else { continue }
                    s.dirty.insert(id)
                    s.increments[id, default: 0] += u.servedCount
                }
            }
            throw error
        }
        return rows.count
    }
}
