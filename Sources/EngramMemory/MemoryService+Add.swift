public import EngramAuth
import EngramCore
public import EngramMemoryModel
import EngramStore
import EngramStoreModel
package import Foundation
import Metrics

/// Adding a memory: validation, screens, then a decision under the write lock (exact duplicate,
/// near duplicate merged into the existing memory, or a new memory whose writes leave the lock so
/// that concurrent adds share their commits; `InFlightAdds`).
extension MemoryService {

    /// Saves a memory (see the type's documentation for the pipeline).
    public func add(_ principal: Principal, _ input: NewMemory, origin: WriteOrigin = WriteOrigin(.rest)) async throws -> AddResult {
        guard AccessPolicy.canCreate(principal, scope: input.scope) else {
            if !principal.role.allows(.writeOwnMemories) { throw MemoryError.forbidden("role \(principal.role.rawValue) cannot write memories") }
            throw MemoryError.invalid("org scope needs an organisation; the token has none")
        }
        let content = try MemoryInput.validate(content: input.content)
        let tags = try MemoryInput.validate(tags: input.tags)
        let repo = try MemoryInput.validate(optional: input.repo, field: "repo", max: MemoryLimits.maxRepoLength)
        let taskId = try MemoryInput.validate(optional: input.taskId, field: "task_id", max: MemoryLimits.maxTaskIdLength)
        let anchors = try CodeAnchor.validate(input.anchors)
        let branch = try MemoryInput.validate(optional: input.branch, field: "branch", max: MemoryLimits.maxBranchLength)
        let commit = try MemoryInput.validate(commit: input.commit)
        var expiresAt: Date?
        if let days = input.expiresInDays {
            guard (1...MemoryLimits.maxExpiryDays).contains(days) else {
                throw MemoryError.invalid("expires_in_days must be between 1 and \(MemoryLimits.maxExpiryDays)")
            }
            expiresAt = Date().addingTimeInterval(Double(days) * 86_400)
        }
        try scanForSecrets([content] + tags + [repo, taskId, branch, commit] + MemoryInput.anchorTexts(anchors))
        let flags = try screenForPoisoning(content)
        let hash = MemoryInput.contentHash(content)
        let orgId = input.scope == .org ? principal.orgId : nil
        let tenant = Memory.tenant(scope: input.scope, userId: principal.userId, orgId: orgId)
        let checked = CheckedNewMemory(
            scope: input.scope,
            kind: input.kind,
            content: content,
            tags: tags,
            repo: repo,
            taskId: taskId,
            anchors: anchors,
            provenance: Provenance(
                channel: origin.channel,
                client: origin.client,
                requestId: origin.requestId,
                branch: branch,
                commit: commit,
                tokenId: origin.tokenId
            ),
            expiresAt: expiresAt,
            screenFlags: flags
        )
        if let old = input.supersedes { return try await addSuperseding(principal, checked, old: old, origin: origin) }
        if visibleDuplicate(principal, tenant: tenant, hash: hash) == nil {
            await settleRecordedDuplicates(tenant: tenant, userId: principal.userId, hash: hash)
        }
        if let existing = visibleDuplicate(principal, tenant: tenant, hash: hash) {
            return AddResult(memory: existing, status: .duplicate)
        }
        let vector = try await embed(content)
        /// What an add decided under the write lock.
        enum Decision {
            case done(AddResult)
            /// An add in flight decides this one: wait for it, then decide again.
            case wait(UUID)
            /// A new memory, registered in flight; its writes run outside the lock.
            case create(Memory)
        }
        var decided: AddResult?
        while decided == nil {
            let decision: Decision = try await writes.withLock {
                if let existing = visibleDuplicate(principal, tenant: tenant, hash: hash) {
                    return .done(AddResult(memory: existing, status: .duplicate))
                }
                if let other = inFlight.blocking(
                    tenant: tenant,
                    userId: principal.userId,
                    hash: hash,
                    vector: embedder == nil ? nil : vector,
                    threshold: Self.nearDuplicateThreshold
                ) {
                    return .wait(other)
                }
                let now = Date()
                if let near = try await nearDuplicate(principal, tenant: tenant, vector: vector) {
                    var m = near
                    m.content = content
                    m.contentHash = hash
                    m.tags = Array(Set(near.tags).union(tags)).sorted()
                    m.repo = repo ?? near.repo
                    m.taskId = taskId ?? near.taskId
                    m.kind = input.kind
                    if !anchors.isEmpty {
                        m.anchors = anchors
                        m.anchorChange = nil
                    }
                    m.expiresAt = expiresAt ?? near.expiresAt
                    m.screenFlags = flags
                    if m.contentHash != near.contentHash { m.reviewedBy = nil }
                    m.updatedAt = now
                    m.embeddingModel = embeddingModel
                    m.version = near.version + 1
                    m.state = await stateAfterContentChange(m, from: near)
                    try await recordVersion(before: near, after: m, actor: principal.userId, origin: origin, reason: "near-duplicate merge")
                    try await persist(m, vector: vector)
                    try await recordUpdate(actor: principal.userId, before: near, after: m, channel: origin.channel, how: "near-duplicate merge")
                    return .done(AddResult(memory: m, status: .updated))
                }
                let m = newMemory(principal, checked, at: now)
                inFlight.begin(m, vector: vector)
                return .create(m)
            }
            switch decision {
            case let .done(result):
                decided = result
            case let .wait(other):
                await inFlight.wait(for: other)
            case let .create(m):
                // Outside the lock, so that concurrent adds' version and store writes join one commit.
                defer { inFlight.end(m.id) }
                try await recordVersion(before: nil, after: m, actor: principal.userId, origin: origin, reason: "created")
                try await persist(m, vector: vector)
                Counter(label: "engram_memories_added_total", dimensions: [("scope", m.scope.rawValue)]).increment()
                decided = AddResult(memory: m, status: .created)
            }
        }
        var result = decided!
        if result.status != .duplicate {
            result.conflicts = try await possibleConflicts(principal, of: result.memory, vector: vector)
        }
        return result
    }

