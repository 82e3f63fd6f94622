public import EngramAuth
public import EngramMemory
import EngramMemoryModel
import EngramMetadata
import Foundation

extension MemoryService {
    /// Webhook secrets are at least this long (GitHub and GitLab accept any; short ones are guessable).
    public static let minWebhookSecretLength = 16
    public static let maxWebhookSecretLength = 256

    /// The organisation's webhook secret (nil when none is set). Never returned by any API or logged.
    public func webhookSecret(orgId: String) async throws -> String? {
        guard let lifecycle else { return nil }
        do {
            return try await lifecycle.read(.org(orgId)) { tx in try tx.webhookSecret(orgId: orgId) }
        } catch {
            throw MemoryError.unavailable("the webhook settings are not readable")
        }
    }

    /// Whether the organisation has a webhook secret.
    public func hasWebhookSecret(orgId: String) async throws -> Bool { try await webhookSecret(orgId: orgId) != nil }

    /// Sets (nil: clears) the webhook secret of the admin's organisation; audited without the secret.
    public func setWebhookSecret(_ principal: Principal, _ secret: String?) async throws {
        let org = try requireReviewer(principal)
        try await setWebhookSecret(orgId: org, secret, actor: principal.userId)
    }

    /// Sets (nil: clears) an organisation's webhook secret as `actor` (the CLI passes `operator`).
    public func setWebhookSecret(orgId: String, _ secret: String?, actor: String) async throws {
        if let secret {
            guard (Self.minWebhookSecretLength...Self.maxWebhookSecretLength).contains(secret.count) else {
                throw MemoryError.invalid(
                    "the webhook secret must be \(Self.minWebhookSecretLength) to \(Self.maxWebhookSecretLength) characters"
                )
            }
            guard !MemoryInput.hasControlCharacter(secret, allowingLayout: false), !secret.contains(" ") else {
                throw MemoryError.invalid("the webhook secret must not contain spaces or control characters")
            }
        }
        guard let lifecycle else { throw MemoryError.unavailable("webhooks need the service database") }
        if secret != nil, secretsNeedKey, !lifecycle.sealsSecrets {
            throw MemoryError.conflict("webhook secrets are stored encrypted only: the server needs ENGRAM_ENCRYPTION_KEY")
        }
        let known: Bool
        do {
            known = try await lifecycle.write(.org(orgId, actor: actor)) { tx in try tx.setWebhookSecret(secret, orgId: orgId) }
        } catch {
            throw MemoryError.unavailable("the webhook secret was not saved")
        }
        guard known else { throw MemoryError.notFound }
        try await recordAudit(
            orgId,
            actor: actor,
            action: "webhook-secret",
            memory: nil,
            before: nil,
            after: nil,
            detail: secret == nil ? "cleared" : "set"
        )
    }

    /// Claims a delivery id: true the first time, false for a replay.
    public func claimDelivery(orgId: String, provider: String, deliveryId: String) async throws -> Bool {
        guard let lifecycle else { return true }
        do {
            let now = Date().timeIntervalSince1970
            return try await lifecycle.write(.org(orgId)) { tx in
                try tx.recordDelivery(orgId: orgId, provider: provider, deliveryId: deliveryId, at: now)
            }
        } catch {
            throw MemoryError.unavailable("the webhook delivery could not be recorded")
        }
    }

    /// Releases a claimed delivery id whose processing failed, so the provider's redelivery runs.
    public func releaseDelivery(orgId: String, provider: String, deliveryId: String) async {
        guard let lifecycle else { return }
        try? await lifecycle.write(.org(orgId)) { tx in try tx.forgetDelivery(orgId: orgId, provider: provider, deliveryId: deliveryId) }
    }

    /// Audits a webhook refused for its signature or token (never the secret or the body).
    public func recordRejectedWebhook(orgId: String, provider: String, why: String) async {
        try? await recordAudit(
            orgId,
            actor: "webhook",
            action: "webhook-rejected",
            memory: nil,
            before: nil,
            after: nil,
            detail: "\(provider): \(why)"
        )
    }
}
