public import Foundation
import GRDB

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
        tokenId: String? = nil
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
    }

    init(_ row: Row) {
        self.init(
            memoryId: row["memory_id"],
            version: row["version"],
            at: row["at"],
            actor: row["actor"],
            channel: row["channel"],
            client: row["client"],
            requestId: row["request_id"],
            reason: row["reason"],
            orgId: row["org_id"],
            state: row["state"],
            contentHash: row["content_hash"],
            snapshot: row["snapshot"],
            tokenId: row["token_id"]
        )
    }
}

/// A row of `memory_usage` (times in seconds since 1970).
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

    init(_ row: Row) {
        self.init(
            id: row["id"],
            at: row["at"],
            memoryId: row["memory_id"],
            orgId: row["org_id"],
            userId: row["user_id"],
            verdict: row["verdict"],
            note: row["note"],
            resolved: row["resolved"]
        )
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

    init(_ row: Row) {
        self.init(
            staleAfterDays: row["stale_after_days"],
            versionRetentionDays: row["version_retention_days"],
            approverMustDiffer: row["approver_must_differ"]
        )
    }
}

/// The SQL of the memory lifecycle: versions, usage counters, the served log, verdicts, webhook
/// deliveries and the org policies that drive them. Rules live in `EngramMemory`.
///
/// Every call is `async`: a write suspends until GRDB's writer has committed (and fsynced) it, a read
/// while one of GRDB's readers runs it; neither blocks Swift's cooperative pool.
public struct LifecycleRecords: Sendable {
    let pool: DatabasePool

    /// The lifecycle tables of `database`.
    public init(database: EngramDatabase) {
        pool = database.pool
    }

    // MARK: Versions

    /// Appends versions in one transaction. A `(memory, version)` pair that exists already is an error
    /// (versions are never rewritten), or with `keepingExisting` (imports) left as it is.
    public func appendVersions(_ rows: [VersionRow], keepingExisting: Bool = false) async throws {
        guard !rows.isEmpty else { return }
        try await pool.write { db in
            let insert = try db.makeStatement(
                sql: """
                    INSERT \(keepingExisting ? "OR IGNORE " : "")INTO memory_versions (memory_id, version, at, actor, channel, client, request_id, reason,
                        org_id, state, content_hash, snapshot, token_id)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """
            )
            for r in rows {
                try insert.execute(arguments: [
                    r.memoryId, r.version, r.at, r.actor, r.channel, r.client, r.requestId, r.reason, r.orgId, r.state,
                    r.contentHash, r.snapshot, r.tokenId,
                ])
            }
        }
    }

