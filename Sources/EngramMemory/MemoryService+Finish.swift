public import EngramAuth
import EngramCore
public import EngramMemoryModel
import EngramMetadata
import EngramStore
import EngramStoreModel
package import Foundation
import Logging

/// `/finish`: a task's org drafts promoted, and the state changes and versions that promotion records.
extension MemoryService {
    /// Promotes the caller's org drafts of `taskId` to `published`, or to
    /// `pending_review` when the org requires review. Without a task id (nil or blank)
    /// it promotes the caller's drafts saved without one. Idempotent: returns the
    /// memories it changed (none on a repeat call).
    public func finish(_ principal: Principal, taskId: String?, origin: WriteOrigin = WriteOrigin(.rest)) async throws -> [Memory] {
        let trimmed = taskId?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        let task: String? = trimmed.isEmpty ? nil : trimmed
        guard trimmed.count <= MemoryLimits.maxTaskIdLength else {
            throw MemoryError.invalid("task_id must be at most \(MemoryLimits.maxTaskIdLength) characters")
        }
        guard let org = principal.orgId, principal.role.allows(.writeOwnMemories) else { return [] }
        let target: MemoryState = await requiresReview(org) ? .pendingReview : .published
        let how = task.map { "task \($0)" } ?? "without task"
        return try await promoteDrafts(
            org: org,
            to: target,
            actor: principal.userId,
            origin: origin,
            where: { $0.userId == principal.userId && $0.taskId == task },
            reason: { _ in "finish \(how)" },
            detail: {
                "state draft→\($0.state.rawValue) \(how)" + ($0.screenFlags.isEmpty ? "" : " (flagged: \($0.screenFlags.joined(separator: ", ")))")
            }
        )
    }

    /// Promotes the organisation's drafts that `selected` picks to `target` under the write lock: one
    /// store write per version group, then a version and an audit entry (`promote`) per memory.
    /// - Returns: the memories promoted, oldest first (none when no draft is selected: idempotent).
    package func promoteDrafts(
        org: String,
        to target: MemoryState,
        actor: String,
        origin: WriteOrigin,
        where selected: @escaping (Memory) -> Bool,
        reason: (Memory) -> String,
        detail: (Memory) -> String
    ) async throws -> [Memory] {
        try await exclusively {
            let drafts = index.all { $0.scope == .org && $0.orgId == org && $0.state == .draft && selected($0) }
            guard !drafts.isEmpty else { return [] }
            let now = Date()
            let promoted = drafts.map { m -> Memory in
                var p = m
                // A flagged draft goes to review whatever the org's policy.
                p.state = m.screenFlags.isEmpty ? target : .pendingReview
                p.updatedAt = now
                p.version = m.version + 1
                return p
            }
            for (before, after) in zip(drafts, promoted) {
                try await recordVersion(before: before, after: after, actor: actor, origin: origin, reason: reason(after))
            }
            for state in Set(promoted.map(\.state)) {
                try await setStates(promoted.filter { $0.state == state }, state: state, at: now)
            }
            for after in promoted {
                try await recordAudit(
                    org,
                    actor: actor,
                    action: "promote",
                    memory: after,
                    before: after.contentHash,
                    after: after.contentHash,
                    detail: detail(after)
                )
            }
            return promoted.sorted { $0.createdAt < $1.createdAt }
        }
    }

    /// Writes new states (and `updated_at`, the version and the code-change mark) for memories, then
    /// updates the index. Memories of one version number share a store call.
    package func setStates(_ memories: [Memory], state: MemoryState, at time: Date) async throws {
        let started = ContinuousClock.now
        let groups = Dictionary(grouping: memories) { m in
            "\(m.version)|\(m.anchorChange == nil)|\(m.screenFlags)|\(m.reviewedBy ?? "")|\(m.supersededBy?.uuidString ?? "")|\(m.quarantinedFrom?.rawValue ?? "")"
        }
        do {
            for (_, group) in groups {
                var payload: Payload = [
                    Memory.Field.state: .string(state.rawValue),
                    Memory.Field.updatedAt: .string(RFC3339.format(time.timeIntervalSince1970)),
                    Memory.Field.version: .int(Int64(group[0].version)),
                ]
                if group[0].anchorChange == nil { payload[Memory.Field.anchorChanged] = .null }
                // The trust record travels with the state (approval, supersession, quarantine and release change it).
                let stored = group[0].payload
                for field in Memory.Field.trustFields { payload[field] = stored[field] ?? .null }
                try await store.setPayload(collection, payload: payload, key: nil, .ids(group.map { .uuid($0.id) }), requireAll: false)
            }
        } catch {
            throw MemoryError.unavailable("the store did not accept the state change; it is queued and completes when the store returns")
        }
        for m in memories {
            ledger?.settled(m.id, version: m.version)
            index.put(m)
        }
        if ContinuousClock.now - started > Self.slowStoreWrite { for m in memories { await followNewerVersion(after: m) } }
    }

    /// Appends a version (and its outbox row) to the ledger, when there is one, before the store write it
    /// announces. A failure is an error and nothing is written: the version number is taken (another
    /// replica changed the memory first) or the database is unreachable.
    package func recordVersion(before: Memory?, after: Memory, state: String? = nil, actor: String, origin: WriteOrigin, reason: String) async throws
    {
        guard let ledger else { return }
        do {
            try await ledger.record(before: before, after: after, state: state, actor: actor, origin: origin, reason: reason, at: after.updatedAt)
        } catch {
            logger.error("version write failed", metadata: ["memory": "\(after.id)", "version": "\(after.version)"])
            throw MemoryError.unavailable("the version history did not accept the change")
        }
    }
}
