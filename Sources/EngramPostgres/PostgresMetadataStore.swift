public import EngramMetadata
import Foundation
import PostgresNIO

/// The metadata store on PostgreSQL: every tenant transaction runs in `PostgresEngine.withTenant` with the
/// scope's keys (row-level security admits only those tenants' rows), every global one in
/// `PostgresEngine.withGlobal`, where the cross-tenant operations go through the SECURITY DEFINER functions
/// of `docs/postgres.md` (the application role sees no tenant row there).
///
/// Version snapshots and webhook secrets are sealed with `sealer` exactly as the SQLite store seals them
/// (the same tenants and identities, `SealedIdentity`), so sealed bytes move between the engines as they are.
public struct PostgresMetadataStore: MetadataStore {
    /// The engine, connected as the application role.
    public let database: PostgresEngine
    /// Seals version snapshots and webhook secrets (nil: stored in plaintext).
    public let sealer: (any RecordSealing)?

    /// The metadata store on `engine` (the application role's), sealing with `sealer` when given.
    public init(engine: PostgresEngine, sealer: (any RecordSealing)? = nil) {
        database = engine
        self.sealer = sealer
    }

    public var engine: MetadataEngine { .postgres }
    public var sealsSecrets: Bool { sealer != nil }

    public func withTenant<T: Sendable>(
        _ scope: TenantScope,
        _ access: MetadataAccess,
        _ body: @escaping @Sendable (any MetadataTransaction) throws -> T
    ) async throws -> T {
        let keys = try PostgresTenantScope(tenants: scope.tenants, userId: scope.userId)
        let sealer = sealer
        return try await database.withTenant(keys, readOnly: access == .read) { tx in
            try body(PostgresMetadataTransaction(tx: tx, scope: scope, sealer: sealer))
        }
    }

    public func withGlobal<T: Sendable>(
        _ access: MetadataAccess,
        _ body: @escaping @Sendable (any GlobalQueries) throws -> T
    ) async throws -> T {
        let sealer = sealer
        return try await database.withGlobal(readOnly: access == .read) { tx in
            try body(PostgresGlobalTransaction(tx: tx, sealer: sealer))
        }
    }
}

/// Opens version snapshots and webhook secrets as the SQLite store does.
struct PostgresSealing {
    let sealer: (any RecordSealing)?

    /// A version as read: its snapshot opened; a snapshot that does not open (altered, moved, or under a
    /// key the server lacks) is returned empty, which every reader skips as unreadable.
    func opened(_ row: VersionRow) -> VersionRow {
        var r = row
        guard SealedIdentity.looksSealed(r.snapshot) else { return r }
        let identity = SealedIdentity.versionIdentity(r.memoryId, r.version)
        r.snapshot = (try? sealer?.open(r.snapshot, tenant: SealedIdentity.versionTenant(r.orgId), identity: identity)) ?? Data()
        return r
    }

    func sealed(_ r: VersionRow) throws -> Data {
        try sealer?.seal(
            r.snapshot,
            tenant: SealedIdentity.versionTenant(r.orgId),
            identity: SealedIdentity.versionIdentity(r.memoryId, r.version)
        ) ?? r.snapshot
    }
}

/// The columns of a memory version, in `VersionRow`'s order.
private let versionColumns = """
    memory_id, version, at, actor, channel, client, request_id, reason, org_id, state, content_hash, snapshot, token_id
    """

private typealias VersionTuple = (String, Int, Double, String, String, String?, String?, String, String?, String, String, Data, String?)

private func versionRow(_ t: VersionTuple) -> VersionRow {
    VersionRow(
        memoryId: t.0,
        version: t.1,
        at: t.2,
        actor: t.3,
        channel: t.4,
        client: t.5,
        requestId: t.6,
        reason: t.7,
        orgId: t.8,
        state: t.9,
        contentHash: t.10,
        snapshot: t.11,
        tokenId: t.12
    )
}

private typealias ReportTuple = (Int64, Double, String, String?, String, String, String?, Bool)

private func reportRow(_ t: ReportTuple) -> ReportRow {
    ReportRow(id: t.0, at: t.1, memoryId: t.2, orgId: t.3, userId: t.4, verdict: t.5, note: t.6, resolved: t.7)
}

private typealias QuarantineTuple = (String, Int, String?, String, Double)

private func quarantineRow(_ t: QuarantineTuple) -> QuarantineRow {
    QuarantineRow(memoryId: t.0, version: t.1, orgId: t.2, rules: t.3, at: t.4)
}

private typealias SessionTuple = (String, String, String, String?, String, Double, Double, Double, Double?, String?, String?)

