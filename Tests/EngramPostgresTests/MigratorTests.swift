@_spi(Testing) import EngramPostgres
import EngramPostgresSchema
import Foundation
import PostgresNIO
import Testing

/// The migrator on a real server: concurrent replicas migrate once, applied migrations are immutable,
/// and the application role can tell when it runs behind the schema.
@Suite(.enabled(if: PostgresTestServer.isConfigured, PostgresTestServer.skipReason))
struct MigratorTests {
    static func recorded(_ engine: PostgresEngine) async throws -> [String] {
        try await engine.withGlobal { tx in try tx.column("SELECT id FROM engram.schema_migrations ORDER BY id", as: String.self) }
    }

    @Test func twoConcurrentMigratorsBothSucceedAndEachIdIsRecordedOnce() async throws {
        let ids = PostgresSchema.migrations.map(\.id)
        try await PostgresTestServer.withDatabase(migrated: false) { appURL, ownerURL in
            let migrator = try PostgresMigrator(appRole: try PostgresTestServer.appRole())
            // Two replicas: separate engines, so separate connections and sessions.
            async let first = PostgresEngine.withEngine(ownerURL, maximumConnections: 1) { try await migrator.migrate($0) }
            async let second = PostgresEngine.withEngine(ownerURL, maximumConnections: 1) { try await migrator.migrate($0) }
            let (a, b) = try await (first, second)
            #expect(Set(a).isDisjoint(with: b), "both applied \(Set(a).intersection(b))")
            #expect((a + b).sorted() == ids)
            #expect(a.isEmpty || b.isEmpty, "the lock lets one migrator do everything: \(a) / \(b)")
            try await PostgresEngine.withEngine(appURL) { app in
                #expect(try await Self.recorded(app) == ids)
                #expect(try await migrator.pending(app) == [])
                try await PostgresRolePosture.check(app)
            }
            try await PostgresEngine.withEngine(ownerURL) { owner in
                let third = try await migrator.migrate(owner)
                #expect(third == [], "a third run finds nothing to do")
            }
        }
    }

    @Test func aChangedChecksumIsAnError() async throws {
        try await PostgresTestServer.withEngines { app, owner in
            var changed = PostgresSchema.migrations
            let last = changed.removeLast()
            changed.append(PostgresMigration(id: last.id, mirroring: last.sqliteCounterparts, last.statements + ["SELECT 1"]))
            let migrator = try PostgresMigrator(migrations: changed, appRole: try PostgresTestServer.appRole())
            for engine in [owner, app] {
                let error = await #expect(throws: PostgresEngineError.self) {
                    if engine === owner { try await migrator.migrate(engine) } else { _ = try await migrator.pending(engine) }
                }
                guard case .migration(let why) = error else {
                    Issue.record("expected a migration error, got \(String(describing: error))")
                    continue
                }
                #expect(why.contains(last.id) && why.contains("checksum"))
            }
            #expect(try await Self.recorded(owner) == PostgresSchema.migrations.map(\.id), "nothing was recorded")
        }
    }

    @Test func aDatabaseMigratedByANewerBuildIsRefused() async throws {
        try await PostgresTestServer.withEngines { app, owner in
            let older = try PostgresMigrator(migrations: Array(PostgresSchema.migrations.dropLast()), appRole: try PostgresTestServer.appRole())
            let error = await #expect(throws: PostgresEngineError.self) { try await older.pending(app) }
            #expect("\(String(describing: error))".contains("does not know"))
            await #expect(throws: PostgresEngineError.self) { try await older.migrate(owner) }
        }
    }

    @Test func theApplicationRoleSeesWhatIsPending() async throws {
        try await PostgresTestServer.withEngines { app, owner in
            let role = try PostgresTestServer.appRole()
            let newer = try PostgresMigrator(
                migrations: PostgresSchema.migrations + [
                    PostgresMigration(id: "9999_probe", mirroring: [], ["CREATE TABLE engram.probe (id bigint PRIMARY KEY)"])
                ],
                appRole: role
            )
            #expect(try await newer.pending(app) == ["9999_probe"])
            #expect(try await newer.migrate(owner) == ["9999_probe"])
            #expect(try await newer.pending(app) == [])
        }
        // A database never migrated: everything is pending, and the application role cannot migrate it.
        try await PostgresTestServer.withEngines(migrated: false) { app, _ in
            let migrator = try PostgresMigrator(appRole: try PostgresTestServer.appRole())
            #expect(try await migrator.pending(app) == PostgresSchema.migrations.map(\.id))
            let error = await #expect(throws: PostgresEngineError.self) { try await migrator.migrate(app) }
            #expect("\(String(describing: error))".contains("42501"), "\(String(describing: error))")
        }
    }

    @Test func aFailingMigrationLeavesNothingBehind() async throws {
        try await PostgresTestServer.withEngines(migrated: false) { _, owner in
            let broken = try PostgresMigrator(
                migrations: Array(PostgresSchema.migrations.prefix(2)) + [
                    PostgresMigration(id: "0003_broken", mirroring: [], ["CREATE TABLE engram.half (id bigint)", "SELECT * FROM engram.missing"])
                ],
                appRole: try PostgresTestServer.appRole()
            )
            let error = await #expect(throws: PostgresEngineError.self) { try await broken.migrate(owner) }
            #expect("\(String(describing: error))".contains("0003_broken, statement 2"))
            let schema = try await owner.withGlobal { tx in
                try tx.column("SELECT count(*) FROM pg_namespace WHERE nspname = 'engram'", as: Int.self)
            }
            #expect(schema == [0], "the failed transaction created the schema anyway")
        }
    }
}

