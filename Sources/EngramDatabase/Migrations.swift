public import GRDB

/// The schema of the service database. GRDB records each applied migration by its identifier in
/// `grdb_migrations`; the identifiers are those earlier versions wrote (`store-*`, `auth-*`,
/// `audit-*`), so an existing file runs only the migrations it lacks.
extension EngramDatabase {
    /// Every table of the service database, in the order a fresh file creates them.
    public static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        registerStoreMigrations(&m)
        registerMemberMigrations(&m)
        registerAuditMigrations(&m)
        registerLifecycleMigrations(&m)
        registerAccountMigrations(&m)
        registerOAuthMigrations(&m)
        registerEncryptionMigrations(&m)
        registerOutboxMigrations(&m)
        registerSegmentMigrations(&m)
        return m
    }

    /// The embedded store's tables alone: the schema of a collection snapshot file.
    public static var storeMigrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        registerStoreMigrations(&m)
        registerSegmentMigrations(&m)
        return m
    }

    /// Collections, points and payload index definitions.
    static func registerStoreMigrations(_ m: inout DatabaseMigrator) {
        m.registerMigration("store-v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE collections (
                        id INTEGER PRIMARY KEY,
                        name TEXT NOT NULL UNIQUE,
                        vector_size INTEGER NOT NULL,
                        distance TEXT NOT NULL,
                        tenant_key TEXT,
                        created_at REAL NOT NULL
                    );
                    CREATE TABLE points (
                        rowid INTEGER PRIMARY KEY,
                        collection_id INTEGER NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
                        pid TEXT NOT NULL,
                        tenant TEXT,
                        vector BLOB NOT NULL,
                        payload BLOB NOT NULL,
                        UNIQUE (collection_id, pid)
                    );
                    CREATE INDEX points_tenant ON points(collection_id, tenant, pid);
                    """
            )
        }
        // Qdrant-compatible API: named sparse vectors and payload index definitions.
        // Columns are nullable additions, so v1 data reads unchanged.
        m.registerMigration("store-v2-sparse-indexes") { db in
            try db.execute(
                sql: """
                    ALTER TABLE collections ADD COLUMN sparse_vectors TEXT;
                    ALTER TABLE points ADD COLUMN sparse BLOB;
                    CREATE TABLE payload_indexes (
                        collection_id INTEGER NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
                        field TEXT NOT NULL,
                        schema TEXT NOT NULL,
                        PRIMARY KEY (collection_id, field)
                    );
                    """
            )
        }
    }

    /// Segment files (the store's mapped vector shards, `EmbeddedStore+Segments.swift`): `segment` names
    /// the segment file last written for a collection, and triggers clear it at the first change to the
    /// collection's points' rows, vectors or tenants after that (whatever path wrote them), so a file is
    /// used at open only while its name is still recorded. The `WHEN` keeps the cost to a key lookup per
    /// row once the name is cleared. Registered last (after the tables a file of the single-migrator
    /// layout already has), so old and new files record the same order.
    static func registerSegmentMigrations(_ m: inout DatabaseMigrator) {
        m.registerMigration("store-v3-segments") { db in
            try db.execute(
                sql: """
                    ALTER TABLE collections ADD COLUMN segment TEXT;
                    CREATE TRIGGER points_segment_insert AFTER INSERT ON points
                    WHEN EXISTS (SELECT 1 FROM collections WHERE id = NEW.collection_id AND segment IS NOT NULL) BEGIN
                        UPDATE collections SET segment = NULL WHERE id = NEW.collection_id;
                    END;
                    CREATE TRIGGER points_segment_delete AFTER DELETE ON points
                    WHEN EXISTS (SELECT 1 FROM collections WHERE id = OLD.collection_id AND segment IS NOT NULL) BEGIN
                        UPDATE collections SET segment = NULL WHERE id = OLD.collection_id;
                    END;
                    CREATE TRIGGER points_segment_update AFTER UPDATE OF collection_id, pid, tenant, vector ON points
                    WHEN EXISTS (SELECT 1 FROM collections WHERE id IN (OLD.collection_id, NEW.collection_id) AND segment IS NOT NULL) BEGIN
                        UPDATE collections SET segment = NULL WHERE id IN (OLD.collection_id, NEW.collection_id);
                    END;
                    """
            )
        }
    }

    /// Users, organisations, members, revoked token ids and invitations.
    static func registerMemberMigrations(_ m: inout DatabaseMigrator) {
        m.registerMigration("auth-v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE IF NOT EXISTS orgs (
                        id TEXT PRIMARY KEY, name TEXT NOT NULL, require_review INTEGER NOT NULL DEFAULT 0, created_at REAL NOT NULL);
                    CREATE TABLE IF NOT EXISTS users (id TEXT PRIMARY KEY, created_at REAL NOT NULL);
                    CREATE TABLE IF NOT EXISTS members (
                        org_id TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
                        user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                        role TEXT NOT NULL, created_at REAL NOT NULL, PRIMARY KEY (org_id, user_id));
                    CREATE TABLE IF NOT EXISTS revoked_tokens (jti TEXT PRIMARY KEY, revoked_at REAL NOT NULL, expires_at REAL);
                    """
            )
        }
        m.registerMigration("auth-v2-invitations") { db in
            try db.execute(
                sql: """
                    CREATE TABLE invitations (
                        id TEXT PRIMARY KEY, org_id TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE, user_id TEXT NOT NULL,
                        role TEXT NOT NULL, invited_by TEXT NOT NULL, created_at REAL NOT NULL, expires_at REAL NOT NULL);
                    CREATE UNIQUE INDEX invitations_org_user ON invitations(org_id, user_id);
                    CREATE INDEX invitations_user ON invitations(user_id);
                    """
            )
        }
    }

    /// The append-only audit log: triggers abort any UPDATE or DELETE.
    static func registerAuditMigrations(_ m: inout DatabaseMigrator) {
        m.registerMigration("audit-v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE IF NOT EXISTS audit_log (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        at REAL NOT NULL, org_id TEXT, actor TEXT NOT NULL, action TEXT NOT NULL,
                        memory_id TEXT, before_hash TEXT, after_hash TEXT, detail TEXT);
                    CREATE INDEX IF NOT EXISTS audit_org ON audit_log(org_id, id);
                    CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit_log
                        BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
                    CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit_log
                        BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
                    """
            )
        }
    }

    /// Memory versions, usage counters, the served log, verdicts, webhook deliveries, and the org
    /// policies of the lifecycle (stale and retention periods, the webhook secret).
    static func registerLifecycleMigrations(_ m: inout DatabaseMigrator) {
        m.registerMigration("lifecycle-v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE memory_versions (
                        memory_id TEXT NOT NULL, version INTEGER NOT NULL, at REAL NOT NULL,
                        actor TEXT NOT NULL, channel TEXT NOT NULL, client TEXT, request_id TEXT, reason TEXT NOT NULL,
                        org_id TEXT, state TEXT NOT NULL, content_hash TEXT NOT NULL, snapshot BLOB NOT NULL,
                        PRIMARY KEY (memory_id, version));
                    CREATE INDEX memory_versions_org ON memory_versions(org_id, at);
                    CREATE TRIGGER memory_versions_no_update BEFORE UPDATE ON memory_versions
                        BEGIN SELECT RAISE(ABORT, 'memory versions are immutable'); END;
                    CREATE TABLE memory_usage (
                        memory_id TEXT PRIMARY KEY, served_count INTEGER NOT NULL DEFAULT 0,
                        last_served_at REAL, last_confirmed_at REAL);
                    CREATE TABLE served_log (
                        id INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL, memory_id TEXT NOT NULL,
                        user_id TEXT NOT NULL, rank INTEGER NOT NULL);
                    CREATE INDEX served_log_at ON served_log(at);
                    CREATE TRIGGER served_log_no_update BEFORE UPDATE ON served_log
                        BEGIN SELECT RAISE(ABORT, 'the served log is append-only'); END;
                    CREATE TABLE memory_reports (
                        id INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL, memory_id TEXT NOT NULL,
                        org_id TEXT, user_id TEXT NOT NULL, verdict TEXT NOT NULL, note TEXT, resolved INTEGER NOT NULL DEFAULT 0);
                    CREATE INDEX memory_reports_memory ON memory_reports(memory_id, resolved);
                    CREATE TABLE webhook_deliveries (
                        org_id TEXT NOT NULL, provider TEXT NOT NULL, delivery_id TEXT NOT NULL, at REAL NOT NULL,
                        PRIMARY KEY (org_id, provider, delivery_id));
                    ALTER TABLE orgs ADD COLUMN stale_after_days INTEGER NOT NULL DEFAULT 180;
                    ALTER TABLE orgs ADD COLUMN version_retention_days INTEGER NOT NULL DEFAULT 30;
                    ALTER TABLE orgs ADD COLUMN webhook_secret TEXT;
                    """
            )
        }
        // Rescans: memories and versions whose text fails today's secret filter. Rows are never edited.
        m.registerMigration("lifecycle-v2-quarantine") { db in
            try db.execute(
                sql: """
                    CREATE TABLE quarantine (
                        memory_id TEXT NOT NULL, version INTEGER NOT NULL, org_id TEXT, rules TEXT NOT NULL, at REAL NOT NULL,
                        PRIMARY KEY (memory_id, version));
                    CREATE INDEX quarantine_org ON quarantine(org_id, at);
                    """
            )
        }
        // Trust: four-eyes review per org, the token behind every version (quarantine and rollback by token).
        m.registerMigration("trust-v1") { db in
            try db.execute(
                sql: """
                    ALTER TABLE orgs ADD COLUMN approver_must_differ INTEGER NOT NULL DEFAULT 1;
                    ALTER TABLE memory_versions ADD COLUMN token_id TEXT;
                    CREATE INDEX memory_versions_at ON memory_versions(at);
                    """
            )
        }
    }

    /// Accounts: password hashes and sealed TOTP secrets, backup-code hashes, browser sessions (the
    /// cookie's SHA-256 only), personal access tokens by id, single-use invitation and reset links
    /// (the secret's SHA-256 only), and the org's TOTP requirement.
    static func registerAccountMigrations(_ m: inout DatabaseMigrator) {
        m.registerMigration("accounts-v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE credentials (
                        user_id TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
                        password_hash TEXT, password_changed_at REAL,
                        totp_secret BLOB, totp_enabled INTEGER NOT NULL DEFAULT 0, totp_last_step INTEGER NOT NULL DEFAULT 0);
                    CREATE TABLE backup_codes (
                        user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE, code_hash TEXT NOT NULL, used_at REAL,
                        PRIMARY KEY (user_id, code_hash));
                    CREATE TABLE sessions (
                        id TEXT PRIMARY KEY, secret_hash TEXT NOT NULL UNIQUE,
                        user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE, org_id TEXT, csrf_token TEXT NOT NULL,
                        created_at REAL NOT NULL, last_seen_at REAL NOT NULL, expires_at REAL NOT NULL, reauth_at REAL,
                        ip TEXT, user_agent TEXT);
                    CREATE INDEX sessions_user ON sessions(user_id);
                    CREATE TABLE access_tokens (
                        jti TEXT PRIMARY KEY, user_id TEXT NOT NULL, org_id TEXT, role TEXT NOT NULL, name TEXT NOT NULL,
                        created_at REAL NOT NULL, expires_at REAL NOT NULL);
                    CREATE INDEX access_tokens_user ON access_tokens(user_id);
                    CREATE TABLE credential_links (
                        secret_hash TEXT PRIMARY KEY, kind TEXT NOT NULL, user_id TEXT NOT NULL, invitation_id TEXT,
                        created_by TEXT NOT NULL, created_at REAL NOT NULL, expires_at REAL NOT NULL, used_at REAL);
                    CREATE INDEX credential_links_user ON credential_links(user_id, kind);
                    ALTER TABLE orgs ADD COLUMN require_totp INTEGER NOT NULL DEFAULT 0;
                    """
            )
        }
    }

    /// OAuth: registered clients, authorization codes, refresh tokens and the access tokens of each
    /// grant family (codes and refresh tokens as SHA-256 only).
    static func registerOAuthMigrations(_ m: inout DatabaseMigrator) {
        m.registerMigration("oauth-v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE oauth_clients (
                        client_id TEXT PRIMARY KEY, client_name TEXT, redirect_uris TEXT NOT NULL, created_at REAL NOT NULL);
                    CREATE TABLE oauth_codes (
                        code_hash TEXT PRIMARY KEY, family TEXT NOT NULL, client_id TEXT NOT NULL, user_id TEXT NOT NULL, org_id TEXT,
                        resource TEXT NOT NULL, redirect_uri TEXT NOT NULL, code_challenge TEXT NOT NULL, scope TEXT,
                        expires_at REAL NOT NULL, used_at REAL);
                    CREATE TABLE oauth_refresh_tokens (
                        token_hash TEXT PRIMARY KEY, family TEXT NOT NULL, client_id TEXT NOT NULL, user_id TEXT NOT NULL, org_id TEXT,
                        resource TEXT NOT NULL, scope TEXT, created_at REAL NOT NULL, expires_at REAL NOT NULL, used_at REAL,
                        revoked_at REAL);
                    CREATE INDEX oauth_refresh_family ON oauth_refresh_tokens(family);
                    CREATE TABLE oauth_access_tokens (jti TEXT PRIMARY KEY, family TEXT NOT NULL, expires_at REAL NOT NULL);
                    CREATE INDEX oauth_access_family ON oauth_access_tokens(family);
                    """
            )
        }
    }
}
