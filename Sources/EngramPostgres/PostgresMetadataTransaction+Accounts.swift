import EngramMetadata
import Foundation
import PostgresNIO

/// Credentials, sessions, tokens, sign-in links and OAuth grants (`AccountQueries`, `OAuthQueries`).
extension PostgresMetadataTransaction {
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
}
