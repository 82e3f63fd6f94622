import EngramCore
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

/// Approval binds to the text the reviewer read, in process: an admin who opened an org memory
/// before its author edited it gets 409 `conflict` when approving with the old `content_hash`
/// (body or `If-Match`), and the memory is unchanged; approving with the current hash publishes it;
/// approving without any hash is 400.
@Suite struct RESTReviewConflictTests {
    /// An org draft by member alice, as admin carol read it (`content_hash` included), after alice edited it.
    struct EditedDraft: Sendable {
        let id: String
        let seenHash: String
        let currentHash: String
    }

    static func editedDraft(_ client: any TestClientProtocol, member: String, admin: String) async throws -> EditedDraft {
        let created = try await client.send(
            .post,
            "/v1/memories",
            token: member,
            json: ["content": "Feature flags are removed two releases after launch", "scope": "org"]
        )
        #expect(created.status == .created)
        #expect(created.json["memory"]?["state"] == "draft")
        let id = try #require(created.json["memory"]?["id"]?.stringValue)
        let seen = try await client.send(.get, "/v1/admin/memories/\(id)", token: admin)
        #expect(seen.status == .ok)
        let seenHash = try #require(seen.json["memory"]?["content_hash"]?.stringValue)
        let edited = try await client.send(
            .patch,
            "/v1/memories/\(id)",
            token: member,
            json: ["content": "Feature flags are removed one release after launch"]
        )
        #expect(edited.status == .ok)
        let current = try await client.send(.get, "/v1/admin/memories/\(id)", token: admin)
        let currentHash = try #require(current.json["memory"]?["content_hash"]?.stringValue)
        #expect(currentHash != seenHash)
        return EditedDraft(id: id, seenHash: seenHash, currentHash: currentHash)
    }

    /// Runs `body` with a client, admin carol's token and an edited draft of member alice.
    static func withEditedDraft(_ body: @escaping @Sendable (any TestClientProtocol, String, EditedDraft) async throws -> Void) async throws {
        let server = try await RouteServer()
        let member = try await server.token("alice")
        let admin = try await server.token("carol", role: .admin)
        try await server.test { client in
            try await body(client, admin, try await editedDraft(client, member: member, admin: admin))
        }
    }

    @Test func approvingAStaleContentHashIs409AndChangesNothing() async throws {
        try await Self.withEditedDraft { client, admin, draft in
            let stale = try await client.send(
                .post,
                "/v1/admin/memories/\(draft.id)/approve",
                token: admin,
                json: ["content_hash": .string(draft.seenHash)]
            )
            #expect(stale.status == .conflict)
            #expect(stale.errorCode == "conflict")
            let staleTag = try await client.send(
                .post,
                "/v1/admin/memories/\(draft.id)/approve",
                token: admin,
                headers: [.ifMatch: "\"\(draft.seenHash)\""]
            )
            #expect(staleTag.status == .conflict)
            #expect(staleTag.errorCode == "conflict")
            let unchanged = try await client.send(.get, "/v1/admin/memories/\(draft.id)", token: admin)
            #expect(unchanged.json["memory"]?["state"] == "draft")
            #expect(unchanged.json["memory"]?["content"] == "Feature flags are removed one release after launch")

            let approved = try await client.send(
                .post,
                "/v1/admin/memories/\(draft.id)/approve",
                token: admin,
                json: ["content_hash": .string(draft.currentHash)]
            )
            #expect(approved.status == .ok)
            #expect(approved.json["memory"]?["state"] == "published")
        }
    }

    @Test func approvingWithoutAHashIs400() async throws {
        try await Self.withEditedDraft { client, admin, draft in
            for body: JSONValue? in [nil, [:], ["content_hash": 7]] {
                let response = try await client.send(.post, "/v1/admin/memories/\(draft.id)/approve", token: admin, json: body)
                #expect(response.status == .badRequest, "\(String(describing: body))")
                #expect(response.errorCode == "invalid_request", "\(String(describing: body))")
            }
            let disagree = try await client.send(
                .post,
                "/v1/admin/memories/\(draft.id)/approve",
                token: admin,
                json: ["content_hash": .string(draft.currentHash)],
                headers: [.ifMatch: "\"\(draft.seenHash)\""]
            )
            #expect(disagree.status == .badRequest)
            #expect(disagree.json["error"]?["message"] == "If-Match and content_hash disagree")
            let still = try await client.send(.get, "/v1/admin/memories/\(draft.id)", token: admin)
            #expect(still.json["memory"]?["state"] == "draft")
        }
    }
}
