import Crypto
import EngramAuth
import EngramCore
import EngramMemory
import EngramMemoryModel
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

@testable import EngramServer

/// Git webhooks through the real router: the signature or token is checked before anything is parsed
/// (good, bad, missing), a replayed delivery is ignored, unknown events are acknowledged, an org without
/// a secret answers 404, and the payloads are the documented examples in Tests/Fixtures/webhooks.
@Suite struct WebhookRouteTests {
    static let secret = "route-test-webhook-secret-0123"

    static func fixture(_ name: String) throws -> Data {
        let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/webhooks")
        return try Data(contentsOf: dir.appendingPathComponent(name))
    }

    static func signature(_ body: Data, secret: String = secret) -> String {
        "sha256=" + Hex.lowercase(HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: Data(secret.utf8))))
    }

    func github(_ client: any TestClientProtocol, event: String, body: Data, signature: String?, delivery: String) async throws -> TestResponse {
        var headers: HTTPFields = [.contentType: "application/json"]
        headers[HTTPField.Name("X-GitHub-Event")!] = event
        headers[HTTPField.Name("X-GitHub-Delivery")!] = delivery
        if let signature { headers[HTTPField.Name("X-Hub-Signature-256")!] = signature }
        return try await client.execute(uri: "/v1/hooks/github/acme", method: .post, headers: headers, body: ByteBuffer(bytes: body))
    }

    /// A published org memory of acme/api citing the router the push fixture modifies.
    func anchoredMemory(_ server: RouteServer) async throws -> Memory {
        _ = try await server.token("alice")
        let alice = Principal(userId: "alice", orgId: "acme", role: .member)
        let m = try await server.services.memories.add(
            alice,
            NewMemory(
                content: "Routes are registered in Router.swift",
                scope: .org,
                repo: "github.com/acme/api",
                taskId: "W-1",
                anchors: [CodeAnchor(path: "Sources/App/Router.swift")]
            )
        ).memory
        _ = try await server.services.memories.finish(alice, taskId: "W-1")
        return m
    }

    @Test func signedPushMarksTheMemoryOnceAndBadSignaturesAreRefused() async throws {
        let server = try await RouteServer()
        let m = try await anchoredMemory(server)
        try await server.services.memories.setWebhookSecret(orgId: "acme", Self.secret, actor: "test")
        let body = try Self.fixture("github-push.json")
        try await server.test { client in
            let bad = try await github(
                client,
                event: "push",
                body: body,
                signature: Self.signature(body, secret: "another-secret-of-16+"),
                delivery: "d-1"
            )
            #expect(bad.status == .unauthorized)
            let missing = try await github(client, event: "push", body: body, signature: nil, delivery: "d-1")
            #expect(missing.status == .unauthorized)
            // One flipped byte in an otherwise validly signed body.
            var tampered = body
            tampered[tampered.count / 2] ^= 0x01
            let forged = try await github(client, event: "push", body: tampered, signature: Self.signature(body), delivery: "d-1")
            #expect(forged.status == .unauthorized)
            #expect(try server.services.memories.get(.init(userId: "alice", orgId: "acme", role: .member), id: m.id).anchorChange == nil)

            let good = try await github(client, event: "push", body: body, signature: Self.signature(body), delivery: "d-1")
            #expect(good.status == .ok)
            #expect(good.json["anchor_changed"] == .array([.string(m.id.lowercasedText)]))
            let marked = try server.services.memories.get(.init(userId: "alice", orgId: "acme", role: .member), id: m.id)
            #expect(marked.anchorChange?.commit == "6113728f27ae82c7b1a177c8d03f9e96e0adf246" && marked.state == .pendingReview)

            let replay = try await github(client, event: "push", body: body, signature: Self.signature(body), delivery: "d-1")
            #expect(replay.status == .ok && replay.json["status"] == .string("duplicate"))
            let unknown = try await github(
                client,
                event: "issues",
                body: Data("{}".utf8),
                signature: Self.signature(Data("{}".utf8)),
                delivery: "d-2"
            )
            #expect(unknown.status == .accepted)
        }
        let audit = try await server.services.memories.audit!.entries(orgId: "acme", limit: 50)
        #expect(audit.filter { $0.action == "webhook-rejected" }.count == 3)
        #expect(!audit.contains { ($0.detail ?? "").contains(Self.secret) })
    }

    @Test func gitlabTokenIsComparedAndAnOrgWithoutSecretAnswers404() async throws {
        let server = try await RouteServer()
        let m = try await anchoredMemory(server)
        let body = try Self.fixture("gitlab-push.json")
        @Sendable func send(_ client: any TestClientProtocol, token: String?) async throws -> TestResponse {
            var headers: HTTPFields = [.contentType: "application/json"]
            headers[HTTPField.Name("X-Gitlab-Event")!] = "Push Hook"
            headers[HTTPField.Name("X-Gitlab-Event-UUID")!] = UUID().uuidString
            if let token { headers[HTTPField.Name("X-Gitlab-Token")!] = token }
            return try await client.execute(uri: "/v1/hooks/gitlab/acme", method: .post, headers: headers, body: ByteBuffer(bytes: body))
        }
        try await server.test { client in
            let unconfigured = try await send(client, token: Self.secret)
            #expect(unconfigured.status == .notFound)
        }
        try await server.services.memories.setWebhookSecret(orgId: "acme", Self.secret, actor: "test")
        try await server.test { client in
            let wrong = try await send(client, token: Self.secret + "x")
            let missing = try await send(client, token: nil)
            #expect(wrong.status == .unauthorized && missing.status == .unauthorized)
            let good = try await send(client, token: Self.secret)
            #expect(good.status == .ok && good.json["anchor_changed"] == .array([.string(m.id.lowercasedText)]))
        }
    }

    @Test func signatureCheckIsExact() {
        let body = Array("payload".utf8)
        let sig = Self.signature(Data(body))
        #expect(WebhookRoutes.validGitHubSignature(sig, body: body, secret: Self.secret))
        #expect(!WebhookRoutes.validGitHubSignature(String(sig.dropLast()), body: body, secret: Self.secret))
        #expect(!WebhookRoutes.validGitHubSignature("sha1=" + sig.dropFirst(7), body: body, secret: Self.secret))
        #expect(!WebhookRoutes.validGitHubSignature(nil, body: body, secret: Self.secret))
        #expect(WebhookRoutes.validGitLabToken(Self.secret, secret: Self.secret))
        #expect(!WebhookRoutes.validGitLabToken(String(Self.secret.dropLast()), secret: Self.secret))
    }
}