    /// Every version of a memory, oldest first.
    public func versions(memoryId: String) async throws -> [VersionRow] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM memory_versions WHERE memory_id = ? ORDER BY version", arguments: [memoryId])
                .map(VersionRow.init)
        }
    }

    /// Every version of every memory, by memory then version (export and backups).
    public func allVersions() async throws -> [VersionRow] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM memory_versions ORDER BY memory_id, version").map(VersionRow.init)
        }
    }

    /// The versions of an organisation's memories recorded at or after `since`, by memory then version
    /// (quarantine and rollback selectors).
    public func versions(orgId: String, since: Double) async throws -> [VersionRow] {
        try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT * FROM memory_versions WHERE org_id = ? AND at >= ? ORDER BY memory_id, version",
                arguments: [orgId, since]
            ).map(VersionRow.init)
        }
    }

    /// The highest version number recorded per memory.
    public func latestVersionNumbers() async throws -> [String: Int] {
        try await pool.read { db in
            var out: [String: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT memory_id, MAX(version) AS v FROM memory_versions GROUP BY memory_id") {
                out[row["memory_id"]] = row["v"]
            }
            return out
        }
    }

    /// Memories whose latest version is a deletion recorded before `before` (seconds since 1970), with
    /// their organisation: candidates for purging once the retention period has passed.
    public func deletedBefore(_ before: Double) async throws -> [(memoryId: String, orgId: String?, at: Double)] {
        try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT v.memory_id, v.org_id, v.at FROM memory_versions v
                    JOIN (SELECT memory_id, MAX(version) AS top FROM memory_versions GROUP BY memory_id) t
                      ON t.memory_id = v.memory_id AND t.top = v.version
                    WHERE v.state = 'deleted' AND v.at < ?
                    """,
                arguments: [before]
            ).map { (memoryId: $0["memory_id"], orgId: $0["org_id"], at: $0["at"]) }
        }
    }

    /// Removes every version, usage row, served-log row and report of the given memories (retention purge).
    public func purge(memoryIds: [String]) async throws {
        guard !memoryIds.isEmpty else { return }
        try await pool.write { db in
            for id in memoryIds {
                for table in ["memory_versions", "memory_usage", "served_log", "memory_reports", "quarantine"] {
                    try db.execute(sql: "DELETE FROM \(table) WHERE memory_id = ?", arguments: [id])
                }
            }
        }
    }

    // MARK: Usage and the served log

    /// Every usage row.
    public func allUsage() async throws -> [UsageRow] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM memory_usage").map {
                UsageRow(
                    memoryId: $0["memory_id"],
                    servedCount: $0["served_count"],
                    lastServedAt: $0["last_served_at"],
                    lastConfirmedAt: $0["last_confirmed_at"]
                )
            }
        }
    }

    /// Appends served-log rows and writes the given usage rows (replacing those memories' rows), in one transaction.
    public func recordUsage(served: [ServedRow], usage: [UsageRow]) async throws {
        guard !served.isEmpty || !usage.isEmpty else { return }
        try await pool.write { db in
            let log = try db.makeStatement(sql: "INSERT INTO served_log (at, memory_id, user_id, rank) VALUES (?, ?, ?, ?)")
            for r in served { try log.execute(arguments: [r.at, r.memoryId, r.userId, r.rank]) }
            let put = try db.makeStatement(
                sql: """
                    INSERT INTO memory_usage (memory_id, served_count, last_served_at, last_confirmed_at) VALUES (?, ?, ?, ?)
                    ON CONFLICT(memory_id) DO UPDATE SET served_count = excluded.served_count,
                        last_served_at = excluded.last_served_at, last_confirmed_at = excluded.last_confirmed_at
                    """
            )
            for u in usage { try put.execute(arguments: [u.memoryId, u.servedCount, u.lastServedAt, u.lastConfirmedAt]) }
        }
    }

    /// Served-log rows of the last `since` seconds for the memories given (nil: all), newest first.
    public func served(since: Double, memoryIds: [String]? = nil, limit: Int = 1000) async throws -> [ServedRow] {
        try await pool.read { db in
            var sql = "SELECT at, memory_id, user_id, rank FROM served_log WHERE at >= ?"
            var args: [any DatabaseValueConvertible] = [since]
            if let memoryIds {
                guard !memoryIds.isEmpty else { return [] }
                sql += " AND memory_id IN (\(Array(repeating: "?", count: memoryIds.count).joined(separator: ",")))"
                args += memoryIds
            }
            sql += " ORDER BY id DESC LIMIT ?"
            args.append(limit)
            return try Row.fetchAll(db, sql: sql, arguments: StatementArguments(args)).map {
                ServedRow(at: $0["at"], memoryId: $0["memory_id"], userId: $0["user_id"], rank: $0["rank"])
            }
        }
    }

    /// Deletes served-log rows older than `before` (the log's retention period); returns how many.
    @discardableResult
    public func purgeServedLog(before: Double) async throws -> Int {
        try await pool.write { db in
            // The append-only trigger refuses UPDATE only; retention is the one path that deletes.
            try db.execute(sql: "DELETE FROM served_log WHERE at < ?", arguments: [before])
            return db.changesCount
        }
    }

    // MARK: Reports

    /// Appends a verdict.
    public func insertReport(_ r: ReportRow) async throws {
        try await pool.write { db in
            try db.execute(
                sql: "INSERT INTO memory_reports (at, memory_id, org_id, user_id, verdict, note, resolved) VALUES (?, ?, ?, ?, ?, ?, 0)",
                arguments: [r.at, r.memoryId, r.orgId, r.userId, r.verdict, r.note]
            )
        }
    }

    /// Unresolved reports of a memory, oldest first.
    public func openReports(memoryId: String) async throws -> [ReportRow] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM memory_reports WHERE memory_id = ? AND resolved = 0 ORDER BY id", arguments: [memoryId])
                .map(ReportRow.init)
        }
    }

    /// An organisation's reports (or a user's personal ones with `orgId` nil and `userId`), newest first.
    public func recentReports(orgId: String, since: Double, limit: Int) async throws -> [ReportRow] {
        try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT * FROM memory_reports WHERE org_id = ? AND at >= ? ORDER BY id DESC LIMIT ?",
                arguments: [orgId, since, limit]
            ).map(ReportRow.init)
        }
    }

    /// Every report (export and backups), oldest first.
    public func allReports() async throws -> [ReportRow] {
        try await pool.read { db in try Row.fetchAll(db, sql: "SELECT * FROM memory_reports ORDER BY id").map(ReportRow.init) }
    }

    /// Marks a memory's open reports resolved (a reviewer acted on them).
    public func resolveReports(memoryId: String) async throws {
        try await pool.write { db in
            try db.execute(sql: "UPDATE memory_reports SET resolved = 1 WHERE memory_id = ? AND resolved = 0", arguments: [memoryId])
        }
    }

    // MARK: Webhook deliveries

    /// Records a delivery id; false when it was recorded before (a replay).
    public func recordDelivery(orgId: String, provider: String, deliveryId: String, at time: Double) async throws -> Bool {
        try await pool.write { db in
            try db.execute(
                sql: "INSERT OR IGNORE INTO webhook_deliveries (org_id, provider, delivery_id, at) VALUES (?, ?, ?, ?)",
                arguments: [orgId, provider, deliveryId, time]
            )
            return db.changesCount == 1
        }
    }

    /// Forgets deliveries recorded before `before`.
    public func purgeDeliveries(before: Double) async throws {
        try await pool.write { db in try db.execute(sql: "DELETE FROM webhook_deliveries WHERE at < ?", arguments: [before]) }
    }

    // MARK: Org policy

    /// An organisation's lifecycle policy, nil for an unknown organisation.
    public func policy(orgId: String) async throws -> LifecyclePolicyRow? {
        try await pool.read { db in
            try Row.fetchOne(
                db,
                sql: "SELECT stale_after_days, version_retention_days, approver_must_differ FROM orgs WHERE id = ?",
                arguments: [orgId]
            ).map(LifecyclePolicyRow.init)
        }
    }

    /// Every organisation's policy.
    public func policies() async throws -> [String: LifecyclePolicyRow] {
        try await pool.read { db in
            var out: [String: LifecyclePolicyRow] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT id, stale_after_days, version_retention_days, approver_must_differ FROM orgs") {
                out[row["id"]] = LifecyclePolicyRow(row)
            }
            return out
        }
    }

    /// Sets an organisation's policy; false for an unknown organisation.
    public func setPolicy(_ p: LifecyclePolicyRow, orgId: String) async throws -> Bool {
        try await pool.write { db in
            try db.execute(
                sql: "UPDATE orgs SET stale_after_days = ?, version_retention_days = ?, approver_must_differ = ? WHERE id = ?",
                arguments: [p.staleAfterDays, p.versionRetentionDays, p.approverMustDiffer, orgId]
            )
            return db.changesCount == 1
        }
    }

    /// The organisation's webhook secret, nil when none is set (or the organisation is unknown).
    public func webhookSecret(orgId: String) async throws -> String? {
        try await pool.read { db in
            try String.fetchOne(db, sql: "SELECT webhook_secret FROM orgs WHERE id = ?", arguments: [orgId])
        }
    }

    /// Sets (or with nil clears) the organisation's webhook secret; false for an unknown organisation.
    public func setWebhookSecret(_ secret: String?, orgId: String) async throws -> Bool {
        try await pool.write { db in
            try db.execute(sql: "UPDATE orgs SET webhook_secret = ? WHERE id = ?", arguments: [secret, orgId])
            return db.changesCount == 1
        }
    }
}

extension LifecycleRecords {
    /// Forgets one delivery id (its processing failed, so a redelivery must run it again).
    public func forgetDelivery(orgId: String, provider: String, deliveryId: String) async throws {
        try await pool.write { db in
            try db.execute(
                sql: "DELETE FROM webhook_deliveries WHERE org_id = ? AND provider = ? AND delivery_id = ?",
                arguments: [orgId, provider, deliveryId]
            )
        }
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

extension LifecycleRecords {
    /// Records quarantined versions; a version already recorded stays as it was. Returns the rows added.
    @discardableResult
    public func quarantine(_ rows: [QuarantineRow]) async throws -> Int {
        guard !rows.isEmpty else { return 0 }
        return try await pool.write { db in
            var added = 0
            for r in rows {
                try db.execute(
                    sql: "INSERT OR IGNORE INTO quarantine (memory_id, version, org_id, rules, at) VALUES (?, ?, ?, ?, ?)",
                    arguments: [r.memoryId, r.version, r.orgId, r.rules, r.at]
                )
                added += db.changesCount
            }
            return added
        }
    }

    /// Quarantined versions of one organisation (nil: every one), newest first.
    public func quarantined(orgId: String?) async throws -> [QuarantineRow] {
        try await pool.read { db in
            let rows: [Row]
            if let orgId {
                rows = try Row.fetchAll(db, sql: "SELECT * FROM quarantine WHERE org_id = ? ORDER BY at DESC", arguments: [orgId])
            } else {
                rows = try Row.fetchAll(db, sql: "SELECT * FROM quarantine ORDER BY at DESC")
            }
            return rows.map {
                QuarantineRow(memoryId: $0["memory_id"], version: $0["version"], orgId: $0["org_id"], rules: $0["rules"], at: $0["at"])
            }
        }
    }
}