private func sessionRow(_ t: SessionTuple) -> SessionRow {
    SessionRow(
        id: t.0,
        secretHash: t.1,
        userId: t.2,
        orgId: t.3,
        csrfToken: t.4,
        createdAt: t.5,
        lastSeenAt: t.6,
        expiresAt: t.7,
        reauthAt: t.8,
        ip: t.9,
        userAgent: t.10
    )
}

private typealias LinkTuple = (String, String, String, String?, String, Double, Double, Double?)

private func linkRow(_ t: LinkTuple) -> CredentialLinkRow {
    CredentialLinkRow(
        secretHash: t.0,
        kind: t.1,
        userId: t.2,
        invitationId: t.3,
        createdBy: t.4,
        createdAt: t.5,
        expiresAt: t.6,
        usedAt: t.7
    )
}

private typealias CodeTuple = (String, String, String, String, String?, String, String?, Double, Double?, String, String)

private func codeRow(_ t: CodeTuple) -> OAuthGrantRow {
    OAuthGrantRow(
        hash: t.0,
        family: t.1,
        clientId: t.2,
        userId: t.3,
        orgId: t.4,
        resource: t.5,
        scope: t.6,
        expiresAt: t.7,
        usedAt: t.8,
        redirectURI: t.9,
        codeChallenge: t.10
    )
}

private typealias RefreshTuple = (String, String, String, String, String?, String, String?, Double, Double?, Double?)

private func refreshRow(_ t: RefreshTuple) -> OAuthGrantRow {
    OAuthGrantRow(
        hash: t.0,
        family: t.1,
        clientId: t.2,
        userId: t.3,
        orgId: t.4,
        resource: t.5,
        scope: t.6,
        expiresAt: t.7,
        usedAt: t.8,
        revokedAt: t.9
    )
}

private typealias InvitationTuple = (String, String, String, String, String, Double, Double)

private func invitationRow(_ t: InvitationTuple) -> InvitationRow {
    InvitationRow(id: t.0, orgId: t.1, userId: t.2, role: t.3, invitedBy: t.4, createdAt: t.5, expiresAt: t.6)
}

private typealias AccessTokenTuple = (String, String, String?, String, String, Double, Double)

private func accessTokenRow(_ t: AccessTokenTuple) -> AccessTokenRow {
    AccessTokenRow(jti: t.0, userId: t.1, orgId: t.2, role: t.3, name: t.4, createdAt: t.5, expiresAt: t.6)
}

private typealias AuditTuple = (Int64, Double, String?, String, String, String?, String?, String?, String?)

private func auditRow(_ t: AuditTuple) -> AuditRow {
    AuditRow(
        id: t.0,
        at: t.1,
        orgId: t.2,
        actor: t.3,
        action: t.4,
        memoryId: t.5,
        beforeHash: t.6,
        afterHash: t.7,
        detail: t.8
    )
}

/// A memory-owned row whose tenant cannot be told: the memory has no version or usage row in the
/// transaction's scope, and the scope names no single tenant to file it under.
public struct PostgresUnknownMemoryTenant: Error, CustomStringConvertible {
    public let memoryId: String
    public let scope: TenantScope
    public var description: String { "the tenant of memory \(memoryId) is not known in \(scope)" }
}

/// Every tenant query inside one `PostgresEngine.withTenant` transaction: the SQLite store's SQL,
/// ported, and limited by row-level security to the scope's tenants.
struct PostgresMetadataTransaction: MetadataTransaction {
    let tx: PostgresTransaction
    let scope: TenantScope
    let sealing: PostgresSealing

    init(tx: PostgresTransaction, scope: TenantScope, sealer: (any RecordSealing)?) {
        self.tx = tx
        self.scope = scope
        sealing = PostgresSealing(sealer: sealer)
    }

    /// The tenant of a memory's row: the one the row declares (a version's `tenant`, `Memory.tenant`), else
    /// the tenant the memory's versions (or usage row) are filed under, else its organisation's, else the
    /// acting user's own (a personal memory's first row).
    func memoryTenant(_ memoryId: String, orgId: String?, declared: String? = nil) throws -> String {
        if let declared { return declared }
        let known = try tx.column(
            """
            SELECT tenant FROM engram.memory_versions WHERE memory_id = \(memoryId)
            UNION ALL SELECT tenant FROM engram.memory_usage WHERE memory_id = \(memoryId) LIMIT 1
            """,
            as: String.self
        )
        if let tenant = known.first { return tenant }
        if let orgId { return "org:" + orgId }
        if let user = scope.userId { return "user:" + user }
        if scope.tenants.count == 1, let only = scope.tenants.first { return only }
        throw PostgresUnknownMemoryTenant(memoryId: memoryId, scope: scope)
    }

