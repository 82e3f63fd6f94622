/// The PostgreSQL schema `engram`: every table of the service database's SQLite schema (minus the
/// embedded vector store's `collections`, `points`, `payload_indexes`, which stay in the store: vectors
/// live in the embedded store or in Qdrant, never in the metadata engine), with row-level security.
///
/// Type mapping from SQLite: `TEXT` → `text`, `REAL` epoch seconds → `double precision`, `BLOB` →
/// `bytea`, `INTEGER` 0/1 flags → `boolean`, other `INTEGER` → `bigint`, `INTEGER PRIMARY KEY
/// AUTOINCREMENT` → `bigint GENERATED ALWAYS AS IDENTITY` (an engine migration inserts ids with
/// `OVERRIDING SYSTEM VALUE`). Tenant-owned tables gain `tenant text NOT NULL`: generated from the row's
/// own keys where they determine it (a body cannot file a row under another tenant), else written by the
/// application and checked for the `org:<id>`/`user:<id>` form. `docs/postgres.md` lists every table's
/// tenant and every SECURITY DEFINER function; the tests hold the database to that list.
///
/// Each tenant table has RLS enabled and forced, a policy `tenant_rows` for the application role on
/// `tenant = ANY (engram.current_tenants())`, a policy `owner_rows` for the owner (migrations and the
/// definer functions, which run as the owner), and grants narrowed to what the domain does.
public enum PostgresSchema {
    /// The schema's name.
    public static let name = "engram"

    /// Every migration, in order.
    public static let migrations: [PostgresMigration] = [
        schema, authV1, invitations, audit, lifecycle, quarantine, trust, accounts, oauth, encryption, metadataGlobal,
        changes, replicas, outbox,
    ]

    /// The tenant of a row whose tenant is a function of its keys.
    static func orgTenant(_ column: String) -> String {
        "tenant text GENERATED ALWAYS AS ('org:' || \(column)) STORED NOT NULL"
    }

    static func userTenant(_ column: String) -> String {
        "tenant text GENERATED ALWAYS AS ('user:' || \(column)) STORED NOT NULL"
    }

    /// The tenant of a row that belongs to a memory: the memory's tenant, written by the application.
    static let memoryTenant = "tenant text NOT NULL CHECK (tenant ~ '^(org|user):[^,[:space:]]+$')"

    /// Row-level security for a tenant table, version 1. Frozen: applied migrations' checksums cover this
    /// output, so a change here must be a new helper used by new migrations only.
    static func tenantRowSecurityV1(_ table: String, grant privileges: String) -> [String] {
        [
            "ALTER TABLE engram.\(table) ENABLE ROW LEVEL SECURITY",
            "ALTER TABLE engram.\(table) FORCE ROW LEVEL SECURITY",
            """
            CREATE POLICY tenant_rows ON engram.\(table) TO {app} \
            USING (tenant = ANY (engram.current_tenants())) \
            WITH CHECK (tenant = ANY (engram.current_tenants()))
            """,
            "CREATE POLICY owner_rows ON engram.\(table) TO CURRENT_USER USING (true) WITH CHECK (true)",
            "GRANT \(privileges) ON engram.\(table) TO {app}",
        ]
    }

    /// A user's own rows in every org, read-only (`members`, `invitations`), version 1 (frozen).
    static func ownRowsV1(_ table: String) -> String {
        "CREATE POLICY own_rows ON engram.\(table) FOR SELECT TO {app} USING (user_id = (SELECT engram.current_user_id()))"
    }

    /// A SECURITY DEFINER function's privileges: nobody but the application role may call it.
    static func definerGrantsV1(_ signature: String) -> [String] {
        [
            "REVOKE ALL ON FUNCTION engram.\(signature) FROM PUBLIC",
            "GRANT EXECUTE ON FUNCTION engram.\(signature) TO {app}",
        ]
    }

    static let crud = "SELECT, INSERT, UPDATE, DELETE"

    // MARK: - The migrations