/// The migration list itself, without a server.
@Suite struct MigrationListTests {
    /// The checksum of every released migration, pinned: editing an applied migration (or a frozen helper
    /// such as `tenantRowSecurityV1`) fails here instead of at a customer's start-up. A new migration adds
    /// its line; until a release ships, the pins may be rewritten.
    static let pinned: [String: String] = [
        "0001_schema": "23e248c0fabe01d41bf98f2ce35fee163a83dc2cb2268bd8a45cd6c51d362dda",
        "0002_auth_v1": "9a0ffba5b7b2f6742241145d92638fba239818d89a0a7ce5784445253462f956",
        "0003_auth_v2_invitations": "06db322eefdf23f99cf0f419d05529d331126d03ee53590945a02fd6386a4db9",
        "0004_audit_v1": "caecad51c1a4e8410bbf238cab5da312c8f46b9557bcf78bde990c31acc89096",
        "0005_lifecycle_v1": "3881876f55dc1c43d947321df91b6f5a7f1f27c631a6341a6af14a7266d73a33",
        "0006_lifecycle_v2_quarantine": "fbf7ad47c8b9af0c6a68a9d0e0146df8c9aa07f5a5a90a65eeba278dab80da74",
        "0007_trust_v1": "5e532090171287196ebd9b0e7a9b6cc1a7d7caf4d92e06c09ab9837257f6921f",
        "0008_accounts_v1": "e5066e187896e799683e61da24e6122de8b5a6e71178474970605f221084bad2",
        "0009_oauth_v1": "376a2a607b1dd58c3378865dcb6bf3b36f86f2a62ee84b56c570119aac3e9bfd",
        "0010_encryption_v1": "76b16f32d6b03329c2d869df1cac5826cd1ca3b647e1d4360e40285ffd0524b6",
        "0011_metadata_global_v1": "bcbdfe087d33cf01fd68552df89bbc16da9dbaa0f363039cb89a6e390d511151",
        "0012_changes_v1": "4a1bbbc6defcb43abfdc26600c93c9ff1088c4aafec66fd5d073766b7dfe0346",
        "0013_replicas_v1": "15e31b44ef5fae935e3092c2829a837f8f67cc545afb744a0c84059aaa677015",
        "0014_outbox_v1": "8323ddefd0dee8923f63a9f4ec8371b0fdd63a32d69557bcbaa0b8b1a0eccd57",
    ]

    @Test func appliedMigrationsKeepTheirChecksums() {
        let checksums = Dictionary(uniqueKeysWithValues: PostgresSchema.migrations.map { ($0.id, $0.checksum) })
        #expect(checksums == Self.pinned)
    }

    @Test func migrationIdsAreOrderedAndStatementsSingle() throws {
        let ids = PostgresSchema.migrations.map(\.id)
        #expect(ids == ids.sorted())
        #expect(Set(ids).count == ids.count)
        for migration in PostgresSchema.migrations {
            #expect(migration.id.range(of: #"^\d{4}_[a-z0-9_]+$"#, options: .regularExpression) != nil, "\(migration.id)")
            #expect(migration.checksum.count == 64)
            #expect(!migration.statements.contains { $0.contains(";") && !$0.contains("$$") }, "\(migration.id) holds several statements in one")
        }
        #expect(throws: PostgresEngineError.self) { try PostgresMigrator(appRole: "app\"; DROP") }
        #expect(throws: PostgresEngineError.self) { try PostgresMigrator(appRole: "App") }
        #expect(throws: PostgresEngineError.self) { try PostgresMigrator(migrations: PostgresSchema.migrations.reversed()) }
    }
}