    // MARK: - Members

    func insertUser(id: String, at time: Double) throws {
        try tx.execute("INSERT INTO engram.users (id, created_at) VALUES (\(id), \(time)) ON CONFLICT (id) DO NOTHING")
    }

    func userExists(id: String) throws -> Bool {
        try tx.column("SELECT EXISTS (SELECT 1 FROM engram.users WHERE id = \(id))", as: Bool.self).first ?? false
    }

    func insertOrganisation(id: String, name: String, at time: Double) throws {
        try tx.execute(
            "INSERT INTO engram.orgs (id, name, created_at) VALUES (\(id), \(name), \(time)) ON CONFLICT (id) DO NOTHING"
        )
    }

    func organisation(id: String) throws -> OrganisationRow? {
        try tx.rows(
            "SELECT id, name, require_review, created_at FROM engram.orgs WHERE id = \(id)",
            as: (String, String, Bool, Double).self
        ).first.map { OrganisationRow(id: $0.0, name: $0.1, requireReview: $0.2, createdAt: $0.3) }
    }

    func setRequireReview(_ on: Bool, orgId: String) throws -> Bool {
        try tx.execute("UPDATE engram.orgs SET require_review = \(on) WHERE id = \(orgId)") > 0
    }

    func role(orgId: String, userId: String) throws -> String? {
        try tx.column("SELECT role FROM engram.members WHERE org_id = \(orgId) AND user_id = \(userId)", as: String.self).first
    }

    func orgIds(userId: String) throws -> [String] {
        try tx.column("SELECT org_id FROM engram.members WHERE user_id = \(userId) ORDER BY org_id", as: String.self)
    }

    func memberCount(orgId: String, role: String) throws -> Int {
        try tx.column("SELECT count(*) FROM engram.members WHERE org_id = \(orgId) AND role = \(role)", as: Int.self).first ?? 0
    }

    func upsertMember(orgId: String, userId: String, role: String, at time: Double, replacingRole: Bool) throws {
        if replacingRole {
            try tx.execute(
                """
                INSERT INTO engram.members (org_id, user_id, role, created_at) VALUES (\(orgId), \(userId), \(role), \(time))
                ON CONFLICT (org_id, user_id) DO UPDATE SET role = excluded.role
                """
            )
        } else {
            try tx.execute(
                """
                INSERT INTO engram.members (org_id, user_id, role, created_at) VALUES (\(orgId), \(userId), \(role), \(time))
                ON CONFLICT (org_id, user_id) DO NOTHING
                """
            )
        }
    }

    func deleteMember(orgId: String, userId: String) throws {
        try tx.execute("DELETE FROM engram.members WHERE org_id = \(orgId) AND user_id = \(userId)")
    }

    func members(orgId: String) throws -> [MemberRow] {
        try tx.rows(
            "SELECT org_id, user_id, role, created_at FROM engram.members WHERE org_id = \(orgId) ORDER BY user_id",
            as: (String, String, String, Double).self
        ).map { MemberRow(orgId: $0.0, userId: $0.1, role: $0.2, createdAt: $0.3) }
    }

    private static let invitationColumns = "id, org_id, user_id, role, invited_by, created_at, expires_at"

    func insertInvitation(_ i: InvitationRow) throws {
        try tx.execute(
            """
            INSERT INTO engram.invitations (id, org_id, user_id, role, invited_by, created_at, expires_at)
            VALUES (\(i.id), \(i.orgId), \(i.userId), \(i.role), \(i.invitedBy), \(i.createdAt), \(i.expiresAt))
            """
        )
    }

    func invitationExists(orgId: String, userId: String) throws -> Bool {
        try tx.column(
            "SELECT EXISTS (SELECT 1 FROM engram.invitations WHERE org_id = \(orgId) AND user_id = \(userId))",
            as: Bool.self
        ).first ?? false
    }

    func deleteExpiredInvitations(orgId: String, userId: String, now: Double) throws {
        try tx.execute("DELETE FROM engram.invitations WHERE org_id = \(orgId) AND user_id = \(userId) AND expires_at <= \(now)")
    }

