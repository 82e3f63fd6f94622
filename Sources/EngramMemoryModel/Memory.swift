import EngramCore
import EngramPoisoning
import EngramPoisoningCore
public import EngramStoreModel
public import Foundation

/// Who can see a memory: its author only, or the author's organisation.
public enum MemoryScope: String, Sendable, Codable, CaseIterable {
    case personal, org
}

/// Lifecycle of a memory. Personal memories are `published` (and private) until they go `stale`.
///
/// `stale` memories are kept and readable, but default searches leave them out: nobody served or
/// confirmed them for the org's `stale_after_days`, or their author reported them outdated.
public enum MemoryState: String, Sendable, Codable, CaseIterable {
    case draft
    case pendingReview = "pending_review"
    case published, archived, rejected, stale
    /// Hidden from every read path (MCP, REST, the Qdrant API, export), kept for the admins: its text
    /// fails today's secret filter or poisoning screen (found by a rescan), or an admin contained it
    /// (`quarantine`, `rollback`). `Memory.quarantinedFrom` remembers the state a release returns to.
    case quarantined
}

/// What a memory records.
public enum MemoryKind: String, Sendable, Codable, CaseIterable {
    case pattern, preference, decision, fact, gotcha
}

/// A memory: one durable piece of knowledge an assistant saved.
public struct Memory: Sendable, Hashable, Codable {
    public var id: UUID
    /// Author.
    public var userId: String
    public var orgId: String?
    public var scope: MemoryScope
    public var state: MemoryState
    /// The text (at most `MemoryLimits.maxContentBytes` UTF-8 bytes).
    public var content: String
    public var tags: [String]
    /// Repository the memory is about, e.g. `github.com/acme/api`.
    public var repo: String?
    /// The task during which it was saved (drives `/finish`).
    public var taskId: String?
    public var kind: MemoryKind
    /// SHA-256 (hex) of the normalised content.
    public var contentHash: String
    public var createdAt: Date
    public var updatedAt: Date
    /// The embedder that produced the stored vector (`none` in BM25-only mode).
    public var embeddingModel: String
    /// How and from where the memory was first written (never editable by clients).
    public var provenance: Provenance
    /// Code the memory cites.
    public var anchors: [CodeAnchor]
    /// The current version number (1 for a new memory; +1 per recorded change).
    public var version: Int
    /// Set when a push changed code this memory cites; cleared by an edit or a confirmation.
    public var anchorChange: AnchorChange?
    /// When the memory expires (it is then archived by the sweep).
    public var expiresAt: Date?
    /// The poisoning screen's `flag` rules for the current text (empty: nothing flagged). Set by the
    /// service on every write; a reviewer's approval vouches for the text and clears them.
    public var screenFlags: [String] = []
    /// The reviewer who approved the current text (nil when no reviewer did, or the text changed since).
    public var reviewedBy: String?
    /// The memory that replaced this one (it is then `archived`).
    public var supersededBy: UUID?
    /// For a quarantined memory, the state a release returns it to.
    public var quarantinedFrom: MemoryState?

    public init(
        id: UUID = UUID(),
        userId: String,
        orgId: String?,
        scope: MemoryScope,
        state: MemoryState,
        content: String,
        tags: [String] = [],
        repo: String? = nil,
        taskId: String? = nil,
        kind: MemoryKind = .pattern,
        contentHash: String = "",
        createdAt: Date = Date(),
        updatedAt: Date = Date(),
        embeddingModel: String = "none",
        provenance: Provenance = Provenance(),
        anchors: [CodeAnchor] = [],
        version: Int = 1,
        anchorChange: AnchorChange? = nil,
        expiresAt: Date? = nil
    ) {
        self.id = id
        self.userId = userId
        self.orgId = orgId
        self.scope = scope
        self.state = state
        self.content = content
        self.tags = tags
        self.repo = repo
        self.taskId = taskId
        self.kind = kind
        self.contentHash = contentHash
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.embeddingModel = embeddingModel
        self.provenance = provenance
        self.anchors = anchors
        self.version = version
        self.anchorChange = anchorChange
        self.expiresAt = expiresAt
    }

    /// The payload field holding the state (readers around the service hide `quarantined` points).
    public static let stateField = Field.state

    /// The partition the memory lives in: `user:<id>` (personal) or `org:<id>`.
    public var tenant: String { Memory.tenant(scope: scope, userId: userId, orgId: orgId) }

    public static func tenant(scope: MemoryScope, userId: String, orgId: String?) -> String {
        scope == .personal ? "user:\(userId)" : "org:\(orgId ?? "")"
    }
}

