package import EngramAuth
import EngramMemoryModel
package import EngramMetadata
package import Foundation

extension MemoryService {
    /// The scope of a memory's metadata rows (versions, reports, usage): its tenant when the index holds
    /// it, and the acting principal's own tenants (a deleted memory's rows are the caller's or their org's).
    package func metadataScope(_ id: UUID, principal: Principal? = nil, actor: String? = nil) -> TenantScope {
        var tenants = index.get(id).map { [$0.tenant] } ?? []
        if let principal { tenants += TenantScope(principal).tenants }
        return TenantScope(tenants: tenants, userId: principal?.userId ?? actor)
    }
}
