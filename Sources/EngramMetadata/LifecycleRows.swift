public import Foundation

/// A row of `memory_versions`: one immutable state of a memory. `snapshot` is the memory's stored
/// payload as JSON (what the memory was), the other columns say who changed it, how and why.
public struct VersionRow: Sendable, Hashable {
    /// Lowercased UUID text.
    public var memoryId: String
    /// 1 for the first state, then +1 per change.
    public var version: Int
    /// Seconds since 1970.
    public var at: Double
    public var actor: String
    public var channel: String
    public var client: String?
    public var requestId: String?
    public var reason: String
    public var orgId: String?
    public var state: String
    public var contentHash: String
    public var snapshot: Data
    /// The id (`jti`) of the token that made the change, when there was one.
    public var tokenId: String?
    /// The memory's tenant key (`org:<id>`, or `user:<id>` for a personal memory even inside an org), which
    /// PostgreSQL files the row under (row-level security); written, never read back (SQLite stores none).
    /// Nil: the tenant the memory's earlier versions are filed under.
    public var tenant: String?

    public init(
        memoryId: String,
        version: Int,
        at: Double,
        actor: String,
        channel: String,
        client: String?,
        requestId: String?,
        reason: String,
        orgId: String?,
        state: String,
        contentHash: String,
        snapshot: Data,
        tokenId: String? = nil,
        tenant: String? = nil
    ) {
        self.memoryId = memoryId
        self.version = version
        self.at = at
        self.actor = actor
        self.channel = channel
        self.client = client
        self.requestId = requestId
        self.reason = reason
        self.orgId = orgId
        self.state = state
        self.contentHash = contentHash
        self.snapshot = snapshot
        self.tokenId = tokenId
        self.tenant = tenant
    }
}

/// A row of `memory_usage` (times in seconds since 1970). Read back (`allUsage`), `servedCount` is the
/// stored total; written (`recordUsage`), it is the increment since the last write, added to the total.
public struct UsageRow: Sendable, Hashable {
    public var memoryId: String
    public var servedCount: Int
    public var lastServedAt: Double?
    public var lastConfirmedAt: Double?

    public init(memoryId: String, servedCount: Int, lastServedAt: Double?, lastConfirmedAt: Double?) {
        self.memoryId = memoryId
        self.servedCount = servedCount
        self.lastServedAt = lastServedAt
        self.lastConfirmedAt = lastConfirmedAt
    }
}

/// A row of `served_log`: one memory served to one caller at one rank.
public struct ServedRow: Sendable, Hashable {
    public var at: Double
    public var memoryId: String
    public var userId: String
    public var rank: Int

    public init(at: Double, memoryId: String, userId: String, rank: Int) {
        self.at = at
        self.memoryId = memoryId
        self.userId = userId
        self.rank = rank
    }
}

/// A row of `memory_reports`: a member's verdict on a memory.
public struct ReportRow: Sendable, Hashable {
    public var id: Int64
    public var at: Double
    public var memoryId: String
    public var orgId: String?
    public var userId: String
    public var verdict: String
    public var note: String?
    public var resolved: Bool

    public init(
        id: Int64 = 0,
        at: Double,
        memoryId: String,
        orgId: String?,
        userId: String,
        verdict: String,
        note: String?,
        resolved: Bool = false
    ) {
        self.id = id
        self.at = at
        self.memoryId = memoryId
        self.orgId = orgId
        self.userId = userId
        self.verdict = verdict
        self.note = note
        self.resolved = resolved
    }
}

/// An organisation's lifecycle policy (columns of `orgs`).
public struct LifecyclePolicyRow: Sendable, Hashable {
    public var staleAfterDays: Int
    public var versionRetentionDays: Int
    /// Four-eyes review: nobody approves a memory they wrote.
    public var approverMustDiffer: Bool

    public init(staleAfterDays: Int, versionRetentionDays: Int, approverMustDiffer: Bool = true) {
        self.staleAfterDays = staleAfterDays
        self.versionRetentionDays = versionRetentionDays
        self.approverMustDiffer = approverMustDiffer
    }
}

/// A row of `quarantine`: a memory version whose text fails the secret filter (names the rules, never the text).
public struct QuarantineRow: Sendable, Hashable {
    public var memoryId: String
    public var version: Int
    public var orgId: String?
    /// Rule ids, comma-separated.
    public var rules: String
    public var at: Double

    public init(memoryId: String, version: Int, orgId: String?, rules: String, at: Double) {
        self.memoryId = memoryId
        self.version = version
        self.orgId = orgId
        self.rules = rules
        self.at = at
    }
}
