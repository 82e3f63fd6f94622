public import EngramAuth
import EngramCore
public import EngramMemoryModel
public import Foundation

/// What an admin can do to an org memory under review.
public enum ReviewAction: String, Sendable, CaseIterable {
    case approve, reject, archive

    package var target: MemoryState {
        switch self {
        case .approve: return .published
        case .reject: return .rejected
        case .archive: return .archived
        }
    }
}

/// Filters of the review queue.
public struct ReviewQuery: Sendable, Hashable {
    public var state: MemoryState?
    public var author: String?
    public var tag: String?
    public var repo: String?
    /// Case-insensitive text contained in the content.
    public var text: String?
    public var limit: Int
    public var cursor: String?

    public init(
        state: MemoryState? = nil,
        author: String? = nil,
        tag: String? = nil,
        repo: String? = nil,
        text: String? = nil,
        limit: Int = 50,
        cursor: String? = nil
    ) {
        self.state = state
        self.author = author
        self.tag = tag
        self.repo = repo
        self.text = text
        self.limit = limit
        self.cursor = cursor
    }
}

extension MemoryService {
    /// Admins and owners review their own organisation's memories; everyone else is refused.
    package func requireReviewer(_ principal: Principal) throws -> String {
        guard let org = principal.orgId, principal.role.allows(.reviewMemories) else {
            throw MemoryError.forbidden("reviewing needs the admin or owner role")
        }
        return org
    }

    /// An org memory the reviewer may act on (others answer not found).
    public func reviewGet(_ principal: Principal, id: UUID) throws -> Memory {
        _ = try requireReviewer(principal)
        guard let m = index.get(id), AccessPolicy.canReview(principal, m) else { throw MemoryError.notFound }
        return m
    }

    /// The review queue: the reviewer's org memories, newest first.
    public func reviewList(_ principal: Principal, _ q: ReviewQuery) throws -> MemoryPage {
        let org = try requireReviewer(principal)
        guard (1...MemoryLimits.maxSearchLimit).contains(q.limit) else {
            throw MemoryError.invalid("limit must be between 1 and \(MemoryLimits.maxSearchLimit)")
        }
        let needle = q.text?.lowercased()
        var items = index.all { m in
            m.scope == .org && m.orgId == org && AccessPolicy.canReview(principal, m)
                && (q.state == nil || m.state == q.state) && (q.author == nil || m.userId == q.author)
                && (q.tag == nil || m.tags.contains(q.tag!)) && (q.repo == nil || m.repo == q.repo)
                && (needle == nil || m.content.lowercased().contains(needle!))
        }
        return try paginate(&items, limit: q.limit, cursor: q.cursor)
    }

    /// Approve (→ published), reject (→ rejected, kept for audit) or archive.
    ///
    /// Approval binds to what the reviewer read: `seenContentHash` must equal the memory's current
    /// content hash (the author may have edited it since the reviewer opened it), else
    /// `MemoryError.conflict` and nothing changes. Approve requires it; reject and archive accept it.
    ///
    /// Four-eyes review (`LifecyclePolicy.approverMustDiffer`, on by default): nobody approves a memory
    /// they wrote or whose current text they wrote, owners included. An approval records the reviewer
    /// (`reviewedBy`: the memory is served as `reviewed`) and clears the screen's flags (the reviewer
    /// vouched for the text). Approving can retire older memories: each of `supersedes` is archived with
    /// a `superseded_by` link to this one.
    public func review(
        _ principal: Principal,
        id: UUID,
        action: ReviewAction,
        seenContentHash: String? = nil,
        supersedes: [UUID] = [],
        origin: WriteOrigin = WriteOrigin(.admin)
    ) async throws -> Memory {
        let current = try reviewGet(principal, id: id)
        if action == .approve, seenContentHash == nil {
            throw MemoryError.invalid("approve needs the content_hash of the text you reviewed (or an If-Match header)")
        }
        if !supersedes.isEmpty {
            guard action == .approve else { throw MemoryError.invalid("only an approval can supersede other memories") }
            guard supersedes.count <= 20, !supersedes.contains(id) else {
                throw MemoryError.invalid("supersedes lists at most 20 other memories")
            }
            for old in supersedes {
                guard let m = index.get(old), AccessPolicy.canReview(principal, m) else { throw MemoryError.notFound }
            }
        }
        if action == .approve, let org = current.orgId, policy(orgId: org).approverMustDiffer,
            try await wroteCurrentText(principal.userId, current)
        {
            throw MemoryError.forbidden(
                "four-eyes review: you wrote this memory's text, so another admin or owner must approve it"
            )
        }
        let now = Date()
        let updated: Memory = try await exclusively {
            guard let latest = index.get(id) else { throw MemoryError.notFound }
            if let seen = seenContentHash, seen.lowercased() != latest.contentHash {
                throw MemoryError.conflict("the memory was edited after you opened it; reload it and review the current text")
            }
            var m = latest
            m.state = action.target
            m.updatedAt = now
            m.version = latest.version + 1
            // An approval answers a code change too: the reviewer read the text against the new code.
            if action == .approve {
                m.anchorChange = nil
                m.reviewedBy = principal.userId
                m.screenFlags = []
            }
            try await recordVersion(before: latest, after: m, actor: principal.userId, origin: origin, reason: action.rawValue)
            try await setStates([m], state: action.target, at: now)
            for old in supersedes {
                guard let o = index.get(old), [.published, .stale, .draft, .pendingReview].contains(o.state) else { continue }
                _ = try await supersede(
                    o,
                    by: m,
                    newVector: nil,
                    at: now,
                    actor: principal.userId,
                    origin: origin,
                    how: "on approval"
                )
            }
            return m
        }
        if action == .approve { usage.confirmed(id, at: now) }
        try await resolveReports(id, memory: current, actor: principal.userId)
        try await recordAudit(
            current.orgId,
            actor: principal.userId,
            action: action.rawValue,
            memory: updated,
            before: current.contentHash,
            after: updated.contentHash,
            detail: "state \(current.state.rawValue)→\(updated.state.rawValue)"
        )
        return updated
    }

