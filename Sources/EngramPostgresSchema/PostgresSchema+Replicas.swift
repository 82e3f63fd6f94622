/// The migrations that let several replicas share one database: the cross-tenant operations as SECURITY
/// DEFINER functions, the change feed, replica coordination and the store-write outbox.
extension PostgresSchema {
    /// The metadata store's cross-tenant operations (`GlobalQueries`), as SECURITY DEFINER functions the
    /// application role may call from `withGlobal` (where it sees no tenant row): the session lookup with
    /// every column, the session sweep, the lifecycle's start-up loaders, walks and sweeps, and the
    /// background writes across tenants (the usage flush, a rescan's quarantine hits), which file each row
    /// under its memory's tenant (`memory_tenant`: the tenant of the memory's versions, else of its usage row;
    /// a memory with neither has no tenant and its row is skipped).
    static let metadataGlobal = PostgresMigration(
        id: "0011_metadata_global_v1",
        mirroring: [],
        [
            """
            CREATE FUNCTION engram.session_by_secret_v2(p_secret_hash text)
            RETURNS TABLE (id text, user_id text, org_id text, csrf_token text, created_at double precision,
                           last_seen_at double precision, expires_at double precision, reauth_at double precision,
                           ip text, user_agent text)
            LANGUAGE sql STABLE SECURITY DEFINER SET search_path = engram, pg_temp AS $$
              SELECT s.id, s.user_id, s.org_id, s.csrf_token, s.created_at, s.last_seen_at, s.expires_at, s.reauth_at, s.ip,
                     s.user_agent
              FROM engram.sessions s WHERE s.secret_hash = p_secret_hash
            $$
            """,
            """
            CREATE FUNCTION engram.delete_expired_sessions(p_before double precision)
            RETURNS bigint
            LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = engram, pg_temp AS $$
              WITH gone AS (DELETE FROM engram.sessions WHERE expires_at < p_before RETURNING 1) SELECT count(*) FROM gone
            $$
            """,
            """
            CREATE FUNCTION engram.latest_version_numbers()
            RETURNS TABLE (memory_id text, version bigint)
            LANGUAGE sql STABLE SECURITY DEFINER SET search_path = engram, pg_temp AS $$
              SELECT v.memory_id, max(v.version) FROM engram.memory_versions v GROUP BY v.memory_id
            $$
            """,
            """
            CREATE FUNCTION engram.all_versions()
            RETURNS TABLE (memory_id text, version bigint, at double precision, actor text, channel text, client text,
                           request_id text, reason text, org_id text, state text, content_hash text, snapshot bytea,
                           token_id text)
            LANGUAGE sql STABLE SECURITY DEFINER SET search_path = engram, pg_temp AS $$
              SELECT v.memory_id, v.version, v.at, v.actor, v.channel, v.client, v.request_id, v.reason, v.org_id, v.state,
                     v.content_hash, v.snapshot, v.token_id
              FROM engram.memory_versions v ORDER BY v.memory_id, v.version
            $$
            """,
            """
            CREATE FUNCTION engram.deleted_before(p_before double precision)
            RETURNS TABLE (memory_id text, org_id text, at double precision)
            LANGUAGE sql STABLE SECURITY DEFINER SET search_path = engram, pg_temp AS $$
              SELECT v.memory_id, v.org_id, v.at FROM engram.memory_versions v
              JOIN (SELECT memory_id, max(version) AS top FROM engram.memory_versions GROUP BY memory_id) t
                ON t.memory_id = v.memory_id AND t.top = v.version
              WHERE v.state = 'deleted' AND v.at < p_before
            $$
            """,
            """
            CREATE FUNCTION engram.purge_memories(p_memory_ids text[])
            RETURNS void
            LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = engram, pg_temp AS $$
              DELETE FROM engram.memory_versions WHERE memory_id = ANY (p_memory_ids);
              DELETE FROM engram.memory_usage WHERE memory_id = ANY (p_memory_ids);
              DELETE FROM engram.served_log WHERE memory_id = ANY (p_memory_ids);
              DELETE FROM engram.memory_reports WHERE memory_id = ANY (p_memory_ids);
              DELETE FROM engram.quarantine WHERE memory_id = ANY (p_memory_ids);
            $$
            """,
            """
            CREATE FUNCTION engram.all_usage()
            RETURNS TABLE (memory_id text, served_count bigint, last_served_at double precision, last_confirmed_at double precision)
            LANGUAGE sql STABLE SECURITY DEFINER SET search_path = engram, pg_temp AS $$
              SELECT u.memory_id, u.served_count, u.last_served_at, u.last_confirmed_at FROM engram.memory_usage u
            $$
            """,
            """
            CREATE FUNCTION engram.memory_tenant(p_memory_id text)
            RETURNS text
            LANGUAGE sql STABLE SET search_path = engram, pg_temp AS $$
              SELECT coalesce(
                (SELECT v.tenant FROM engram.memory_versions v WHERE v.memory_id = p_memory_id ORDER BY v.version DESC LIMIT 1),
                (SELECT u.tenant FROM engram.memory_usage u WHERE u.memory_id = p_memory_id))
            $$
            """,
            """
            CREATE FUNCTION engram.record_served(p_at double precision, p_memory_id text, p_user_id text, p_rank bigint)
            RETURNS bigint
            LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = engram, pg_temp AS $$
              WITH added AS (
                INSERT INTO engram.served_log (at, memory_id, user_id, rank, tenant)
                SELECT p_at, p_memory_id, p_user_id, p_rank, t.tenant FROM (SELECT engram.memory_tenant(p_memory_id) AS tenant) t
                WHERE t.tenant IS NOT NULL RETURNING 1)
              SELECT count(*) FROM added
            $$
            """,
            """
            CREATE FUNCTION engram.record_usage(p_memory_id text, p_served_count bigint, p_last_served_at double precision, p_last_confirmed_at double precision)
            RETURNS bigint
            LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = engram, pg_temp AS $$
              WITH put AS (
                INSERT INTO engram.memory_usage (memory_id, served_count, last_served_at, last_confirmed_at, tenant)
                SELECT p_memory_id, p_served_count, p_last_served_at, p_last_confirmed_at, t.tenant
                FROM (SELECT engram.memory_tenant(p_memory_id) AS tenant) t WHERE t.tenant IS NOT NULL
                ON CONFLICT (memory_id) DO UPDATE SET served_count = excluded.served_count,
                  last_served_at = excluded.last_served_at, last_confirmed_at = excluded.last_confirmed_at
                RETURNING 1)
              SELECT count(*) FROM put
            $$
            """,
            """
            CREATE FUNCTION engram.all_reports()
            RETURNS TABLE (id bigint, at double precision, memory_id text, org_id text, user_id text, verdict text, note text,
                           resolved boolean)
            LANGUAGE sql STABLE SECURITY DEFINER SET search_path = engram, pg_temp AS $$
              SELECT r.id, r.at, r.memory_id, r.org_id, r.user_id, r.verdict, r.note, r.resolved
              FROM engram.memory_reports r ORDER BY r.id
            $$
            """,
            """
            CREATE FUNCTION engram.purge_served_log(p_before double precision)
            RETURNS bigint
            LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = engram, pg_temp AS $$
              WITH gone AS (DELETE FROM engram.served_log WHERE at < p_before RETURNING 1) SELECT count(*) FROM gone
            $$
            """,
            """
            CREATE FUNCTION engram.purge_deliveries(p_before double precision)
            RETURNS bigint
            LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = engram, pg_temp AS $$
              WITH gone AS (DELETE FROM engram.webhook_deliveries WHERE at < p_before RETURNING 1) SELECT count(*) FROM gone
            $$
            """,
            """
            CREATE FUNCTION engram.all_policies()
            RETURNS TABLE (id text, stale_after_days bigint, version_retention_days bigint, approver_must_differ boolean)
            LANGUAGE sql STABLE SECURITY DEFINER SET search_path = engram, pg_temp AS $$
              SELECT o.id, o.stale_after_days, o.version_retention_days, o.approver_must_differ FROM engram.orgs o
            $$
            """,
            """
            CREATE FUNCTION engram.quarantine_version(p_memory_id text, p_version bigint, p_org_id text, p_rules text, p_at double precision)
            RETURNS bigint
            LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = engram, pg_temp AS $$
              WITH added AS (
                INSERT INTO engram.quarantine (memory_id, version, org_id, rules, at, tenant)
                SELECT p_memory_id, p_version, p_org_id, p_rules, p_at,
                       coalesce(engram.memory_tenant(p_memory_id), 'org:' || p_org_id)
                WHERE coalesce(engram.memory_tenant(p_memory_id), 'org:' || p_org_id) IS NOT NULL
                ON CONFLICT (memory_id, version) DO NOTHING RETURNING 1)
              SELECT count(*) FROM added
            $$
            """,
            """
            CREATE FUNCTION engram.quarantined_rows(p_org_id text)
            RETURNS TABLE (memory_id text, version bigint, org_id text, rules text, at double precision)
            LANGUAGE sql STABLE SECURITY DEFINER SET search_path = engram, pg_temp AS $$
              SELECT q.memory_id, q.version, q.org_id, q.rules, q.at FROM engram.quarantine q
              WHERE p_org_id IS NULL OR q.org_id = p_org_id ORDER BY q.at DESC
            $$
            """,
            // Not a definer, and closed to the application role: only the definer functions call it (as the owner).
            "REVOKE ALL ON FUNCTION engram.memory_tenant(text) FROM PUBLIC",
        ] + definerGrantsV1("session_by_secret_v2(text)")
            + definerGrantsV1("delete_expired_sessions(double precision)")
            + definerGrantsV1("latest_version_numbers()")
            + definerGrantsV1("all_versions()")
            + definerGrantsV1("deleted_before(double precision)")
            + definerGrantsV1("purge_memories(text[])")
            + definerGrantsV1("all_usage()")
            + definerGrantsV1("record_served(double precision, text, text, bigint)")
            + definerGrantsV1("record_usage(text, bigint, double precision, double precision)")
            + definerGrantsV1("all_reports()")
            + definerGrantsV1("purge_served_log(double precision)")
            + definerGrantsV1("purge_deliveries(double precision)")
            + definerGrantsV1("all_policies()")
            + definerGrantsV1("quarantine_version(text, bigint, text, text, double precision)")
            + definerGrantsV1("quarantined_rows(text)")
    )

