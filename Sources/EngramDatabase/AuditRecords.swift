public import EngramMetadata
import GRDB

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
        try await pool.write { db in try SQLiteMetadataTransaction(db: db, cipher: nil).appendAudit(rows) }
    }

    /// Rows of one organisation, newest first: at most `limit` with an id below `before`.
    public func rows(orgId: String, limit: Int, before cursor: Int64?) async throws -> [AuditRow] {
        try await pool.read { db in try SQLiteMetadataTransaction(db: db, cipher: nil).auditRows(orgId: orgId, limit: limit, before: cursor) }
    }
}

/// The audit log (`AuditQueries`).
extension SQLiteMetadataTransaction {
    public func appendAudit(_ rows: [AuditRow]) throws {
        guard !rows.isEmpty else { return }
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

    public func auditRows(orgId: String, limit: Int, before cursor: Int64?) throws -> [AuditRow] {
        var sql = "SELECT * FROM audit_log WHERE org_id = ?"
        var args: [any DatabaseValueConvertible] = [orgId]
        if let cursor {
            sql += " AND id < ?"
            args.append(cursor)
        }
        sql += " ORDER BY id DESC LIMIT ?"
        args.append(limit)
        return try Row.fetchAll(db, sql: sql, arguments: StatementArguments(args)).map(AuditRow.init)
    }
}
