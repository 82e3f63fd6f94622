package import EngramAuth
import EngramCore
package import EngramMemoryModel
import EngramStore
import EngramStoreModel
package import Foundation

extension MemoryService {
    /// Whether `principal` may retire `old` in favour of a newer memory: its author (while they may
    /// change it) or a reviewer of its organisation.
    package func canSupersede(_ principal: Principal, _ old: Memory) -> Bool {
        AccessPolicy.canModify(principal, old) || AccessPolicy.canReview(principal, old)
    }

    /// `add` with `supersedes`: writes the new memory and archives the old one with a `superseded_by`
    /// link in one store write (one transaction), then records a version of both and audits the
    /// supersession. No duplicate merging: the caller said which memory the text replaces.
    package func addSuperseding(_ principal: Principal, _ input: CheckedNewMemory, old oldId: UUID, origin: WriteOrigin) async throws -> AddResult {
        guard let old = index.get(oldId), AccessPolicy.canRead(principal, old) else { throw MemoryError.notFound }
        guard canSupersede(principal, old) else { throw MemoryError.forbidden("only the author or a reviewer can supersede this memory") }
        guard old.scope == input.scope else { throw MemoryError.invalid("a memory supersedes one of the same scope") }
        let vector = try await embed(input.content)
        let now = Date()
        let m = newMemory(principal, input, at: now)
        let retired: Memory = try await exclusively {
            guard let latest = index.get(oldId), [.published, .stale, .draft, .pendingReview].contains(latest.state) else {
                throw MemoryError.conflict("the memory to supersede is no longer live")
            }
            let archived = try await supersede(
                latest,
                by: m,
                newVector: vector,
                newReason: "created; supersedes \(oldId.lowercasedText)",
                at: now,
                actor: principal.userId,
                origin: origin,
                how: "via \(origin.channel.rawValue)"
            )
            return archived
        }
        var result = AddResult(memory: m, status: .created, superseded: retired)
        result.conflicts = try await possibleConflicts(principal, of: m, vector: vector).filter { $0.memory.id != oldId }
        return result
    }

    /// Archives `old` with a link to `new` (written in the same store call when `newVector` is given, its
    /// version recorded first with `newReason`), records the archived memory's version before the store
    /// write and audits the supersession (`how` says by which path). Runs under the write lock; returns
    /// the archived memory.
    package func supersede(
        _ old: Memory,
        by new: Memory,
        newVector: [Float]?,
        newReason: String = "created",
        at now: Date,
        actor: String,
        origin: WriteOrigin,
        how: String
    ) async throws -> Memory {
        var archived = old
        archived.state = .archived
        archived.supersededBy = new.id
        archived.updatedAt = now
        archived.version = old.version + 1
        if newVector != nil { try await recordVersion(before: nil, after: new, actor: actor, origin: origin, reason: newReason) }
        try await recordVersion(before: old, after: archived, actor: actor, origin: origin, reason: "superseded by \(new.id.lowercasedText)")
        do {
            let stored = try await store.retrieve(collection, ids: [.uuid(old.id)], withPayload: false, withVector: true)
            guard let oldVector = stored.first?.vector else { throw MemoryError.notFound }
            var points = [PointStruct(id: .uuid(old.id), vector: oldVector, payload: archived.payload)]
            if let newVector { points.insert(PointStruct(id: .uuid(new.id), vector: newVector, payload: new.payload), at: 0) }
            try await store.upsert(collection, points: points)
        } catch let e as MemoryError {
            throw e
        } catch {
            throw MemoryError.unavailable("the store did not accept the supersession")
        }
        if newVector != nil {
            ledger?.settled(new.id, version: new.version)
            index.put(new)
        }
        ledger?.settled(old.id, version: archived.version)
        index.put(archived)
        try await recordAudit(
            old.orgId,
            actor: actor,
            action: "supersede",
            memory: archived,
            before: old.contentHash,
            after: new.contentHash,
            detail: "superseded by \(new.id.lowercasedText) \(how); state \(old.state.rawValue)→archived"
        )
        return archived
    }
}
