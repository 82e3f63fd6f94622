import EngramAuth
import EngramCore
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

/// Authentication and authorisation of the REST API, in process: a missing, malformed, expired or
/// forged bearer token is 401 (`unauthorized`, with a `WWW-Authenticate` challenge and the reason);
/// a valid token works; a viewer writing and a member on `/v1/admin/*` are 403 (`forbidden`).
@Suite struct RESTAuthTests {
    static let challenge = #"Bearer realm="engram", error="invalid_token""#

    /// Expects a REST 401 with the challenge and `message`.
    static func expectUnauthorized(_ response: TestResponse, _ message: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(response.status == .unauthorized, sourceLocation: sourceLocation)
        #expect(response.headers[.wwwAuthenticate] == challenge, sourceLocation: sourceLocation)
        #expect(response.errorCode == "unauthorized", sourceLocation: sourceLocation)
        #expect(response.json["error"]?["message"]?.stringValue == message, sourceLocation: sourceLocation)
    }

    @Test func missingTokenIs401() async throws {
        let server = try await RouteServer()
        try await server.test { client in
            Self.expectUnauthorized(try await client.send(.get, "/v1/me"), "missing bearer token")
            Self.expectUnauthorized(try await client.send(.get, "/v1/me", headers: [.authorization: "Basic YWxpY2U6cHc="]), "missing bearer token")
            Self.expectUnauthorized(try await client.send(.post, "/v1/memories", json: ["content": "Anonymous note"]), "missing bearer token")
        }
    }

    @Test(arguments: ["garbage", "a.b", "x.y.z", "Bearer"])
    func malformedTokenIs401(_ token: String) async throws {
        let server = try await RouteServer()
        try await server.test { client in
            Self.expectUnauthorized(try await client.send(.get, "/v1/memories", token: token), "malformed token")
        }
    }

    @Test func expiredTokenIs401() async throws {
        let server = try await RouteServer()
        _ = try await server.token("alice")
        let twoDaysAgo = Date().addingTimeInterval(-2 * 86_400)
        let (expired, _) = try await server.tokens.issue(
            for: Principal(userId: "alice", orgId: "acme", role: .member),
            lifetime: 86_400,
            now: twoDaysAgo
        )
        try await server.test { client in
            Self.expectUnauthorized(try await client.send(.get, "/v1/me", token: expired), "token expired")
        }
    }

    @Test func tokenWithAForgedSignatureIs401() async throws {
        let server = try await RouteServer()
        let genuine = try await server.token("alice", role: .owner)
        let forger = await TokenService(secret: RouteServer.randomSecret())
        let (forged, _) = try await forger.issue(for: Principal(userId: "alice", orgId: "acme", role: .owner))
        // The genuine header and claims with another signature: only the signature differs.
        let parts = genuine.split(separator: ".")
        let spliced = parts[0] + "." + parts[1] + "." + forged.split(separator: ".")[2]
        try await server.test { client in
            let me = try await client.send(.get, "/v1/me", token: genuine)
            #expect(me.status == .ok)
            #expect(me.json["user_id"] == "alice")
            #expect(me.json["role"] == "owner")
            Self.expectUnauthorized(try await client.send(.get, "/v1/me", token: forged), "invalid token")
            Self.expectUnauthorized(try await client.send(.get, "/v1/me", token: String(spliced)), "invalid token")
        }
    }

    @Test func viewerWritingIs403() async throws {
        let server = try await RouteServer()
        let author = try await server.token("alice")
        let viewer = try await server.token("victor", role: .viewer)
        try await server.test { client in
            let draft = try await client.send(
                .post,
                "/v1/memories",
                token: author,
                json: ["content": "Migrations run before deploys", "scope": "org"]
            )
            #expect(draft.status == .created)
            let id = try #require(draft.json["memory"]?["id"]?.stringValue)
            #expect(try await client.send(.post, "/v1/finish", token: author, json: [:]).status == .ok)
            #expect(try await client.send(.get, "/v1/memories/\(id)", token: viewer).status == .ok, "viewers read")
            for scope in ["personal", "org"] {
                let write = try await client.send(.post, "/v1/memories", token: viewer, json: ["content": "Viewer note", "scope": .string(scope)])
                #expect(write.status == .forbidden, "\(scope)")
                #expect(write.errorCode == "forbidden", "\(scope)")
                #expect(write.json["error"]?["message"] == "role viewer cannot write memories", "\(scope)")
            }
            let edit = try await client.send(.patch, "/v1/memories/\(id)", token: viewer, json: ["content": "Viewer edit"])
            #expect(edit.status == .forbidden)
            #expect(edit.errorCode == "forbidden")
            let delete = try await client.send(.delete, "/v1/memories/\(id)", token: viewer)
            #expect(delete.status == .forbidden)
            #expect(delete.errorCode == "forbidden")
        }
    }

    @Test func memberOnAdminRoutesIs403() async throws {
        let server = try await RouteServer()
        let member = try await server.token("alice")
        let admin = try await server.token("carol", role: .admin)
        try await server.test { client in
            let routes: [(HTTPRequest.Method, String, JSONValue?)] = [
                (.get, "/v1/admin/memories", nil), (.get, "/v1/admin/members", nil), (.get, "/v1/admin/audit", nil),
                (.get, "/v1/admin/org", nil), (.patch, "/v1/admin/org", ["require_review": true]),
                (.post, "/v1/admin/members", ["user_id": "mallory", "role": "admin"]),
            ]
            for (method, uri, body) in routes {
                let refused = try await client.send(method, uri, token: member, json: body)
                #expect(refused.status == .forbidden, "\(method) \(uri)")
                #expect(refused.errorCode == "forbidden", "\(method) \(uri)")
                let allowed = try await client.send(.get, uri, token: admin)
                #expect(allowed.status == .ok, "admin: GET \(uri)")
            }
        }
    }
}