/// Limits on memory fields.
public enum MemoryLimits {
    public static let maxContentBytes = 8 * 1024
    public static let maxTags = 20
    public static let maxTagLength = 64
    public static let maxRepoLength = 256
    public static let maxTaskIdLength = 128
    public static let maxSearchLimit = 100
    public static let maxQueryBytes = 4 * 1024
    public static let maxBranchLength = 256
    /// A commit id: a full or abbreviated SHA-1 or SHA-256.
    public static let maxCommitLength = 64
    public static let maxNoteLength = 1024
    public static let maxExpiryDays = 36_500
}

// MARK: - Payload mapping (the store's view of a memory)

extension Memory {
    /// Payload field names, as stored in the collection (and in a remote Qdrant).
    package enum Field {
        package static let userId = "user_id", orgId = "org_id", scope = "scope", state = "state", content = "content"
        package static let tags = "tags", repo = "repo", taskId = "task_id", kind = "kind", contentHash = "content_hash"
        package static let createdAt = "created_at", updatedAt = "updated_at", embeddingModel = "embedding_model"
        package static let tenant = "tenant"
        package static let channel = "channel", client = "client", requestId = "request_id", branch = "branch", commit = "commit"
        package static let anchors = "anchors", version = "version", anchorChanged = "anchor_changed", expiresAt = "expires_at"
        package static let tokenId = "token_id", screenFlags = "screen_flags", reviewedBy = "reviewed_by"
        package static let supersededBy = "superseded_by", quarantinedFrom = "quarantined_from"
        /// Fields only the service writes: a write around it (the Qdrant-compatible API) cannot set them.
        package static let provenanceFields = [channel, client, requestId, branch, commit, tokenId]
        /// The service's trust record: recomputed or kept by the service on a write around it.
        package static let trustFields = [screenFlags, reviewedBy, supersededBy, quarantinedFrom]
    }

    package var payload: Payload {
        var p: Payload = [
            Field.userId: .string(userId), Field.scope: .string(scope.rawValue), Field.state: .string(state.rawValue),
            Field.content: .string(content), Field.tags: .array(tags.map { .string($0) }), Field.kind: .string(kind.rawValue),
            Field.contentHash: .string(contentHash), Field.createdAt: .string(RFC3339.format(createdAt.timeIntervalSince1970)),
            Field.updatedAt: .string(RFC3339.format(updatedAt.timeIntervalSince1970)),
            Field.embeddingModel: .string(embeddingModel), Field.tenant: .string(tenant),
        ]
        if let orgId { p[Field.orgId] = .string(orgId) }
        if let repo { p[Field.repo] = .string(repo) }
        if let taskId { p[Field.taskId] = .string(taskId) }
        p[Field.channel] = .string(provenance.channel.rawValue)
        if let v = provenance.client { p[Field.client] = .string(v) }
        if let v = provenance.requestId { p[Field.requestId] = .string(v) }
        if let v = provenance.branch { p[Field.branch] = .string(v) }
        if let v = provenance.commit { p[Field.commit] = .string(v) }
        if let v = provenance.tokenId { p[Field.tokenId] = .string(v) }
        if !screenFlags.isEmpty { p[Field.screenFlags] = .array(screenFlags.map { .string($0) }) }
        if let reviewedBy { p[Field.reviewedBy] = .string(reviewedBy) }
        if let supersededBy { p[Field.supersededBy] = .string(supersededBy.lowercasedText) }
        if let quarantinedFrom { p[Field.quarantinedFrom] = .string(quarantinedFrom.rawValue) }
        if !anchors.isEmpty { p[Field.anchors] = .array(anchors.map(\.jsonValue)) }
        p[Field.version] = .int(Int64(version))
        if let anchorChange { p[Field.anchorChanged] = anchorChange.jsonValue }
        if let expiresAt { p[Field.expiresAt] = .string(RFC3339.format(expiresAt.timeIntervalSince1970)) }
        return p
    }

