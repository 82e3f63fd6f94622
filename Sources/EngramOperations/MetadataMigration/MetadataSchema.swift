import EngramDatabase
package import EngramPostgres
package import GRDB

/// The metadata tables both engines hold, read from the two live schemas and checked against each other
/// (`SchemaParityTests` holds the builds' schemas to the same rules): every SQLite metadata table has its
/// PostgreSQL twin with the same columns, and PostgreSQL adds only `tenant`.
package enum MetadataSchema {
    /// Every metadata table, in copy order: a table comes after the tables its foreign keys name (users and
    /// orgs before members, invitations, credentials, sessions, …). The embedded vector store's tables
    /// (`collections`, `points`, `payload_indexes`) are not metadata and are not copied.
    package static let copyOrder = [
        "users", "orgs", "members", "invitations", "revoked_tokens",
        "credentials", "backup_codes", "sessions", "access_tokens", "credential_links",
        "oauth_clients", "oauth_codes", "oauth_refresh_tokens", "oauth_access_tokens",
        "audit_log", "memory_versions", "memory_usage", "served_log", "memory_reports", "quarantine", "outbox",
        "webhook_deliveries", "encryption_state",
    ]

    /// The tables of the embedded vector store, which a data directory's file also holds.
    package static func storeTables() throws -> Set<String> {
        let queue = try DatabaseQueue()
        try EngramDatabase.storeMigrator.migrate(queue)
        return try queue.read { db in
            Set(try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table'"))
        }
    }

    /// A PostgreSQL column as `information_schema` describes it.
    package struct PostgresColumn {
        package let type: String
        package let generated: Bool
        package let identity: Bool
    }

    /// The metadata tables in copy order, described from both schemas; a difference between them (a table
    /// or column on one side only, an unmapped type) is an error naming it.
    package static func load(sqlite: DatabasePool, postgres: PostgresEngine) async throws -> [MetadataTable] {
        let store = try storeTables()
        let sqliteTables: [String: [(name: String, type: String, pk: Int)]] = try await sqlite.read { db in
            let names = try String.fetchAll(
                db,
                sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name != 'grdb_migrations'"
            )
            var tables: [String: [(name: String, type: String, pk: Int)]] = [:]
            for name in names where !store.contains(name) {
                tables[name] = try Row.fetchAll(db, sql: "SELECT name, type, pk FROM pragma_table_info(?) ORDER BY cid", arguments: [name]).map {
                    (name: $0[0] as String, type: ($0[1] as String).uppercased(), pk: $0[2] as Int)
                }
            }
            return tables
        }
        let unknown = Set(sqliteTables.keys).subtracting(copyOrder)
        guard unknown.isEmpty else {
            throw MetadataMigrationFailure("SQLite metadata tables this build does not know how to copy: \(unknown.sorted().joined(separator: ", "))")
        }
        let rows = try await postgres.withGlobal { tx in
            try tx.plainRows(
                """
                SELECT table_name::text, column_name::text, data_type::text, is_generated::text, is_identity::text
                FROM information_schema.columns WHERE table_schema = 'engram' ORDER BY table_name, ordinal_position
                """
            )
        }
        var pgTables: [String: [String: PostgresColumn]] = [:]
        for row in rows {
            guard row.count == 5, case .text(let table) = row[0], case .text(let column) = row[1], case .text(let type) = row[2] else { continue }
            pgTables[table, default: [:]][column] = PostgresColumn(
                type: type,
                generated: row[3] == .text("ALWAYS"),
                identity: row[4] == .text("YES")
            )
        }
        var tables: [MetadataTable] = []
        for name in copyOrder {
            guard let sqliteColumns = sqliteTables[name] else { throw MetadataMigrationFailure("the SQLite file has no table \(name)") }
            guard let pgColumns = pgTables[name] else { throw MetadataMigrationFailure("PostgreSQL schema engram has no table \(name)") }
            let extra = Set(pgColumns.keys).subtracting(sqliteColumns.map(\.name)).subtracting(["tenant"])
            guard extra.isEmpty else {
                throw MetadataMigrationFailure("\(name): columns only in PostgreSQL: \(extra.sorted().joined(separator: ", "))")
            }
            var columns: [MetadataColumn] = []
            for c in sqliteColumns {
                guard let pg = pgColumns[c.name] else { throw MetadataMigrationFailure("\(name).\(c.name) has no PostgreSQL column") }
                let kind: MetadataColumn.Kind
                switch (c.type, pg.type) {
                case ("TEXT", "text"): kind = .text
                case ("REAL", "double precision"): kind = .real
                case ("BLOB", "bytea"): kind = .blob
                case ("INTEGER", "bigint"): kind = .integer
                case ("INTEGER", "boolean"): kind = .boolean
                default: throw MetadataMigrationFailure("\(name).\(c.name): SQLite \(c.type) and PostgreSQL \(pg.type) do not map")
                }
                columns.append(MetadataColumn(name: c.name, kind: kind, postgresType: pg.type))
            }
            let primaryKey = sqliteColumns.filter { $0.pk > 0 }.sorted { $0.pk < $1.pk }.map(\.name)
            guard !primaryKey.isEmpty else { throw MetadataMigrationFailure("\(name) has no primary key") }
            tables.append(
                MetadataTable(
                    name: name,
                    columns: columns,
                    primaryKey: primaryKey,
                    identityColumn: pgColumns.first { $0.value.identity }?.key,
                    writesTenant: pgColumns["tenant"].map { !$0.generated } ?? false
                )
            )
        }
        return tables
    }
}