    /// The schema's grants, the settings readers the policies call, the append-only trigger function, and
    /// the application role's read access to the migration record (it refuses to start when behind).
    static let schema = PostgresMigration(
        id: "0001_schema",
        mirroring: [],
        [
            "REVOKE ALL ON SCHEMA engram FROM PUBLIC",
            "GRANT USAGE ON SCHEMA engram TO {app}",
            "GRANT SELECT ON engram.schema_migrations TO {app}",
            """
            CREATE FUNCTION engram.current_tenants() RETURNS text[] LANGUAGE sql STABLE PARALLEL SAFE AS $$
              SELECT coalesce(string_to_array(nullif(current_setting('app.current_tenant', true), ''), ','), '{}'::text[])
            $$
            """,
            """
            CREATE FUNCTION engram.current_user_id() RETURNS text LANGUAGE sql STABLE PARALLEL SAFE AS $$
              SELECT nullif(current_setting('app.current_user', true), '')
            $$
            """,
            """
            CREATE FUNCTION engram.refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              RAISE EXCEPTION 'engram.% is append-only: % refused', TG_TABLE_NAME, TG_OP USING ERRCODE = '42501';
            END
            $$
            """,
            "REVOKE ALL ON FUNCTION engram.current_tenants() FROM PUBLIC",
            "REVOKE ALL ON FUNCTION engram.current_user_id() FROM PUBLIC",
            "REVOKE ALL ON FUNCTION engram.refuse_change() FROM PUBLIC",
            "GRANT EXECUTE ON FUNCTION engram.current_tenants() TO {app}",
            "GRANT EXECUTE ON FUNCTION engram.current_user_id() TO {app}",
        ]
    )

    /// Users, organisations, members, revoked token ids.
    static let authV1 = PostgresMigration(
        id: "0002_auth_v1",
        mirroring: ["auth-v1"],
        [
            """
            CREATE TABLE engram.orgs (
              id text PRIMARY KEY, name text NOT NULL, require_review boolean NOT NULL DEFAULT false,
              created_at double precision NOT NULL, \(orgTenant("id")))
            """,
            "CREATE TABLE engram.users (id text PRIMARY KEY, created_at double precision NOT NULL)",
            """
            CREATE TABLE engram.members (
              org_id text NOT NULL REFERENCES engram.orgs(id) ON DELETE CASCADE,
              user_id text NOT NULL REFERENCES engram.users(id) ON DELETE CASCADE,
              role text NOT NULL, created_at double precision NOT NULL, \(orgTenant("org_id")),
              PRIMARY KEY (org_id, user_id))
            """,
            "CREATE INDEX members_user ON engram.members (user_id)",
            "CREATE TABLE engram.revoked_tokens (jti text PRIMARY KEY, revoked_at double precision NOT NULL, expires_at double precision)",
            "GRANT SELECT, INSERT ON engram.users TO {app}",
            "GRANT SELECT, INSERT, UPDATE ON engram.revoked_tokens TO {app}",
        ] + tenantRowSecurityV1("orgs", grant: crud)
            + tenantRowSecurityV1("members", grant: crud) + [ownRowsV1("members")]
    )

    /// Invitations (the invitee sees their own in every org).
    static let invitations = PostgresMigration(
        id: "0003_auth_v2_invitations",
        mirroring: ["auth-v2-invitations"],
        [
            """
            CREATE TABLE engram.invitations (
              id text PRIMARY KEY, org_id text NOT NULL REFERENCES engram.orgs(id) ON DELETE CASCADE, user_id text NOT NULL,
              role text NOT NULL, invited_by text NOT NULL, created_at double precision NOT NULL,
              expires_at double precision NOT NULL, \(orgTenant("org_id")))
            """,
            "CREATE UNIQUE INDEX invitations_org_user ON engram.invitations (org_id, user_id)",
            "CREATE INDEX invitations_user ON engram.invitations (user_id)",
        ] + tenantRowSecurityV1("invitations", grant: crud) + [ownRowsV1("invitations")]
    )

