public import EngramAtRest
public import EngramMetadata
import Foundation
import GRDB

/// The SQL of the memory lifecycle: versions, usage counters, the served log, verdicts, webhook
/// deliveries and the org policies that drive them. Rules live in `EngramMemory`, which reaches these
/// queries through `MetadataStore` (`LifecycleQueries` and `GlobalQueries`); this async facade serves
/// the maintenance commands and tests.
///
/// Every call is `async`: a write suspends until GRDB's writer has committed (and fsynced) it, a read
/// while one of GRDB's readers runs it; neither blocks Swift's cooperative pool.
public struct LifecycleRecords: Sendable {
    let pool: DatabasePool
    /// Seals version snapshots and webhook secrets when the database has a key (encryption at rest).
    public let cipher: AtRestCipher?

    /// The lifecycle tables of `database`.
    public init(database: EngramDatabase) {
        pool = database.pool
        cipher = database.cipher
    }

    /// The key scope of a version: its organisation (versions of memories outside any org share one).
    static func versionTenant(_ orgId: String?) -> String { SealedIdentity.versionTenant(orgId) }

    /// The sealed value's identity: a snapshot moved to another version or memory does not open.
    static func versionIdentity(_ memoryId: String, _ version: Int) -> String { SealedIdentity.versionIdentity(memoryId, version) }

    /// The key scope and identity of a version snapshot in an export file (bound to the memory and
    /// version, apart from the database's own identity).
    public static func exportVersionTenant(_ orgId: String?) -> String { versionTenant(orgId) }
    public static func exportVersionIdentity(_ memoryId: String, _ version: Int) -> String { "export:" + versionIdentity(memoryId, version) }

    static func webhookIdentity(_ orgId: String) -> String { SealedIdentity.webhookIdentity(orgId) }

    func read<T: Sendable>(_ body: @escaping @Sendable (SQLiteMetadataTransaction) throws -> T) async throws -> T {
        let cipher = cipher
        return try await pool.read { db in try body(SQLiteMetadataTransaction(db: db, cipher: cipher)) }
    }

    func write<T: Sendable>(_ body: @escaping @Sendable (SQLiteMetadataTransaction) throws -> T) async throws -> T {
        let cipher = cipher
        return try await pool.write { db in try body(SQLiteMetadataTransaction(db: db, cipher: cipher)) }
    }

    // MARK: Versions

    /// Appends versions in one transaction. A `(memory, version)` pair that exists already is an error
    /// (versions are never rewritten), or with `keepingExisting` (imports) left as it is.
    public func appendVersions(_ rows: [VersionRow], keepingExisting: Bool = false) async throws {
        guard !rows.isEmpty else { return }
        try await write { tx in try tx.appendVersions(rows, keepingExisting: keepingExisting) }
    }

    /// Every version of a memory, oldest first.
    public func versions(memoryId: String) async throws -> [VersionRow] {
        try await read { tx in try tx.versions(memoryId: memoryId) }
    }

    /// Every version of every memory, by memory then version (export and backups).
    public func allVersions() async throws -> [VersionRow] {
        try await read { tx in try tx.allVersions() }
    }

    /// The versions of an organisation's memories recorded at or after `since`, by memory then version.
    public func versions(orgId: String, since: Double) async throws -> [VersionRow] {
        try await read { tx in try tx.versions(orgId: orgId, since: since) }
    }

    /// The highest version number recorded per memory.
    public func latestVersionNumbers() async throws -> [String: Int] {
        try await read { tx in try tx.latestVersionNumbers() }
    }

    /// Memories whose latest version is a deletion recorded before `before`, with their organisation.
    public func deletedBefore(_ before: Double) async throws -> [(memoryId: String, orgId: String?, at: Double)] {
        try await read { tx in try tx.deletedBefore(before) }
    }

    /// Removes every version, usage row, served-log row and report of the given memories (retention purge).
    public func purge(memoryIds: [String]) async throws {
        guard !memoryIds.isEmpty else { return }
        try await write { tx in try tx.purge(memoryIds: memoryIds) }
    }

    // MARK: Usage and the served log

    /// Every usage row.
    public func allUsage() async throws -> [UsageRow] {
        try await read { tx in try tx.allUsage() }
    }

    /// Appends served-log rows and adds the given usage rows to those memories' rows (`recordUsage` of
    /// `LifecycleQueries`), in one transaction.
    public func recordUsage(served: [ServedRow], usage: [UsageRow]) async throws {
        guard !served.isEmpty || !usage.isEmpty else { return }
        try await write { tx in try tx.recordUsage(served: served, usage: usage) }
    }

