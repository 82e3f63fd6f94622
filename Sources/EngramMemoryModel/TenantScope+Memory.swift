public import EngramAuth
public import EngramMetadata

extension TenantScope {
    /// A principal acting for themselves and in their org: `user:<id>` and `org:<org>`.
    public init(_ principal: Principal) {
        self = .user(principal.userId, org: principal.orgId)
    }

    /// The tenant of a memory (`org:<id>` or `user:<owner>`), acted on by `actor`.
    package static func memory(_ m: Memory, actor: String?) -> TenantScope {
        TenantScope(tenants: [m.tenant], userId: actor)
    }
}