    package init?(id: PointID, payload p: Payload) {
        guard case let .uuid(uuid) = id,
            let userId = p[Field.userId]?.stringValue,
            let scope = p[Field.scope]?.stringValue.flatMap(MemoryScope.init(rawValue:)),
            let state = p[Field.state]?.stringValue.flatMap(MemoryState.init(rawValue:)),
            let content = p[Field.content]?.stringValue,
            let kind = p[Field.kind]?.stringValue.flatMap(MemoryKind.init(rawValue:)),
            let hash = p[Field.contentHash]?.stringValue,
            let created = p[Field.createdAt]?.stringValue.flatMap(RFC3339.parse),
            let updated = p[Field.updatedAt]?.stringValue.flatMap(RFC3339.parse)
        else { return nil }
        var tags: [String] = []
        if case let .array(items)? = p[Field.tags] { tags = items.compactMap(\.stringValue) }
        var anchors: [CodeAnchor] = []
        if case let .array(items)? = p[Field.anchors] { anchors = items.compactMap(CodeAnchor.init(json:)) }
        var version = 1
        if let n = p[Field.version]?.number, n >= 1, n < 1e9 { version = Int(n) }
        self.init(
            id: uuid,
            userId: userId,
            orgId: p[Field.orgId]?.stringValue,
            scope: scope,
            state: state,
            content: content,
            tags: tags,
            repo: p[Field.repo]?.stringValue,
            taskId: p[Field.taskId]?.stringValue,
            kind: kind,
            contentHash: hash,
            createdAt: Date(timeIntervalSince1970: created),
            updatedAt: Date(timeIntervalSince1970: updated),
            embeddingModel: p[Field.embeddingModel]?.stringValue ?? "none",
            provenance: Provenance(
                // Memories written before provenance existed came through the REST API or MCP; `rest` stands for both.
                channel: p[Field.channel]?.stringValue.flatMap(WriteChannel.init(rawValue:)) ?? .rest,
                client: p[Field.client]?.stringValue,
                requestId: p[Field.requestId]?.stringValue,
                branch: p[Field.branch]?.stringValue,
                commit: p[Field.commit]?.stringValue,
                tokenId: p[Field.tokenId]?.stringValue
            ),
            anchors: anchors,
            version: version,
            anchorChange: p[Field.anchorChanged].flatMap(AnchorChange.init(json:)),
            expiresAt: p[Field.expiresAt]?.stringValue.flatMap(RFC3339.parse).map(Date.init(timeIntervalSince1970:))
        )
        if case let .array(items)? = p[Field.screenFlags] { screenFlags = items.compactMap(\.stringValue) }
        reviewedBy = p[Field.reviewedBy]?.stringValue
        supersededBy = p[Field.supersededBy]?.stringValue.flatMap(UUID.init(uuidString:))
        quarantinedFrom = p[Field.quarantinedFrom]?.stringValue.flatMap(MemoryState.init(rawValue:))
    }
}

extension Memory {
    /// Why `payload` may not be stored as a memory point, or nil when it may: the rules every write path
    /// applies (content size and control characters, tag, repo and task limits, known enum values), for
    /// writes that reach the store around `MemoryService` (the Qdrant-compatible API). A `complete`
    /// payload (upsert, overwrite, snapshot restore) must also be a whole memory under a UUID id.
    public static func storePayloadProblem(id: PointID?, _ payload: Payload, complete: Bool) -> String? {
        do {
            if let value = payload[Field.content] {
                guard let text = value.stringValue else { return "`content` must be a string" }
                _ = try MemoryInput.validate(content: text)
                // The poisoning screen's block applies here as on every write path (flags are recorded
                // when the service takes the write in).
                let report = PoisoningScreen().screen(text)
                if report.verdict == .block { throw MemoryError.poisoningDetected(report: report) }
            }
            if let value = payload[Field.tags] {
                guard case let .array(items) = value, items.allSatisfy({ $0.stringValue != nil }) else { return "`tags` must be a list of strings" }
                _ = try MemoryInput.validate(tags: items.compactMap(\.stringValue))
            }
            if let value = payload[Field.anchors], value != .null {
                guard case let .array(items) = value else { return "`anchors` must be a list of {path, sha?, lines?, symbol?}" }
                let anchors = items.compactMap(CodeAnchor.init(json:))
                guard anchors.count == items.count else { return "`anchors` must be a list of {path, sha?, lines?, symbol?}" }
                _ = try CodeAnchor.validate(anchors)
            }
            for (field, limit) in [(Field.repo, MemoryLimits.maxRepoLength), (Field.taskId, MemoryLimits.maxTaskIdLength)] {
                guard let value = payload[field], value != .null else { continue }
                guard let text = value.stringValue else { return "`\(field)` must be a string" }
                _ = try MemoryInput.validate(optional: text, field: field, max: limit)
            }
        } catch let error as MemoryError {
            return error.description
        } catch {
            return "unreadable memory"
        }
        let enums: [(String, (String) -> Bool)] = [
            (Field.scope, { MemoryScope(rawValue: $0) != nil }), (Field.state, { MemoryState(rawValue: $0) != nil }),
            (Field.kind, { MemoryKind(rawValue: $0) != nil }),
        ]
        for (field, known) in enums {
            if let value = payload[field], !(value.stringValue.map(known) ?? false) { return "`\(field)` has an unknown value" }
        }
        guard complete else { return nil }
        guard case .uuid? = id ?? .uuid(UUID()) else { return "memory points need a UUID id" }
        guard Memory(id: .uuid(UUID()), payload: payload) != nil else {
            return "not a memory: it needs user_id, scope, state, content, kind, content_hash, created_at and updated_at"
        }
        return nil
    }
}