    /// Served-log rows of the last `since` seconds for the memories given (nil: all), newest first.
    public func served(since: Double, memoryIds: [String]? = nil, limit: Int = 1000) async throws -> [ServedRow] {
        try await read { tx in try tx.served(since: since, memoryIds: memoryIds, limit: limit) }
    }

    /// Deletes served-log rows older than `before` (the log's retention period); returns how many.
    @discardableResult
    public func purgeServedLog(before: Double) async throws -> Int {
        try await write { tx in try tx.purgeServedLog(before: before) }
    }

    // MARK: Reports

    /// Appends a verdict.
    public func insertReport(_ r: ReportRow) async throws {
        try await write { tx in try tx.insertReport(r) }
    }

    /// Unresolved reports of a memory, oldest first.
    public func openReports(memoryId: String) async throws -> [ReportRow] {
        try await read { tx in try tx.openReports(memoryId: memoryId) }
    }

    /// An organisation's reports, newest first.
    public func recentReports(orgId: String, since: Double, limit: Int) async throws -> [ReportRow] {
        try await read { tx in try tx.recentReports(orgId: orgId, since: since, limit: limit) }
    }

    /// Every report (export and backups), oldest first.
    public func allReports() async throws -> [ReportRow] {
        try await read { tx in try tx.allReports() }
    }

    /// Marks a memory's open reports resolved (a reviewer acted on them).
    public func resolveReports(memoryId: String) async throws {
        try await write { tx in try tx.resolveReports(memoryId: memoryId) }
    }

    // MARK: Webhook deliveries

    /// Records a delivery id; false when it was recorded before (a replay).
    public func recordDelivery(orgId: String, provider: String, deliveryId: String, at time: Double) async throws -> Bool {
        try await write { tx in try tx.recordDelivery(orgId: orgId, provider: provider, deliveryId: deliveryId, at: time) }
    }

    /// Forgets deliveries recorded before `before`.
    public func purgeDeliveries(before: Double) async throws {
        try await write { tx in try tx.purgeDeliveries(before: before) }
    }

    /// Forgets one delivery id (its processing failed, so a redelivery must run it again).
    public func forgetDelivery(orgId: String, provider: String, deliveryId: String) async throws {
        try await write { tx in try tx.forgetDelivery(orgId: orgId, provider: provider, deliveryId: deliveryId) }
    }

    // MARK: Org policy

    /// An organisation's lifecycle policy, nil for an unknown organisation.
    public func policy(orgId: String) async throws -> LifecyclePolicyRow? {
        try await read { tx in try tx.policy(orgId: orgId) }
    }

    /// Every organisation's policy.
    public func policies() async throws -> [String: LifecyclePolicyRow] {
        try await read { tx in try tx.policies() }
    }

    /// Sets an organisation's policy; false for an unknown organisation.
    public func setPolicy(_ p: LifecyclePolicyRow, orgId: String) async throws -> Bool {
        try await write { tx in try tx.setPolicy(p, orgId: orgId) }
    }

    /// The organisation's webhook secret, nil when none is set (or the organisation is unknown).
    public func webhookSecret(orgId: String) async throws -> String? {
        try await read { tx in try tx.webhookSecret(orgId: orgId) }
    }

    /// Sets (or with nil clears) the organisation's webhook secret; false for an unknown organisation.
    public func setWebhookSecret(_ secret: String?, orgId: String) async throws -> Bool {
        try await write { tx in try tx.setWebhookSecret(secret, orgId: orgId) }
    }

    // MARK: Quarantine

    /// Records quarantined versions; a version already recorded stays as it was. Returns the rows added.
    @discardableResult
    public func quarantine(_ rows: [QuarantineRow]) async throws -> Int {
        guard !rows.isEmpty else { return 0 }
        return try await write { tx in try tx.quarantine(rows) }
    }

    /// Quarantined versions of one organisation (nil: every one), newest first.
    public func quarantined(orgId: String?) async throws -> [QuarantineRow] {
        try await read { tx in try tx.quarantined(orgId: orgId) }
    }
}

/// The lifecycle tables (`LifecycleQueries`, and the loaders and sweeps of `GlobalQueries`).
extension SQLiteMetadataTransaction {
    /// A version as read: its snapshot opened. A snapshot that does not open (altered, moved, or
    /// under a key the server lacks) is returned empty, which every reader skips as unreadable.
    func opened(_ row: Row) -> VersionRow {
        var r = VersionRow(row)
        guard AtRestCipher.isSealed(r.snapshot) else { return r }
        let identity = LifecycleRecords.versionIdentity(r.memoryId, r.version)
        r.snapshot = (try? cipher?.open(r.snapshot, tenant: LifecycleRecords.versionTenant(r.orgId), identity: identity)) ?? Data()
        return r
    }

