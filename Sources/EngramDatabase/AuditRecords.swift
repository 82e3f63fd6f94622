import GRDB

/// One row of `audit_log`: ids, hashes, actions and roles, never memory content.
public struct AuditRow: Sendable, Hashable {
    /// Assigned by the database (ignored when appending).
    public var id: Int64
    /// Seconds since 1970.
    public var at: Double
    public var orgId: String?
    public var actor: String
    public var action: String
    /// Lowercased UUID text.
    public var memoryId: String?
    public var beforeHash: String?
    public var afterHash: String?
    public var detail: String?

    public init(
        id: Int64 = 0,
        at: Double,
        orgId: String?,
        actor: String,
        action: String,
        memoryId: String?,
        beforeHash: String?,
        afterHash: String?,
        detail: String?
    ) {
        self.id = id
        self.at = at
        self.orgId = orgId
        self.actor = actor
        self.action = action
        self.memoryId = memoryId
        self.beforeHash = beforeHash
        self.afterHash = afterHash
        self.detail = detail
    }
}

/// The SQL of the append-only audit log (`audit_log`; triggers refuse UPDATE and DELETE).
///
/// Every call is `async`: an append suspends until GRDB's writer has committed (and fsynced) it,
/// a read while one of GRDB's readers runs the query; neither blocks Swift's cooperative pool.
public struct AuditRecords: Sendable {
    let pool: DatabasePool

    /// The audit table of `database`.
    public init(database: EngramDatabase) {
        pool = database.pool
    }

    /// Appends `rows` in one transaction (their `id` is assigned by the database).
    public func append(_ rows: [AuditRow]) async throws {
        guard !rows.isEmpty else { return }
        try await pool.write { db in
            let insert = try db.makeStatement(
                sql: """
                    INSERT INTO audit_log (at, org_id, actor, action, memory_id, before_hash, after_hash, detail)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """
            )
            for r in rows {
                try insert.execute(arguments: [r.at, r.orgId, r.actor, r.action, r.memoryId, r.beforeHash, r.afterHash, r.detail])
            }
        }
    }

    /// Rows of one organisation, newest first: at most `limit` with an id below `before`.
    public func rows(orgId: String, limit: Int, before cursor: Int64?) async throws -> [AuditRow] {
        try await pool.read { db in
            var sql = "SELECT * FROM audit_log WHERE org_id = ?"
            var args: [any DatabaseValueConvertible] = [orgId]
            if let cursor {
                sql += " AND id < ?"
                args.append(cursor)
            }
            sql += " ORDER BY id DESC LIMIT ?"
            args.append(limit)
            return try Row.fetchAll(db, sql: sql, arguments: StatementArguments(args)).map { row in
                AuditRow(
                    id: row["id"],
                    at: row["at"],
                    orgId: row["org_id"],
                    actor: row["actor"],
                    action: row["action"],
                    memoryId: row["memory_id"],
                    beforeHash: row["before_hash"],
                    afterHash: row["after_hash"],
                    detail: row["detail"]
                )
            }
        }
    }
}
