public import EngramAuth
public import EngramMetadata
import Foundation

/// Engram's OAuth 2.1 authorization server for MCP clients: dynamic registration of public clients,
/// the authorization-code grant with PKCE S256 only, access tokens bound to one `/mcp/{userId}`
/// resource, refresh tokens rotated on every use with reuse detection, and revocation. The HTTP layer
/// (routes, pages, sign-in) sits in EngramServer; the rules are here.
///
/// Written by hand: no package among the available ones implements an OAuth server.
public final class OAuthService: Sendable {
    let metadata: any MetadataStore
    let directory: MemberDirectory
    let audit: AuditLog?
    let tokens: TokenService
    public let settings: OAuthSettings
    /// Clients identified by the URL of their metadata document; nil turns the feature off.
    public let clientMetadata: ClientMetadataDocuments?

    public init(
        metadata: any MetadataStore,
        directory: MemberDirectory,
        audit: AuditLog?,
        tokens: TokenService,
        settings: OAuthSettings = OAuthSettings(),
        clientMetadata: ClientMetadataDocuments? = nil
    ) {
        self.metadata = metadata
        self.directory = directory
        self.audit = audit
        self.tokens = tokens
        self.settings = settings
        self.clientMetadata = clientMetadata
    }

    /// The scope Engram grants: everything the member may do with their memories over MCP.
    public static let scope = "memories"

    // MARK: - Registration

    /// Registers a public client (RFC 7591). Redirect URIs: https, http on a loopback host, or a
    /// private-use scheme; never `javascript:`, `data:`, `file:`, non-loopback http, or a fragment.
    public func register(redirectURIs: [String], clientName: String?) async throws -> OAuthClient {
        guard (1...10).contains(redirectURIs.count) else { throw OAuthError("invalid_redirect_uri", "1 to 10 redirect_uris are needed") }
        for uri in redirectURIs where !Self.acceptableRedirect(uri) {
            throw OAuthError("invalid_redirect_uri", "redirect URIs must be https, loopback http or a private-use scheme")
        }
        let name = clientName.map { String($0.filter { !$0.isNewline && $0 != "\u{0}" }.prefix(100)) }
        let client = OAuthClientRow(
            clientId: "engram-" + OneTimeSecret.generate(bytes: 18).value,
            clientName: name,
            redirectURIs: redirectURIs,
            createdAt: Date().timeIntervalSince1970
        )
        try await metadata.writeGlobal { tx in try tx.insertClient(client) }
        try await audit?.record(orgId: nil, actor: "oauth", action: "oauth.register", detail: "client \(client.clientId)")
        return OAuthClient(client)
    }

    static let loopbackHosts: Set<String> = ["127.0.0.1", "::1", "[::1]", "localhost"]

    package static func acceptableRedirect(_ uri: String) -> Bool {
        guard uri.utf8.count <= 2000, !uri.contains("#"), let c = URLComponents(string: uri), let scheme = c.scheme?.lowercased() else {
            return false
        }
        switch scheme {
        case "https": return !(c.host ?? "").isEmpty
        case "http": return loopbackHosts.contains((c.host ?? "").lowercased())
        case "javascript", "data", "file", "vbscript", "about", "blob", "ftp", "ws", "wss": return false
        default:
            // A private-use scheme (RFC 8252 §7.1) of a native app: reverse domain name, with a dot.
            return scheme.contains(".") && scheme.allSatisfy { $0.isLetter || $0.isNumber || $0 == "." || $0 == "+" || $0 == "-" }
        }
    }

    /// Whether `requested` is one of the client's redirect URIs: exact, or for a loopback http URI the
    /// same except for the port (RFC 8252 §7.3).
    package static func matches(_ requested: String, registered: [String]) -> Bool {
        if registered.contains(requested) { return true }
        guard let r = URLComponents(string: requested), r.scheme == "http", loopbackHosts.contains(r.host ?? "") else { return false }
        return registered.contains { uri in
            guard let g = URLComponents(string: uri), g.scheme == "http" else { return false }
            return g.host == r.host && g.path == r.path && g.query == r.query
        }
    }

    // MARK: - Authorization

