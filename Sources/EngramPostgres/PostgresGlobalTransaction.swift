import EngramMetadata
import Foundation
import PostgresNIO

/// The cross-tenant operations inside one `PostgresEngine.withGlobal` transaction: the global tables
/// directly, every tenant table through the SECURITY DEFINER functions of migration `0011`.
struct PostgresGlobalTransaction: GlobalQueries {
    let tx: PostgresTransaction
    let sealing: PostgresSealing

    init(tx: PostgresTransaction, sealer: (any RecordSealing)?) {
        self.tx = tx
        sealing = PostgresSealing(sealer: sealer)
    }

    func revoke(jti: String, at time: Double, expiresAt: Double?) throws {
        try tx.execute(
            """
            INSERT INTO engram.revoked_tokens (jti, revoked_at, expires_at) VALUES (\(jti), \(time), \(expiresAt))
            ON CONFLICT (jti) DO UPDATE SET revoked_at = excluded.revoked_at, expires_at = excluded.expires_at
            """
        )
    }

    func isRevoked(jti: String) throws -> Bool {
        try tx.column("SELECT EXISTS (SELECT 1 FROM engram.revoked_tokens WHERE jti = \(jti))", as: Bool.self).first ?? false
    }

    func session(secretHash: String) throws -> SessionRow? {
        try tx.rows(
            """
            SELECT id, \(secretHash), user_id, org_id, csrf_token, created_at, last_seen_at, expires_at, reauth_at, ip, user_agent
            FROM engram.session_by_secret_v2(\(secretHash))
            """,
            as: SessionTuple.self
        ).first.map(sessionRow)
    }

    func link(secretHash: String) throws -> CredentialLinkRow? {
        try tx.rows(
            """
            SELECT \(secretHash), kind, user_id, invitation_id, created_by, created_at, expires_at, used_at
            FROM engram.link_by_secret(\(secretHash))
            """,
            as: LinkTuple.self
        ).first.map(linkRow)
    }

    func deleteExpiredSessions(before time: Double) throws {
        try tx.query("SELECT engram.delete_expired_sessions(\(time))")
    }

    func insertClient(_ c: OAuthClientRow) throws {
        let uris = String(decoding: try JSONEncoder().encode(c.redirectURIs), as: UTF8.self)
        try tx.execute(
            """
            INSERT INTO engram.oauth_clients (client_id, client_name, redirect_uris, created_at)
            VALUES (\(c.clientId), \(c.clientName), \(uris), \(c.createdAt))
            """
        )
    }

    func client(id: String) throws -> OAuthClientRow? {
        try tx.rows(
            "SELECT client_id, client_name, redirect_uris, created_at FROM engram.oauth_clients WHERE client_id = \(id)",
            as: (String, String?, String, Double).self
        ).first.map {
            OAuthClientRow(
                clientId: $0.0,
                clientName: $0.1,
                redirectURIs: (try? JSONDecoder().decode([String].self, from: Data($0.2.utf8))) ?? [],
                createdAt: $0.3
            )
        }
    }

    func code(hash: String) throws -> OAuthGrantRow? {
        try tx.rows(
            """
            SELECT \(hash), family, client_id, user_id, org_id, resource, scope, expires_at, used_at, redirect_uri, code_challenge
            FROM engram.oauth_code_by_hash(\(hash))
            """,
            as: CodeTuple.self
        ).first.map(codeRow)
    }

    func refreshToken(hash: String) throws -> OAuthGrantRow? {
        try tx.rows(
            """
            SELECT \(hash), family, client_id, user_id, org_id, resource, scope, expires_at, used_at, revoked_at
            FROM engram.oauth_refresh_by_hash(\(hash))
            """,
            as: RefreshTuple.self
        ).first.map(refreshRow)
    }

    func latestVersionNumbers() throws -> [String: Int] {
        var out: [String: Int] = [:]
        for (id, version) in try tx.rows("SELECT memory_id, version FROM engram.latest_version_numbers()", as: (String, Int).self) {
            out[id] = version
        }
        return out
    }

    func allVersions() throws -> [VersionRow] {
        try tx.rows("SELECT \(unescaped: versionColumns) FROM engram.all_versions()", as: VersionTuple.self)
            .map { sealing.opened(versionRow($0)) }
    }

    func deletedBefore(_ before: Double) throws -> [(memoryId: String, orgId: String?, at: Double)] {
        try tx.rows("SELECT memory_id, org_id, at FROM engram.deleted_before(\(before))", as: (String, String?, Double).self)
            .map { (memoryId: $0.0, orgId: $0.1, at: $0.2) }
    }

    func purge(memoryIds: [String]) throws {
        guard !memoryIds.isEmpty else { return }
        try tx.query("SELECT engram.purge_memories(\(memoryIds)::text[])")
    }

    func allUsage() throws -> [UsageRow] {
        try tx.rows(
            "SELECT memory_id, served_count, last_served_at, last_confirmed_at FROM engram.all_usage()",
            as: (String, Int, Double?, Double?).self
        ).map { UsageRow(memoryId: $0.0, servedCount: $0.1, lastServedAt: $0.2, lastConfirmedAt: $0.3) }
    }

