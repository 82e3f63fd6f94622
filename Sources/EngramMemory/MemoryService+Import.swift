import EngramAccounts
import EngramAuth
import EngramCore
import EngramEmbedding
public import EngramMemoryModel
public import EngramMetadata
import EngramPoisoning
import EngramPoisoningCore
import EngramStore
public import EngramStoreModel
import Foundation
import Logging
import Synchronization

extension MemoryService {
    /// A memory to import with its vector (nil: embedded here).
    public struct ImportItem: Sendable {
        public var memory: Memory
        public var vector: [Float]?
        /// The memory's recorded versions (nil: the import is recorded as its version).
        public var versions: [VersionRow]?
        /// Its usage counters (served, last served, last confirmed).
        public var usage: MemoryUsage?

        public init(memory: Memory, vector: [Float]? = nil, versions: [VersionRow]? = nil, usage: MemoryUsage? = nil) {
            self.memory = memory
            self.vector = vector
            self.versions = versions
            self.usage = usage
        }
    }

    /// Writes memories in bulk (export/import, migration, benchmarks), keeping
    /// their ids, authors, states and times. Every text field still passes the
    /// secret filter and validation; a vector of the wrong size is re-embedded.
    /// No duplicate detection: the caller decides what to import. Every memory written is
    /// audited (action `import`, the hash it replaced if its id existed, the hash written).
    /// - Returns: the number written.
    @discardableResult
    public func importMemories(_ items: [ImportItem], actor: String = "operator", batchSize: Int = 512) async throws -> Int {
        var written = 0
        var start = 0
        while start < items.count {
            let chunk = items[start..<min(items.count, start + batchSize)]
            var points: [PointStruct] = []
            var memories: [Memory] = []
            for item in chunk {
                var m = item.memory
                m.content = try MemoryInput.validate(content: m.content)
                m.tags = try MemoryInput.validate(tags: m.tags)
                try scanForSecrets([m.content] + m.tags + [m.repo, m.taskId])
                let flags = try screenForPoisoning(m.content)
                if !flags.isEmpty, m.reviewedBy == nil {
                    m.screenFlags = flags
                    // Flagged org text is not served to the org before a reviewer reads it.
                    if m.scope == .org, m.state == .published { m.state = .pendingReview }
                } else if flags.isEmpty {
                    m.screenFlags = []
                }
                m.contentHash = MemoryInput.contentHash(m.content)
                let dims = embedder?.dimensions ?? 1
                var vector: [Float]
                if let v = item.vector, v.count == dims, m.embeddingModel == embeddingModel {
                    vector = v
                } else {
                    vector = try await embed(m.content)
                    m.embeddingModel = embeddingModel
                }
                if embedder == nil { vector = [1] }
                points.append(PointStruct(id: .uuid(m.id), vector: vector, payload: m.payload))
                memories.append(m)
            }
            try await exclusively {
                let replaced = memories.map { index.get($0.id)?.contentHash }
                do { try await store.upsert(collection, points: points) } catch {
                    throw MemoryError.unavailable("the store did not accept the import batch")
                }
                for m in memories { index.put(m) }
                try await recordImportedHistory(Array(chunk), memories: memories, actor: actor)
                try await recordAudit(
                    zip(memories, replaced).map { m, before in
                        AuditLog.Record(
                            orgId: m.orgId,
                            actor: actor,
                            action: "import",
                            memoryId: m.id,
                            beforeHash: before,
                            afterHash: m.contentHash,
                            detail: "via \(WriteChannel.importer.rawValue); state \(m.state.rawValue)"
                        )
                    }
                )
            }
            written += memories.count
            start += batchSize
        }
        do {
            try await usage.flush()
        } catch {
            throw MemoryError.unavailable("the imported usage counters were not saved")
        }
        return written
    }

    /// Versions and usage of imported memories: the exported versions as they were (a version already
    /// recorded is kept), or for a memory exported without them one `imported` version of what was written.
    package func recordImportedHistory(_ items: [ImportItem], memories: [Memory], actor: String) async throws {
        guard let ledger else { return }
        var rows: [VersionRow] = []
        for (item, m) in zip(items, memories) {
            if let versions = item.versions, !versions.isEmpty {
                rows += versions.filter { $0.memoryId == m.id.lowercasedText }.map { row in
                    var filed = row
                    filed.tenant = m.tenant
                    return filed
                }
            } else {
                rows.append(
                    MemoryLedger.row(
                        m,
                        state: m.state.rawValue,
                        actor: actor,
                        channel: WriteChannel.importer.rawValue,
                        client: nil,
                        requestId: nil,
                        reason: "imported",
                        at: Date()
                    )
                )
            }
            if let u = item.usage {
                usage.restore(m.id, MemoryUsage(servedCount: u.servedCount, lastServedAt: u.lastServedAt, lastConfirmedAt: u.lastConfirmedAt))
            }
        }
        do {
            try await ledger.recordAll(rows, scope: TenantScope(tenants: memories.map(\.tenant), userId: actor))
        } catch {
            throw MemoryError.unavailable("the imported versions were not saved")
        }
    }
}

