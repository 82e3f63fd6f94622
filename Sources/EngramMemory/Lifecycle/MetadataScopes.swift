public import EngramAuth
public import EngramMetadata
import Foundation

extension TenantScope {
    /// A principal acting for themselves and in their org: `user:<id>` and `org:<org>`.
    public init(_ principal: Principal) {
        self = .user(principal.userId, org: principal.orgId)
    }

    /// The tenant of a memory (`org:<id>` or `user:<owner>`), acted on by `actor`.
    static func memory(_ m: Memory, actor: String?) -> TenantScope {
        TenantScope(tenants: [m.tenant], userId: actor)
    }
}

extension MemoryService {
    /// The scope of a memory's metadata rows (versions, reports, usage): its tenant when the index holds
    /// it, and the acting principal's own tenants (a deleted memory's rows are the caller's or their org's).
    func metadataScope(_ id: UUID, principal: Principal? = nil, actor: String? = nil) -> TenantScope {
        var tenants = index.get(id).map { [$0.tenant] } ?? []
        if let principal { tenants += TenantScope(principal).tenants }
        return TenantScope(tenants: tenants, userId: principal?.userId ?? actor)
    }
}