    func invitations(orgId: String?, userId: String?, aliveAfter now: Double) throws -> [InvitationRow] {
        try tx.rows(
            """
            SELECT \(unescaped: Self.invitationColumns) FROM engram.invitations
            WHERE expires_at > \(now) AND (\(orgId)::text IS NULL OR org_id = \(orgId))
              AND (\(userId)::text IS NULL OR user_id = \(userId))
            ORDER BY created_at
            """,
            as: InvitationTuple.self
        ).map(invitationRow)
    }

    func invitation(id: String, userId: String?, aliveAfter now: Double?) throws -> InvitationRow? {
        try tx.rows(
            """
            SELECT \(unescaped: Self.invitationColumns) FROM engram.invitations
            WHERE id = \(id) AND (\(userId)::text IS NULL OR user_id = \(userId))
              AND (\(now)::double precision IS NULL OR expires_at > \(now))
            """,
            as: InvitationTuple.self
        ).first.map(invitationRow)
    }

    func deleteInvitation(id: String) throws {
        try tx.execute("DELETE FROM engram.invitations WHERE id = \(id)")
    }

    // MARK: - Accounts

    func credential(userId: String) throws -> CredentialRow? {
        try tx.rows(
            """
            SELECT user_id, password_hash, password_changed_at, totp_secret, totp_enabled, totp_last_step
            FROM engram.credentials WHERE user_id = \(userId)
            """,
            as: (String, String?, Double?, Data?, Bool, Int64).self
        ).first.map {
            CredentialRow(
                userId: $0.0,
                passwordHash: $0.1,
                passwordChangedAt: $0.2,
                totpSecret: $0.3.map { [UInt8]($0) },
                totpEnabled: $0.4,
                totpLastStep: $0.5
            )
        }
    }

    func setPassword(userId: String, hash: String, at time: Double) throws {
        try tx.execute(
            """
            INSERT INTO engram.credentials (user_id, password_hash, password_changed_at) VALUES (\(userId), \(hash), \(time))
            ON CONFLICT (user_id) DO UPDATE SET password_hash = excluded.password_hash,
              password_changed_at = excluded.password_changed_at
            """
        )
    }

    func setTOTP(userId: String, sealed: [UInt8]?, enabled: Bool) throws {
        try tx.execute(
            """
            INSERT INTO engram.credentials (user_id, totp_secret, totp_enabled) VALUES (\(userId), \(sealed.map { Data($0) }), \(enabled))
            ON CONFLICT (user_id) DO UPDATE SET totp_secret = excluded.totp_secret, totp_enabled = excluded.totp_enabled,
              totp_last_step = CASE WHEN excluded.totp_secret IS NULL THEN 0 ELSE engram.credentials.totp_last_step END
            """
        )
    }

    func setTOTPEnabled(userId: String, lastStep: Int64) throws {
        try tx.execute("UPDATE engram.credentials SET totp_enabled = true, totp_last_step = \(lastStep) WHERE user_id = \(userId)")
    }

    func advanceTOTPStep(userId: String, to step: Int64) throws -> Bool {
        try tx.execute(
            "UPDATE engram.credentials SET totp_last_step = \(step) WHERE user_id = \(userId) AND totp_last_step < \(step)"
        ) > 0
    }

    func replaceBackupCodes(userId: String, hashes: [String]) throws {
        try tx.execute("DELETE FROM engram.backup_codes WHERE user_id = \(userId)")
        for h in hashes {
            try tx.execute("INSERT INTO engram.backup_codes (user_id, code_hash) VALUES (\(userId), \(h))")
        }
    }

    func useBackupCode(userId: String, hash: String, at time: Double) throws -> Bool {
        try tx.execute(
            """
            UPDATE engram.backup_codes SET used_at = \(time) WHERE user_id = \(userId) AND code_hash = \(hash) AND used_at IS NULL
            """
        ) > 0
    }

    private static let sessionColumns =
        "id, secret_hash, user_id, org_id, csrf_token, created_at, last_seen_at, expires_at, reauth_at, ip, user_agent"

    func insertSession(_ s: SessionRow) throws {
        try tx.execute(
            """
            INSERT INTO engram.sessions (\(unescaped: Self.sessionColumns))
            VALUES (\(s.id), \(s.secretHash), \(s.userId), \(s.orgId), \(s.csrfToken), \(s.createdAt), \(s.lastSeenAt),
                    \(s.expiresAt), \(s.reauthAt), \(s.ip), \(s.userAgent))
            """
        )
    }

    func session(secretHash: String) throws -> SessionRow? {
        try tx.rows(
            "SELECT \(unescaped: Self.sessionColumns) FROM engram.sessions WHERE secret_hash = \(secretHash)",
            as: SessionTuple.self
        ).first.map(sessionRow)
    }