    /// The audit log: the application role may read and append within its tenants, nothing else; the
    /// triggers refuse UPDATE, DELETE and TRUNCATE for every role, the owner included.
    static let audit = PostgresMigration(
        id: "0004_audit_v1",
        mirroring: ["audit-v1"],
        [
            """
            CREATE TABLE engram.audit_log (
              id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
              at double precision NOT NULL, org_id text, actor text NOT NULL, action text NOT NULL,
              memory_id text, before_hash text, after_hash text, detail text,
              tenant text GENERATED ALWAYS AS (CASE WHEN org_id IS NULL THEN 'user:' || actor ELSE 'org:' || org_id END) STORED NOT NULL)
            """,
            "CREATE INDEX audit_org ON engram.audit_log (org_id, id)",
            "ALTER TABLE engram.audit_log ENABLE ROW LEVEL SECURITY",
            "ALTER TABLE engram.audit_log FORCE ROW LEVEL SECURITY",
            "CREATE POLICY tenant_read ON engram.audit_log FOR SELECT TO {app} USING (tenant = ANY (engram.current_tenants()))",
            "CREATE POLICY tenant_append ON engram.audit_log FOR INSERT TO {app} WITH CHECK (tenant = ANY (engram.current_tenants()))",
            "CREATE POLICY owner_rows ON engram.audit_log TO CURRENT_USER USING (true) WITH CHECK (true)",
            "GRANT SELECT, INSERT ON engram.audit_log TO {app}",
            """
            CREATE TRIGGER audit_no_change BEFORE UPDATE OR DELETE ON engram.audit_log
              FOR EACH ROW EXECUTE FUNCTION engram.refuse_change()
            """,
            """
            CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON engram.audit_log
              FOR EACH STATEMENT EXECUTE FUNCTION engram.refuse_change()
            """,
        ]
    )

    /// Memory versions (immutable: no UPDATE grant, and a trigger), usage counters, the served log
    /// (append-only but purged), verdicts, webhook deliveries, and the org policies of the lifecycle.
    static let lifecycle = PostgresMigration(
        id: "0005_lifecycle_v1",
        mirroring: ["lifecycle-v1"],
        [
            """
            CREATE TABLE engram.memory_versions (
              memory_id text NOT NULL, version bigint NOT NULL, at double precision NOT NULL,
              actor text NOT NULL, channel text NOT NULL, client text, request_id text, reason text NOT NULL,
              org_id text, state text NOT NULL, content_hash text NOT NULL, snapshot bytea NOT NULL, \(memoryTenant),
              PRIMARY KEY (memory_id, version))
            """,
            "CREATE INDEX memory_versions_org ON engram.memory_versions (org_id, at)",
            """
            CREATE TRIGGER memory_versions_no_update BEFORE UPDATE ON engram.memory_versions
              FOR EACH ROW EXECUTE FUNCTION engram.refuse_change()
            """,
            """
            CREATE TABLE engram.memory_usage (
              memory_id text PRIMARY KEY, served_count bigint NOT NULL DEFAULT 0,
              last_served_at double precision, last_confirmed_at double precision, \(memoryTenant))
            """,
            """
            CREATE TABLE engram.served_log (
              id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, at double precision NOT NULL, memory_id text NOT NULL,
              user_id text NOT NULL, rank bigint NOT NULL, \(memoryTenant))
            """,
            "CREATE INDEX served_log_at ON engram.served_log (at)",
            """
            CREATE TRIGGER served_log_no_update BEFORE UPDATE ON engram.served_log
              FOR EACH ROW EXECUTE FUNCTION engram.refuse_change()
            """,
            """
            CREATE TABLE engram.memory_reports (
              id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, at double precision NOT NULL, memory_id text NOT NULL,
              org_id text, user_id text NOT NULL, verdict text NOT NULL, note text, resolved boolean NOT NULL DEFAULT false,
              \(memoryTenant))
            """,
            "CREATE INDEX memory_reports_memory ON engram.memory_reports (memory_id, resolved)",
            """
            CREATE TABLE engram.webhook_deliveries (
              org_id text NOT NULL, provider text NOT NULL, delivery_id text NOT NULL, at double precision NOT NULL,
              \(orgTenant("org_id")), PRIMARY KEY (org_id, provider, delivery_id))
            """,
            "ALTER TABLE engram.orgs ADD COLUMN stale_after_days bigint NOT NULL DEFAULT 180",
            "ALTER TABLE engram.orgs ADD COLUMN version_retention_days bigint NOT NULL DEFAULT 30",
            "ALTER TABLE engram.orgs ADD COLUMN webhook_secret text",
        ] + tenantRowSecurityV1("memory_versions", grant: "SELECT, INSERT, DELETE")
            + tenantRowSecurityV1("memory_usage", grant: crud)
            + tenantRowSecurityV1("served_log", grant: "SELECT, INSERT, DELETE")
            + tenantRowSecurityV1("memory_reports", grant: crud)
            + tenantRowSecurityV1("webhook_deliveries", grant: crud)
    )