    /// Whether `user` wrote `m`'s current text: its author, or whoever made the change that introduced
    /// the current content (from the version history).
    package func wroteCurrentText(_ user: String, _ m: Memory) async throws -> Bool {
        if m.userId == user { return true }
        guard let ledger else { return false }
        let versions: [MemoryVersion]
        do { versions = try await ledger.versions(of: m.id, current: m, scope: .memory(m, actor: user)) } catch {
            throw MemoryError.unavailable("the version history is not readable")
        }
        // The first version of the trailing run with the current text introduced it.
        var introducer: String?
        for v in versions.reversed() {
            guard v.memory.contentHash == m.contentHash else { break }
            introducer = v.actor
        }
        return introducer == user
    }

    /// Edit by a reviewer: re-scanned for secrets, re-hashed, re-embedded; the state stays (the reviewer wrote it).
    public func reviewEdit(
        _ principal: Principal,
        id: UUID,
        _ patch: MemoryPatch,
        origin: WriteOrigin = WriteOrigin(.admin)
    ) async throws
        -> Memory
    {
        let current = try reviewGet(principal, id: id)
        let (before, updated) = try await applyPatch(current, patch, byReviewer: true, actor: principal.userId, origin: origin)
        try await recordAudit(
            current.orgId,
            actor: principal.userId,
            action: "edit",
            memory: updated,
            before: before.contentHash,
            after: updated.contentHash,
            detail: "via \(WriteChannel.admin.rawValue)"
        )
        return updated
    }

    /// Delete by a reviewer.
    public func reviewDelete(_ principal: Principal, id: UUID, origin: WriteOrigin = WriteOrigin(.admin)) async throws {
        let current = try reviewGet(principal, id: id)
        try await remove(current, actor: principal.userId, origin: origin)
        try await recordAudit(current.orgId, actor: principal.userId, action: "delete", memory: current, before: current.contentHash, after: nil)
    }

    /// Sorts newest first and cuts one page after an opaque cursor (shared by list and review).
    package func paginate(_ items: inout [Memory], limit: Int, cursor: String?) throws -> MemoryPage {
        var after: (Double, String)?
        if let cursor {
            guard let data = Data(base64Encoded: cursor), let text = String(data: data, encoding: .utf8),
                let bar = text.firstIndex(of: "|"), let t = Double(text[..<bar])
            else {
                throw MemoryError.invalid("malformed cursor")
            }
            after = (t, String(text[text.index(after: bar)...]))
        }
        func key(_ m: Memory) -> (Double, String) { (m.createdAt.timeIntervalSince1970, m.id.uuidString) }
        items.sort { key($0) > key($1) }
        if let after { items = items.filter { key($0) < after } }
        let page = Array(items.prefix(limit))
        var next: String?
        if items.count > limit, let last = page.last {
            let k = key(last)
            next = Data("\(k.0)|\(k.1)".utf8).base64EncodedString()
        }
        return MemoryPage(memories: page, nextCursor: next)
    }
}
