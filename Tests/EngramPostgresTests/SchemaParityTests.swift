import EngramDatabase
@_spi(Testing) import EngramPostgres
import EngramPostgresSchema
import GRDB
import PostgresNIO
import Testing

/// The PostgreSQL schema against the SQLite schema that `EngramDatabase.migrator` creates: the same
/// tables with the same columns, types, nullability and primary keys (PostgreSQL adds `tenant`), and a
/// PostgreSQL migration for every SQLite one. A SQLite migration without its PostgreSQL counterpart fails
/// here. The embedded vector store's tables (`EngramDatabase.storeMigrator`) are not metadata and stay out.
@Suite(.enabled(if: PostgresTestServer.isConfigured, PostgresTestServer.skipReason))
struct SchemaParityTests {
    struct Column: Hashable, CustomStringConvertible {
        let name: String
        let type: String
        let notNull: Bool
        let primaryKey: Bool
        var description: String { "\(name) \(type)\(notNull ? " NOT NULL" : "")\(primaryKey ? " PK" : "")" }
    }

    /// `INTEGER` columns that hold 0/1 and are `boolean` in PostgreSQL.
    static let booleanColumns: Set<String> = [
        "orgs.require_review", "orgs.approver_must_differ", "orgs.require_totp", "credentials.totp_enabled",
        "memory_reports.resolved", "encryption_state.rotating",
    ]

    static func sqliteTables(_ migrator: DatabaseMigrator) throws -> [String: [Column]] {
        let queue = try DatabaseQueue()
        try migrator.migrate(queue)
        return try queue.read { db in
            let names = try String.fetchAll(
                db,
                sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name != 'grdb_migrations'"
            )
            var tables: [String: [Column]] = [:]
            for name in names {
                tables[name] = try Row.fetchAll(db, sql: "SELECT name, type, \"notnull\", pk FROM pragma_table_info(?)", arguments: [name]).map {
                    Column(name: $0[0], type: ($0[1] as String).uppercased(), notNull: $0[2] as Int != 0, primaryKey: $0[3] as Int != 0)
                }
            }
            return tables
        }
    }

    static func postgresTables(_ engine: PostgresEngine) async throws -> [String: [Column]] {
        let rows = try await engine.withGlobal { tx in
            try tx.rows(
                """
                SELECT c.table_name::text, c.column_name::text, c.data_type::text, c.is_nullable = 'NO',
                       EXISTS (SELECT 1 FROM information_schema.table_constraints t
                               JOIN information_schema.key_column_usage k
                                 ON k.constraint_name = t.constraint_name AND k.table_schema = t.table_schema AND k.table_name = t.table_name
                               WHERE t.constraint_type = 'PRIMARY KEY' AND t.table_schema = c.table_schema
                                 AND t.table_name = c.table_name AND k.column_name = c.column_name)
                FROM information_schema.columns c
                JOIN information_schema.tables tb ON tb.table_schema = c.table_schema AND tb.table_name = c.table_name
                WHERE c.table_schema = 'engram' AND tb.table_type = 'BASE TABLE'
                ORDER BY c.table_name, c.ordinal_position
                """,
                as: (String, String, String, Bool, Bool).self
            )
        }
        return Dictionary(grouping: rows, by: \.0).mapValues { columns in
            columns.map { Column(name: $0.1, type: $0.2, notNull: $0.3, primaryKey: $0.4) }
        }
    }

    /// The PostgreSQL type a SQLite column maps to.
    static func expectedType(table: String, column: Column) -> String {
        switch column.type {
        case "TEXT": return "text"
        case "REAL": return "double precision"
        case "BLOB": return "bytea"
        case "INTEGER": return booleanColumns.contains("\(table).\(column.name)") ? "boolean" : "bigint"
        default: return "unmapped SQLite type \(column.type)"
        }
    }

    @Test func everySQLiteTableHasThePostgresTwinAndNoMore() async throws {
        let sqlite = try Self.sqliteTables(EngramDatabase.migrator)
        let store = Set(try Self.sqliteTables(EngramDatabase.storeMigrator).keys)
        #expect(store == ["collections", "points", "payload_indexes"], "the vector store's tables changed: decide where they belong")
        let metadata = sqlite.filter { !store.contains($0.key) }
        try await PostgresTestServer.withEngines { _, owner in
            let postgres = try await Self.postgresTables(owner)
            // The change feed is a table only on PostgreSQL (SQLite serves `memory_versions` in rowid order), and so
            // are the replicas' shared rate buckets (one process owns a SQLite file).
            let pgOnly: Set = ["schema_migrations", "changes", "rate_buckets"]
            #expect(
                Set(metadata.keys) == Set(postgres.keys).subtracting(pgOnly),
                "SQLite only: \(Set(metadata.keys).subtracting(postgres.keys).sorted()); PostgreSQL only: \(Set(postgres.keys).subtracting(metadata.keys).subtracting(pgOnly).sorted())"
            )
            for (table, sqliteColumns) in metadata.sorted(by: { $0.key < $1.key }) {
                guard let pgColumns = postgres[table] else { continue }
                let pgByName = Dictionary(uniqueKeysWithValues: pgColumns.map { ($0.name, $0) })
                let extra = Set(pgByName.keys).subtracting(sqliteColumns.map(\.name))
                #expect(extra.isSubset(of: ["tenant"]), "\(table): columns only in PostgreSQL: \(extra.sorted())")
                for column in sqliteColumns {
                    guard let pg = pgByName[column.name] else {
                        Issue.record("\(table).\(column.name) (\(column)) has no PostgreSQL column")
                        continue
                    }
                    #expect(pg.type == Self.expectedType(table: table, column: column), "\(table).\(column.name): SQLite \(column), PostgreSQL \(pg)")
                    #expect(pg.primaryKey == column.primaryKey, "\(table).\(column.name): primary key differs (SQLite \(column), PostgreSQL \(pg))")
                    // SQLite lets a non-INTEGER primary key column hold NULL unless it says NOT NULL; PostgreSQL never does.
                    if !column.primaryKey {
                        #expect(pg.notNull == column.notNull, "\(table).\(column.name): nullability differs (SQLite \(column), PostgreSQL \(pg))")
                    }
                }
            }
            for column in Self.booleanColumns {
                let parts = column.split(separator: ".").map(String.init)
                #expect(metadata[parts[0]]?.contains { $0.name == parts[1] } == true, "boolean column \(column) no longer exists in SQLite")
            }
        }
    }
}

/// Every SQLite migration id has its PostgreSQL migration, in the same order (no server needed).
@Suite struct MigrationCounterpartTests {
    @Test func everySQLiteMigrationHasAPostgresCounterpart() throws {
        let store = Set(EngramDatabase.storeMigrator.migrations)
        let sqlite = EngramDatabase.migrator.migrations.filter { !store.contains($0) }
        let mirrored = PostgresSchema.migrations.flatMap(\.sqliteCounterparts)
        #expect(Set(mirrored).count == mirrored.count, "a SQLite migration is mirrored twice: \(mirrored)")
        #expect(
            Set(sqlite) == Set(mirrored),
            "without a PostgreSQL counterpart: \(Set(sqlite).subtracting(mirrored).sorted()); unknown: \(Set(mirrored).subtracting(sqlite).sorted())"
        )
        // In the same order, so a PostgreSQL migration never depends on a later SQLite one.
        #expect(mirrored == sqlite.filter { Set(mirrored).contains($0) })
    }
}