    // MARK: Versions

    public func appendVersions(_ rows: [VersionRow], keepingExisting: Bool) throws {
        guard !rows.isEmpty else { return }
        let insert = try db.makeStatement(
            sql: """
                INSERT \(keepingExisting ? "OR IGNORE " : "")INTO memory_versions (memory_id, version, at, actor, channel, client, request_id, reason,
                    org_id, state, content_hash, snapshot, token_id)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """
        )
        for r in rows {
            let snapshot =
                try cipher?.seal(
                    r.snapshot,
                    tenant: LifecycleRecords.versionTenant(r.orgId),
                    identity: LifecycleRecords.versionIdentity(r.memoryId, r.version)
                ) ?? r.snapshot
            try insert.execute(arguments: [
                r.memoryId, r.version, r.at, r.actor, r.channel, r.client, r.requestId, r.reason, r.orgId, r.state,
                r.contentHash, snapshot, r.tokenId,
            ])
        }
    }

    public func versions(memoryId: String) throws -> [VersionRow] {
        try Row.fetchAll(db, sql: "SELECT * FROM memory_versions WHERE memory_id = ? ORDER BY version", arguments: [memoryId])
            .map(opened)
    }

    public func allVersions() throws -> [VersionRow] {
        try Row.fetchAll(db, sql: "SELECT * FROM memory_versions ORDER BY memory_id, version").map(opened)
    }

    public func versions(orgId: String, since: Double) throws -> [VersionRow] {
        try Row.fetchAll(
            db,
            sql: "SELECT * FROM memory_versions WHERE org_id = ? AND at >= ? ORDER BY memory_id, version",
            arguments: [orgId, since]
        ).map(opened)
    }