    func sessions(userId: String) throws -> [SessionRow] {
        try tx.rows(
            "SELECT \(unescaped: Self.sessionColumns) FROM engram.sessions WHERE user_id = \(userId) ORDER BY created_at DESC",
            as: SessionTuple.self
        ).map(sessionRow)
    }

    func touchSession(id: String, at time: Double) throws {
        try tx.execute("UPDATE engram.sessions SET last_seen_at = \(time) WHERE id = \(id)")
    }

    func rotateSession(id: String, secretHash: String, csrfToken: String, reauthAt: Double?, at time: Double) throws -> Bool {
        try tx.execute(
            """
            UPDATE engram.sessions SET secret_hash = \(secretHash), csrf_token = \(csrfToken), last_seen_at = \(time),
              reauth_at = coalesce(\(reauthAt)::double precision, reauth_at)
            WHERE id = \(id)
            """
        ) > 0
    }

    @discardableResult
    func deleteSession(id: String, userId: String?) throws -> Bool {
        try tx.execute("DELETE FROM engram.sessions WHERE id = \(id) AND (\(userId)::text IS NULL OR user_id = \(userId))") > 0
    }

    @discardableResult
    func deleteSessions(userId: String, except: String?) throws -> Int {
        try tx.execute("DELETE FROM engram.sessions WHERE user_id = \(userId) AND id IS DISTINCT FROM \(except)::text")
    }

    private static let accessTokenColumns = "jti, user_id, org_id, role, name, created_at, expires_at"

    func insertAccessToken(_ t: AccessTokenRow) throws {
        try tx.execute(
            """
            INSERT INTO engram.access_tokens (\(unescaped: Self.accessTokenColumns))
            VALUES (\(t.jti), \(t.userId), \(t.orgId), \(t.role), \(t.name), \(t.createdAt), \(t.expiresAt))
            """
        )
    }

    func accessTokens(userId: String) throws -> [(AccessTokenRow, revoked: Bool)] {
        try tx.rows(
            """
            SELECT t.jti, t.user_id, t.org_id, t.role, t.name, t.created_at, t.expires_at, (r.jti IS NOT NULL)
            FROM engram.access_tokens t LEFT JOIN engram.revoked_tokens r ON r.jti = t.jti
            WHERE t.user_id = \(userId) ORDER BY t.created_at DESC
            """,
            as: (String, String, String?, String, String, Double, Double, Bool).self
        ).map { (accessTokenRow(($0.0, $0.1, $0.2, $0.3, $0.4, $0.5, $0.6)), revoked: $0.7) }
    }

    func accessToken(jti: String, userId: String) throws -> AccessTokenRow? {
        try tx.rows(
            "SELECT \(unescaped: Self.accessTokenColumns) FROM engram.access_tokens WHERE jti = \(jti) AND user_id = \(userId)",
            as: AccessTokenTuple.self
        ).first.map(accessTokenRow)
    }

    func insertLink(_ l: CredentialLinkRow) throws {
        try tx.execute(
            """
            INSERT INTO engram.credential_links (secret_hash, kind, user_id, invitation_id, created_by, created_at, expires_at)
            VALUES (\(l.secretHash), \(l.kind), \(l.userId), \(l.invitationId), \(l.createdBy), \(l.createdAt), \(l.expiresAt))
            """
        )
    }

    func link(secretHash: String) throws -> CredentialLinkRow? {
        try tx.rows(
            """
            SELECT secret_hash, kind, user_id, invitation_id, created_by, created_at, expires_at, used_at
            FROM engram.credential_links WHERE secret_hash = \(secretHash)
            """,
            as: LinkTuple.self
        ).first.map(linkRow)
    }

    func useLink(secretHash: String, at time: Double) throws -> Bool {
        try tx.execute(
            "UPDATE engram.credential_links SET used_at = \(time) WHERE secret_hash = \(secretHash) AND used_at IS NULL"
        ) > 0
    }

    func expireLinks(userId: String, kind: String, at time: Double) throws {
        try tx.execute(
            """
            UPDATE engram.credential_links SET used_at = \(time) WHERE user_id = \(userId) AND kind = \(kind) AND used_at IS NULL
            """
        )
    }

    func memberships(userId: String) throws -> [(orgId: String, role: String)] {
        try tx.rows("SELECT org_id, role FROM engram.members WHERE user_id = \(userId) ORDER BY org_id", as: (String, String).self)
            .map { (orgId: $0.0, role: $0.1) }
    }

    func requireTOTP(orgId: String) throws -> Bool {
        try tx.column("SELECT require_totp FROM engram.orgs WHERE id = \(orgId)", as: Bool.self).first ?? false
    }