    func recordUsage(served: [ServedRow], usage: [UsageRow]) throws {
        for r in served {
            try tx.query("SELECT engram.record_served(\(r.at), \(r.memoryId), \(r.userId), \(Int64(r.rank)))")
        }
        for u in usage {
            try tx.query(
                "SELECT engram.record_usage_v2(\(u.memoryId), \(Int64(u.servedCount)), \(u.lastServedAt), \(u.lastConfirmedAt))"
            )
        }
    }

    func allReports() throws -> [ReportRow] {
        try tx.rows("SELECT id, at, memory_id, org_id, user_id, verdict, note, resolved FROM engram.all_reports()", as: ReportTuple.self)
            .map(reportRow)
    }

    @discardableResult
    func purgeServedLog(before: Double) throws -> Int {
        try tx.column("SELECT engram.purge_served_log(\(before))", as: Int.self).first ?? 0
    }

    func purgeDeliveries(before: Double) throws {
        try tx.query("SELECT engram.purge_deliveries(\(before))")
    }

    func policies() throws -> [String: LifecyclePolicyRow] {
        var out: [String: LifecyclePolicyRow] = [:]
        for (id, stale, retention, differ) in try tx.rows(
            "SELECT id, stale_after_days, version_retention_days, approver_must_differ FROM engram.all_policies()",
            as: (String, Int, Int, Bool).self
        ) {
            out[id] = LifecyclePolicyRow(staleAfterDays: stale, versionRetentionDays: retention, approverMustDiffer: differ)
        }
        return out
    }

    @discardableResult
    func quarantine(_ rows: [QuarantineRow]) throws -> Int {
        var added = 0
        for r in rows {
            added +=
                try tx.column(
                    "SELECT engram.quarantine_version(\(r.memoryId), \(Int64(r.version)), \(r.orgId), \(r.rules), \(r.at))",
                    as: Int.self
                ).first ?? 0
        }
        return added
    }

    func quarantined(orgId: String?) throws -> [QuarantineRow] {
        try tx.rows(
            "SELECT memory_id, version, org_id, rules, at FROM engram.quarantined_rows(\(orgId)::text)",
            as: QuarantineTuple.self
        ).map(quarantineRow)
    }

    func changes(after seq: Int64, limit: Int) throws -> [ChangeRow] {
        try tx.rows(
            """
            SELECT seq, kind, key, version, state, content_hash, at FROM engram.changes
            WHERE seq > \(seq) ORDER BY seq LIMIT \(Int64(limit))
            """,
            as: (Int64, String, String, Int?, String?, String?, Double).self
        ).compactMap(Self.changeRow)
    }

    func changes(at positions: [Int64]) throws -> [ChangeRow] {
        guard !positions.isEmpty else { return [] }
        return try tx.rows(
            """
            SELECT seq, kind, key, version, state, content_hash, at FROM engram.changes
            WHERE seq = ANY(\(positions)) ORDER BY seq
            """,
            as: (Int64, String, String, Int?, String?, String?, Double).self
        ).compactMap(Self.changeRow)
    }

    private static func changeRow(
        _ seq: Int64,
        _ kind: String,
        _ key: String,
        _ version: Int?,
        _ state: String?,
        _ hash: String?,
        _ at: Double
    ) -> ChangeRow? {
        ChangeRow.Kind(rawValue: kind).map {
            ChangeRow(seq: seq, kind: $0, key: key, version: version, state: state, contentHash: hash, at: at)
        }
    }

    func latestChange() throws -> Int64 {
        try tx.column("SELECT coalesce(max(seq), 0)::bigint FROM engram.changes", as: Int64.self).first ?? 0
    }

    @discardableResult
    func purgeChanges(before: Double) throws -> Int {
        try tx.column("SELECT engram.purge_changes(\(before))", as: Int.self).first ?? 0
    }

    func settleOutbox(_ keys: [OutboxKey]) throws {
        guard !keys.isEmpty else { return }
        let ids = keys.map(\.memoryId)
        let versions = keys.map { Int64($0.version) }
        _ = try tx.column("SELECT engram.settle_outbox(\(ids)::text[], \(versions)::bigint[])", as: Int64.self)
    }

    func staleOutbox(olderThan age: Double, now: Double, limit: Int) throws -> [VersionRow] {
        try tx.rows(
            "SELECT \(unescaped: versionColumns) FROM engram.stale_outbox(\(age), \(Int64(limit)))",
            as: VersionTuple.self
        ).map { sealing.opened(versionRow($0)) }
    }

    func outboxDepth() throws -> OutboxDepth {
        let rows = try tx.rows("SELECT pending, oldest FROM engram.outbox_depth()", as: (Int64, Double?).self)
        return OutboxDepth(pending: Int(rows.first?.0 ?? 0), oldestAt: rows.first?.1)
    }
}
