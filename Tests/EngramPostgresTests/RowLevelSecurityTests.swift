@_spi(Testing) import EngramPostgres
import EngramPostgresSchema
import PostgresNIO
import Testing

/// The attacks row-level security must stop, run as the application role against a real server: two
/// orgs' rows in every tenant table (`Seed`), then queries that forget the scope, name the other org,
/// switch row security off, or try to rewrite the audit log.
@Suite(.enabled(if: PostgresTestServer.isConfigured, PostgresTestServer.skipReason))
struct RowLevelSecurityTests {
    /// Rows of org `b` and of its user `bob`, as a condition on `tenant`.
    static let otherTenant = "tenant IN ('org:b', 'user:bob')"

    @Test func anUnscopedQuerySeesNoRowOfAnyTenantTable() async throws {
        try await PostgresTestServer.withEngines { app, owner in
            try await Seed.load(owner)
            let tables = try await Catalog.tenantTables(owner)
            #expect(tables.count >= 17, "tenant tables found: \(tables)")
            for table in tables {
                let seeded = try await owner.withGlobal { tx in try Catalog.count(tx, table) }
                #expect(seeded >= 2, "\(table) is not seeded: the test would prove nothing")
                // No BEGIN, no set_config: autocommit on a pooled connection.
                let rows = try await app.unscopedQuery(PostgresQuery(unsafeSQL: "SELECT count(*) FROM engram.\(table)"))
                #expect(try rows.first?.decode(Int.self) == 0, "\(table) shows rows to an unscoped query")
            }
        }
    }

