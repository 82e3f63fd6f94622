@_spi(Testing) import EngramPostgres
import EngramPostgresSchema
import Foundation
import PostgresNIO
import Testing

/// The real server the PostgreSQL suites run against, from `Tests/pg_cluster.sh` (`make test-postgres`):
/// `ENGRAM_TEST_POSTGRES_URL` logs in as the application role, `ENGRAM_TEST_POSTGRES_OWNER_URL` as the
/// schema owner (with CREATEDB, so each test gets its own database). Without the first, the suites are
/// skipped with the reason printed; with it but without the second, they fail.
enum PostgresTestServer {
    static let environment = ProcessInfo.processInfo.environment

    /// Whether the suites run at all.
    static var isConfigured: Bool { !(environment["ENGRAM_TEST_POSTGRES_URL"] ?? "").isEmpty }

    static let skipReason: Comment =
        "ENGRAM_TEST_POSTGRES_URL is unset: no PostgreSQL server to test against (`make test-postgres` or `bash Tests/postgres.sh` starts one)"

    static func appURL() throws -> PostgresConnectionURL {
        try PostgresConnectionURL(environment["ENGRAM_TEST_POSTGRES_URL"] ?? "")
    }

    static func ownerURL() throws -> PostgresConnectionURL {
        guard let text = environment["ENGRAM_TEST_POSTGRES_OWNER_URL"], !text.isEmpty else {
            throw Missing(description: "ENGRAM_TEST_POSTGRES_URL is set but ENGRAM_TEST_POSTGRES_OWNER_URL is not")
        }
        return try PostgresConnectionURL(text)
    }

    struct Missing: Error, CustomStringConvertible { let description: String }

    /// The application role's name (the role the migrations grant to).
    static func appRole() throws -> String { try appURL().username }

    /// A fresh database for `body` (migrated unless `migrated` is false; copied from a template migrated
    /// once per process), dropped afterwards.
    static func withDatabase<T>(
        migrated: Bool = true,
        _ body: (_ app: PostgresConnectionURL, _ owner: PostgresConnectionURL) async throws -> T
    )
        async throws -> T
    {
        let name = try await TestDatabases.shared.create(migrated: migrated)
        do {
            let result = try await body(try appURL().with(database: name), try ownerURL().with(database: name))
            await TestDatabases.shared.drop(name)
            return result
        } catch {
            await TestDatabases.shared.drop(name)
            throw error
        }
    }

    /// Engines on a fresh database: one as the application role, one as the owner.
    static func withEngines<T>(
        migrated: Bool = true,
        appConnections: Int = 4,
        _ body: (_ app: PostgresEngine, _ owner: PostgresEngine) async throws -> T
    ) async throws -> T {
        try await withDatabase(migrated: migrated) { appURL, ownerURL in
            try await PostgresEngine.withEngine(appURL, maximumConnections: appConnections) { app in
                try await PostgresEngine.withEngine(ownerURL, maximumConnections: 2) { owner in
                    try await body(app, owner)
                }
            }
        }
    }
}

/// Creates and drops the per-test databases through the owner's connection to the `postgres`
/// maintenance database (a database being copied may have no connection of its own). At most three
/// exist at once: the suites run in parallel, and each holds up to six connections.
actor TestDatabases {
    static let shared = TestDatabases()

    private var template: Task<String, any Error>?
    private var inUse = 0
    private var waiters: [CheckedContinuation<Void, Never>] = []
    private let limit = 3

    /// The maintenance engine, running for the life of the test process.
    private var maintenance: PostgresEngine?

    private func maintenanceEngine() async throws -> PostgresEngine {
        if let maintenance { return maintenance }
        let engine = PostgresEngine(url: try PostgresTestServer.ownerURL().with(database: "postgres"), maximumConnections: 2)
        Task.detached { await engine.run() }
        maintenance = engine
        await engine.waitUntilRunning()
        return engine
    }

    static func randomName(_ prefix: String) -> String {
        prefix + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16)
    }

    /// A new database's name; migrated copies come from the template.
    func create(migrated: Bool) async throws -> String {
        await acquire()
        do {
            let engine = try await maintenanceEngine()
            let name = Self.randomName("engram_t_")
            if migrated {
                let template = try await migratedTemplate(engine)
                _ = try await engine.unscopedQuery("CREATE DATABASE \(unescaped: name) TEMPLATE \(unescaped: template) STRATEGY FILE_COPY")
            } else {
                _ = try await engine.unscopedQuery("CREATE DATABASE \(unescaped: name)")
            }
            return name
        } catch {
            release()
            throw error
        }
    }

    func drop(_ name: String) async {
        defer { release() }
        // The test's engines are closed; their backends may take a moment to exit, which DROP waits for.
        _ = try? await maintenanceEngine().unscopedQuery("DROP DATABASE IF EXISTS \(unescaped: name)")
    }

    /// The migrated template, made once per process (concurrent callers share the one task).
    private func migratedTemplate(_ engine: PostgresEngine) async throws -> String {
        if let template { return try await template.value }
        let task = Task<String, any Error> {
            let name = Self.randomName("engram_tpl_")
            _ = try await engine.unscopedQuery("CREATE DATABASE \(unescaped: name)")
            let migrator = try PostgresMigrator(appRole: try PostgresTestServer.appRole())
            try await PostgresEngine.withEngine(try PostgresTestServer.ownerURL().with(database: name), maximumConnections: 1) { owner in
                try await migrator.migrate(owner)
            }
            return name
        }
        template = task
        return try await task.value
    }

    private func acquire() async {
        if inUse < limit {
            inUse += 1
            return
        }
        await withCheckedContinuation { waiters.append($0) }
    }

    private func release() {
        if waiters.isEmpty {
            inUse -= 1
        } else {
            waiters.removeFirst().resume()
        }
    }
}