    /// Validates an authorization request. The client and redirect URI first (their errors are shown,
    /// never redirected), then the rest (redirected to the client with the error).
    public func validate(_ q: [String: String]) async throws -> AuthorizationRequest {
        guard let clientID = q["client_id"], !clientID.isEmpty else { throw OAuthError("invalid_client", "unknown client", redirectable: false) }
        let client: OAuthClient
        if let clientMetadata, ClientMetadataDocuments.isURLClientID(clientID) {
            client = try await clientMetadata.client(clientID)
        } else if let row = try await metadata.readGlobal({ tx in try tx.client(id: clientID) }) {
            client = OAuthClient(row)
        } else {
            throw OAuthError("invalid_client", "unknown client", redirectable: false)
        }
        guard let redirect = q["redirect_uri"] ?? (client.redirectURIs.count == 1 ? client.redirectURIs[0] : nil),
            Self.matches(redirect, registered: client.redirectURIs)
        else { throw OAuthError("invalid_request", "the redirect URI is not registered for this client", redirectable: false) }
        let request = AuthorizationRequest(
            client: client,
            redirectURI: redirect,
            state: q["state"],
            codeChallenge: q["code_challenge"] ?? "",
            resource: q["resource"],
            scope: q["scope"]
        )
        guard q["response_type"] == "code" else { throw OAuthError("unsupported_response_type", "only response_type=code is supported") }
        guard q["code_challenge_method"] == "S256" else { throw OAuthError.invalidRequest("PKCE with code_challenge_method=S256 is required") }
        guard (43...128).contains(request.codeChallenge.count),
            request.codeChallenge.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") })
        else { throw OAuthError.invalidRequest("code_challenge must be a base64url SHA-256") }
        return request
    }

    /// The resource a request is for once `userId` signed in: the one it names, which must be that
    /// user's endpoint, or that user's endpoint.
    public static func resource(of request: AuthorizationRequest, base: String, userId: String) throws -> String {
        let mine = base + "/mcp/" + userId
        guard let named = request.resource else { return mine }
        guard named.hasPrefix(base + "/mcp/") else { throw OAuthError("invalid_target", "the resource is not an MCP endpoint of this server") }
        guard named == mine || named == mine + "/" else {
            throw OAuthError("access_denied", "the signed-in user may only authorize their own MCP endpoint")
        }
        return mine
    }

    /// The person allowed the request: a single-use code for the client.
    public func approve(_ request: AuthorizationRequest, principal: Principal, base: String) async throws -> String {
        let resource = try Self.resource(of: request, base: base, userId: principal.userId)
        let code = OneTimeSecret.generate()
        let row = OAuthGrantRow(
            hash: code.hash,
            family: UUID().uuidString.lowercased(),
            clientId: request.client.clientId,
            userId: principal.userId,
            orgId: principal.orgId,
            resource: resource,
            scope: Self.scope,
            expiresAt: Date().timeIntervalSince1970 + settings.codeLifetime,
            redirectURI: request.redirectURI,
            codeChallenge: request.codeChallenge
        )
        try await metadata.write(.user(row.userId, org: row.orgId)) { tx in try tx.insertCode(row) }
        try await record(principal.userId, "oauth.consent", "client \(request.client.clientId); resource \(resource)")
        return code.value
    }

    /// The person declined.
    public func deny(_ request: AuthorizationRequest, userId: String) async throws {
        try await record(userId, "oauth.deny", "client \(request.client.clientId)")
    }

    // MARK: - Tokens

    /// `grant_type=authorization_code`: the code's client, redirect URI and resource, and a verifier
    /// whose SHA-256 is the challenge. A code presented twice revokes everything issued from it.
    public func exchangeCode(_ form: [String: String]) async throws -> TokenGrant {
        guard let code = form["code"], let verifier = form["code_verifier"], let clientID = form["client_id"] else {
            throw OAuthError.invalidRequest("code, code_verifier and client_id are required")
        }
        let hash = OneTimeSecret.hash(code)
        let now = Date().timeIntervalSince1970
        guard let row = try await metadata.readGlobal({ tx in try tx.code(hash: hash) }) else { throw OAuthError.invalidGrant("unknown code") }
        // The code's owner is known from here on: the writes run in their scope.
        let scope = TenantScope.user(row.userId, org: row.orgId)
        guard try await metadata.write(scope, { tx in try tx.useCode(hash: hash, at: now) }) else {
            try await metadata.write(scope) { tx in try tx.revokeFamily(row.family, at: now) }
            try await record(row.userId, "oauth.reuse_detected", "client \(row.clientId); code reused; family revoked")
            throw OAuthError.invalidGrant("the code was already used; its tokens are revoked")
        }
        guard row.expiresAt > now else { throw OAuthError.invalidGrant("the code expired") }
        guard row.clientId == clientID else { throw OAuthError.invalidGrant("the code was issued to another client") }
        guard form["redirect_uri"].map({ $0 == row.redirectURI }) ?? true else { throw OAuthError.invalidGrant("redirect_uri differs") }
        guard Self.challenge(of: verifier) == row.codeChallenge, (43...128).contains(verifier.count) else {
            throw OAuthError.invalidGrant("the code verifier does not match the challenge")
        }
        if let resource = form["resource"], resource != row.resource, resource != row.resource + "/" {
            throw OAuthError("invalid_target", "the resource differs from the authorized one")
        }
        let grant = try await issue(for: row, now: now)
        try await record(row.userId, "oauth.token", "client \(row.clientId); resource \(row.resource)")
        return grant
    }