    /// The change feed replicas follow (`GlobalQueries.changes`): every memory version recorded and every
    /// change of an organisation's settings appends a row, in the writing transaction, by trigger (so no
    /// write path can forget it). The rows name memories and organisations by id with a version's number,
    /// state and content hash, never content; the application role reads them and purges old ones through
    /// a definer function. No NOTIFY: it serialises every commit on a global lock, and followers poll.
    static let changes = PostgresMigration(
        id: "0012_changes_v1",
        mirroring: [],
        [
            """
            CREATE TABLE engram.changes (
              seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, kind text NOT NULL CHECK (kind IN ('memory', 'org')),
              key text NOT NULL, version bigint, state text, content_hash text,
              at double precision NOT NULL DEFAULT extract(epoch FROM clock_timestamp()))
            """,
            "CREATE INDEX changes_at ON engram.changes (at)",
            "GRANT SELECT ON engram.changes TO {app}",
            """
            CREATE FUNCTION engram.note_memory_change() RETURNS trigger
            LANGUAGE plpgsql SECURITY DEFINER SET search_path = engram, pg_temp AS $$
            BEGIN
              INSERT INTO engram.changes (kind, key, version, state, content_hash)
              VALUES ('memory', NEW.memory_id, NEW.version, NEW.state, NEW.content_hash);
              RETURN NULL;
            END
            $$
            """,
            """
            CREATE FUNCTION engram.note_org_change() RETURNS trigger
            LANGUAGE plpgsql SECURITY DEFINER SET search_path = engram, pg_temp AS $$
            BEGIN
              INSERT INTO engram.changes (kind, key) VALUES ('org', NEW.id);
              RETURN NULL;
            END
            $$
            """,
            """
            CREATE TRIGGER memory_versions_changed AFTER INSERT ON engram.memory_versions
              FOR EACH ROW EXECUTE FUNCTION engram.note_memory_change()
            """,
            """
            CREATE TRIGGER orgs_changed AFTER UPDATE ON engram.orgs
              FOR EACH ROW WHEN (OLD IS DISTINCT FROM NEW) EXECUTE FUNCTION engram.note_org_change()
            """,
            """
            CREATE FUNCTION engram.purge_changes(p_before double precision)
            RETURNS bigint
            LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = engram, pg_temp AS $$
              WITH gone AS (DELETE FROM engram.changes WHERE at < p_before RETURNING 1) SELECT count(*) FROM gone
            $$
            """,
        ] + definerGrantsV1("purge_changes(double precision)")
            // Trigger functions cannot be called directly; the grant only keeps every definer function's rule.
            + definerGrantsV1("note_memory_change()") + definerGrantsV1("note_org_change()")
    )

