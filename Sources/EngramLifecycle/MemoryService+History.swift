public import EngramAuth
import EngramCore
public import EngramMemory
public import EngramMemoryModel
import EngramMetadata
public import Foundation

extension MemoryService {
    /// The memory as the caller's check sees it: the stored memory, or the last recorded version of a
    /// deleted one (its versions are kept for the retention period).
    func currentOrLastVersion(_ id: UUID, principal: Principal) async throws -> (current: Memory?, versions: [MemoryVersion]) {
        guard let ledger else {
            throw MemoryError.unavailable("version history needs the service database")
        }
        let current = index.get(id)
        let scope = metadataScope(id, principal: principal)
        var versions: [MemoryVersion]
        do {
            versions = try await ledger.versions(of: id, current: current, scope: scope)
        } catch {
            throw MemoryError.unavailable("the version history is not readable")
        }
        // Versions a rescan quarantined keep their place in the history, without their text.
        let withheld = try await quarantinedVersions(id, scope: scope)
        if !withheld.isEmpty {
            versions = versions.map { v in withheld[v.version].map { v.withheld($0) } ?? v }
        }
        return (current, versions)
    }

    /// Whether `principal` may read the history of `m`: its author while they may read it, and for
    /// org memories the org's reviewers (history holds earlier texts nobody else was shown).
    static func canReadHistory(_ principal: Principal, _ m: Memory, deleted: Bool) -> Bool {
        if AccessPolicy.canReview(principal, m) { return true }
        guard m.userId == principal.userId else { return false }
        if m.scope == .personal { return true }
        return deleted ? principal.can(.readMemories, inOrg: m.orgId) : AccessPolicy.canRead(principal, m)
    }

    /// Every version of a memory, oldest first (including the versions of a deleted memory until
    /// retention purges them). Answers `notFound` for memories the caller may not see.
    public func history(_ principal: Principal, id: UUID) async throws -> [MemoryVersion] {
        let (current, versions) = try await currentOrLastVersion(id, principal: principal)
        guard let reference = current ?? versions.last?.memory,
            Self.canReadHistory(principal, reference, deleted: current == nil)
        else { throw MemoryError.notFound }
        return versions
    }

    /// Restores the content, tags, kind, repository, task, anchors and state of `version` as a new
    /// version (history is never rewritten). Authors revert their personal memories; admins and owners
    /// revert org memories. A deleted memory can be restored this way while its versions are kept.
    /// The restored text passes today's secret filter again; the revert is audited.
    public func revert(_ principal: Principal, id: UUID, to version: Int, origin: WriteOrigin = WriteOrigin(.rest)) async throws -> Memory {
        let (current, versions) = try await currentOrLastVersion(id, principal: principal)
        guard let reference = current ?? versions.last?.memory,
            Self.canReadHistory(principal, reference, deleted: current == nil)
        else { throw MemoryError.notFound }
        let allowed =
            reference.scope == .personal
            ? reference.userId == principal.userId && principal.role.allows(.writeOwnMemories)
            : AccessPolicy.canReview(principal, reference)
        guard allowed else {
            throw MemoryError.forbidden(
                reference.scope == .personal ? "only the author can revert this memory" : "reverting an org memory needs the admin or owner role"
            )
        }
        guard let target = versions.first(where: { $0.version == version }) else {
            throw MemoryError.invalid("the memory has no version \(version); its versions are 1 to \(versions.last?.version ?? 0)")
        }
        guard target.state != "deleted" else { throw MemoryError.invalid("version \(version) is the deletion; revert to an earlier version") }
        if let rules = target.withheldRules {
            throw MemoryError.invalid("version \(version) is quarantined (\(rules.joined(separator: ", "))); revert to another version")
        }
        let source = target.memory
        try scanForSecrets([source.content] + source.tags + [source.repo, source.taskId] + MemoryInput.anchorTexts(source.anchors))
        let flags = try screenForPoisoning(source.content)
        let vector = try await embed(source.content)
        let now = Date()
        let restored: Memory = try await exclusively {
            let latest = index.get(id)
            guard (latest == nil) == (current == nil) else {
                throw MemoryError.conflict("the memory was deleted or restored meanwhile; reload its history")
            }
            let top = max(latest?.version ?? 0, try await ledger?.highestRecorded(id) ?? 0, versions.last?.version ?? 0)
            var m = latest ?? source
            m.content = source.content
            m.contentHash = MemoryInput.contentHash(source.content)
            m.tags = source.tags
            m.kind = source.kind
            m.repo = source.repo
            m.taskId = source.taskId
            m.anchors = source.anchors
            m.expiresAt = source.expiresAt
            m.reviewedBy = source.reviewedBy
            m.screenFlags = source.reviewedBy == nil ? flags : []
            m.supersededBy = nil
            m.quarantinedFrom = nil
            // Reverting is its owner vouching for the text: a stale version comes back live.
            m.state = source.state == .stale ? .published : source.state
            if m.scope == .org, m.state == .published, !m.screenFlags.isEmpty { m.state = .pendingReview }
            m.anchorChange = nil
            m.version = top + 1
            m.updatedAt = now
            m.embeddingModel = embeddingModel
            try await recordVersion(before: latest, after: m, actor: principal.userId, origin: origin, reason: "revert to v\(version)")
            try await persist(m, vector: vector)
            return m
        }
        usage.confirmed(id, at: now)
        try await recordAudit(
            restored.orgId,
            actor: principal.userId,
            action: "revert",
            memory: restored,
            before: current?.contentHash,
            after: restored.contentHash,
            detail: "to v\(version) as v\(restored.version) via \(origin.channel.rawValue)"
                + (current == nil ? "; restored after deletion" : "")
                + ((current?.state).map { $0 != restored.state ? "; state \($0.rawValue)→\(restored.state.rawValue)" : "" } ?? "")
        )
        return restored
    }
}
