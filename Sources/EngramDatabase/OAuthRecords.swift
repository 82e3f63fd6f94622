import EngramAtRest
public import EngramMetadata
import Foundation
import GRDB

/// The SQL of OAuth. Rules (PKCE, single use, rotation, reuse detection) are the caller's, run in
/// one transaction through `OAuthTransaction`.
public struct OAuthRecords: Sendable {
    let pool: DatabasePool
    let cipher: AtRestCipher?

    public init(database: EngramDatabase) {
        pool = database.pool
        cipher = database.cipher
    }

    @discardableResult
    public func write<T: Sendable>(_ body: @escaping @Sendable (OAuthTransaction) throws -> T) async throws -> T {
        try await pool.write { db in try body(SQLiteMetadataTransaction(db: db, cipher: cipher)) }
    }

    public func read<T: Sendable>(_ body: @escaping @Sendable (OAuthTransaction) throws -> T) async throws -> T {
        try await pool.read { db in try body(SQLiteMetadataTransaction(db: db, cipher: cipher)) }
    }
}

/// The OAuth tables inside one transaction of `OAuthRecords`.
public typealias OAuthTransaction = SQLiteMetadataTransaction

/// The OAuth tables (`OAuthQueries`, and the client and by-hash lookups of `GlobalQueries`).
extension SQLiteMetadataTransaction {
    public func insertClient(_ c: OAuthClientRow) throws {
        let uris = String(decoding: try JSONEncoder().encode(c.redirectURIs), as: UTF8.self)
        try db.execute(
            sql: "INSERT INTO oauth_clients (client_id, client_name, redirect_uris, created_at) VALUES (?, ?, ?, ?)",
            arguments: [c.clientId, c.clientName, uris, c.createdAt]
        )
    }

    public func client(id: String) throws -> OAuthClientRow? {
        try Row.fetchOne(db, sql: "SELECT * FROM oauth_clients WHERE client_id = ?", arguments: [id]).map { row in
            let uris: String = row["redirect_uris"]
            return OAuthClientRow(
                clientId: row["client_id"],
                clientName: row["client_name"],
                redirectURIs: (try? JSONDecoder().decode([String].self, from: Data(uris.utf8))) ?? [],
                createdAt: row["created_at"]
            )
        }
    }

    public func insertCode(_ g: OAuthGrantRow) throws {
        try db.execute(
            sql: """
                INSERT INTO oauth_codes (code_hash, family, client_id, user_id, org_id, resource, redirect_uri, code_challenge, scope, expires_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [g.hash, g.family, g.clientId, g.userId, g.orgId, g.resource, g.redirectURI, g.codeChallenge, g.scope, g.expiresAt]
        )
    }

    public func code(hash: String) throws -> OAuthGrantRow? {
        try Row.fetchOne(db, sql: "SELECT * FROM oauth_codes WHERE code_hash = ?", arguments: [hash]).map { row in
            OAuthGrantRow(
                hash: row["code_hash"],
                family: row["family"],
                clientId: row["client_id"],
                userId: row["user_id"],
                orgId: row["org_id"],
                resource: row["resource"],
                scope: row["scope"],
                expiresAt: row["expires_at"],
                usedAt: row["used_at"],
                redirectURI: row["redirect_uri"],
                codeChallenge: row["code_challenge"]
            )
        }
    }

    /// Spends a code; false when it was already spent.
    public func useCode(hash: String, at time: Double) throws -> Bool {
        try db.execute(sql: "UPDATE oauth_codes SET used_at = ? WHERE code_hash = ? AND used_at IS NULL", arguments: [time, hash])
        return db.changesCount > 0
    }

    public func insertRefreshToken(_ g: OAuthGrantRow, at time: Double) throws {
        try db.execute(
            sql: """
                INSERT INTO oauth_refresh_tokens (token_hash, family, client_id, user_id, org_id, resource, scope, created_at, expires_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [g.hash, g.family, g.clientId, g.userId, g.orgId, g.resource, g.scope, time, g.expiresAt]
        )
    }

    public func refreshToken(hash: String) throws -> OAuthGrantRow? {
        try Row.fetchOne(db, sql: "SELECT * FROM oauth_refresh_tokens WHERE token_hash = ?", arguments: [hash]).map { row in
            OAuthGrantRow(
                hash: row["token_hash"],
                family: row["family"],
                clientId: row["client_id"],
                userId: row["user_id"],
                orgId: row["org_id"],
                resource: row["resource"],
                scope: row["scope"],
                expiresAt: row["expires_at"],
                usedAt: row["used_at"],
                revokedAt: row["revoked_at"]
            )
        }
    }

    /// Spends a live refresh token; false when it was spent or revoked already.
    public func useRefreshToken(hash: String, at time: Double) throws -> Bool {
        try db.execute(
            sql: "UPDATE oauth_refresh_tokens SET used_at = ? WHERE token_hash = ? AND used_at IS NULL AND revoked_at IS NULL",
            arguments: [time, hash]
        )
        return db.changesCount > 0
    }

    public func recordAccessToken(jti: String, family: String, expiresAt: Double) throws {
        try db.execute(
            sql: "INSERT INTO oauth_access_tokens (jti, family, expires_at) VALUES (?, ?, ?)",
            arguments: [jti, family, expiresAt]
        )
    }

    /// Revokes a family: every refresh token, and every access token id (added to `revoked_tokens`).
    /// Returns the number of access tokens revoked.
    @discardableResult
    public func revokeFamily(_ family: String, at time: Double) throws -> Int {
        try db.execute(
            sql: "UPDATE oauth_refresh_tokens SET revoked_at = ? WHERE family = ? AND revoked_at IS NULL",
            arguments: [time, family]
        )
        try db.execute(sql: "UPDATE oauth_codes SET used_at = COALESCE(used_at, ?) WHERE family = ?", arguments: [time, family])
        try db.execute(
            sql: """
                INSERT OR REPLACE INTO revoked_tokens (jti, revoked_at, expires_at)
                SELECT jti, ?, expires_at FROM oauth_access_tokens WHERE family = ?
                """,
            arguments: [time, family]
        )
        return db.changesCount
    }
}