    func setRequireTOTP(_ on: Bool, orgId: String) throws -> Bool {
        try tx.execute("UPDATE engram.orgs SET require_totp = \(on) WHERE id = \(orgId)") > 0
    }

    // MARK: - OAuth

    func insertCode(_ g: OAuthGrantRow) throws {
        try tx.execute(
            """
            INSERT INTO engram.oauth_codes (code_hash, family, client_id, user_id, org_id, resource, redirect_uri, code_challenge,
              scope, expires_at)
            VALUES (\(g.hash), \(g.family), \(g.clientId), \(g.userId), \(g.orgId), \(g.resource), \(g.redirectURI ?? ""),
                    \(g.codeChallenge ?? ""), \(g.scope), \(g.expiresAt))
            """
        )
    }

    func code(hash: String) throws -> OAuthGrantRow? {
        try tx.rows(
            """
            SELECT code_hash, family, client_id, user_id, org_id, resource, scope, expires_at, used_at, redirect_uri, code_challenge
            FROM engram.oauth_codes WHERE code_hash = \(hash)
            """,
            as: CodeTuple.self
        ).first.map(codeRow)
    }

    func useCode(hash: String, at time: Double) throws -> Bool {
        try tx.execute("UPDATE engram.oauth_codes SET used_at = \(time) WHERE code_hash = \(hash) AND used_at IS NULL") > 0
    }

    func insertRefreshToken(_ g: OAuthGrantRow, at time: Double) throws {
        try tx.execute(
            """
            INSERT INTO engram.oauth_refresh_tokens (token_hash, family, client_id, user_id, org_id, resource, scope, created_at,
              expires_at)
            VALUES (\(g.hash), \(g.family), \(g.clientId), \(g.userId), \(g.orgId), \(g.resource), \(g.scope), \(time), \(g.expiresAt))
            """
        )
    }

    func refreshToken(hash: String) throws -> OAuthGrantRow? {
        try tx.rows(
            """
            SELECT token_hash, family, client_id, user_id, org_id, resource, scope, expires_at, used_at, revoked_at
            FROM engram.oauth_refresh_tokens WHERE token_hash = \(hash)
            """,
            as: RefreshTuple.self
        ).first.map(refreshRow)
    }

    func useRefreshToken(hash: String, at time: Double) throws -> Bool {
        try tx.execute(
            """
            UPDATE engram.oauth_refresh_tokens SET used_at = \(time)
            WHERE token_hash = \(hash) AND used_at IS NULL AND revoked_at IS NULL
            """
        ) > 0
    }

    func recordAccessToken(jti: String, family: String, expiresAt: Double) throws {
        try tx.execute("INSERT INTO engram.oauth_access_tokens (jti, family, expires_at) VALUES (\(jti), \(family), \(expiresAt))")
    }

    @discardableResult
    func revokeFamily(_ family: String, at time: Double) throws -> Int {
        try tx.execute(
            "UPDATE engram.oauth_refresh_tokens SET revoked_at = \(time) WHERE family = \(family) AND revoked_at IS NULL"
        )
        try tx.execute("UPDATE engram.oauth_codes SET used_at = coalesce(used_at, \(time)) WHERE family = \(family)")
        return try tx.execute(
            """
            INSERT INTO engram.revoked_tokens (jti, revoked_at, expires_at)
            SELECT jti, \(time), expires_at FROM engram.oauth_access_tokens WHERE family = \(family)
            ON CONFLICT (jti) DO UPDATE SET revoked_at = excluded.revoked_at, expires_at = excluded.expires_at
            """
        )
    }

    // MARK: - Audit

    func appendAudit(_ rows: [AuditRow]) throws {
        for r in rows {
            try tx.execute(
                """
                INSERT INTO engram.audit_log (at, org_id, actor, action, memory_id, before_hash, after_hash, detail)
                VALUES (\(r.at), \(r.orgId), \(r.actor), \(r.action), \(r.memoryId), \(r.beforeHash), \(r.afterHash), \(r.detail))
                """
            )
        }
    }

    func auditRows(orgId: String, limit: Int, before cursor: Int64?) throws -> [AuditRow] {
        try tx.rows(
            """
            SELECT id, at, org_id, actor, action, memory_id, before_hash, after_hash, detail FROM engram.audit_log
            WHERE org_id = \(orgId) AND (\(cursor)::bigint IS NULL OR id < \(cursor))
            ORDER BY id DESC LIMIT \(limit)
            """,
            as: AuditTuple.self
        ).map(auditRow)
    }

