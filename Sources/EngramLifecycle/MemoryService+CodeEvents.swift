import EngramCore
public import EngramMemory
public import EngramMemoryModel
import EngramStoreModel
import Foundation

/// A repository as a webhook names it: `owner/name` plus the URLs it is known by.
public struct RepositoryRef: Sendable, Hashable {
    /// `owner/name` (GitHub `full_name`, GitLab `path_with_namespace`).
    public var fullName: String
    /// Other spellings of it (`html_url`, `clone_url`, `web_url`, …).
    public var urls: [String]

    public init(fullName: String, urls: [String] = []) {
        self.fullName = fullName
        self.urls = urls
    }

    /// Lowercased `host/owner/name` or `owner/name` without scheme, credentials, port, `.git` or trailing
    /// slash (`git@github.com:Acme/API.git`, `https://github.com/acme/api` and
    /// `ssh://git@github.com:22/acme/api.git` are all `github.com/acme/api`). The one normalisation of
    /// repository names: webhooks, the session hook and imports use it.
    public static func normalised(_ text: String) -> String {
        var s = text.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        var hadScheme = false
        if let scheme = s.range(of: "://") {
            s = String(s[scheme.upperBound...])
            hadScheme = true
        }
        if let at = s.firstIndex(of: "@"), !s[..<at].contains("/") { s = String(s[s.index(after: at)...]) }
        // `host:8443/owner/name` after a scheme is a port (scp-like `host:owner/name` has no scheme).
        if hadScheme, let colon = s.firstIndex(of: ":") {
            let hostEnd = s.firstIndex(of: "/") ?? s.endIndex
            if colon < hostEnd, s[s.index(after: colon)..<hostEnd].allSatisfy(\.isNumber) { s.removeSubrange(colon..<hostEnd) }
        }
        s = s.replacingOccurrences(of: ":", with: "/")
        while s.hasSuffix("/") { s.removeLast() }
        if s.hasSuffix(".git") { s.removeLast(4) }
        while s.hasSuffix("/") { s.removeLast() }
        return s
    }

    /// Whether a memory's `repo` names this repository: equal after normalisation, or ending in `/owner/name`.
    public func matches(_ repo: String?) -> Bool {
        guard let repo else { return false }
        let r = Self.normalised(repo)
        let full = Self.normalised(fullName)
        if r == full || r.hasSuffix("/" + full) { return true }
        return urls.map(Self.normalised).contains(r)
    }
}

extension MemoryService {
    /// Whether anchor path `anchor` covers changed path `changed` (the same file, or a directory holding it).
    static func anchor(_ anchor: String, covers changed: String) -> Bool {
        changed == anchor || changed.hasPrefix(anchor + "/")
    }