    /// What several replicas on one database share (no SQLite counterpart: one process owns a SQLite file).
    /// - `engram.record_usage_v2` adds a flush's served-count increment to the stored count and keeps the
    ///   later of the stored and the new times, so replicas flushing the same memory add up instead of
    ///   overwriting each other (`engram.record_usage`, which wrote absolute values, stays for older builds).
    /// - `engram.rate_buckets`, UNLOGGED (a crash empties it: every bucket full again), holds the token
    ///   buckets of the write and failed-authentication limits, keyed by a digest of the limiter's name and
    ///   its client key (never a token, IP or user id in clear). `engram.take_rate_token` refills and takes
    ///   on the database's clock in one `INSERT … ON CONFLICT DO UPDATE … RETURNING`, so replicas with
    ///   skewed clocks agree; with `p_take` false it only looks. It also forgets buckets that are full again.
    static let replicas = PostgresMigration(
        id: "0013_replicas_v1",
        mirroring: [],
        [
            """
            CREATE FUNCTION engram.record_usage_v2(p_memory_id text, p_served_increment bigint, p_last_served_at double precision,
                                                   p_last_confirmed_at double precision)
            RETURNS bigint
            LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = engram, pg_temp AS $$
              WITH put AS (
                INSERT INTO engram.memory_usage AS u (memory_id, served_count, last_served_at, last_confirmed_at, tenant)
                SELECT p_memory_id, greatest(p_served_increment, 0), p_last_served_at, p_last_confirmed_at, t.tenant
                FROM (SELECT engram.memory_tenant(p_memory_id) AS tenant) t WHERE t.tenant IS NOT NULL
                ON CONFLICT (memory_id) DO UPDATE SET served_count = greatest(u.served_count + p_served_increment, 0),
                  last_served_at = greatest(u.last_served_at, excluded.last_served_at),
                  last_confirmed_at = greatest(u.last_confirmed_at, excluded.last_confirmed_at)
                RETURNING 1)
              SELECT count(*) FROM put
            $$
            """,
            """
            CREATE UNLOGGED TABLE engram.rate_buckets (
              key text PRIMARY KEY, tokens double precision NOT NULL, updated double precision NOT NULL,
              full_at double precision NOT NULL, taken boolean NOT NULL)
            """,
            """
            CREATE FUNCTION engram.take_rate_token(p_key text, p_rate double precision, p_burst double precision, p_take boolean)
            RETURNS double precision
            LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = engram, pg_temp AS $$
            DECLARE
              at_now double precision := extract(epoch FROM clock_timestamp());
              have double precision;
              took boolean;
            BEGIN
              IF p_rate <= 0 THEN
                RETURN NULL;
              END IF;
              IF NOT p_take THEN
                SELECT least(p_burst, b.tokens + greatest(at_now - b.updated, 0) * p_rate) INTO have
                FROM engram.rate_buckets b WHERE b.key = p_key;
                RETURN CASE WHEN have IS NULL OR have >= 1 THEN NULL ELSE (1 - have) / p_rate END;
              END IF;
              IF random() < 0.01 THEN
                DELETE FROM engram.rate_buckets b WHERE b.full_at < at_now;
              END IF;
              INSERT INTO engram.rate_buckets AS b (key, tokens, updated, full_at, taken)
              VALUES (p_key, greatest(p_burst - 1, 0), at_now, at_now + 1 / p_rate, p_burst >= 1)
              ON CONFLICT (key) DO UPDATE SET
                taken = least(p_burst, b.tokens + greatest(at_now - b.updated, 0) * p_rate) >= 1,
                tokens = least(p_burst, b.tokens + greatest(at_now - b.updated, 0) * p_rate)
                  - CASE WHEN least(p_burst, b.tokens + greatest(at_now - b.updated, 0) * p_rate) >= 1 THEN 1 ELSE 0 END,
                updated = at_now,
                full_at = at_now + (p_burst - least(p_burst, b.tokens + greatest(at_now - b.updated, 0) * p_rate)
                  + CASE WHEN least(p_burst, b.tokens + greatest(at_now - b.updated, 0) * p_rate) >= 1 THEN 1 ELSE 0 END) / p_rate
              RETURNING b.taken, b.tokens INTO took, have;
              RETURN CASE WHEN took THEN NULL ELSE (1 - have) / p_rate END;
            END
            $$
            """,
        ] + definerGrantsV1("record_usage_v2(text, bigint, double precision, double precision)")
            + definerGrantsV1("take_rate_token(text, double precision, double precision, boolean)")
    )

