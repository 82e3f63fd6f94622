public import EngramSearch
public import Foundation

/// Input of `MemoryService.add`.
public struct NewMemory: Sendable, Hashable, Codable {
    public var content: String
    public var scope: MemoryScope
    public var tags: [String]
    public var repo: String?
    public var taskId: String?
    public var kind: MemoryKind
    /// Code the memory cites (validated and normalised on write).
    public var anchors: [CodeAnchor]
    /// The branch and commit the caller was on.
    public var branch: String?
    public var commit: String?
    /// Days until the memory expires and is archived (nil: it does not expire).
    public var expiresInDays: Int?
    /// A memory this one replaces: archived with a `superseded_by` link in the same write.
    public var supersedes: UUID?

    public init(
        content: String,
        scope: MemoryScope = .personal,
        tags: [String] = [],
        repo: String? = nil,
        taskId: String? = nil,
        kind: MemoryKind = .pattern,
        anchors: [CodeAnchor] = [],
        branch: String? = nil,
        commit: String? = nil,
        expiresInDays: Int? = nil,
        supersedes: UUID? = nil
    ) {
        self.supersedes = supersedes
        self.content = content
        self.scope = scope
        self.tags = tags
        self.repo = repo
        self.taskId = taskId
        self.kind = kind
        self.anchors = anchors
        self.branch = branch
        self.commit = commit
        self.expiresInDays = expiresInDays
    }
}

/// A `NewMemory` after validation, the secret filter and the poisoning screen (inside the service).
package struct CheckedNewMemory: Sendable {
    package var scope: MemoryScope
    package var kind: MemoryKind
    package var content: String
    package var tags: [String]
    package var repo: String?
    package var taskId: String?
    package var anchors: [CodeAnchor]
    package var provenance: Provenance
    package var expiresAt: Date?
    /// The poisoning screen's flag rules (empty when it allowed the text).
    package var screenFlags: [String]

    package init(
        scope: MemoryScope,
        kind: MemoryKind,
        content: String,
        tags: [String],
        repo: String?,
        taskId: String?,
        anchors: [CodeAnchor],
        provenance: Provenance,
        expiresAt: Date?,
        screenFlags: [String]
    ) {
        self.scope = scope
        self.kind = kind
        self.content = content
        self.tags = tags
        self.repo = repo
        self.taskId = taskId
        self.anchors = anchors
        self.provenance = provenance
        self.expiresAt = expiresAt
        self.screenFlags = screenFlags
    }
}

/// Changes for `MemoryService.update`; `nil` leaves a field as it is.
public struct MemoryPatch: Sendable, Hashable, Codable {
    public var content: String?
    public var tags: [String]?
    public var repo: String?
    public var taskId: String?
    public var kind: MemoryKind?
    /// Replaces the anchors (an empty list removes them).
    public var anchors: [CodeAnchor]?
    /// The commit the new text describes (recorded on the version).
    public var commit: String?

    public init(
        content: String? = nil,
        tags: [String]? = nil,
        repo: String? = nil,
        taskId: String? = nil,
        kind: MemoryKind? = nil,
        anchors: [CodeAnchor]? = nil,
        commit: String? = nil
    ) {
        self.content = content
        self.tags = tags
        self.repo = repo
        self.taskId = taskId
        self.kind = kind
        self.anchors = anchors
        self.commit = commit
    }

    /// Whether the patch changes nothing.
    package var isEmpty: Bool { content == nil && tags == nil && repo == nil && taskId == nil && kind == nil && anchors == nil }
}

/// The path a write came in by, recorded in provenance, versions and the audit log.
public enum WriteChannel: String, Sendable, Codable, CaseIterable {
    case mcp, rest, admin, cli, webhook
    case importer = "import"
    case qdrantAPI = "qdrant-api"
    /// The server itself (the freshness sweep, retention).
    case system
}

/// How `add` treated the input.
public enum AddStatus: String, Sendable, Codable {
    /// A new memory was stored.
    case created
    /// The same content already exists in the tenant; its id is returned and nothing was written.
    case duplicate
    /// A near-identical memory by the same author (cosine ≥ 0.95) was updated in place.
    case updated
}

/// Result of `add`.
public struct AddResult: Sendable, Hashable {
    public var memory: Memory
    public var status: AddStatus
    /// Memories the writer can see that say something close about the same repository, tag or code
    /// (see `MemoryService.possibleConflicts`): the assistant should reconcile them.
    public var conflicts: [PossibleConflict] = []
    /// The memory this one replaced (archived), when the write superseded one.
    public var superseded: Memory?

    public init(memory: Memory, status: AddStatus, conflicts: [PossibleConflict] = [], superseded: Memory? = nil) {
        self.memory = memory
        self.status = status
        self.conflicts = conflicts
        self.superseded = superseded
    }
}