    @Test func aTransactionWithoutSettingsSeesNothingAndCannotInsert() async throws {
        try await PostgresTestServer.withEngines { app, owner in
            try await Seed.load(owner)
            let tables = try await Catalog.tenantTables(owner)
            let visible = try await app.withUnscopedTransaction { tx in
                try tables.map { try Catalog.count(tx, $0) }.reduce(0, +)
            }
            #expect(visible == 0)
            let inserts: [PostgresQuery] = [
                "INSERT INTO engram.audit_log (at, org_id, actor, action) VALUES (1, 'b', 'mallory', 'forged')",
                "INSERT INTO engram.memory_usage (memory_id, tenant) VALUES ('m-x', 'org:b')",
                "INSERT INTO engram.orgs (id, name, created_at) VALUES ('c', 'c', 1)",
            ]
            for insert in inserts {
                let error = await #expect(throws: PostgresEngineError.self) {
                    try await app.withUnscopedTransaction { tx in try tx.execute(insert) }
                }
                #expect(error?.isDenied == true, "\(insert.sql): \(String(describing: error))")
            }
        }
    }

    @Test func scopedToOneOrgItCannotSeeChangeOrDeleteTheOther() async throws {
        try await PostgresTestServer.withEngines { app, owner in
            try await Seed.load(owner)
            let tables = try await Catalog.tenantTables(owner)
            let before = try await owner.withGlobal { tx in try tables.map { try Catalog.count(tx, $0, where: Self.otherTenant) } }
            let alice = try PostgresTenantScope.user("alice", org: "a")
            let (own, other) = try await app.withTenant(alice, readOnly: true) { tx in
                (
                    try tables.map { try Catalog.count(tx, $0, where: "tenant IN ('org:a', 'user:alice')") },
                    try tables.map { try Catalog.count(tx, $0, where: Self.otherTenant) }
                )
            }
            for (index, table) in tables.enumerated() {
                #expect(own[index] > 0, "\(table): alice sees none of her own rows")
                #expect(other[index] == 0, "\(table): alice sees org b's rows")
            }
            // Updates and deletes aimed at org b change nothing.
            let changed = try await app.withTenant(alice) { tx in
                [
                    try tx.execute("UPDATE engram.orgs SET name = 'pwned' WHERE id = 'b'"),
                    try tx.execute("UPDATE engram.sessions SET expires_at = 1e12 WHERE user_id = 'bob'"),
                    try tx.execute("UPDATE engram.credentials SET password_hash = 'x' WHERE user_id = 'bob'"),
                    try tx.execute("DELETE FROM engram.members WHERE org_id = 'b'"),
                    try tx.execute("DELETE FROM engram.memory_versions WHERE tenant = 'org:b'"),
                    try tx.execute("DELETE FROM engram.webhook_deliveries WHERE org_id = 'b'"),
                    try tx.execute("UPDATE engram.members SET role = 'owner' WHERE org_id = 'b' AND user_id = 'carol'"),
                ]
            }
            #expect(changed == [0, 0, 0, 0, 0, 0, 0])
            let after = try await owner.withGlobal { tx in try tables.map { try Catalog.count(tx, $0, where: Self.otherTenant) } }
            #expect(after == before)
            let name = try await owner.withGlobal { tx in try tx.column("SELECT name FROM engram.orgs WHERE id = 'b'", as: String.self) }
            #expect(name == ["b"])
            // Rows filed under org b, whether the tenant is generated from the row's keys or written out,
            // are refused on the way in.
            let forged: [PostgresQuery] = [
                "INSERT INTO engram.members (org_id, user_id, role, created_at) VALUES ('b', 'alice', 'owner', 1)",
                "INSERT INTO engram.audit_log (at, org_id, actor, action) VALUES (1, 'b', 'alice', 'forged')",
                "INSERT INTO engram.memory_usage (memory_id, tenant) VALUES ('m-forged', 'org:b')",
                "INSERT INTO engram.sessions (id, secret_hash, user_id, csrf_token, created_at, last_seen_at, expires_at) VALUES ('s-x', 'x', 'bob', 'c', 1, 1, 2)",
                "UPDATE engram.memory_usage SET tenant = 'org:b' WHERE memory_id = 'm-a'",
            ]
            for statement in forged {
                let error = await #expect(throws: PostgresEngineError.self) {
                    try await app.withTenant(alice) { tx in try tx.execute(statement) }
                }
                #expect(error?.isDenied == true, "\(statement.sql): \(String(describing: error))")
            }
        }
    }

    @Test func membersAndInvitationsShowAUserTheirOwnRowsInEveryOrg() async throws {
        try await PostgresTestServer.withEngines { app, owner in
            try await Seed.load(owner)
            let carol = try PostgresTenantScope.user("carol")
            let (memberships, others) = try await app.withTenant(carol, readOnly: true) { tx in
                (
                    try tx.column("SELECT org_id FROM engram.members ORDER BY org_id", as: String.self),
                    try Catalog.count(tx, "orgs")
                )
            }
            #expect(memberships == ["a", "b"])
            #expect(others == 0)
            let invited = try await app.withTenant(try .user("guest-b"), readOnly: true) { tx in
                try tx.column("SELECT id FROM engram.invitations ORDER BY id", as: String.self)
            }
            #expect(invited == ["inv-b"], "the invitee sees their own invitation, and only it")
            // Read-only: the own-rows policy admits no write.
            let changed = try await app.withTenant(carol) { tx in try tx.execute("UPDATE engram.members SET role = 'owner' WHERE user_id = 'carol'") }
            #expect(changed == 0)
        }
    }

    @Test func aPooledConnectionForgetsTheTenantAfterCommitAndRollback() async throws {
        try await PostgresTestServer.withEngines(appConnections: 1) { app, owner in
            try await Seed.load(owner)
            let scope = try PostgresTenantScope.user("alice", org: "a")
            let (inside, pid) = try await app.withTenant(scope, readOnly: true) { tx in
                try tx.rows("SELECT current_setting('app.current_tenant', true), pg_backend_pid()", as: (String, Int32).self)[0]
            }
            #expect(inside == "user:alice,org:a")
            let afterCommit = try await app.unscopedQuery(
                "SELECT coalesce(current_setting('app.current_tenant', true), ''), coalesce(current_setting('app.current_user', true), ''), pg_backend_pid()"
            )
            let (tenant, user, samePid) = try afterCommit[0].decode((String, String, Int32).self)
            #expect(samePid == pid, "one connection: the next lease is the same backend")
            #expect(tenant == "")
            #expect(user == "")
            // withGlobal sends no settings: it relies on exactly this (the tenant transaction's are gone).
            let global = try await app.withGlobal { tx in
                try tx.rows(
                    "SELECT coalesce(current_setting('app.current_tenant', true), ''), coalesce(current_setting('app.current_user', true), ''), pg_backend_pid()",
                    as: (String, String, Int32).self
                )[0]
            }
            #expect(global.2 == pid && global.0 == "" && global.1 == "")

            struct Abandon: Error {}
            await #expect(throws: Abandon.self) {
                try await app.withTenant(scope) { tx in
                    try tx.execute("INSERT INTO engram.audit_log (at, org_id, actor, action) VALUES (1, 'a', 'alice', 'rolled back')")
                    throw Abandon()
                }
            }
            let afterRollback = try await app.unscopedQuery(
                "SELECT coalesce(current_setting('app.current_tenant', true), ''), pg_backend_pid()"
            )
            let (rolledBackTenant, pidAgain) = try afterRollback[0].decode((String, Int32).self)
            #expect(pidAgain == pid)
            #expect(rolledBackTenant == "")
            let kept = try await owner.withGlobal { tx in try Catalog.count(tx, "audit_log", where: "action = 'rolled back'") }
            #expect(kept == 0)
        }
    }

    @Test func switchingRowSecurityOffErrorsInsteadOfBypassing() async throws {
        try await PostgresTestServer.withEngines { app, owner in
            try await Seed.load(owner)
            for table in ["orgs", "members", "audit_log", "credentials"] {
                let error = await #expect(throws: PostgresEngineError.self) {
                    try await app.withTenant(try .user("alice", org: "a")) { tx in
                        try tx.execute("SET LOCAL row_security = off")
                        return try Catalog.count(tx, table)
                    }
                }
                #expect(error?.isDenied == true, "\(table): \(String(describing: error))")
            }
            let error = await #expect(throws: PostgresEngineError.self) {
                try await app.withUnscopedTransaction { tx in
                    try tx.execute("SET LOCAL row_security = off")
                    return try Catalog.count(tx, "sessions")
                }
            }
            #expect(error?.isDenied == true)
        }
    }

    @Test func theAuditLogIsAppendOnly() async throws {
        try await PostgresTestServer.withEngines { app, owner in
            try await Seed.load(owner)
            let alice = try PostgresTenantScope.user("alice", org: "a")
            let appended = try await app.withTenant(alice) { tx in
                try tx.execute("INSERT INTO engram.audit_log (at, org_id, actor, action) VALUES (2, 'a', 'alice', 'appended')")
            }
            #expect(appended == 1)
            let changes: [PostgresQuery] = [
                "UPDATE engram.audit_log SET action = 'erased' WHERE org_id = 'a'",
                "DELETE FROM engram.audit_log WHERE org_id = 'a'",
                "TRUNCATE engram.audit_log",
            ]
            for change in changes {
                let error = await #expect(throws: PostgresEngineError.self) {
                    try await app.withTenant(alice) { tx in try tx.execute(change) }
                }
                #expect(error?.isDenied == true, "app role, \(change.sql): \(String(describing: error))")
                // The owner holds every privilege on its table; the triggers refuse it all the same.
                let ownerError = await #expect(throws: PostgresEngineError.self) {
                    try await owner.withGlobal(readOnly: false) { tx in try tx.execute(change) }
                }
                #expect(ownerError?.isDenied == true, "owner, \(change.sql): \(String(describing: ownerError))")
                if case .server(_, let message) = ownerError {
                    #expect(message.contains("append-only"), "owner, \(change.sql): \(message)")
                }
            }
            let rows = try await owner.withGlobal { tx in try Catalog.count(tx, "audit_log", where: "org_id = 'a'") }
            #expect(rows == 2)
        }
    }

    @Test func memoryVersionsAreImmutableOutsideAKeyRotation() async throws {
        try await PostgresTestServer.withEngines { app, owner in
            try await Seed.load(owner)
            let alice = try PostgresTenantScope.user("alice", org: "a")
            let noGrant = await #expect(throws: PostgresEngineError.self) {
                try await app.withTenant(alice) { tx in try tx.execute("UPDATE engram.memory_versions SET state = 'deleted' WHERE memory_id = 'm-a'")
                }
            }
            #expect(noGrant?.isDenied == true)
            let notRotating = await #expect(throws: PostgresEngineError.self) {
                try await app.withTenant(alice) { tx in
                    try tx.execute("UPDATE engram.memory_versions SET snapshot = decode('00', 'hex') WHERE memory_id = 'm-a'")
                }
            }
            #expect(notRotating?.isDenied == true)
            try await app.withGlobal(readOnly: false) { tx in
                try tx.execute("INSERT INTO engram.encryption_state (id, key_id, target_key_id, rotating, since) VALUES (1, 'k1', 'k2', true, 1)")
            }
            let resealed = try await app.withTenant(alice) { tx in
                try tx.execute("UPDATE engram.memory_versions SET snapshot = decode('00', 'hex') WHERE memory_id = 'm-a'")
            }
            #expect(resealed == 1)
        }
    }

    @Test func theApplicationRoleCannotBypassRowSecurity() async throws {
        try await PostgresTestServer.withEngines { app, owner in
            let posture = try await PostgresRolePosture.check(app)
            #expect(posture.role == (try PostgresTestServer.appRole()))
            #expect(!posture.superuser)
            #expect(!posture.bypassesRowSecurity)
            #expect(posture.ownedObjects.isEmpty)
            #expect(!posture.actsAsSchemaOwner)
            #expect(!posture.mayCreateInSchema)
            // The owner is refused as an application role: it owns the schema and every table.
            let ownerPosture = try await PostgresRolePosture.read(owner)
            #expect(ownerPosture.ownedObjects.contains("schema engram"))
            #expect(ownerPosture.ownedObjects.contains("relation engram.audit_log"))
            #expect(ownerPosture.mayCreateInSchema)
            let error = await #expect(throws: PostgresEngineError.self) { try await PostgresRolePosture.check(owner) }
            if case .posture(let problems) = error {
                #expect(problems.contains { $0.contains("owns") && $0.contains("schema engram") }, "\(problems)")
            } else {
                Issue.record("expected a posture error, got \(String(describing: error))")
            }
        }
    }

    @Test func anUnmigratedDatabaseFailsThePostureCheck() async throws {
        try await PostgresTestServer.withEngines(migrated: false) { app, _ in
            let error = await #expect(throws: PostgresEngineError.self) { try await PostgresRolePosture.check(app) }
            #expect("\(String(describing: error))".contains("schema engram does not exist"))
        }
    }

    @Test func theSignInLookupReturnsOnlyThatUsersRows() async throws {
        try await PostgresTestServer.withEngines { app, owner in
            try await Seed.load(owner)
            let (alice, carol, nobody, direct) = try await app.withGlobal { tx in
                (
                    try tx.rows(
                        "SELECT password_hash, totp_enabled, totp_last_step, org_id, role FROM engram.sign_in_lookup('alice')",
                        as: (String?, Bool, Int, String?, String?).self
                    ),
                    try tx.rows("SELECT password_hash, org_id, role FROM engram.sign_in_lookup('carol')", as: (String?, String?, String?).self),
                    try tx.column("SELECT count(*) FROM engram.sign_in_lookup('nobody')", as: Int.self),
                    try Catalog.count(tx, "credentials")
                )
            }
            #expect(alice.count == 1)
            #expect(alice.first?.0 == "hash-alice")
            #expect(alice.first?.1 == true)
            #expect(alice.first?.2 == 7)
            #expect(alice.first?.3 == "a")
            #expect(alice.first?.4 == "owner")
            #expect(carol.map(\.0) == ["hash-carol", "hash-carol"])
            #expect(carol.map(\.1) == ["a", "b"])
            #expect(carol.map(\.2) == ["member", "admin"])
            #expect(nobody == [0])
            #expect(direct == 0, "the function opens one user's rows, not the table")

            let (session, link, code, refresh) = try await app.withGlobal { tx in
                (
                    try tx.column("SELECT user_id FROM engram.session_by_secret('secret-alice')", as: String.self),
                    try tx.column("SELECT user_id FROM engram.link_by_secret('link-bob')", as: String.self),
                    try tx.column("SELECT user_id FROM engram.oauth_code_by_hash('code-hash-alice')", as: String.self),
                    try tx.column("SELECT user_id FROM engram.oauth_refresh_by_hash('refresh-bob')", as: String.self)
                )
            }
            #expect(session == ["alice"])
            #expect(link == ["bob"])
            #expect(code == ["alice"])
            #expect(refresh == ["bob"])
        }
    }
}
