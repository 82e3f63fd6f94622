public import EngramAuth
import EngramMetadata
import Foundation

extension AccountService {
    /// Longest lifetime of a personal access token, in days.
    public static let maximumTokenDays = 366

    /// Creates a personal access token for the session's principal (a sensitive change: the caller
    /// checks the re-prompt window). The JWT is returned once; only its id and name are stored.
    public func createToken(_ session: BrowserSession, name: String, days: Int, client: ClientInfo) async throws -> CreatedToken {
        let trimmed = name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (1...80).contains(trimmed.count), !trimmed.contains(where: { $0.isNewline }) else {
            throw AccountError.invalid("a token needs a name of 1 to 80 characters")
        }
        guard (1...Self.maximumTokenDays).contains(days) else { throw AccountError.invalid("days must be 1 to \(Self.maximumTokenDays)") }
        let principal = session.principal
        let (token, claims) = try await tokens.issue(for: principal, lifetime: Double(days) * 86_400)
        let row = AccessTokenRow(
            jti: claims.tokenID,
            userId: principal.userId,
            orgId: principal.orgId,
            role: principal.role.rawValue,
            name: trimmed,
            createdAt: claims.issuedAt.timeIntervalSince1970,
            expiresAt: claims.expiresAt.timeIntervalSince1970
        )
        try await metadata.write(.user(row.userId, org: row.orgId)) { tx in try tx.insertAccessToken(row) }
        try await record(userId: principal.userId, actor: principal.userId, action: "token.create", detail: "token \(row.jti); ip \(client.ip)")
        return CreatedToken(token: token, info: Self.info(row, revoked: false))
    }

    /// Records a token the operator issued (`engram token issue`), so that its owner sees it on `/me`
    /// and can revoke it there.
    public func recordIssuedToken(_ claims: TokenClaims, principal: Principal, name: String) async throws {
        let row = AccessTokenRow(
            jti: claims.tokenID,
            userId: principal.userId,
            orgId: principal.orgId,
            role: principal.role.rawValue,
            name: String(name.prefix(80)),
            createdAt: claims.issuedAt.timeIntervalSince1970,
            expiresAt: claims.expiresAt.timeIntervalSince1970
        )
        try await metadata.write(.user(row.userId, org: row.orgId)) { tx in try tx.insertAccessToken(row) }
        try await record(userId: principal.userId, actor: "operator", action: "token.create", detail: "token \(row.jti); cli")
    }

    /// The user's personal access tokens, newest first.
    public func accessTokens(of userId: String) async throws -> [AccessTokenInfo] {
        try await metadata.read(.user(userId)) { tx in try tx.accessTokens(userId: userId).map { Self.info($0.0, revoked: $0.revoked) } }
    }

    /// Revokes one of the user's tokens (not found when it is not theirs).
    public func revokeToken(userId: String, id: String, client: ClientInfo) async throws {
        guard let row = try await metadata.read(.user(userId), { tx in try tx.accessToken(jti: id, userId: userId) }) else {
            throw AccountError.notFound
        }
        try await directory.revoke(jti: row.jti, expiresAt: Date(timeIntervalSince1970: row.expiresAt))
        try await record(userId: userId, actor: userId, action: "token.revoke", detail: "token \(row.jti); ip \(client.ip)")
    }

    static func info(_ row: AccessTokenRow, revoked: Bool) -> AccessTokenInfo {
        AccessTokenInfo(
            id: row.jti,
            name: row.name,
            orgId: row.orgId,
            role: Role(rawValue: row.role) ?? .viewer,
            createdAt: Date(timeIntervalSince1970: row.createdAt),
            expiresAt: Date(timeIntervalSince1970: row.expiresAt),
            revoked: revoked
        )
    }
}
