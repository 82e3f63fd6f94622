public import EngramAuth
import EngramCore
public import EngramMemoryModel
import EngramMetadata
import Foundation
import Synchronization

/// An organisation's lifecycle policy (stale period, version retention, four eyes) and how long the
/// service keeps served-log rows, webhook delivery ids and change-feed entries.
extension MemoryService {
    /// Served-log rows are kept this long.
    public static let servedLogRetentionDays = 90.0
    /// Webhook delivery ids are remembered this long (replays within it are ignored).
    public static let deliveryRetentionDays = 30.0
    /// Change-feed entries are kept this long (`MemoryService+Follow`).
    public static let changeFeedRetentionDays = 1.0

    /// The lifecycle policy of the memory's organisation (the default for personal memories).
    public func policy(of m: Memory) -> LifecyclePolicy {
        guard m.scope == .org, let org = m.orgId else { return .default }
        return policies.withLock { $0[org] } ?? .default
    }

    /// An organisation's lifecycle policy.
    public func policy(orgId: String) -> LifecyclePolicy { policies.withLock { $0[orgId] } ?? .default }

    /// Sets an organisation's policy (owners and admins of it).
    public func setPolicy(_ principal: Principal, _ policy: LifecyclePolicy) async throws -> LifecyclePolicy {
        let org = try requireReviewer(principal)
        guard LifecyclePolicy.staleRange.contains(policy.staleAfterDays) else {
            throw MemoryError.invalid(
                "stale_after_days must be between \(LifecyclePolicy.staleRange.lowerBound) and \(LifecyclePolicy.staleRange.upperBound)"
            )
        }
        guard LifecyclePolicy.retentionRange.contains(policy.versionRetentionDays) else {
            throw MemoryError.invalid(
                "version_retention_days must be between \(LifecyclePolicy.retentionRange.lowerBound) and \(LifecyclePolicy.retentionRange.upperBound)"
            )
        }
        guard let lifecycle else { throw MemoryError.unavailable("policies need the service database") }
        let before = self.policy(orgId: org)
        let row = LifecyclePolicyRow(
            staleAfterDays: policy.staleAfterDays,
            versionRetentionDays: policy.versionRetentionDays,
            approverMustDiffer: policy.approverMustDiffer
        )
        guard try await lifecycle.write(.org(org), { tx in try tx.setPolicy(row, orgId: org) }) else { throw MemoryError.notFound }
        policies.withLock { $0[org] = policy }
        try await recordAudit(
            org,
            actor: principal.userId,
            action: "policy",
            memory: nil,
            before: nil,
            after: nil,
            detail: "stale_after_days \(before.staleAfterDays)→\(policy.staleAfterDays); "
                + "version_retention_days \(before.versionRetentionDays)→\(policy.versionRetentionDays); "
                + "approver_must_differ \(before.approverMustDiffer)→\(policy.approverMustDiffer)"
        )
        return policy
    }
}