extension MemoryService {
    /// One page of every memory with its stored vector, in id order (export and migration).
    public func exportPage(after offset: PointID?, limit: Int = 500) async throws -> (items: [ImportItem], next: PointID?) {
        let page = try await store.scroll(collection, ScrollRequest(limit: limit, offset: offset, withPayload: true, withVector: true))
        // Quarantined memories hold secrets: they never leave the service (nor do withheld versions).
        var items = page.points.compactMap { r -> ImportItem? in
            guard let payload = r.payload, let m = Memory(id: r.id, payload: payload), m.state != .quarantined else { return nil }
            return ImportItem(memory: m, vector: r.vector)
        }
        if let ledger {
            for i in items.indices {
                let id = items[i].memory.id
                let scope = TenantScope.memory(items[i].memory, actor: nil)
                let withheld = try await quarantinedVersions(id, scope: scope)
                do {
                    items[i].versions = try await ledger.metadata.read(scope) { tx in
                        try tx.versions(memoryId: id.lowercasedText)
                    }.filter { withheld[$0.version] == nil }
                } catch {
                    throw MemoryError.unavailable("the version history is not readable")
                }
                let u = usage.usage(id)
                if u.servedCount > 0 || u.lastConfirmedAt != nil { items[i].usage = u }
            }
        }
        return (items, page.nextPageOffset)
    }

    /// Imports, skipping memories whose id already exists or whose content already
    /// exists in the same tenant (exact duplicates). Returns (imported, skipped).
    public func importSkippingDuplicates(_ items: [ImportItem]) async throws -> (imported: Int, skipped: Int) {
        var fresh: [ImportItem] = []
        var seen = Set<String>()
        for item in items {
            let m = item.memory
            let hash = MemoryInput.contentHash(m.content)
            let key = m.tenant + "\u{0}" + hash
            if index.get(m.id) != nil || !index.withHash(tenant: m.tenant, hash: hash).isEmpty || !seen.insert(key).inserted { continue }
            fresh.append(item)
        }
        let n = try await importMemories(fresh)
        return (n, items.count - n)
    }
}

extension MemoryService {
    /// Re-reads the memory collection and brings the in-memory indexes in line with it (after
    /// writes that bypassed this service, e.g. through the Qdrant-compatible API). Concurrent
    /// calls coalesce: at most one reload runs, and one more follows if asked for meanwhile.
    public func reloadFromStore() async {
        guard
            reloadGate.withLock({ state -> Bool in
                if state.running {
                    state.again = true
                    return false
                }
                state.running = true
                return true
            })
        else { return }
        repeat {
            // A failed pass (the store or the database unreachable) is retried a few times: until it passes,
            // a write made around the service is neither admitted nor audited.
            var attempt = 0
            while true {
                do {
                    try await reloadPass()
                    break
                } catch {
                    attempt += 1
                    logger.error("memory reload failed", metadata: ["error": "\(type(of: error))", "attempt": "\(attempt)"])
                    if attempt >= Self.reloadAttempts || Task.isCancelled { break }
                    try? await Task.sleep(for: .milliseconds(100 << attempt))
                }
            }
        } while reloadGate.withLock({ state -> Bool in
            if state.again {
                state.again = false
                return true
            }
            state.running = false
            return false
        })
    }

    /// How many times one reload is tried before it waits for the next write to be asked again.
    package static let reloadAttempts = 5

    /// One pass of `reloadFromStore`: reads the whole memory collection under the write lock.
    private func reloadPass() async throws {
        try await exclusively {
            // The collection may have been deleted (e.g. through the Qdrant API): recreate it empty.
            if try await !store.listCollections().contains(where: { $0.name == collection }) {
                try await store.createCollection(
                    CollectionConfig(
                        name: collection,
                        vectorSize: embedder?.dimensions ?? 1,
                        distance: .cosine,
                        tenantKey: Memory.Field.tenant
                    )
                )
                logger.warning("memory collection was missing and has been recreated", metadata: ["collection": "\(collection)"])
            }
            var present = Set<UUID>()
            var changes: [(before: Memory?, after: Memory, stored: Memory)] = []
            var offset: PointID?
            repeat {
                let page = try await store.scroll(collection, ScrollRequest(limit: 1000, offset: offset, withPayload: true))
                for r in page.points {
                    guard let payload = r.payload, let stored = Memory(id: r.id, payload: payload) else { continue }
                    present.insert(stored.id)
                    let before = index.get(stored.id)
                    if before == stored { continue }
                    let admitted = await admitExternalWrite(stored, replacing: before)
                    if before != admitted { changes.append((before, admitted, stored)) }
                }
                offset = page.nextPageOffset
            } while offset != nil
            let removed = index.all(where: { !present.contains($0.id) })
            try await applyExternalChanges(changes, removed: removed)
        }
    }
}

