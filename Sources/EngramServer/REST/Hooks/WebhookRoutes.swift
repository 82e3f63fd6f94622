import Crypto
import EngramAccounts
import EngramCore
import EngramHTTP
import EngramLifecycle
import EngramMemory
import EngramMemoryModel
import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// Git host webhooks: `POST /v1/hooks/github/{org}` and `POST /v1/hooks/gitlab/{org}`.
///
/// The body is read raw (413 beyond the limit) and authenticated before it is parsed: GitHub's
/// `X-Hub-Signature-256` (HMAC-SHA256 of the raw body under the org's webhook secret, compared in
/// constant time), GitLab's `X-Gitlab-Token` (the secret itself, compared in constant time). A bad or
/// missing signature gets 401 and an audit entry; an org without a webhook secret gets 404. A delivery
/// id seen before is a replay: acknowledged and ignored. Unknown events get 202.
struct WebhookRoutes: Sendable {
    let services: ServerServices
    var memories: MemoryService { services.memories }
    /// Webhook bodies may be larger than API bodies (GitHub sends up to 25 MB; pushes list commits).
    static let maxBodyBytes = 5 * 1024 * 1024

    enum Provider: String {
        case github, gitlab
    }

    func register(on router: Router<EngramRequestContext>) {
        router.post("v1/hooks/github/{org}") { request, context in try await handle(.github, request, context) }
        router.post("v1/hooks/gitlab/{org}") { request, context in try await handle(.gitlab, request, context) }
    }

    static func header(_ request: Request, _ name: String) -> String? {
        HTTPField.Name(name).flatMap { request.headers[$0] }
    }

    /// Whether `signature` (`sha256=<hex>`) is the HMAC-SHA256 of `body` under `secret` (constant-time).
    static func validGitHubSignature(_ signature: String?, body: [UInt8], secret: String) -> Bool {
        guard let signature, signature.hasPrefix("sha256="), let mac = Hex.decode(String(signature.dropFirst(7))), mac.count == 32 else {
            return false
        }
        return HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: body, using: SymmetricKey(data: Data(secret.utf8)))
    }

    /// Whether GitLab's token equals the secret, compared in constant time (over their SHA-256 digests,
    /// so the comparison does not leak the secret's length either).
    static func validGitLabToken(_ token: String?, secret: String) -> Bool {
        guard let token else { return false }
        let a = Array(SHA256.hash(data: Data(token.utf8)))
        let b = Array(SHA256.hash(data: Data(secret.utf8)))
        var diff: UInt8 = 0
        for i in 0..<a.count { diff |= a[i] ^ b[i] }
        return diff == 0
    }

    func handle(_ provider: Provider, _ request: Request, _ context: EngramRequestContext) async throws -> Response {
        let org = try context.parameters.require("org")
        let buffer = try await request.body.collect(upTo: Self.maxBodyBytes)
        let raw = Array(buffer.readableBytesView)
        guard let secret = try await memories.webhookSecret(orgId: org) else {
            throw APIError(.notFound, code: "not_found", "no webhook is configured for this organisation")
        }
        let authentic: Bool
        let deliveryID: String?
        let eventName: String?
        switch provider {
        case .github:
            let signature = Self.header(request, "X-Hub-Signature-256")
            authentic = Self.validGitHubSignature(signature, body: raw, secret: secret)
            deliveryID = Self.header(request, "X-GitHub-Delivery")
            eventName = Self.header(request, "X-GitHub-Event")
            if !authentic {
                await memories.recordRejectedWebhook(
                    orgId: org,
                    provider: provider.rawValue,
                    why: signature == nil ? "missing signature" : "bad signature"
                )
            }
        case .gitlab:
            let token = Self.header(request, "X-Gitlab-Token")
            authentic = Self.validGitLabToken(token, secret: secret)
            deliveryID = Self.header(request, "X-Gitlab-Event-UUID") ?? Self.header(request, "Idempotency-Key")
            eventName = Self.header(request, "X-Gitlab-Event")
            if !authentic {
                await memories.recordRejectedWebhook(orgId: org, provider: provider.rawValue, why: token == nil ? "missing token" : "bad token")
            }
        }
        guard authentic else {
            context.logger.notice("webhook rejected", metadata: ["provider": "\(provider.rawValue)", "org": "\(org)", "bytes": "\(raw.count)"])
            throw APIError.unauthorized(provider == .github ? "invalid or missing X-Hub-Signature-256" : "invalid or missing X-Gitlab-Token")
        }
        guard let eventName else { throw APIError.badRequest("missing event header") }
        let body = try JSONBody.parse(Data(raw))
        let event = provider == .github ? GitEvent.github(event: eventName, body: body) : GitEvent.gitlab(event: eventName, body: body)
        switch event {
        case .ping:
            return JSONBody.response(.object(["status": "pong"]))
        case let .ignored(why):
            context.logger.info("webhook ignored", metadata: ["provider": "\(provider.rawValue)", "event": "\(eventName.prefix(64))"])
            return JSONBody.response(.object(["status": "ignored", "reason": .string(why)]), status: .accepted)
        case .push, .merged:
            break
        }
        if let deliveryID, !deliveryID.isEmpty {
            guard try await memories.claimDelivery(orgId: org, provider: provider.rawValue, deliveryId: String(deliveryID.prefix(128))) else {
                return JSONBody.response(.object(["status": "duplicate"]))
            }
        }
        do {
            let result = try await apply(event, org: org)
            context.logger.info(
                "webhook applied",
                metadata: ["provider": "\(provider.rawValue)", "event": "\(eventName.prefix(64))", "memories": "\(result.count)"]
            )
            return JSONBody.response(result.json)
        } catch {
            if let deliveryID { await memories.releaseDelivery(orgId: org, provider: provider.rawValue, deliveryId: String(deliveryID.prefix(128))) }
            throw error
        }
    }

    struct Outcome {
        var json: JSONValue
        var count: Int
    }

    func apply(_ event: GitEvent, org: String) async throws -> Outcome {
        let origin = WriteOrigin(.webhook)
        switch event {
        case let .push(repository, commit, paths):
            let members = Set(try await services.directory.members(orgId: org).map(\.userId))
            let marked = try await memories.markCodeChanged(
                orgId: org,
                members: members,
                repository: repository,
                commit: commit,
                paths: paths,
                origin: origin
            )
            return Outcome(
                json: .object([
                    "status": "applied", "event": "push", "commit": .string(commit),
                    "anchor_changed": .array(marked.map { .string($0.id.lowercasedText) }),
                ]),
                count: marked.count
            )
        case let .merged(repository, branch, title):
            let promoted = try await memories.finishMerged(orgId: org, repository: repository, branch: branch, title: title, origin: origin)
            return Outcome(
                json: .object([
                    "status": "applied", "event": "merged",
                    "promoted": .array(promoted.map { .string($0.id.lowercasedText) }),
                    "state": Set(promoted.map(\.state)).count == 1 ? .string(promoted[0].state.rawValue) : .null,
                ]),
                count: promoted.count
            )
        case .ping, .ignored:
            return Outcome(json: .object(["status": "ignored"]), count: 0)
        }
    }
}
