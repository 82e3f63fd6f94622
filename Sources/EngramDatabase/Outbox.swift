public import EngramMetadata
import GRDB

/// The outbox of memory writes on SQLite (`OutboxRow`): a version's pending store write.
///
/// The embedded store lives in the same file but is written through its own API, so a crash may still
/// fall between the version's transaction and the store's; the row left behind is finished at the next
/// start by the reconciler, as on PostgreSQL.
extension EngramDatabase {
    static func registerOutboxMigrations(_ m: inout DatabaseMigrator) {
        m.registerMigration("outbox-v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE outbox (
                        memory_id TEXT NOT NULL, version INTEGER NOT NULL, at REAL NOT NULL, PRIMARY KEY (memory_id, version));
                    CREATE INDEX outbox_at ON outbox(at);
                    """
            )
        }
    }
}

extension SQLiteMetadataTransaction {
    public func insertOutbox(_ rows: [OutboxRow]) throws {
        let insert = try db.makeStatement(sql: "INSERT OR IGNORE INTO outbox (memory_id, version, at) VALUES (?, ?, ?)")
        for r in rows { try insert.execute(arguments: [r.memoryId, r.version, r.at]) }
    }

    public func settleOutbox(_ keys: [OutboxKey]) throws {
        let delete = try db.makeStatement(sql: "DELETE FROM outbox WHERE memory_id = ? AND version <= ?")
        for k in keys { try delete.execute(arguments: [k.memoryId, k.version]) }
    }

    public func staleOutbox(olderThan age: Double, now: Double, limit: Int) throws -> [VersionRow] {
        try Row.fetchAll(
            db,
            sql: """
                SELECT v.* FROM (SELECT memory_id, min(at) AS since FROM outbox GROUP BY memory_id HAVING max(at) < ?
                                 ORDER BY since LIMIT ?) o
                JOIN memory_versions v ON v.memory_id = o.memory_id
                    AND v.version = (SELECT max(version) FROM memory_versions WHERE memory_id = o.memory_id)
                ORDER BY o.since
                """,
            arguments: [now - age, limit]
        ).map(opened)
    }

    public func outboxDepth() throws -> OutboxDepth {
        let row = try Row.fetchOne(db, sql: "SELECT count(*) AS n, min(at) AS oldest FROM outbox")
        return OutboxDepth(pending: row?["n"] ?? 0, oldestAt: row?["oldest"])
    }
}
