import EngramAtRest
public import EngramMetadata
import Foundation
import GRDB

extension AccessTokenRow {
    init(_ row: Row) {
        self.init(
            jti: row["jti"],
            userId: row["user_id"],
            orgId: row["org_id"],
            role: row["role"],
            name: row["name"],
            createdAt: row["created_at"],
            expiresAt: row["expires_at"]
        )
    }
}

/// The SQL of accounts: credentials, backup codes, sessions, access tokens and links. The rules
/// (expiry, rotation, single use) belong to the caller, which runs them inside one transaction.
/// Like `MemberRecords`, `write` and `read` suspend on GRDB's queues.
public struct AccountRecords: Sendable {
    let pool: DatabasePool
    let cipher: AtRestCipher?

    public init(database: EngramDatabase) {
        pool = database.pool
        cipher = database.cipher
    }

    public func write<T: Sendable>(_ body: @escaping @Sendable (AccountTransaction) throws -> T) async throws -> T {
        try await pool.write { db in try body(SQLiteMetadataTransaction(db: db, cipher: cipher)) }
    }

    public func read<T: Sendable>(_ body: @escaping @Sendable (AccountTransaction) throws -> T) async throws -> T {
        try await pool.read { db in try body(SQLiteMetadataTransaction(db: db, cipher: cipher)) }
    }
}

/// The account tables (and the member rows they need) inside one transaction of `AccountRecords`.
public typealias AccountTransaction = SQLiteMetadataTransaction

/// The account tables (`AccountQueries`, and the cookie and link lookups and session sweep of `GlobalQueries`).
extension SQLiteMetadataTransaction {
    // MARK: - Credentials

    public func credential(userId: String) throws -> CredentialRow? {
        try Row.fetchOne(db, sql: "SELECT * FROM credentials WHERE user_id = ?", arguments: [userId]).map { row in
            let box: Data? = row["totp_secret"]
            return CredentialRow(
                userId: row["user_id"],
                passwordHash: row["password_hash"],
                passwordChangedAt: row["password_changed_at"],
                totpSecret: box.map { [UInt8]($0) },
                totpEnabled: row["totp_enabled"],
                totpLastStep: row["totp_last_step"]
            )
        }
    }

    public func setPassword(userId: String, hash: String, at time: Double) throws {
        try db.execute(
            sql: """
                INSERT INTO credentials (user_id, password_hash, password_changed_at) VALUES (?, ?, ?)
                ON CONFLICT(user_id) DO UPDATE SET password_hash = excluded.password_hash, password_changed_at = excluded.password_changed_at
                """,
            arguments: [userId, hash, time]
        )
    }

    /// Stores a sealed TOTP secret; `enabled` false keeps it pending (enrolment not confirmed).
    public func setTOTP(userId: String, sealed: [UInt8]?, enabled: Bool) throws {
        try db.execute(
            sql: """
                INSERT INTO credentials (user_id, totp_secret, totp_enabled) VALUES (?, ?, ?)
                ON CONFLICT(user_id) DO UPDATE SET totp_secret = excluded.totp_secret, totp_enabled = excluded.totp_enabled,
                    totp_last_step = CASE WHEN excluded.totp_secret IS NULL THEN 0 ELSE totp_last_step END
                """,
            arguments: [userId, sealed.map { Data($0) }, enabled]
        )
    }

    public func setTOTPEnabled(userId: String, lastStep: Int64) throws {
        try db.execute(sql: "UPDATE credentials SET totp_enabled = 1, totp_last_step = ? WHERE user_id = ?", arguments: [lastStep, userId])
    }

    /// Records the accepted step, only when it is later than the last one; returns whether it was.
    public func advanceTOTPStep(userId: String, to step: Int64) throws -> Bool {
        try db.execute(
            sql: "UPDATE credentials SET totp_last_step = ? WHERE user_id = ? AND totp_last_step < ?",
            arguments: [step, userId, step]
        )
        return db.changesCount > 0
    }

    // MARK: - Backup codes

    public func replaceBackupCodes(userId: String, hashes: [String]) throws {
        try db.execute(sql: "DELETE FROM backup_codes WHERE user_id = ?", arguments: [userId])
        for h in hashes {
            try db.execute(sql: "INSERT INTO backup_codes (user_id, code_hash) VALUES (?, ?)", arguments: [userId, h])
        }
    }

    /// Marks an unused code used; returns whether there was one.
    public func useBackupCode(userId: String, hash: String, at time: Double) throws -> Bool {
        try db.execute(
            sql: "UPDATE backup_codes SET used_at = ? WHERE user_id = ? AND code_hash = ? AND used_at IS NULL",
            arguments: [time, userId, hash]
        )
        return db.changesCount > 0
    }

    // MARK: - Sessions