    // MARK: - Lifecycle

    func appendVersions(_ rows: [VersionRow], keepingExisting: Bool) throws {
        for r in rows {
            let snapshot = try sealing.sealed(r)
            let tenant = try memoryTenant(r.memoryId, orgId: r.orgId, declared: r.tenant)
            if keepingExisting {
                try tx.execute(
                    """
                    INSERT INTO engram.memory_versions (\(unescaped: versionColumns), tenant)
                    VALUES (\(r.memoryId), \(r.version), \(r.at), \(r.actor), \(r.channel), \(r.client), \(r.requestId), \(r.reason),
                            \(r.orgId), \(r.state), \(r.contentHash), \(snapshot), \(r.tokenId), \(tenant))
                    ON CONFLICT (memory_id, version) DO NOTHING
                    """
                )
            } else {
                try tx.execute(
                    """
                    INSERT INTO engram.memory_versions (\(unescaped: versionColumns), tenant)
                    VALUES (\(r.memoryId), \(r.version), \(r.at), \(r.actor), \(r.channel), \(r.client), \(r.requestId), \(r.reason),
                            \(r.orgId), \(r.state), \(r.contentHash), \(snapshot), \(r.tokenId), \(tenant))
                    """
                )
            }
        }
    }

    func versions(memoryId: String) throws -> [VersionRow] {
        try tx.rows(
            "SELECT \(unescaped: versionColumns) FROM engram.memory_versions WHERE memory_id = \(memoryId) ORDER BY version",
            as: VersionTuple.self
        ).map { sealing.opened(versionRow($0)) }
    }

    func versions(orgId: String, since: Double) throws -> [VersionRow] {
        try tx.rows(
            """
            SELECT \(unescaped: versionColumns) FROM engram.memory_versions WHERE org_id = \(orgId) AND at >= \(since)
            ORDER BY memory_id, version
            """,
            as: VersionTuple.self
        ).map { sealing.opened(versionRow($0)) }
    }

    func recordUsage(served: [ServedRow], usage: [UsageRow]) throws {
        for r in served {
            let tenant = try memoryTenant(r.memoryId, orgId: nil)
            try tx.execute(
                """
                INSERT INTO engram.served_log (at, memory_id, user_id, rank, tenant)
                VALUES (\(r.at), \(r.memoryId), \(r.userId), \(r.rank), \(tenant))
                """
            )
        }
        for u in usage {
            let tenant = try memoryTenant(u.memoryId, orgId: nil)
            try tx.execute(
                """
                INSERT INTO engram.memory_usage AS u (memory_id, served_count, last_served_at, last_confirmed_at, tenant)
                VALUES (\(u.memoryId), greatest(\(u.servedCount), 0), \(u.lastServedAt), \(u.lastConfirmedAt), \(tenant))
                ON CONFLICT (memory_id) DO UPDATE SET served_count = greatest(u.served_count + \(u.servedCount), 0),
                  last_served_at = greatest(u.last_served_at, excluded.last_served_at),
                  last_confirmed_at = greatest(u.last_confirmed_at, excluded.last_confirmed_at)
                """
            )
        }
    }

    func served(since: Double, memoryIds: [String]?, limit: Int) throws -> [ServedRow] {
        if let memoryIds, memoryIds.isEmpty { return [] }
        return try tx.rows(
            """
            SELECT at, memory_id, user_id, rank FROM engram.served_log
            WHERE at >= \(since) AND (\(memoryIds)::text[] IS NULL OR memory_id = ANY (\(memoryIds)::text[]))
            ORDER BY id DESC LIMIT \(limit)
            """,
            as: (Double, String, String, Int).self
        ).map { ServedRow(at: $0.0, memoryId: $0.1, userId: $0.2, rank: $0.3) }
    }

    private static let reportColumns = "id, at, memory_id, org_id, user_id, verdict, note, resolved"

    func insertReport(_ r: ReportRow) throws {
        let tenant = try memoryTenant(r.memoryId, orgId: r.orgId)
        try tx.execute(
            """
            INSERT INTO engram.memory_reports (at, memory_id, org_id, user_id, verdict, note, resolved, tenant)
            VALUES (\(r.at), \(r.memoryId), \(r.orgId), \(r.userId), \(r.verdict), \(r.note), false, \(tenant))
            """
        )
    }

    func openReports(memoryId: String) throws -> [ReportRow] {
        try tx.rows(
            """
            SELECT \(unescaped: Self.reportColumns) FROM engram.memory_reports
            WHERE memory_id = \(memoryId) AND NOT resolved ORDER BY id
            """,
            as: ReportTuple.self
        ).map(reportRow)
    }

