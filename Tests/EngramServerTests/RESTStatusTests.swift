import EngramCore
import EngramHTTP
import EngramServer
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

/// How the REST API maps failures to statuses, in process: 404 `not_found` for an unknown id and for
/// memories the caller may not see (another user's personal memory, another org's memory — the same
/// answer, so existence never leaks); 400 `invalid_request` for bad bodies, ids and limits; 413 for
/// a body over `ServerLimits.maxBodyBytes`; 422 `secret_detected` for a credential in the content,
/// without echoing it. Nothing is stored by a refused write.
@Suite struct RESTStatusTests {
    /// Expects a REST error with `status` and `code`.
    static func expectError(
        _ response: TestResponse,
        _ status: HTTPResponse.Status,
        _ code: String,
        _ comment: Comment? = nil,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(response.status == status, comment, sourceLocation: sourceLocation)
        #expect(response.errorCode == code, comment, sourceLocation: sourceLocation)
    }

    @Test func unknownIdIs404() async throws {
        let server = try await RouteServer()
        let alice = try await server.token("alice")
        let unknown = UUID().uuidString.lowercased()
        try await server.test { client in
            for method in [HTTPRequest.Method.get, .delete] {
                Self.expectError(try await client.send(method, "/v1/memories/\(unknown)", token: alice), .notFound, "not_found", "\(method)")
            }
            let patch = try await client.send(.patch, "/v1/memories/\(unknown)", token: alice, json: ["content": "Edited"])
            Self.expectError(patch, .notFound, "not_found")
            #expect(patch.json["error"]?["message"] == "not found")
        }
    }

    @Test func anotherUsersPersonalMemoryIs404() async throws {
        let server = try await RouteServer()
        let alice = try await server.token("alice")
        let bob = try await server.token("bob")
        try await server.test { client in
            let created = try await client.send(.post, "/v1/memories", token: alice, json: ["content": "I prefer tabs in Makefiles"])
            #expect(created.status == .created)
            let id = try #require(created.json["memory"]?["id"]?.stringValue)
            #expect(try await client.send(.get, "/v1/memories/\(id)", token: alice).status == .ok)
            Self.expectError(try await client.send(.get, "/v1/memories/\(id)", token: bob), .notFound, "not_found", "get")
            Self.expectError(
                try await client.send(.patch, "/v1/memories/\(id)", token: bob, json: ["content": "Spaces"]),
                .notFound,
                "not_found",
                "patch"
            )
            Self.expectError(try await client.send(.delete, "/v1/memories/\(id)", token: bob), .notFound, "not_found", "delete")
            #expect(try await client.send(.get, "/v1/memories/\(id)", token: alice).json["memory"]?["content"] == "I prefer tabs in Makefiles")
        }
    }

    @Test func anotherOrgsMemoryIs404() async throws {
        let server = try await RouteServer()
        let alice = try await server.token("alice")
        let bob = try await server.token("bob")
        let dave = try await server.token("dave", org: "globex", role: .owner)
        try await server.test { client in
            let draft = try await client.send(.post, "/v1/memories", token: alice, json: ["content": "Staging resets every Sunday", "scope": "org"])
            let id = try #require(draft.json["memory"]?["id"]?.stringValue)
            let finished = try await client.send(.post, "/v1/finish", token: alice, json: [:])
            #expect(finished.status == .ok)
            let teammate = try await client.send(.get, "/v1/memories/\(id)", token: bob)
            #expect(teammate.status == .ok)
            #expect(teammate.json["memory"]?["state"] == "published")
            Self.expectError(try await client.send(.get, "/v1/memories/\(id)", token: dave), .notFound, "not_found", "REST")
            Self.expectError(try await client.send(.get, "/v1/admin/memories/\(id)", token: dave), .notFound, "not_found", "admin")
            let archive = try await client.send(.post, "/v1/admin/memories/\(id)/archive", token: dave)
            Self.expectError(archive, .notFound, "not_found", "admin action")
            let search = try await client.send(.get, "/v1/memories/search?q=staging", token: dave)
            #expect(search.json["results"] == .array([]))
        }
    }