    public func insertSession(_ s: SessionRow) throws {
        try db.execute(
            sql: """
                INSERT INTO sessions (id, secret_hash, user_id, org_id, csrf_token, created_at, last_seen_at, expires_at, reauth_at, ip, user_agent)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                s.id, s.secretHash, s.userId, s.orgId, s.csrfToken, s.createdAt, s.lastSeenAt, s.expiresAt, s.reauthAt, s.ip, s.userAgent,
            ]
        )
    }

    public func session(secretHash: String) throws -> SessionRow? {
        try Row.fetchOne(db, sql: "SELECT * FROM sessions WHERE secret_hash = ?", arguments: [secretHash]).map(SessionRow.init)
    }

    public func sessions(userId: String) throws -> [SessionRow] {
        try Row.fetchAll(db, sql: "SELECT * FROM sessions WHERE user_id = ? ORDER BY created_at DESC", arguments: [userId])
            .map(SessionRow.init)
    }

    public func touchSession(id: String, at time: Double) throws {
        try db.execute(sql: "UPDATE sessions SET last_seen_at = ? WHERE id = ?", arguments: [time, id])
    }

    /// Gives the session a new cookie hash and CSRF token (rotation), and optionally a new re-prompt time.
    public func rotateSession(id: String, secretHash: String, csrfToken: String, reauthAt: Double?, at time: Double) throws -> Bool {
        try db.execute(
            sql: """
                UPDATE sessions SET secret_hash = ?, csrf_token = ?, last_seen_at = ?, reauth_at = COALESCE(?, reauth_at) WHERE id = ?
                """,
            arguments: [secretHash, csrfToken, time, reauthAt, id]
        )
        return db.changesCount > 0
    }

    @discardableResult
    public func deleteSession(id: String, userId: String?) throws -> Bool {
        if let userId {
            try db.execute(sql: "DELETE FROM sessions WHERE id = ? AND user_id = ?", arguments: [id, userId])
        } else {
            try db.execute(sql: "DELETE FROM sessions WHERE id = ?", arguments: [id])
        }
        return db.changesCount > 0
    }

    /// Deletes every session of the user but `except`; returns how many.
    @discardableResult
    public func deleteSessions(userId: String, except: String?) throws -> Int {
        try db.execute(sql: "DELETE FROM sessions WHERE user_id = ? AND id IS NOT ?", arguments: [userId, except])
        return db.changesCount
    }

    public func deleteExpiredSessions(before time: Double) throws {
        try db.execute(sql: "DELETE FROM sessions WHERE expires_at < ?", arguments: [time])
    }

    // MARK: - Access tokens

    public func insertAccessToken(_ t: AccessTokenRow) throws {
        try db.execute(
            sql: "INSERT INTO access_tokens (jti, user_id, org_id, role, name, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            arguments: [t.jti, t.userId, t.orgId, t.role, t.name, t.createdAt, t.expiresAt]
        )
    }

    /// The user's tokens with whether each is revoked, newest first.
    public func accessTokens(userId: String) throws -> [(AccessTokenRow, revoked: Bool)] {
        try Row.fetchAll(
            db,
            sql: """
                SELECT t.*, (r.jti IS NOT NULL) AS revoked FROM access_tokens t LEFT JOIN revoked_tokens r ON r.jti = t.jti
                WHERE t.user_id = ? ORDER BY t.created_at DESC
                """,
            arguments: [userId]
        ).map { row in
            (
                AccessTokenRow(row),
                revoked: row["revoked"]
            )
        }
    }

    public func accessToken(jti: String, userId: String) throws -> AccessTokenRow? {
        try Row.fetchOne(db, sql: "SELECT * FROM access_tokens WHERE jti = ? AND user_id = ?", arguments: [jti, userId]).map(AccessTokenRow.init)
    }

    // MARK: - Links

    public func insertLink(_ l: CredentialLinkRow) throws {
        try db.execute(
            sql: """
                INSERT INTO credential_links (secret_hash, kind, user_id, invitation_id, created_by, created_at, expires_at)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [l.secretHash, l.kind, l.userId, l.invitationId, l.createdBy, l.createdAt, l.expiresAt]
        )
    }

    public func link(secretHash: String) throws -> CredentialLinkRow? {
        try Row.fetchOne(db, sql: "SELECT * FROM credential_links WHERE secret_hash = ?", arguments: [secretHash]).map { row in
            CredentialLinkRow(
                secretHash: row["secret_hash"],
                kind: row["kind"],
                userId: row["user_id"],
                invitationId: row["invitation_id"],
                createdBy: row["created_by"],
                createdAt: row["created_at"],
                expiresAt: row["expires_at"],
                usedAt: row["used_at"]
            )
        }
    }

    /// Marks an unused link used; returns whether it was unused (single use under concurrency).
    public func useLink(secretHash: String, at time: Double) throws -> Bool {
        try db.execute(
            sql: "UPDATE credential_links SET used_at = ? WHERE secret_hash = ? AND used_at IS NULL",
            arguments: [time, secretHash]
        )
        return db.changesCount > 0
    }

    /// Spends the user's unused links of `kind` (a new reset link replaces the old ones).
    public func expireLinks(userId: String, kind: String, at time: Double) throws {
        try db.execute(
            sql: "UPDATE credential_links SET used_at = ? WHERE user_id = ? AND kind = ? AND used_at IS NULL",
            arguments: [time, userId, kind]
        )
    }

    // MARK: - Members and org policy

    /// The user's memberships (org id, role), by org id.
    public func memberships(userId: String) throws -> [(orgId: String, role: String)] {
        try Row.fetchAll(db, sql: "SELECT org_id, role FROM members WHERE user_id = ? ORDER BY org_id", arguments: [userId]).map {
            (orgId: $0["org_id"], role: $0["role"])
        }
    }

    public func requireTOTP(orgId: String) throws -> Bool {
        try Bool.fetchOne(db, sql: "SELECT require_totp FROM orgs WHERE id = ?", arguments: [orgId]) ?? false
    }

    public func setRequireTOTP(_ on: Bool, orgId: String) throws -> Bool {
        try db.execute(sql: "UPDATE orgs SET require_totp = ? WHERE id = ?", arguments: [on, orgId])
        return db.changesCount > 0
    }
}
