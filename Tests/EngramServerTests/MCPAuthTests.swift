import EngramAuth
import EngramCore
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

/// Who may talk to `/mcp/{userId}`, in process: no token or a bad one is 401 with a `WWW-Authenticate`
/// challenge (before any JSON-RPC parsing), a valid token for another user than the path's is 403,
/// and the endpoint only takes POST (other methods 405 with `Allow: POST`).
@Suite struct MCPAuthTests {
    static let ping = #"{"jsonrpc":"2.0","id":1,"method":"ping"}"#

    @Test func missingTokenIs401WithChallenge() async throws {
        let server = try await RouteServer()
        _ = try await server.token("alice")
        try await server.test { client in
            let response = try await client.send(.post, "/mcp/alice", raw: Self.ping)
            #expect(response.status == .unauthorized)
            #expect(response.headers[.wwwAuthenticate] == #"Bearer realm="engram", error="invalid_token""#)
            #expect(response.errorCode == "unauthorized")
            #expect(response.json["error"]?["message"] == "missing bearer token")
        }
    }

    @Test(arguments: ["not-a-jwt", "aaa.bbb.ccc"])
    func badTokenIs401WithChallenge(_ token: String) async throws {
        let server = try await RouteServer()
        _ = try await server.token("alice")
        try await server.test { client in
            let response = try await client.send(.post, "/mcp/alice", token: token, raw: Self.ping)
            #expect(response.status == .unauthorized)
            #expect(response.headers[.wwwAuthenticate]?.hasPrefix("Bearer ") == true)
            #expect(response.json["error"]?["message"] == "malformed token")
            #expect(response.rpcErrorCode == nil)
        }
    }

    @Test func tokenSignedWithAnotherSecretIs401() async throws {
        let server = try await RouteServer()
        _ = try await server.token("alice")
        let stranger = await TokenService(secret: RouteServer.randomSecret())
        let forged = try await stranger.issue(for: Principal(userId: "alice", orgId: "acme", role: .member)).token
        try await server.test { client in
            let response = try await client.send(.post, "/mcp/alice", token: forged, raw: Self.ping)
            #expect(response.status == .unauthorized)
            #expect(response.headers[.wwwAuthenticate] != nil)
            #expect(response.json["error"]?["message"] == "invalid token")
        }
    }

    @Test func tokenForAnotherUserThanThePathIs403() async throws {
        let server = try await RouteServer()
        let alice = try await server.token("alice")
        _ = try await server.token("bob")
        try await server.test { client in
            let own = try await client.send(.post, "/mcp/alice", token: alice, raw: Self.ping)
            #expect(own.status == .ok)
            #expect(own.json["result"] == .object([:]))
            let other = try await client.send(.post, "/mcp/bob", token: alice, raw: Self.ping)
            #expect(other.status == .forbidden)
            #expect(other.body.readableBytes == 0)
        }
    }

    @Test(arguments: [HTTPRequest.Method.get, .put, .patch, .delete])
    func onlyPostIsAllowed(_ method: HTTPRequest.Method) async throws {
        let server = try await RouteServer()
        let token = try await server.token("alice")
        try await server.test { client in
            let response = try await client.send(method, "/mcp/alice", token: token)
            #expect(response.status == .methodNotAllowed)
            #expect(response.headers[.allow] == "POST")
        }
    }
}