    /// The outbox of memory writes (SQLite `outbox-v1`; `OutboxRow`): a version's pending vector-store
    /// write, inserted with the version under the tenant's row security. Rows age on the database's clock,
    /// so a replica with a skewed clock does not take a live write for an orphan. The definer functions
    /// settle rows (any replica may finish any tenant's write), list the orphans with their latest
    /// version, and count what is pending.
    static let outbox = PostgresMigration(
        id: "0014_outbox_v1",
        mirroring: ["outbox-v1"],
        [
            """
            CREATE TABLE engram.outbox (
              memory_id text NOT NULL, version bigint NOT NULL,
              at double precision NOT NULL DEFAULT extract(epoch FROM clock_timestamp()), \(memoryTenant),
              PRIMARY KEY (memory_id, version))
            """,
            "CREATE INDEX outbox_at ON engram.outbox (at)",
            """
            CREATE FUNCTION engram.settle_outbox(p_memory_ids text[], p_versions bigint[])
            RETURNS bigint
            LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = engram, pg_temp AS $$
              WITH gone AS (
                DELETE FROM engram.outbox o USING unnest(p_memory_ids, p_versions) AS s(memory_id, version)
                WHERE o.memory_id = s.memory_id AND o.version <= s.version RETURNING 1)
              SELECT count(*) FROM gone
            $$
            """,
            """
            CREATE FUNCTION engram.stale_outbox(p_age double precision, p_limit bigint)
            RETURNS TABLE (memory_id text, version bigint, at double precision, actor text, channel text, client text,
                           request_id text, reason text, org_id text, state text, content_hash text, snapshot bytea,
                           token_id text)
            LANGUAGE sql STABLE SECURITY DEFINER SET search_path = engram, pg_temp AS $$
              SELECT v.memory_id, v.version, v.at, v.actor, v.channel, v.client, v.request_id, v.reason, v.org_id, v.state,
                     v.content_hash, v.snapshot, v.token_id
              FROM (SELECT o.memory_id, min(o.at) AS since FROM engram.outbox o GROUP BY o.memory_id
                    HAVING max(o.at) < extract(epoch FROM clock_timestamp()) - p_age ORDER BY since LIMIT p_limit) p
              JOIN LATERAL (SELECT * FROM engram.memory_versions w WHERE w.memory_id = p.memory_id
                            ORDER BY w.version DESC LIMIT 1) v ON true
              ORDER BY p.since
            $$
            """,
            """
            CREATE FUNCTION engram.outbox_depth()
            RETURNS TABLE (pending bigint, oldest double precision)
            LANGUAGE sql STABLE SECURITY DEFINER SET search_path = engram, pg_temp AS $$
              SELECT count(*), min(o.at) FROM engram.outbox o
            $$
            """,
        ] + tenantRowSecurityV1("outbox", grant: "SELECT, INSERT")
            + definerGrantsV1("settle_outbox(text[], bigint[])")
            + definerGrantsV1("stale_outbox(double precision, bigint)")
            + definerGrantsV1("outbox_depth()")
    )
}