    /// Rescans: memories and versions whose text fails today's secret filter (rows are never edited).
    static let quarantine = PostgresMigration(
        id: "0006_lifecycle_v2_quarantine",
        mirroring: ["lifecycle-v2-quarantine"],
        [
            """
            CREATE TABLE engram.quarantine (
              memory_id text NOT NULL, version bigint NOT NULL, org_id text, rules text NOT NULL, at double precision NOT NULL,
              \(memoryTenant), PRIMARY KEY (memory_id, version))
            """,
            "CREATE INDEX quarantine_org ON engram.quarantine (org_id, at)",
        ] + tenantRowSecurityV1("quarantine", grant: "SELECT, INSERT, DELETE")
    )

    /// Trust: four-eyes review per org, the token behind every version.
    static let trust = PostgresMigration(
        id: "0007_trust_v1",
        mirroring: ["trust-v1"],
        [
            "ALTER TABLE engram.orgs ADD COLUMN approver_must_differ boolean NOT NULL DEFAULT true",
            "ALTER TABLE engram.memory_versions ADD COLUMN token_id text",
            "CREATE INDEX memory_versions_at ON engram.memory_versions (at)",
        ]
    )

    /// Accounts (password hashes, sealed TOTP secrets, backup-code hashes, sessions by the cookie's
    /// hash, personal access tokens, single-use links by the secret's hash), the org's TOTP requirement,
    /// and the lookups that must work before anyone is signed in.
    static let accounts = PostgresMigration(
        id: "0008_accounts_v1",
        mirroring: ["accounts-v1"],
        [
            """
            CREATE TABLE engram.credentials (
              user_id text PRIMARY KEY REFERENCES engram.users(id) ON DELETE CASCADE,
              password_hash text, password_changed_at double precision,
              totp_secret bytea, totp_enabled boolean NOT NULL DEFAULT false, totp_last_step bigint NOT NULL DEFAULT 0,
              \(userTenant("user_id")))
            """,
            """
            CREATE TABLE engram.backup_codes (
              user_id text NOT NULL REFERENCES engram.users(id) ON DELETE CASCADE, code_hash text NOT NULL,
              used_at double precision, \(userTenant("user_id")), PRIMARY KEY (user_id, code_hash))
            """,
            """
            CREATE TABLE engram.sessions (
              id text PRIMARY KEY, secret_hash text NOT NULL UNIQUE,
              user_id text NOT NULL REFERENCES engram.users(id) ON DELETE CASCADE, org_id text, csrf_token text NOT NULL,
              created_at double precision NOT NULL, last_seen_at double precision NOT NULL, expires_at double precision NOT NULL,
              reauth_at double precision, ip text, user_agent text, \(userTenant("user_id")))
            """,
            "CREATE INDEX sessions_user ON engram.sessions (user_id)",
            """
            CREATE TABLE engram.access_tokens (
              jti text PRIMARY KEY, user_id text NOT NULL, org_id text, role text NOT NULL, name text NOT NULL,
              created_at double precision NOT NULL, expires_at double precision NOT NULL, \(userTenant("user_id")))
            """,
            "CREATE INDEX access_tokens_user ON engram.access_tokens (user_id)",
            """
            CREATE TABLE engram.credential_links (
              secret_hash text PRIMARY KEY, kind text NOT NULL, user_id text NOT NULL, invitation_id text,
              created_by text NOT NULL, created_at double precision NOT NULL, expires_at double precision NOT NULL,
              used_at double precision, \(userTenant("user_id")))
            """,
            "CREATE INDEX credential_links_user ON engram.credential_links (user_id, kind)",
            "ALTER TABLE engram.orgs ADD COLUMN require_totp boolean NOT NULL DEFAULT false",
        ] + tenantRowSecurityV1("credentials", grant: crud)
            + tenantRowSecurityV1("backup_codes", grant: crud)
            + tenantRowSecurityV1("sessions", grant: crud)
            + tenantRowSecurityV1("access_tokens", grant: crud)
            + tenantRowSecurityV1("credential_links", grant: crud)
            + [
                """
                CREATE FUNCTION engram.sign_in_lookup(p_user text)
                RETURNS TABLE (password_hash text, totp_secret bytea, totp_enabled boolean, totp_last_step bigint,
                               org_id text, role text)
                LANGUAGE sql STABLE SECURITY DEFINER SET search_path = engram, pg_temp AS $$
                  SELECT c.password_hash, c.totp_secret, c.totp_enabled, c.totp_last_step, m.org_id, m.role
                  FROM engram.credentials c LEFT JOIN engram.members m ON m.user_id = c.user_id
                  WHERE c.user_id = p_user
                  ORDER BY m.org_id
                $$
                """,
                """
                CREATE FUNCTION engram.session_by_secret(p_secret_hash text)
                RETURNS TABLE (id text, user_id text, org_id text, csrf_token text, created_at double precision,
                               last_seen_at double precision, expires_at double precision, reauth_at double precision)
                LANGUAGE sql STABLE SECURITY DEFINER SET search_path = engram, pg_temp AS $$
                  SELECT s.id, s.user_id, s.org_id, s.csrf_token, s.created_at, s.last_seen_at, s.expires_at, s.reauth_at
                  FROM engram.sessions s WHERE s.secret_hash = p_secret_hash
                $$
                """,
                """
                CREATE FUNCTION engram.link_by_secret(p_secret_hash text)
                RETURNS TABLE (kind text, user_id text, invitation_id text, created_by text, created_at double precision,
                               expires_at double precision, used_at double precision)
                LANGUAGE sql STABLE SECURITY DEFINER SET search_path = engram, pg_temp AS $$
                  SELECT l.kind, l.user_id, l.invitation_id, l.created_by, l.created_at, l.expires_at, l.used_at
                  FROM engram.credential_links l WHERE l.secret_hash = p_secret_hash
                $$
                """,
            ] + definerGrantsV1("sign_in_lookup(text)") + definerGrantsV1("session_by_secret(text)")
            + definerGrantsV1("link_by_secret(text)")
    )