    public func latestVersionNumbers() throws -> [String: Int] {
        var out: [String: Int] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT memory_id, MAX(version) AS v FROM memory_versions GROUP BY memory_id") {
            out[row["memory_id"]] = row["v"]
        }
        return out
    }

    public func deletedBefore(_ before: Double) throws -> [(memoryId: String, orgId: String?, at: Double)] {
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

    public func purge(memoryIds: [String]) throws {
        for id in memoryIds {
            for table in ["memory_versions", "memory_usage", "served_log", "memory_reports", "quarantine"] {
                try db.execute(sql: "DELETE FROM \(table) WHERE memory_id = ?", arguments: [id])
            }
        }
    }

    // MARK: Usage and the served log

    public func allUsage() throws -> [UsageRow] {
        try Row.fetchAll(db, sql: "SELECT * FROM memory_usage").map {
            UsageRow(
                memoryId: $0["memory_id"],
                servedCount: $0["served_count"],
                lastServedAt: $0["last_served_at"],
                lastConfirmedAt: $0["last_confirmed_at"]
            )
        }
    }

    public func recordUsage(served: [ServedRow], usage: [UsageRow]) throws {
        guard !served.isEmpty || !usage.isEmpty else { return }
        let log = try db.makeStatement(sql: "INSERT INTO served_log (at, memory_id, user_id, rank) VALUES (?, ?, ?, ?)")
        for r in served { try log.execute(arguments: [r.at, r.memoryId, r.userId, r.rank]) }
        let put = try db.makeStatement(
            sql: """
                INSERT INTO memory_usage (memory_id, served_count, last_served_at, last_confirmed_at)
                VALUES (:id, max(:increment, 0), :served, :confirmed)
                ON CONFLICT(memory_id) DO UPDATE SET served_count = max(served_count + :increment, 0),
                    last_served_at = max(coalesce(last_served_at, excluded.last_served_at), coalesce(excluded.last_served_at, last_served_at)),
                    last_confirmed_at = max(
                        coalesce(last_confirmed_at, excluded.last_confirmed_at), coalesce(excluded.last_confirmed_at, last_confirmed_at))
                """
        )
        for u in usage {
            try put.execute(arguments: ["id": u.memoryId, "increment": u.servedCount, "served": u.lastServedAt, "confirmed": u.lastConfirmedAt])
        }
    }

    public func served(since: Double, memoryIds: [String]?, limit: Int) throws -> [ServedRow] {
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

    @discardableResult
    public func purgeServedLog(before: Double) throws -> Int {
        // The append-only trigger refuses UPDATE only; retention is the one path that deletes.
        try db.execute(sql: "DELETE FROM served_log WHERE at < ?", arguments: [before])
        return db.changesCount
    }

    // MARK: Reports

    public func insertReport(_ r: ReportRow) throws {
        try db.execute(
            sql: "INSERT INTO memory_reports (at, memory_id, org_id, user_id, verdict, note, resolved) VALUES (?, ?, ?, ?, ?, ?, 0)",
            arguments: [r.at, r.memoryId, r.orgId, r.userId, r.verdict, r.note]
        )
    }

    public func openReports(memoryId: String) throws -> [ReportRow] {
        try Row.fetchAll(db, sql: "SELECT * FROM memory_reports WHERE memory_id = ? AND resolved = 0 ORDER BY id", arguments: [memoryId])
            .map(ReportRow.init)
    }

    public func recentReports(orgId: String, since: Double, limit: Int) throws -> [ReportRow] {
        try Row.fetchAll(
            db,
            sql: "SELECT * FROM memory_reports WHERE org_id = ? AND at >= ? ORDER BY id DESC LIMIT ?",
            arguments: [orgId, since, limit]
        ).map(ReportRow.init)
    }

    public func allReports() throws -> [ReportRow] {
        try Row.fetchAll(db, sql: "SELECT * FROM memory_reports ORDER BY id").map(ReportRow.init)
    }

    public func resolveReports(memoryId: String) throws {
        try db.execute(sql: "UPDATE memory_reports SET resolved = 1 WHERE memory_id = ? AND resolved = 0", arguments: [memoryId])
    }

    // MARK: Webhook deliveries

    public func recordDelivery(orgId: String, provider: String, deliveryId: String, at time: Double) throws -> Bool {
        try db.execute(
            sql: "INSERT OR IGNORE INTO webhook_deliveries (org_id, provider, delivery_id, at) VALUES (?, ?, ?, ?)",
            arguments: [orgId, provider, deliveryId, time]
        )
        return db.changesCount == 1
    }

    public func purgeDeliveries(before: Double) throws {
        try db.execute(sql: "DELETE FROM webhook_deliveries WHERE at < ?", arguments: [before])
    }

    public func forgetDelivery(orgId: String, provider: String, deliveryId: String) throws {
        try db.execute(
            sql: "DELETE FROM webhook_deliveries WHERE org_id = ? AND provider = ? AND delivery_id = ?",
            arguments: [orgId, provider, deliveryId]
        )
    }

    // MARK: Org policy

    public func policy(orgId: String) throws -> LifecyclePolicyRow? {
        try Row.fetchOne(
            db,
            sql: "SELECT stale_after_days, version_retention_days, approver_must_differ FROM orgs WHERE id = ?",
            arguments: [orgId]
        ).map(LifecyclePolicyRow.init)
    }

    public func policies() throws -> [String: LifecyclePolicyRow] {
        var out: [String: LifecyclePolicyRow] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT id, stale_after_days, version_retention_days, approver_must_differ FROM orgs") {
            out[row["id"]] = LifecyclePolicyRow(row)
        }
        return out
    }

    public func setPolicy(_ p: LifecyclePolicyRow, orgId: String) throws -> Bool {
        try db.execute(
            sql: "UPDATE orgs SET stale_after_days = ?, version_retention_days = ?, approver_must_differ = ? WHERE id = ?",
            arguments: [p.staleAfterDays, p.versionRetentionDays, p.approverMustDiffer, orgId]
        )
        return db.changesCount == 1
    }

    public func webhookSecret(orgId: String) throws -> String? {
        let stored = try String.fetchOne(db, sql: "SELECT webhook_secret FROM orgs WHERE id = ?", arguments: [orgId])
        guard let stored else { return nil }
        guard let cipher else {
            if AtRestCipher.keyID(ofText: stored) != nil { throw AtRestCipherError.unknownKey(AtRestCipher.keyID(ofText: stored) ?? "") }
            return stored
        }
        return try cipher.openText(stored, tenant: "org:" + orgId, identity: LifecycleRecords.webhookIdentity(orgId))
    }

    public func setWebhookSecret(_ secret: String?, orgId: String) throws -> Bool {
        let stored = try secret.map {
            try cipher?.sealText($0, tenant: "org:" + orgId, identity: LifecycleRecords.webhookIdentity(orgId)) ?? $0
        }
        try db.execute(sql: "UPDATE orgs SET webhook_secret = ? WHERE id = ?", arguments: [stored, orgId])
        return db.changesCount == 1
    }

    // MARK: Quarantine

    @discardableResult
    public func quarantine(_ rows: [QuarantineRow]) throws -> Int {
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

    public func quarantined(orgId: String?) throws -> [QuarantineRow] {
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