/// Conditions shared by search and list. All given conditions must hold.
public struct MemoryFilter: Sendable, Hashable, Codable {
    public var scope: MemoryScope?
    /// The memory carries at least one of these tags.
    public var tags: [String]?
    public var repo: String?
    public var kind: MemoryKind?
    public var state: MemoryState?
    public var taskId: String?
    /// Created at or after this instant.
    public var createdAfter: Date?
    /// Created before this instant.
    public var createdBefore: Date?
    /// Last changed at or after this instant.
    public var updatedAfter: Date?
    /// Include `stale` memories (left out by default).
    public var includeStale: Bool

    public init(
        scope: MemoryScope? = nil,
        tags: [String]? = nil,
        repo: String? = nil,
        kind: MemoryKind? = nil,
        state: MemoryState? = nil,
        taskId: String? = nil,
        createdAfter: Date? = nil,
        createdBefore: Date? = nil,
        updatedAfter: Date? = nil,
        includeStale: Bool = false
    ) {
        self.scope = scope
        self.tags = tags
        self.repo = repo
        self.kind = kind
        self.state = state
        self.taskId = taskId
        self.createdAfter = createdAfter
        self.createdBefore = createdBefore
        self.updatedAfter = updatedAfter
        self.includeStale = includeStale
    }

    /// The states a search or list returns: the one asked for, else the live ones (and `stale` when included).
    public var visibleStates: Set<MemoryState> {
        if let state { return [state] }
        return includeStale ? [.published, .draft, .pendingReview, .stale] : [.published, .draft, .pendingReview]
    }

    package func matches(_ m: Memory) -> Bool {
        if let scope, m.scope != scope { return false }
        if let tags, !tags.isEmpty, !tags.contains(where: m.tags.contains) { return false }
        if let repo, m.repo != repo { return false }
        if let kind, m.kind != kind { return false }
        if let state, m.state != state { return false }
        if let taskId, m.taskId != taskId { return false }
        if let createdAfter, m.createdAt < createdAfter { return false }
        if let createdBefore, m.createdAt >= createdBefore { return false }
        if let updatedAfter, m.updatedAt < updatedAfter { return false }
        return visibleStates.contains(m.state)
    }
}

/// Input of `MemoryService.search`.
public struct MemorySearchQuery: Sendable, Hashable {
    public var query: String
    public var limit: Int
    public var filter: MemoryFilter
    /// Drop hits whose cosine similarity to the query is below this (ignored in BM25-only mode).
    public var minScore: Double?
    /// A precomputed embedding of `query` (skips the embedder; benchmarks and batch callers).
    public var queryVector: [Float]?
    /// How cosine and BM25 are weighed (per query by default; fixed weights for evaluations).
    public var weighting: RankFusion.Weighting
    /// Add the freshness prior to relevance (off only in evaluations that measure fusion alone).
    public var freshnessPrior: Bool = true
    /// The prior's weight (`FreshnessPrior.weight`; other values for evaluations).
    public var priorWeight: Double = FreshnessPrior.weight
    /// Count the results as served (off for evaluations and internal lookups).
    public var recordServed: Bool = true

    public init(
        query: String,
        limit: Int = 10,
        filter: MemoryFilter = MemoryFilter(),
        minScore: Double? = nil,
        queryVector: [Float]? = nil,
        weighting: RankFusion.Weighting = .default
    ) {
        self.query = query
        self.limit = limit
        self.filter = filter
        self.minScore = minScore
        self.queryVector = queryVector
        self.weighting = weighting
    }
}

/// One search result.
public struct MemorySearchHit: Sendable, Hashable {
    public var memory: Memory
    /// Fused relevance: w × cosine similarity + (1 − w) × BM25 relative to the query's best BM25 hit, with the
    /// query's weight w (`RankFusion.adaptiveWeight`; at most 1); BM25 relative to the best hit alone in
    /// BM25-only mode.
    public var score: Double
    /// Cosine similarity to the query, when an embedder is configured.
    public var similarity: Double?
    /// How current the memory is.
    public var freshness: Freshness = .fresh
    /// Its usage (served, confirmed, reported) before this search.
    public var usage = MemoryUsage()

    public init(memory: Memory, score: Double, similarity: Double?, freshness: Freshness = .fresh, usage: MemoryUsage = MemoryUsage()) {
        self.memory = memory
        self.score = score
        self.similarity = similarity
        self.freshness = freshness
        self.usage = usage
    }
}

/// A page of `list`, newest first.
public struct MemoryPage: Sendable, Hashable {
    public var memories: [Memory]
    /// Pass back as `cursor` for the next page; nil at the end.
    public var nextCursor: String?

    public init(memories: [Memory], nextCursor: String?) {
        self.memories = memories
        self.nextCursor = nextCursor
    }
}