/// Two orgs' worth of rows in every table: org `a` with user `alice`, org `b` with user `bob`; `carol` is
/// a member of both. Written by the owner (its policy admits every row).
enum Seed {
    static let orgs = [("a", "alice"), ("b", "bob")]

    static func load(_ owner: PostgresEngine) async throws {
        try await owner.withGlobal(readOnly: false) { tx in
            for (org, user) in orgs {
                let orgKey = "org:\(org)"
                let userKey = "user:\(user)"
                try tx.execute("INSERT INTO engram.users (id, created_at) VALUES (\(user), 1)")
                try tx.execute("INSERT INTO engram.orgs (id, name, created_at) VALUES (\(org), \(org), 1)")
                try tx.execute("INSERT INTO engram.members (org_id, user_id, role, created_at) VALUES (\(org), \(user), 'owner', 1)")
                try tx.execute(
                    """
                    INSERT INTO engram.invitations (id, org_id, user_id, role, invited_by, created_at, expires_at)
                    VALUES (\("inv-" + org), \(org), \("guest-" + org), 'member', \(user), 1, 2)
                    """
                )
                try tx.execute("INSERT INTO engram.audit_log (at, org_id, actor, action) VALUES (1, \(org), \(user), 'seed')")
                try tx.execute("INSERT INTO engram.audit_log (at, org_id, actor, action) VALUES (1, NULL, \(user), 'seed-personal')")
                for (memory, tenant) in [("m-" + org, orgKey), ("p-" + user, userKey)] {
                    try tx.execute(
                        """
                        INSERT INTO engram.memory_versions
                          (memory_id, version, at, actor, channel, reason, org_id, state, content_hash, snapshot, tenant)
                        VALUES (\(memory), 1, 1, \(user), 'mcp', 'add', \(org), 'published', 'h', decode('7b7d', 'hex'), \(tenant))
                        """
                    )
                    try tx.execute("INSERT INTO engram.memory_usage (memory_id, served_count, tenant) VALUES (\(memory), 1, \(tenant))")
                    try tx.execute(
                        "INSERT INTO engram.served_log (at, memory_id, user_id, rank, tenant) VALUES (1, \(memory), \(user), 1, \(tenant))"
                    )
                    try tx.execute(
                        """
                        INSERT INTO engram.memory_reports (at, memory_id, org_id, user_id, verdict, tenant)
                        VALUES (1, \(memory), \(org), \(user), 'helpful', \(tenant))
                        """
                    )
                    try tx.execute(
                        "INSERT INTO engram.quarantine (memory_id, version, org_id, rules, at, tenant) VALUES (\(memory), 1, \(org), 'rule', 1, \(tenant))"
                    )
                    try tx.execute("INSERT INTO engram.outbox (memory_id, version, tenant) VALUES (\(memory), 1, \(tenant))")
                }
                try tx.execute("INSERT INTO engram.webhook_deliveries (org_id, provider, delivery_id, at) VALUES (\(org), 'github', 'd-1', 1)")
                try tx.execute(
                    """
                    INSERT INTO engram.credentials (user_id, password_hash, password_changed_at, totp_secret, totp_enabled, totp_last_step)
                    VALUES (\(user), \("hash-" + user), 1, decode('0102', 'hex'), true, 7)
                    """
                )
                try tx.execute("INSERT INTO engram.backup_codes (user_id, code_hash) VALUES (\(user), \("code-" + user))")
                try tx.execute(
                    """
                    INSERT INTO engram.sessions (id, secret_hash, user_id, org_id, csrf_token, created_at, last_seen_at, expires_at)
                    VALUES (\("s-" + user), \("secret-" + user), \(user), \(org), 'csrf', 1, 1, 2)
                    """
                )
                try tx.execute(
                    """
                    INSERT INTO engram.access_tokens (jti, user_id, org_id, role, name, created_at, expires_at)
                    VALUES (\("jti-" + user), \(user), \(org), 'member', 'laptop', 1, 2)
                    """
                )
                try tx.execute(
                    """
                    INSERT INTO engram.credential_links (secret_hash, kind, user_id, created_by, created_at, expires_at)
                    VALUES (\("link-" + user), 'reset', \(user), 'admin', 1, 2)
                    """
                )
                try tx.execute(
                    """
                    INSERT INTO engram.oauth_codes (code_hash, family, client_id, user_id, org_id, resource, redirect_uri, code_challenge, expires_at)
                    VALUES (\("code-hash-" + user), \("fam-" + user), 'client', \(user), \(org), 'res', 'https://r', 'chal', 2)
                    """
                )
                try tx.execute(
                    """
                    INSERT INTO engram.oauth_refresh_tokens (token_hash, family, client_id, user_id, org_id, resource, created_at, expires_at)
                    VALUES (\("refresh-" + user), \("fam-" + user), 'client', \(user), \(org), 'res', 1, 2)
                    """
                )
            }
            try tx.execute("INSERT INTO engram.users (id, created_at) VALUES ('carol', 1)")
            try tx.execute("INSERT INTO engram.members (org_id, user_id, role, created_at) VALUES ('a', 'carol', 'member', 1)")
            try tx.execute("INSERT INTO engram.members (org_id, user_id, role, created_at) VALUES ('b', 'carol', 'admin', 1)")
            try tx.execute("INSERT INTO engram.credentials (user_id, password_hash) VALUES ('carol', 'hash-carol')")
            try tx.execute("INSERT INTO engram.oauth_clients (client_id, redirect_uris, created_at) VALUES ('client', '[]', 1)")
            try tx.execute("INSERT INTO engram.oauth_access_tokens (jti, family, expires_at) VALUES ('at-1', 'fam-alice', 2)")
            try tx.execute("INSERT INTO engram.revoked_tokens (jti, revoked_at) VALUES ('old', 1)")
        }
    }
}

