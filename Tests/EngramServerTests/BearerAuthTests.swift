import EngramAuth
import EngramCore
import EngramHTTP
import EngramServer
import Foundation
import HTTPTypes
import HummingbirdTesting
import Synchronization
import Testing

/// A verifier that counts its calls and defers to the token service.
final class CountingVerifier: BearerTokenVerifier {
    let tokens: TokenService
    private let calls = Mutex(0)

    init(tokens: TokenService) {
        self.tokens = tokens
    }

    var count: Int { calls.withLock { $0 } }

    func reset() { calls.withLock { $0 = 0 } }

    func verify(_ token: String) async throws -> TokenClaims {
        calls.withLock { $0 += 1 }
        return try await tokens.verify(token)
    }
}

/// Bearer authentication happens once per request, before any handler, on MCP and REST alike:
/// a missing, forged or expired token is 401 with the `WWW-Authenticate` challenge and the same
/// `{"error": …}` body on both; a revoked token or a removed member is refused too.
@Suite struct BearerAuthTests {
    static let challenge = #"Bearer realm="engram", error="invalid_token""#
    static let ping: JSONValue = ["jsonrpc": "2.0", "id": 1, "method": "ping"]

    /// A route server whose tokens are verified through a counting verifier.
    static func countingServer() async throws -> (RouteServer, CountingVerifier) {
        let secret = RouteServer.randomSecret()
        let verifier = CountingVerifier(tokens: await TokenService(secret: secret))
        let server = try await RouteServer(secret: secret, verifier: verifier)
        return (server, verifier)
    }

    @Test func theTokenIsVerifiedOncePerRequest() async throws {
        let (server, verifier) = try await Self.countingServer()
        let token = try await server.token("alice", role: .admin)
        try await server.test { client in
            let requests: [(HTTPRequest.Method, String, JSONValue?)] = [
                (.get, "/v1/me", nil),
                (.post, "/v1/memories", ["content": "The build uses swift build --build-tests"]),
                (.get, "/v1/memories", nil),
                (.get, "/v1/admin/members", nil),
                (.post, "/mcp/alice", Self.ping),
            ]
            for (method, uri, json) in requests {
                verifier.reset()
                let response = try await client.send(method, uri, token: token, json: json)
                #expect(response.status.code < 300, "\(method) \(uri)")
                #expect(verifier.count == 1, "\(method) \(uri)")
            }
            verifier.reset()
            let call = try await client.callTool("alice", token: token, "search_memories", ["query": "build"])
            #expect(call.status == .ok)
            #expect(verifier.count == 1)
        }
    }

    @Test func requestsWithoutATokenAreNeverVerified() async throws {
        let (server, verifier) = try await Self.countingServer()
        try await server.test { client in
            let health = try await client.send(.get, "/healthz")
            let me = try await client.send(.get, "/v1/me")
            #expect(health.status == .ok)
            #expect(me.status == .unauthorized)
            #expect(verifier.count == 0)
        }
    }

    /// Expects the 401 both MCP and REST answer: challenge, `unauthorized`, `message`, no JSON-RPC error.
    static func expectUnauthorized(_ response: TestResponse, _ message: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(response.status == .unauthorized, sourceLocation: sourceLocation)
        #expect(response.headers[.wwwAuthenticate] == challenge, sourceLocation: sourceLocation)
        #expect(response.errorCode == "unauthorized", sourceLocation: sourceLocation)
        #expect(response.json["error"]?["message"]?.stringValue == message, sourceLocation: sourceLocation)
        #expect(response.rpcErrorCode == nil, sourceLocation: sourceLocation)
    }

    /// The same refusal on `/mcp/alice` and `/v1/me`.
    static func expectBothRefuse(_ server: RouteServer, token: String?, _ message: String) async throws {
        try await server.test { client in
            expectUnauthorized(try await client.send(.post, "/mcp/alice", token: token, json: ping), message)
            expectUnauthorized(try await client.send(.get, "/v1/me", token: token), message)
        }
    }

    @Test func missingTokenIs401OnMCPAndREST() async throws {
        let server = try await RouteServer()
        _ = try await server.token("alice")
        try await Self.expectBothRefuse(server, token: nil, "missing bearer token")
    }

    @Test func forgedTokenIs401OnMCPAndREST() async throws {
        let server = try await RouteServer()
        _ = try await server.token("alice")
        let forger = await TokenService(secret: RouteServer.randomSecret())
        let (forged, _) = try await forger.issue(for: Principal(userId: "alice", orgId: "acme", role: .member))
        try await Self.expectBothRefuse(server, token: forged, "invalid token")
    }

    @Test func expiredTokenIs401OnMCPAndREST() async throws {
        let server = try await RouteServer()
        _ = try await server.token("alice")
        let (expired, _) = try await server.tokens.issue(
            for: Principal(userId: "alice", orgId: "acme", role: .member),
            lifetime: 86_400,
            now: Date().addingTimeInterval(-2 * 86_400)
        )
        try await Self.expectBothRefuse(server, token: expired, "token expired")
    }

    @Test func revokedTokenIs401OnMCPAndREST() async throws {
        let server = try await RouteServer()
        _ = try await server.token("alice")
        let (token, claims) = try await server.tokens.issue(for: Principal(userId: "alice", orgId: "acme", role: .member))
        try await server.directory.revoke(jti: claims.jti.value, expiresAt: claims.exp.value)
        try await Self.expectBothRefuse(server, token: token, TokenError.revoked.description)
    }

    @Test func removedMemberIs401OnMCPAndREST() async throws {
        let server = try await RouteServer()
        _ = try await server.token("owner", role: .owner)
        let token = try await server.token("alice")
        try await server.directory.removeMember(userId: "alice", orgId: "acme")
        try await Self.expectBothRefuse(server, token: token, "not a member of this organisation")
    }
}