    /// `grant_type=refresh_token`: rotation. A spent (or revoked) refresh token presented again revokes
    /// its whole family.
    public func refresh(_ form: [String: String]) async throws -> TokenGrant {
        guard let token = form["refresh_token"], let clientID = form["client_id"] else {
            throw OAuthError.invalidRequest("refresh_token and client_id are required")
        }
        let hash = OneTimeSecret.hash(token)
        let now = Date().timeIntervalSince1970
        guard let row = try await metadata.readGlobal({ tx in try tx.refreshToken(hash: hash) }), row.clientId == clientID else {
            throw OAuthError.invalidGrant("unknown refresh token")
        }
        let scope = TenantScope.user(row.userId, org: row.orgId)
        guard try await metadata.write(scope, { tx in try tx.useRefreshToken(hash: hash, at: now) }) else {
            if row.revokedAt == nil {
                try await metadata.write(scope) { tx in try tx.revokeFamily(row.family, at: now) }
                try await record(row.userId, "oauth.reuse_detected", "client \(row.clientId); refresh token reused; family revoked")
            }
            throw OAuthError.invalidGrant("the refresh token was already used or revoked")
        }
        guard row.expiresAt > now else { throw OAuthError.invalidGrant("the refresh token expired") }
        if let resource = form["resource"], resource != row.resource, resource != row.resource + "/" {
            throw OAuthError("invalid_target", "the resource differs from the authorized one")
        }
        // The member may have left the org or lost the account since.
        if let org = row.orgId, try await directory.role(userId: row.userId, orgId: org) == nil {
            try await metadata.write(scope) { tx in try tx.revokeFamily(row.family, at: now) }
            throw OAuthError.invalidGrant("the user is no longer a member")
        }
        let grant = try await issue(for: row, now: now)
        try await record(row.userId, "oauth.refresh", "client \(row.clientId)")
        return grant
    }

    /// A new access token (JWT, `aud` the resource, `cid` the client) and refresh token for a grant.
    func issue(for row: OAuthGrantRow, now: Double) async throws -> TokenGrant {
        var role = Role.member
        if let org = row.orgId {
            guard let current = try await directory.role(userId: row.userId, orgId: org) else { throw OAuthError.invalidGrant("not a member") }
            role = current
        }
        let (access, claims) = try await tokens.issue(
            for: Principal(userId: row.userId, orgId: row.orgId, role: role),
            lifetime: settings.accessTokenLifetime,
            audience: row.resource,
            clientID: row.clientId
        )
        let refresh = OneTimeSecret.generate()
        var next = row
        next.hash = refresh.hash
        next.expiresAt = now + settings.refreshTokenLifetime
        next.usedAt = nil
        let family = row.family
        let jti = claims.tokenID
        let expires = claims.expiresAt.timeIntervalSince1970
        let refreshRow = next
        try await metadata.write(.user(row.userId, org: row.orgId)) { tx in
            try tx.insertRefreshToken(refreshRow, at: now)
            try tx.recordAccessToken(jti: jti, family: family, expiresAt: expires)
        }
        return TokenGrant(accessToken: access, expiresIn: Int(settings.accessTokenLifetime), refreshToken: refresh.value, scope: Self.scope)
    }

    /// RFC 7009: a refresh token revokes its family; an access token (one of ours) its id. Unknown
    /// tokens are ignored (the answer is the same).
    public func revoke(_ token: String, clientID: String?) async throws {
        let now = Date().timeIntervalSince1970
        if let row = try await metadata.readGlobal({ tx in try tx.refreshToken(hash: OneTimeSecret.hash(token)) }) {
            guard clientID == nil || clientID == row.clientId else { return }
            try await metadata.write(.user(row.userId, org: row.orgId)) { tx in try tx.revokeFamily(row.family, at: now) }
            try await record(row.userId, "oauth.revoke", "client \(row.clientId)")
        } else if let claims = try? await tokens.verify(token), claims.cid != nil {
            guard clientID == nil || clientID == claims.cid else { return }
            try await directory.revoke(jti: claims.tokenID, expiresAt: claims.expiresAt)
            try await record(claims.subject, "oauth.revoke", "client \(claims.cid ?? "?"); access token")
        }
    }

    /// base64url(SHA-256(verifier)) without padding.
    public static func challenge(of verifier: String) -> String {
        OneTimeSecret.sha256Base64URL(verifier)
    }

    func record(_ userId: String, _ action: String, _ detail: String) async throws {
        try await audit?.record(orgs: try await directory.memberships(userId: userId), actor: userId, action: action, detail: detail)
    }
}