    @Test func invalidBodyIdAndLimitAre400() async throws {
        let server = try await RouteServer()
        let alice = try await server.token("alice", role: .admin)
        try await server.test { client in
            let bodies: [(String, String)] = [
                ("{\"content\": ", "request body is not valid JSON"), ("[]", "request body must be a JSON object"),
                ("", "request body is empty"),
            ]
            for (raw, message) in bodies {
                let response = try await client.send(.post, "/v1/memories", token: alice, raw: raw)
                Self.expectError(response, .badRequest, "invalid_request", "body \(raw)")
                #expect(response.json["error"]?["message"]?.stringValue == message, "body \(raw)")
            }
            for body: JSONValue in [["content": 5], [:], ["content": "ok", "scope": "team"], ["content": "ok", "surprise": 1]] {
                Self.expectError(try await client.send(.post, "/v1/memories", token: alice, json: body), .badRequest, "invalid_request", "\(body)")
            }
            for path in ["/v1/memories/not-a-uuid", "/v1/memories/1234", "/v1/admin/memories/xyz"] {
                let response = try await client.send(.get, path, token: alice)
                Self.expectError(response, .badRequest, "invalid_request", "\(path)")
                #expect(response.json["error"]?["message"] == "id must be a UUID", "\(path)")
            }
            for query in ["limit=0", "limit=101", "limit=ten", "limit=-3"] {
                Self.expectError(try await client.send(.get, "/v1/memories?\(query)", token: alice), .badRequest, "invalid_request", "list \(query)")
            }
            for query in ["limit=0", "limit=201", "limit=many"] {
                Self.expectError(
                    try await client.send(.get, "/v1/admin/audit?\(query)", token: alice),
                    .badRequest,
                    "invalid_request",
                    "audit \(query)"
                )
            }
            #expect(try await client.send(.get, "/v1/memories?limit=100", token: alice).status == .ok)
            #expect(try await client.send(.get, "/v1/memories", token: alice).json["memories"] == .array([]))
        }
    }

    @Test func bodyOverTheLimitIs413() async throws {
        let server = try await RouteServer(limits: ServerLimits(maxBodyBytes: 256))
        let alice = try await server.token("alice")
        try await server.test { client in
            let small = try await client.send(.post, "/v1/memories", token: alice, json: ["content": "Short enough to pass"])
            #expect(small.status == .created)
            let big = String(repeating: "The build cache lives in .build; ", count: 20)
            let response = try await client.send(.post, "/v1/memories", token: alice, json: ["content": .string(big)])
            #expect(response.status == .contentTooLarge)
            let listed = try await client.send(.get, "/v1/memories", token: alice)
            #expect(listed.json["memories"]?.items.compactMap { $0["content"]?.stringValue } == ["Short enough to pass"])
        }
    }

    @Test func secretInContentIs422WithoutEchoingIt() async throws {
        let server = try await RouteServer()
        let alice = try await server.token("alice")
        let secret = SecretFixtures.fakeGitHubToken()
        try await server.test { client in
            let response = try await client.send(.post, "/v1/memories", token: alice, json: ["content": .string("CI pushes tags with \(secret)")])
            Self.expectError(response, .unprocessableContent, "secret_detected")
            #expect(!response.text.contains(secret))
            #expect(!response.text.contains(String(secret.dropFirst(4).prefix(12))))
            let kept = try await client.send(.post, "/v1/memories", token: alice, json: ["content": "CI pushes tags with the deploy key"])
            #expect(kept.status == .created)
            let id = try #require(kept.json["memory"]?["id"]?.stringValue)
            let edit = try await client.send(.patch, "/v1/memories/\(id)", token: alice, json: ["content": .string("Use \(secret)")])
            Self.expectError(edit, .unprocessableContent, "secret_detected")
            let after = try await client.send(.get, "/v1/memories", token: alice)
            #expect(after.json["memories"]?.items.compactMap { $0["content"]?.stringValue } == ["CI pushes tags with the deploy key"])
        }
    }
}