    /// A new memory (version 1) from validated input: personal memories are published, org memories drafts.
    package func newMemory(_ principal: Principal, _ c: CheckedNewMemory, at now: Date) -> Memory {
        var m = Memory(
            id: UUID(),
            userId: principal.userId,
            orgId: c.scope == .org ? principal.orgId : nil,
            scope: c.scope,
            state: c.scope == .personal ? .published : .draft,
            content: c.content,
            tags: c.tags,
            repo: c.repo,
            taskId: c.taskId,
            kind: c.kind,
            contentHash: MemoryInput.contentHash(c.content),
            createdAt: now,
            updatedAt: now,
            embeddingModel: embeddingModel,
            provenance: c.provenance,
            anchors: c.anchors,
            version: 1,
            expiresAt: c.expiresAt
        )
        m.screenFlags = c.screenFlags
        return m
    }

    package func visibleDuplicate(_ principal: Principal, tenant: String, hash: String) -> Memory? {
        index.withHash(tenant: tenant, hash: hash)
            .filter { AccessPolicy.canRead(principal, $0) && $0.state != .rejected && $0.state != .archived }
            .min { $0.createdAt < $1.createdAt }
    }

    package func nearDuplicate(_ principal: Principal, tenant: String, vector: [Float]) async throws -> Memory? {
        guard embedder != nil else { return nil }
        let filter = Filter(must: [
            .field(FieldCondition(key: Memory.Field.tenant, match: .value(.string(tenant)))),
            .field(FieldCondition(key: Memory.Field.userId, match: .value(.string(principal.userId)))),
            .field(FieldCondition(key: Memory.Field.state, match: .any(["published", "draft", "pending_review"]))),
        ])
        let hits: [ScoredPoint]
        do {
            hits = try await store.search(
                collection,
                SearchRequest(
                    vector: vector,
                    filter: filter,
                    limit: 1,
                    scoreThreshold: Self.nearDuplicateThreshold,
                    withPayload: false
                )
            )
        } catch {
            throw MemoryError.unavailable("the store is not reachable")
        }
        guard let hit = hits.first, case let .uuid(id) = hit.id, let m = index.get(id), AccessPolicy.canModify(principal, m) else {
            return nil
        }
        return m
    }
}
