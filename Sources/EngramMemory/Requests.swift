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

    public init(
        content: String,
        scope: MemoryScope = .personal,
        tags: [String] = [],
        repo: String? = nil,
        taskId: String? = nil,
        kind: MemoryKind = .pattern
    ) {
        self.content = content
        self.scope = scope
        self.tags = tags
        self.repo = repo
        self.taskId = taskId
        self.kind = kind
    }
}

/// Changes for `MemoryService.update`; `nil` leaves a field as it is.
public struct MemoryPatch: Sendable, Hashable, Codable {
    public var content: String?
    public var tags: [String]?
    public var repo: String?
    public var taskId: String?
    public var kind: MemoryKind?

    public init(content: String? = nil, tags: [String]? = nil, repo: String? = nil, taskId: String? = nil, kind: MemoryKind? = nil) {
        self.content = content
        self.tags = tags
        self.repo = repo
        self.taskId = taskId
        self.kind = kind
    }
}

/// The path a write came in by, recorded in the audit log beside the before and after content hashes.
public enum WriteChannel: String, Sendable, Codable, CaseIterable {
    case mcp, rest, admin, cli
    case importer = "import"
    case qdrantAPI = "qdrant-api"
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

    public init(
        scope: MemoryScope? = nil,
        tags: [String]? = nil,
        repo: String? = nil,
        kind: MemoryKind? = nil,
        state: MemoryState? = nil,
        taskId: String? = nil,
        createdAfter: Date? = nil,
        createdBefore: Date? = nil,
        updatedAfter: Date? = nil
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
    }

    func matches(_ m: Memory) -> Bool {
        if let scope, m.scope != scope { return false }
        if let tags, !tags.isEmpty, !tags.contains(where: m.tags.contains) { return false }
        if let repo, m.repo != repo { return false }
        if let kind, m.kind != kind { return false }
        if let state, m.state != state { return false }
        if let taskId, m.taskId != taskId { return false }
        if let createdAfter, m.createdAt < createdAfter { return false }
        if let createdBefore, m.createdAt >= createdBefore { return false }
        if let updatedAfter, m.updatedAt < updatedAfter { return false }
        return true
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
}

/// A page of `list`, newest first.
public struct MemoryPage: Sendable, Hashable {
    public var memories: [Memory]
    /// Pass back as `cursor` for the next page; nil at the end.
    public var nextCursor: String?
}
