import EngramCore
import Foundation
import GRDB

/// One audit entry. Never holds memory content: ids, hashes, actions, roles.
public struct AuditEntry: Sendable, Hashable, Codable {
    public var id: Int64
    public var at: Date
    public var orgId: String?
    public var actor: String
    public var action: String
    public var memoryId: UUID?
    public var beforeHash: String?
    public var afterHash: String?
    /// Short structured detail, e.g. `state draft→published` or `role member→admin`.
    public var detail: String?
}

/// The append-only audit log of admin actions, promotions and deletions.
///
/// Stored in the service database; triggers make rows immutable (any UPDATE or
/// DELETE aborts), and no API edits or removes entries.
public final class AuditLog: Sendable {
    private let database: DatabasePool

    public init(database: DatabasePool) throws {
        self.database = database
        var m = DatabaseMigrator()
        m.registerMigration("audit-v1") { db in
            try db.execute(sql: """
                CREATE TABLE IF NOT EXISTS audit_log (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    at REAL NOT NULL, org_id TEXT, actor TEXT NOT NULL, action TEXT NOT NULL,
                    memory_id TEXT, before_hash TEXT, after_hash TEXT, detail TEXT);
                CREATE INDEX IF NOT EXISTS audit_org ON audit_log(org_id, id);
                CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit_log
                    BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
                CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit_log
                    BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
                """)
        }
        try m.migrate(database)
    }

    /// An entry to append (the log assigns `id` and `at`).
    public struct Record: Sendable, Hashable {
        public var orgId: String?
        public var actor: String
        public var action: String
        public var memoryId: UUID?
        public var beforeHash: String?
        public var afterHash: String?
        public var detail: String?

        public init(orgId: String?, actor: String, action: String, memoryId: UUID? = nil, beforeHash: String? = nil,
                    afterHash: String? = nil, detail: String? = nil) {
            self.orgId = orgId
            self.actor = actor
            self.action = action
            self.memoryId = memoryId
            self.beforeHash = beforeHash
            self.afterHash = afterHash
            self.detail = detail
        }
    }

    /// Appends an entry (durably, before returning). Suspends as `record(_:)`.
    public func record(orgId: String?, actor: String, action: String, memoryId: UUID? = nil,
                       beforeHash: String? = nil, afterHash: String? = nil, detail: String? = nil) async throws {
        try await record([Record(orgId: orgId, actor: actor, action: action, memoryId: memoryId, beforeHash: beforeHash,
                           afterHash: afterHash, detail: detail)])
    }

    /// Appends entries in one transaction (bulk imports, store reloads), durably, before returning.
    /// Suspends until GRDB's writer has committed (and fsynced) the transaction.
    public func record(_ records: [Record]) async throws {
        guard !records.isEmpty else { return }
        let at = Date().timeIntervalSince1970
        try await database.write { db in
            let insert = try db.makeStatement(sql: """
                INSERT INTO audit_log (at, org_id, actor, action, memory_id, before_hash, after_hash, detail)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """)
            for r in records {
                try insert.execute(arguments: [at, r.orgId, r.actor, r.action, r.memoryId?.lowercasedText,
                                               r.beforeHash, r.afterHash, r.detail])
            }
        }
    }

    /// Entries of one organisation, newest first, `limit` after the cursor (an entry id).
    /// Suspends while a GRDB reader fetches them.
    public func entries(orgId: String, limit: Int, before cursor: Int64? = nil) async throws -> [AuditEntry] {
        try await database.read { db in
            var sql = "SELECT * FROM audit_log WHERE org_id = ?"
            var args: [any DatabaseValueConvertible] = [orgId]
            if let cursor { sql += " AND id < ?"; args.append(cursor) }
            sql += " ORDER BY id DESC LIMIT ?"
            args.append(limit)
            return try Row.fetchAll(db, sql: sql, arguments: StatementArguments(args)).map { row in
                AuditEntry(id: row["id"], at: Date(timeIntervalSince1970: row["at"]), orgId: row["org_id"], actor: row["actor"],
                           action: row["action"], memoryId: (row["memory_id"] as String?).flatMap(UUID.init(uuidString:)),
                           beforeHash: row["before_hash"], afterHash: row["after_hash"], detail: row["detail"])
            }
        }
    }
}