extension MemoryService {
    /// The memory rules applied to a memory written around this service (through the Qdrant-compatible
    /// API, which is an operator credential): the content hash is recomputed from the content (a stored
    /// hash is never trusted), and new or changed content of a published or pending org memory goes to
    /// `pending_review` when its organisation requires review.
    package func admitExternalWrite(_ stored: Memory, replacing before: Memory?) async -> Memory {
        var m = stored
        m.contentHash = MemoryInput.contentHash(m.content)
        // The trust record is the service's: flags come from today's screen, a review stands only for the
        // text it approved, supersession and quarantine stay as they were.
        let screened = poisonScreen.screen(m.content)
        m.screenFlags = screened.verdict == .allow ? [] : screened.ruleIDs
        m.reviewedBy = before.flatMap { $0.contentHash == m.contentHash ? $0.reviewedBy : nil }
        m.supersededBy = before?.supersededBy
        m.quarantinedFrom = before?.quarantinedFrom
        if m.reviewedBy != nil { m.screenFlags = [] }
        if let before {
            m.state = await stateAfterContentChange(m, from: before)
            // Provenance is the service's record, not the writer's: it stays what it was, and the change
            // is a new version.
            m.provenance = before.provenance
            m.version = before.version + 1
        } else {
            if m.scope == .org, let org = m.orgId, m.state == .published {
                let review = await requiresReview(org)
                if review || !m.screenFlags.isEmpty { m.state = .pendingReview }
            }
            m.provenance = Provenance(channel: .qdrantAPI, branch: stored.provenance.branch, commit: stored.provenance.commit)
            m.version = 1
        }
        return m
    }

    /// Brings the index in line with external writes found by `reloadFromStore`: fixes the stored hash or
    /// state where the memory rules changed them, and audits every creation, change and removal
    /// (actor `qdrant-api`, both content hashes).
    package func applyExternalChanges(_ changes: [(before: Memory?, after: Memory, stored: Memory)], removed: [Memory]) async throws {
        for (_, after, stored) in changes
        where after.contentHash != stored.contentHash || after.state != stored.state || after.provenance != stored.provenance
            || after.version != stored.version || after.screenFlags != stored.screenFlags || after.reviewedBy != stored.reviewedBy
            || after.supersededBy != stored.supersededBy || after.quarantinedFrom != stored.quarantinedFrom
        {
            var fixed: Payload = [
                Memory.Field.contentHash: .string(after.contentHash), Memory.Field.state: .string(after.state.rawValue),
                Memory.Field.version: .int(Int64(after.version)),
            ]
            let payload = after.payload
            for field in Memory.Field.provenanceFields + Memory.Field.trustFields { fixed[field] = payload[field] ?? .null }
            do {
                try await store.setPayload(
                    collection,
                    payload: fixed,
                    key: nil,
                    .ids([.uuid(after.id)]),
                    requireAll: false
                )
            } catch {
                throw MemoryError.unavailable("the store did not accept the corrected memory")
            }
        }
        let actor = WriteChannel.qdrantAPI.rawValue
        var records: [AuditLog.Record] = []
        for (before, after, stored) in changes {
            // Recorded first: a failed record leaves the index as it was, and the next pass finds the change again.
            try await recordVersion(
                before: before,
                after: after,
                actor: actor,
                origin: WriteOrigin(.qdrantAPI),
                reason: before == nil ? "created through the Qdrant API" : "changed through the Qdrant API"
            )
            // The store already holds this version (written through the Qdrant API, corrected above).
            ledger?.settled(after.id, version: after.version)
            index.put(after)
            var detail = "via \(actor)"
            if let before, before.state != after.state { detail += "; state \(before.state.rawValue)→\(after.state.rawValue)" }
            if before == nil { detail += "; state \(after.state.rawValue)" }
            if stored.state != after.state { detail += " (written as \(stored.state.rawValue); review required)" }
            records.append(
                AuditLog.Record(
                    orgId: after.orgId,
                    actor: actor,
                    action: before == nil ? "create" : "update",
                    memoryId: after.id,
                    beforeHash: before?.contentHash,
                    afterHash: after.contentHash,
                    detail: detail
                )
            )
        }
        for m in removed {
            index.remove(m.id)
            var gone = m
            gone.version = m.version + 1
            try await recordVersion(before: m, after: gone, state: "deleted", actor: actor, origin: WriteOrigin(.qdrantAPI), reason: "deleted")
            ledger?.settled(m.id, version: gone.version)
            records.append(
                AuditLog.Record(
                    orgId: m.orgId,
                    actor: actor,
                    action: "delete",
                    memoryId: m.id,
                    beforeHash: m.contentHash,
                    afterHash: nil,
                    detail: "via \(actor)"
                )
            )
        }
        try await recordAudit(records)
    }
}