    func recentReports(orgId: String, since: Double, limit: Int) throws -> [ReportRow] {
        try tx.rows(
            """
            SELECT \(unescaped: Self.reportColumns) FROM engram.memory_reports
            WHERE org_id = \(orgId) AND at >= \(since) ORDER BY id DESC LIMIT \(limit)
            """,
            as: ReportTuple.self
        ).map(reportRow)
    }

    func resolveReports(memoryId: String) throws {
        try tx.execute("UPDATE engram.memory_reports SET resolved = true WHERE memory_id = \(memoryId) AND NOT resolved")
    }

    func recordDelivery(orgId: String, provider: String, deliveryId: String, at time: Double) throws -> Bool {
        try tx.execute(
            """
            INSERT INTO engram.webhook_deliveries (org_id, provider, delivery_id, at) VALUES (\(orgId), \(provider), \(deliveryId), \(time))
            ON CONFLICT (org_id, provider, delivery_id) DO NOTHING
            """
        ) == 1
    }

    func forgetDelivery(orgId: String, provider: String, deliveryId: String) throws {
        try tx.execute(
            """
            DELETE FROM engram.webhook_deliveries WHERE org_id = \(orgId) AND provider = \(provider) AND delivery_id = \(deliveryId)
            """
        )
    }

    func policy(orgId: String) throws -> LifecyclePolicyRow? {
        try tx.rows(
            "SELECT stale_after_days, version_retention_days, approver_must_differ FROM engram.orgs WHERE id = \(orgId)",
            as: (Int, Int, Bool).self
        ).first.map { LifecyclePolicyRow(staleAfterDays: $0.0, versionRetentionDays: $0.1, approverMustDiffer: $0.2) }
    }

    func setPolicy(_ p: LifecyclePolicyRow, orgId: String) throws -> Bool {
        try tx.execute(
            """
            UPDATE engram.orgs SET stale_after_days = \(p.staleAfterDays), version_retention_days = \(p.versionRetentionDays),
              approver_must_differ = \(p.approverMustDiffer)
            WHERE id = \(orgId)
            """
        ) == 1
    }

    func webhookSecret(orgId: String) throws -> String? {
        let stored = try tx.column("SELECT webhook_secret FROM engram.orgs WHERE id = \(orgId)", as: String?.self).first ?? nil
        guard let stored else { return nil }
        guard let sealer = sealing.sealer else {
            if stored.hasPrefix(SealedIdentity.textPrefix) { throw SealedValueUnreadable(identity: SealedIdentity.webhookIdentity(orgId)) }
            return stored
        }
        return try sealer.openText(stored, tenant: SealedIdentity.webhookTenant(orgId), identity: SealedIdentity.webhookIdentity(orgId))
    }

    func setWebhookSecret(_ secret: String?, orgId: String) throws -> Bool {
        let stored = try secret.map {
            try sealing.sealer?.sealText($0, tenant: SealedIdentity.webhookTenant(orgId), identity: SealedIdentity.webhookIdentity(orgId)) ?? $0
        }
        return try tx.execute("UPDATE engram.orgs SET webhook_secret = \(stored) WHERE id = \(orgId)") == 1
    }

    @discardableResult
    func quarantine(_ rows: [QuarantineRow]) throws -> Int {
        var added = 0
        for r in rows {
            let tenant = try memoryTenant(r.memoryId, orgId: r.orgId)
            added += try tx.execute(
                """
                INSERT INTO engram.quarantine (memory_id, version, org_id, rules, at, tenant)
                VALUES (\(r.memoryId), \(r.version), \(r.orgId), \(r.rules), \(r.at), \(tenant))
                ON CONFLICT (memory_id, version) DO NOTHING
                """
            )
        }
        return added
    }

    func insertOutbox(_ rows: [OutboxRow]) throws {
        for r in rows {
            try tx.execute(
                """
                INSERT INTO engram.outbox (memory_id, version, tenant) VALUES (\(r.memoryId), \(r.version), \(r.tenant))
                ON CONFLICT (memory_id, version) DO NOTHING
                """
            )
        }
    }

    func quarantined(orgId: String?) throws -> [QuarantineRow] {
        try tx.rows(
            """
            SELECT memory_id, version, org_id, rules, at FROM engram.quarantine
            WHERE \(orgId)::text IS NULL OR org_id = \(orgId) ORDER BY at DESC
            """,
            as: QuarantineTuple.self
        ).map(quarantineRow)
    }
}

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
