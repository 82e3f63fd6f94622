import EngramAccounts
import EngramAuth
import EngramDatabase
import Foundation
import Testing

@testable import EngramMemory

/// The OAuth rules with a real SQLite file: redirect URIs, PKCE S256, single-use codes, refresh
/// rotation with reuse detection, resource binding.
@Suite struct OAuthServiceTests {
    let oauth: OAuthService
    let directory: MemberDirectory
    let tokens: TokenService
    /// The metadata store's database (SQLite, or PostgreSQL under `Tests/postgres.sh`).
    let metadata: TestMetadata
    static let base = "http://127.0.0.1:8080"
    static let verifier = String(repeating: "v", count: 20) + OneTimeSecret.generate().value

    init() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("engram-oauth-\(UUID()).sqlite").path
        metadata = try await TestMetadata.make { try EngramDatabase(path: path) }
        let database = metadata.store
        directory = MemberDirectory(metadata: database)
        tokens = await TokenService(secret: OneTimeSecret.generate().value + OneTimeSecret.generate().value)
        oauth = OAuthService(metadata: database, directory: directory, audit: AuditLog(metadata: database), tokens: tokens)
        try await directory.upsertMember(userId: "alice", orgId: "acme", role: .member)
    }

    func authorize(
        _ client: OAuthClient,
        challenge: String? = nil,
        method: String = "S256",
        resource: String? = base + "/mcp/alice"
    ) async throws
        -> AuthorizationRequest
    {
        var q = [
            "response_type": "code", "client_id": client.clientId, "redirect_uri": "http://127.0.0.1:4711/callback",
            "code_challenge_method": method, "state": "s1",
        ]
        q["code_challenge"] = challenge ?? OAuthService.challenge(of: Self.verifier)
        q["resource"] = resource
        return try await oauth.validate(q)
    }

    @Test func redirectURIs() async throws {
        for bad in ["javascript:alert(1)", "http://evil.example/cb", "data:text/html,x", "https://ok.example/cb#frag", "file:///etc/passwd"] {
            #expect(!OAuthService.acceptableRedirect(bad), "\(bad)")
        }
        for good in ["https://app.example/cb", "http://127.0.0.1:9/cb", "http://localhost/cb", "http://[::1]:3000/cb", "com.example.app:/cb"] {
            #expect(OAuthService.acceptableRedirect(good), "\(good)")
        }
        // Loopback: any port (RFC 8252 §7.3); otherwise exact.
        #expect(OAuthService.matches("http://127.0.0.1:5555/cb", registered: ["http://127.0.0.1:9/cb"]))
        #expect(!OAuthService.matches("http://127.0.0.1:5555/other", registered: ["http://127.0.0.1:9/cb"]))
        #expect(!OAuthService.matches("https://app.example/cb2", registered: ["https://app.example/cb"]))
        await #expect(throws: OAuthError.self) { _ = try await oauth.register(redirectURIs: ["javascript:alert(1)"], clientName: "x") }
    }

    @Test func pkceIsRequiredAndChecked() async throws {
        let client = try await oauth.register(redirectURIs: ["http://127.0.0.1:9/callback"], clientName: "cli")
        await #expect(throws: OAuthError.invalidRequest("PKCE with code_challenge_method=S256 is required")) {
            _ = try await authorize(client, method: "plain")
        }
        await #expect(throws: OAuthError.self) { _ = try await authorize(client, challenge: "short") }
        let other = try await oauth.register(redirectURIs: ["http://127.0.0.1:9/elsewhere"], clientName: "cli")
        do {
            _ = try await authorize(other)
            Issue.record("an unregistered redirect URI was accepted")
        } catch let error as OAuthError {
            #expect(!error.redirectable)
        }
        let request = try await authorize(client)
        let alice = Principal(userId: "alice", orgId: "acme", role: .member)
        let code = try await oauth.approve(request, principal: alice, base: Self.base)
        let form = ["code": code, "client_id": client.clientId, "redirect_uri": request.redirectURI]
        await #expect(throws: OAuthError.self) { _ = try await oauth.exchangeCode(form.merging(["code_verifier": Self.verifier + "x"]) { $1 }) }
    }

    @Test func codesAreSingleUseAndReuseRevokesTheirTokens() async throws {
        let client = try await oauth.register(redirectURIs: ["http://127.0.0.1:9/callback"], clientName: "cli")
        let alice = Principal(userId: "alice", orgId: "acme", role: .member)
        let code = try await oauth.approve(try await authorize(client), principal: alice, base: Self.base)
        let form = ["code": code, "client_id": client.clientId, "code_verifier": Self.verifier, "resource": Self.base + "/mcp/alice"]
        let grant = try await oauth.exchangeCode(form)
        let claims = try await tokens.verify(grant.accessToken)
        #expect(claims.aud == Self.base + "/mcp/alice" && claims.cid == client.clientId && claims.subject == "alice")
        #expect(!(try await directory.isRevoked(jti: claims.tokenID)))
        await #expect(throws: OAuthError.self) { _ = try await oauth.exchangeCode(form) }
        #expect(try await directory.isRevoked(jti: claims.tokenID))
        await #expect(throws: OAuthError.self) { _ = try await oauth.refresh(["refresh_token": grant.refreshToken, "client_id": client.clientId]) }
    }

    @Test func refreshRotatesAndReuseRevokesTheFamily() async throws {
        let client = try await oauth.register(redirectURIs: ["http://127.0.0.1:9/callback"], clientName: "cli")
        let alice = Principal(userId: "alice", orgId: "acme", role: .member)
        let code = try await oauth.approve(try await authorize(client), principal: alice, base: Self.base)
        let first = try await oauth.exchangeCode(["code": code, "client_id": client.clientId, "code_verifier": Self.verifier])
        let second = try await oauth.refresh(["refresh_token": first.refreshToken, "client_id": client.clientId])
        #expect(second.refreshToken != first.refreshToken)
        // Another client cannot use it.
        await #expect(throws: OAuthError.self) { _ = try await oauth.refresh(["refresh_token": second.refreshToken, "client_id": "engram-other"]) }
        // The spent one again: the family is revoked, the newest tokens included.
        await #expect(throws: OAuthError.self) { _ = try await oauth.refresh(["refresh_token": first.refreshToken, "client_id": client.clientId]) }
        await #expect(throws: OAuthError.self) { _ = try await oauth.refresh(["refresh_token": second.refreshToken, "client_id": client.clientId]) }
        #expect(try await directory.isRevoked(jti: try await tokens.verify(second.accessToken).tokenID))
    }

    @Test func aTokenIsOnlyForTheSignedInUsersEndpoint() async throws {
        let client = try await oauth.register(redirectURIs: ["http://127.0.0.1:9/callback"], clientName: "cli")
        let request = try await authorize(client, resource: Self.base + "/mcp/bob")
        await #expect(throws: OAuthError.self) {
            _ = try await oauth.approve(request, principal: Principal(userId: "alice", orgId: "acme", role: .member), base: Self.base)
        }
    }
}