    /// A push changed `paths` of `repository` at `commit`: every memory of the organisation (its org memories
    /// and its members' personal memories) about that repository whose anchors cite a changed path is marked
    /// `anchor_changed` with the commit and the paths, as a new version. Published or stale org memories among
    /// them go back to review. A memory already marked for this commit is left alone (replays change nothing).
    /// - Returns: the memories marked.
    public func markCodeChanged(
        orgId: String,
        members: Set<String>,
        repository: RepositoryRef,
        commit: String,
        paths: [String],
        origin: WriteOrigin = WriteOrigin(.webhook)
    ) async throws -> [Memory] {
        let changed = Set(paths.compactMap { try? CodeAnchor.normalisedPath($0) })
        guard !changed.isEmpty else { return [] }
        let candidates = index.all { m in
            let ours = m.scope == .org ? m.orgId == orgId : members.contains(m.userId)
            return ours && !m.anchors.isEmpty && m.anchorChange?.commit != commit && m.state != .rejected && m.state != .archived
                && repository.matches(m.repo)
        }
        var marked: [Memory] = []
        for m in candidates {
            let hit = m.anchors.map(\.path).filter { a in changed.contains { Self.anchor(a, covers: $0) } }
            guard !hit.isEmpty else { continue }
            let now = Date()
            let updated: Memory? = try await exclusively {
                guard let latest = index.get(m.id), latest.anchorChange?.commit != commit else { return nil }
                var u = latest
                u.anchorChange = AnchorChange(commit: commit, paths: Array(Set(hit)).sorted(), at: now)
                u.version = latest.version + 1
                u.updatedAt = now
                if u.scope == .org, u.state == .published || u.state == .stale { u.state = .pendingReview }
                try await recordVersion(
                    before: latest,
                    after: u,
                    actor: origin.channel.rawValue,
                    origin: origin,
                    reason: "code changed at \(commit.prefix(12)): \(u.anchorChange!.paths.joined(separator: ", "))"
                )
                do {
                    try await store.setPayload(
                        collection,
                        payload: [
                            Memory.Field.anchorChanged: u.anchorChange!.jsonValue, Memory.Field.state: .string(u.state.rawValue),
                            Memory.Field.version: .int(Int64(u.version)),
                            Memory.Field.updatedAt: .string(RFC3339.format(now.timeIntervalSince1970)),
                        ],
                        key: nil,
                        .ids([.uuid(u.id)]),
                        requireAll: false
                    )
                } catch {
                    throw MemoryError.unavailable("the store did not accept the code-change mark")
                }
                ledger?.settled(u.id, version: u.version)
                index.put(u)
                return u
            }
            guard let u = updated else { continue }
            marked.append(u)
            if u.scope == .org {
                try await recordAudit(
                    orgId,
                    actor: origin.channel.rawValue,
                    action: "code-changed",
                    memory: u,
                    before: u.contentHash,
                    after: u.contentHash,
                    detail: "commit \(commit.prefix(40)); \(u.anchorChange!.paths.count) path(s)"
                        + (m.state != u.state ? "; state \(m.state.rawValue)→\(u.state.rawValue)" : "")
                )
            }
        }
        return marked
    }

    /// Whether `taskId` appears in `text` as a whole token (case-insensitive; the characters around it
    /// are not letters or digits), so `ENG-12` is found in `feature/ENG-12-cache` but not in `ENG-123`.
    static func mentions(_ text: String, taskId: String) -> Bool {
        let hay = Array(text.lowercased().unicodeScalars)
        let needle = Array(taskId.lowercased().unicodeScalars)
        guard !needle.isEmpty, needle.count <= hay.count else { return false }
        func isWord(_ u: Unicode.Scalar) -> Bool { u.properties.isAlphabetic || ("0"..."9").contains(u) }
        var i = 0
        while i + needle.count <= hay.count {
            if Array(hay[i..<(i + needle.count)]) == needle {
                let before = i == 0 || !isWord(hay[i - 1]) || !isWord(needle[0])
                let after = i + needle.count == hay.count || !isWord(hay[i + needle.count]) || !isWord(needle[needle.count - 1])
                if before && after { return true }
            }
            i += 1
        }
        return false
    }

    /// A pull or merge request of `repository` was merged: the organisation's drafts whose `task_id`
    /// appears in the head branch name or the title are finished exactly as `finish_task` would
    /// (published, or to review when the organisation requires it). Drafts about another repository are
    /// left alone. Idempotent: a replay finds no drafts left.
    /// - Returns: the memories promoted.
    public func finishMerged(
        orgId: String,
        repository: RepositoryRef,
        branch: String,
        title: String,
        origin: WriteOrigin = WriteOrigin(.webhook)
    ) async throws -> [Memory] {
        let target: MemoryState = await requiresReview(orgId) ? .pendingReview : .published
        return try await promoteDrafts(
            org: orgId,
            to: target,
            actor: origin.channel.rawValue,
            origin: origin,
            where: { m in
                guard let task = m.taskId else { return false }
                if m.repo != nil, !repository.matches(m.repo) { return false }
                return Self.mentions(branch, taskId: task) || Self.mentions(title, taskId: task)
            },
            reason: { "finish task \($0.taskId ?? "") on merge of \(branch.prefix(200))" },
            detail: { "state draft→\($0.state.rawValue) task \($0.taskId ?? "") on merge (author \($0.userId))" }
        )
    }
}