/// Catalog reads the suites share.
enum Catalog {
    /// Tables (ordinary and partitioned) in schema `engram`.
    static func tables(_ engine: PostgresEngine) async throws -> [String] {
        try await engine.withGlobal { tx in
            try tx.column(
                """
                SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname = 'engram' AND c.relkind IN ('r', 'p') ORDER BY 1
                """,
                as: String.self
            )
        }
    }

    /// Tables in schema `engram` with a `tenant` column: the tenant-owned ones.
    static func tenantTables(_ engine: PostgresEngine) async throws -> [String] {
        try await engine.withGlobal { tx in
            try tx.column(
                """
                SELECT c.table_name::text FROM information_schema.columns c
                JOIN pg_class r ON r.relname = c.table_name JOIN pg_namespace n ON n.oid = r.relnamespace AND n.nspname = c.table_schema
                WHERE c.table_schema = 'engram' AND c.column_name = 'tenant' AND r.relkind IN ('r', 'p') ORDER BY 1
                """,
                as: String.self
            )
        }
    }

    /// `SELECT count(*)` of a table inside a transaction.
    static func count(_ tx: PostgresTransaction, _ table: String, where condition: String = "true") throws -> Int {
        try tx.column(PostgresQuery(unsafeSQL: "SELECT count(*) FROM engram.\(table) WHERE \(condition)"), as: Int.self).first ?? -1
    }
}

/// `docs/postgres.md`: the tables it documents as global (no tenant, no row-level security) and the
/// SECURITY DEFINER functions it names.
enum PostgresDocs {
    static let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("docs/postgres.md")

    static func text() throws -> String { try String(contentsOf: url, encoding: .utf8) }

    /// Rows of the table under `## Tables and tenants`: first column `` `name` ``, second the tenant rule.
    static func tableRows() throws -> [(table: String, tenant: String)] {
        let text = try text()
        guard let start = text.range(of: "## Tables and tenants") else { return [] }
        let section = text[start.upperBound...].components(separatedBy: "\n## ").first ?? ""
        return section.split(separator: "\n").compactMap { line in
            let cells = line.split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count >= 3, cells[1].hasPrefix("`"), cells[1].hasSuffix("`") else { return nil }
            return (String(cells[1].dropFirst().dropLast()), cells[2])
        }
    }

    /// Tables documented as global: their tenant column says `global`.
    static func globalTables() throws -> Set<String> {
        Set(try tableRows().filter { $0.tenant.lowercased().hasPrefix("global") }.map(\.table))
    }
}