    /// OAuth: registered clients (global), authorization codes and refresh tokens (the user's, found by
    /// their hash before the user is known), and the access tokens of each grant family (global).
    static let oauth = PostgresMigration(
        id: "0009_oauth_v1",
        mirroring: ["oauth-v1"],
        [
            """
            CREATE TABLE engram.oauth_clients (
              client_id text PRIMARY KEY, client_name text, redirect_uris text NOT NULL, created_at double precision NOT NULL)
            """,
            """
            CREATE TABLE engram.oauth_codes (
              code_hash text PRIMARY KEY, family text NOT NULL, client_id text NOT NULL, user_id text NOT NULL, org_id text,
              resource text NOT NULL, redirect_uri text NOT NULL, code_challenge text NOT NULL, scope text,
              expires_at double precision NOT NULL, used_at double precision, \(userTenant("user_id")))
            """,
            """
            CREATE TABLE engram.oauth_refresh_tokens (
              token_hash text PRIMARY KEY, family text NOT NULL, client_id text NOT NULL, user_id text NOT NULL, org_id text,
              resource text NOT NULL, scope text, created_at double precision NOT NULL, expires_at double precision NOT NULL,
              used_at double precision, revoked_at double precision, \(userTenant("user_id")))
            """,
            "CREATE INDEX oauth_refresh_family ON engram.oauth_refresh_tokens (family)",
            "CREATE TABLE engram.oauth_access_tokens (jti text PRIMARY KEY, family text NOT NULL, expires_at double precision NOT NULL)",
            "CREATE INDEX oauth_access_family ON engram.oauth_access_tokens (family)",
            "GRANT SELECT, INSERT ON engram.oauth_clients TO {app}",
            "GRANT SELECT, INSERT ON engram.oauth_access_tokens TO {app}",
        ] + tenantRowSecurityV1("oauth_codes", grant: crud)
            + tenantRowSecurityV1("oauth_refresh_tokens", grant: crud)
            + [
                """
                CREATE FUNCTION engram.oauth_code_by_hash(p_code_hash text)
                RETURNS TABLE (family text, client_id text, user_id text, org_id text, resource text, redirect_uri text,
                               code_challenge text, scope text, expires_at double precision, used_at double precision)
                LANGUAGE sql STABLE SECURITY DEFINER SET search_path = engram, pg_temp AS $$
                  SELECT c.family, c.client_id, c.user_id, c.org_id, c.resource, c.redirect_uri, c.code_challenge, c.scope,
                         c.expires_at, c.used_at
                  FROM engram.oauth_codes c WHERE c.code_hash = p_code_hash
                $$
                """,
                """
                CREATE FUNCTION engram.oauth_refresh_by_hash(p_token_hash text)
                RETURNS TABLE (family text, client_id text, user_id text, org_id text, resource text, scope text,
                               created_at double precision, expires_at double precision, used_at double precision,
                               revoked_at double precision)
                LANGUAGE sql STABLE SECURITY DEFINER SET search_path = engram, pg_temp AS $$
                  SELECT r.family, r.client_id, r.user_id, r.org_id, r.resource, r.scope, r.created_at, r.expires_at,
                         r.used_at, r.revoked_at
                  FROM engram.oauth_refresh_tokens r WHERE r.token_hash = p_token_hash
                $$
                """,
            ] + definerGrantsV1("oauth_code_by_hash(text)") + definerGrantsV1("oauth_refresh_by_hash(text)")
    )

