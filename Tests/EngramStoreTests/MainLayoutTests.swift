import EngramCore
import EngramDatabase
import Foundation
import GRDB
import Testing

@testable import EngramStore
@testable import EngramStoreModel

/// A data directory written before the single migrator (three migrators on one file: the store's,
/// the member directory's and the audit log's) opens unchanged: no migration re-runs, every row stays.
@Suite struct MainLayoutTests {
    /// The migrations the fixture's file had applied; opening it runs only the ones added since.
    static let fixtureMigrationIDs = ["store-v1", "store-v2-sparse-indexes", "auth-v1", "auth-v2-invitations", "audit-v1"]
    static let migrationIDs =
        fixtureMigrationIDs + [
            "lifecycle-v1", "lifecycle-v2-quarantine", "trust-v1", "accounts-v1", "oauth-v1", "encryption-v1",
            "outbox-v1", "store-v3-segments",
        ]

    /// A database file built from `Fixtures/main-layout.sql` in a fresh directory.
    static func fixtureDirectory() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("engram-main-layout-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let url = try #require(Bundle.module.url(forResource: "main-layout", withExtension: "sql", subdirectory: "Fixtures"))
        // The dump's own BEGIN / COMMIT give way to GRDB's write transaction.
        let dump = try String(contentsOf: url, encoding: .utf8).split(separator: "\n")
            .filter { $0 != "BEGIN TRANSACTION;" && $0 != "COMMIT;" }.joined(separator: "\n")
        // The dump creates tables in name order, before the tables their foreign keys name.
        var loading = Configuration()
        loading.foreignKeysEnabled = false
        let queue = try DatabaseQueue(path: dir.appendingPathComponent(EngramDatabase.fileName).path, configuration: loading)
        try queue.write { db in try db.execute(sql: dump) }
        try queue.close()
        return dir
    }

    static func counts(_ db: Database) throws -> [String: Int] {
        var out: [String: Int] = [:]
        for table in ["collections", "points", "payload_indexes", "users", "orgs", "members", "invitations", "revoked_tokens", "audit_log"] {
            out[table] = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(table)")
        }
        return out
    }

    @Test func opensWithNothingReRunAndKeepsItsRows() async throws {
        let dir = try Self.fixtureDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent(EngramDatabase.fileName).path
        let before = try DatabaseQueue(path: path)
        let schemaBefore = try before.read { db in
            try Row.fetchAll(db, sql: "SELECT type, name, sql FROM sqlite_master ORDER BY type, name")
        }
        let countsBefore = try await before.read { db in try Self.counts(db) }
        try before.close()

        let database = try EngramDatabase(directory: dir)
        let (applied, completed, schemaAfter, countsAfter) = try database.pool.read { db in
            (
                try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations ORDER BY rowid"),
                try EngramDatabase.migrator.hasCompletedMigrations(db),
                try Row.fetchAll(db, sql: "SELECT type, name, sql FROM sqlite_master ORDER BY type, name"),
                try Self.counts(db)
            )
        }
        #expect(applied == Self.migrationIDs)
        #expect(completed)
        // Only the migrations added since ran: every object from before is unchanged, except that `orgs` gained the
        // lifecycle policy columns and `collections` the segment columns.
        func objects(_ rows: [Row]) -> [String: String?] {
            Dictionary(uniqueKeysWithValues: rows.map { ("\($0["type"] as String)/\($0["name"] as String)", $0["sql"] as String?) })
        }
        let (old, new) = (objects(schemaBefore), objects(schemaAfter))
        for (key, sql) in old where key != "table/orgs" && key != "table/collections" { #expect(new[key] == sql, "\(key)") }
        let collections = try #require(new["table/collections"] ?? nil)
        #expect(collections.hasPrefix((old["table/collections"] ?? nil)?.dropLast() ?? "-"))
        #expect(collections.contains("segment"))
        let orgs = try #require(new["table/orgs"] ?? nil)
        #expect(orgs.hasPrefix((old["table/orgs"] ?? nil)?.dropLast() ?? "-"))
        #expect(["stale_after_days", "version_retention_days", "webhook_secret"].allSatisfy { orgs.contains($0) })
        #expect(Set(new.keys).subtracting(old.keys).isSuperset(of: ["table/memory_versions", "table/served_log", "table/memory_usage"]))
        #expect(countsAfter == countsBefore)
        #expect(countsAfter["members"] == 2 && countsAfter["invitations"] == 1 && countsAfter["audit_log"] == 2)

        let store = try EmbeddedStore(database: database)
        let id = try #require(PointID(storageKey: "u6f1c2b9e-4a57-4c1e-9d1b-2f0e8c3a7b10"))
        let records = try await store.retrieve("memories_bm25", ids: [id])
        #expect(records.first?.payload?["tenant"] == .string("org:alice"))
        #expect(try await store.collectionInfo("memories_bm25").config.tenantKey == "tenant")
        #expect(try await store.payloadIndexes("memories_bm25")["tenant"] != nil)
    }

    @Test func aFreshFileRecordsTheSameMigrations() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("engram-fresh-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let database = try EngramDatabase(directory: dir)
        let applied = try await database.pool.read { db in
            try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations ORDER BY rowid")
        }
        #expect(applied == Self.migrationIDs)
    }

    @Test func aFileWithoutMemberTablesGetsThem() async throws {
        let dir = try Self.fixtureDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent(EngramDatabase.fileName).path
        let queue = try DatabaseQueue(path: path)
        try await queue.write { db in
            try db.execute(sql: "DROP TABLE invitations; DROP TABLE members; DROP TABLE users; DROP TABLE orgs; DROP TABLE revoked_tokens")
            try db.execute(sql: "DELETE FROM grdb_migrations WHERE identifier LIKE 'auth-%'")
        }
        try queue.close()
        let database = try EngramDatabase(path: path)
        let (completed, members) = try await database.pool.read { db in
            (try EngramDatabase.migrator.hasCompletedMigrations(db), try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM members"))
        }
        #expect(completed)
        #expect(members == 0)
    }
}
