@_spi(Testing) import EngramPostgres
import EngramPostgresSchema
import PostgresNIO
import Testing

/// The schema's standing guarantees, read from the catalogs, so a new table or function cannot slip in
/// without row-level security, a policy, or a line in `docs/postgres.md`.
@Suite(.enabled(if: PostgresTestServer.isConfigured, PostgresTestServer.skipReason))
struct SchemaGuardTests {
    @Test func everyTableIsDocumentedAndEveryTenantTableHasForcedRowSecurityAndAPolicy() async throws {
        let documented = try PostgresDocs.tableRows()
        let global = try PostgresDocs.globalTables()
        #expect(global.contains("schema_migrations"))
        #expect(!global.isEmpty && global.count < documented.count)
        try await PostgresTestServer.withEngines { _, owner in
            let role = try PostgresTestServer.appRole()
            let tables = try await Catalog.tables(owner)
            #expect(Set(tables) == Set(documented.map(\.table)), "docs/postgres.md's table list differs from the schema")
            let tenantTables = Set(try await Catalog.tenantTables(owner))
            #expect(tenantTables == Set(tables).subtracting(global), "a table documented as global has a tenant column, or the reverse")

            let (security, policies, nullableTenant, relationKinds) = try await owner.withGlobal { tx in
                (
                    try tx.rows(
                        """
                        SELECT c.relname::text, c.relrowsecurity, c.relforcerowsecurity FROM pg_class c
                        JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'engram' AND c.relkind IN ('r', 'p')
                        """,
                        as: (String, Bool, Bool).self
                    ),
                    try tx.rows(
                        """
                        SELECT tablename::text, policyname::text, cmd::text, coalesce(qual, ''), coalesce(with_check, '')
                        FROM pg_policies WHERE schemaname = 'engram' AND \(role) = ANY (roles)
                        """,
                        as: (String, String, String, String, String).self
                    ),
                    try tx.column(
                        """
                        SELECT table_name::text FROM information_schema.columns
                        WHERE table_schema = 'engram' AND column_name = 'tenant' AND is_nullable = 'YES'
                        """,
                        as: String.self
                    ),
                    try tx.column(
                        """
                        SELECT DISTINCT c.relkind::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                        WHERE n.nspname = 'engram'
                        """,
                        as: String.self
                    )
                )
            }
            for (table, enabled, forced) in security where !global.contains(table) {
                #expect(enabled, "\(table): row-level security is not enabled")
                #expect(forced, "\(table): row-level security is not forced")
            }
            for table in tenantTables {
                let mine = policies.filter { $0.0 == table }
                let reads = mine.filter { ($0.2 == "ALL" || $0.2 == "SELECT") && $0.3.contains("current_tenants()") }
                let writes = mine.filter { ($0.2 == "ALL" || $0.2 == "INSERT") && $0.4.contains("current_tenants()") }
                #expect(!reads.isEmpty, "\(table): no policy lets \(role) read its tenants' rows")
                #expect(!writes.isEmpty, "\(table): no policy checks the tenant of rows \(role) writes")
                for policy in mine {
                    // USING for reads, updates and deletes; an INSERT policy has only WITH CHECK.
                    for (clause, text) in [("USING", policy.3), ("WITH CHECK", policy.4)] where !text.isEmpty {
                        #expect(
                            text.contains("current_tenants()") || text.contains("current_user_id()"),
                            "\(table).\(policy.1) \(clause) admits rows on something else than the tenant or the user: \(text)"
                        )
                    }
                    #expect(!(policy.3.isEmpty && policy.4.isEmpty), "\(table).\(policy.1) has no condition at all")
                }
            }
            #expect(nullableTenant.isEmpty, "nullable tenant columns: \(nullableTenant)")
            // Views and materialized views run with their owner's rights and would bypass the policies.
            #expect(Set(relationKinds).isSubset(of: ["r", "p", "i", "S", "c"]), "relation kinds in engram: \(relationKinds)")
        }
    }

    @Test func definerFunctionsAreNarrowDocumentedAndClosedToPublic() async throws {
        let docs = try PostgresDocs.text()
        try await PostgresTestServer.withEngines { _, owner in
            let role = try PostgresTestServer.appRole()
            let functions = try await owner.withGlobal { tx in
                try tx.rows(
                    """
                    SELECT p.proname::text, p.prosecdef, coalesce(array_to_string(p.proconfig, ','), ''),
                           EXISTS (SELECT 1 FROM aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
                                   WHERE a.grantee = 0 AND a.privilege_type = 'EXECUTE'),
                           has_function_privilege(\(role), p.oid, 'EXECUTE')
                    FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'engram'
                    """,
                    as: (String, Bool, String, Bool, Bool).self
                )
            }
            let definers = functions.filter(\.1)
            #expect(Set(definers.map(\.0)).isSuperset(of: ["sign_in_lookup", "session_by_secret", "link_by_secret"]))
            for (name, _, _, publicExecute, _) in functions {
                #expect(!publicExecute, "engram.\(name) is executable by PUBLIC")
            }
            for (name, _, config, _, appExecute) in definers {
                #expect(config.contains("search_path=engram, pg_temp"), "engram.\(name) does not pin search_path: \(config)")
                #expect(appExecute, "\(role) cannot call engram.\(name)")
                #expect(docs.contains("`engram.\(name)("), "engram.\(name) is not documented in docs/postgres.md")
            }
        }
    }

    @Test func thePostgresNIOExtendedProtocolRefusesSeveralStatementsInOneQuery() async throws {
        try await PostgresTestServer.withEngines { app, _ in
            let error = await #expect(throws: PostgresEngineError.self) {
                try await app.withGlobal { tx in try tx.query("SELECT 1; SELECT 2") }
            }
            #expect(error?.sqlState == PostgresEngineError.SQLState.syntaxError, "\(String(describing: error))")
            let unscoped = await #expect(throws: PostgresEngineError.self) { try await app.unscopedQuery("SELECT 1; SELECT 2") }
            #expect(unscoped?.sqlState == PostgresEngineError.SQLState.syntaxError)
        }
    }
}

/// The posture rules themselves, without a server: superuser and BYPASSRLS roles cannot be created by
/// the test cluster's owner, so their verdicts are checked here.
@Suite struct RolePostureRulesTests {
    static let clean = PostgresRolePosture(
        role: "engram_app",
        superuser: false,
        bypassesRowSecurity: false,
        schemaExists: true,
        ownedObjects: [],
        actsAsSchemaOwner: false,
        mayCreateInSchema: false
    )

    @Test func aCleanRoleHasNoProblem() {
        #expect(Self.clean.problems.isEmpty)
    }

    @Test func eachWayAroundRowSecurityIsAProblem() {
        var superuser = Self.clean
        superuser.superuser = true
        var bypass = Self.clean
        bypass.bypassesRowSecurity = true
        var owner = Self.clean
        owner.ownedObjects = ["relation engram.orgs"]
        var member = Self.clean
        member.actsAsSchemaOwner = true
        var creator = Self.clean
        creator.mayCreateInSchema = true
        var missing = Self.clean
        missing.schemaExists = false
        for (posture, word) in [
            (superuser, "superuser"), (bypass, "BYPASSRLS"), (owner, "owns"), (member, "member"), (creator, "CREATE"),
            (missing, "does not exist"),
        ] {
            #expect(posture.problems.count == 1, "\(posture.problems)")
            #expect(posture.problems.first?.contains(word) == true, "\(posture.problems)")
        }
    }
}