    /// Which master key sealed values are under (one global row), and memory versions that stay
    /// immutable except for their snapshot while a key rotation runs (the application role may update
    /// that one column; the trigger refuses any other change, and that one outside a rotation).
    static let encryption = PostgresMigration(
        id: "0010_encryption_v1",
        mirroring: ["encryption-v1"],
        [
            """
            CREATE TABLE engram.encryption_state (
              id bigint PRIMARY KEY CHECK (id = 1), key_id text NOT NULL, target_key_id text,
              rotating boolean NOT NULL DEFAULT false, since double precision NOT NULL)
            """,
            "GRANT SELECT, INSERT, UPDATE ON engram.encryption_state TO {app}",
            """
            CREATE FUNCTION engram.refuse_version_change() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              IF (NEW.memory_id, NEW.version, NEW.at, NEW.actor, NEW.channel, NEW.client, NEW.request_id, NEW.reason,
                  NEW.org_id, NEW.state, NEW.content_hash, NEW.token_id, NEW.tenant)
                 IS NOT DISTINCT FROM
                 (OLD.memory_id, OLD.version, OLD.at, OLD.actor, OLD.channel, OLD.client, OLD.request_id, OLD.reason,
                  OLD.org_id, OLD.state, OLD.content_hash, OLD.token_id, OLD.tenant)
                 AND coalesce((SELECT rotating FROM engram.encryption_state WHERE id = 1), false) THEN
                RETURN NEW;
              END IF;
              RAISE EXCEPTION 'engram.memory_versions are immutable: % refused', TG_OP USING ERRCODE = '42501';
            END
            $$
            """,
            "REVOKE ALL ON FUNCTION engram.refuse_version_change() FROM PUBLIC",
            "DROP TRIGGER memory_versions_no_update ON engram.memory_versions",
            """
            CREATE TRIGGER memory_versions_no_update BEFORE UPDATE ON engram.memory_versions
              FOR EACH ROW EXECUTE FUNCTION engram.refuse_version_change()
            """,
            "GRANT UPDATE (snapshot) ON engram.memory_versions TO {app}",
        ]
    )
}
