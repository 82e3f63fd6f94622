public import EngramAuth

/// The single place that decides what a principal may read or change. Deny by default.
///
/// - Personal memories: the author only.
/// - Org memories, published or stale: members of that org (every role).
/// - Org memories in draft or pending review: the author, and admins/owners of that org.
/// - Archived or rejected org memories: admins/owners of that org (review).
/// - Quarantined memories (a rescan found a secret or a planted instruction, or an admin contained them):
///   nobody, through any path.
/// - Viewers read; they never write.
public enum AccessPolicy {
    /// Whether `principal` may see `memory`.
    public static func canRead(_ principal: Principal, _ memory: Memory) -> Bool {
        // A quarantined memory is contained: nobody reads it through any path.
        if memory.state == .quarantined { return false }
        switch memory.scope {
        case .personal:
            return memory.userId == principal.userId
        case .org:
            guard let org = memory.orgId, org == principal.orgId, principal.role.allows(.readMemories) else { return false }
            switch memory.state {
            case .published, .stale: return true
            case .draft, .pendingReview:
                return memory.userId == principal.userId || principal.role.allows(.reviewMemories)
            case .archived, .rejected:
                return principal.role.allows(.reviewMemories)
            case .quarantined:
                return false
            }
        }
    }

    /// Whether `principal` may change or delete `memory` through the ordinary (non-admin) routes:
    /// its author, holding the write permission, while the memory is readable to them.
    public static func canModify(_ principal: Principal, _ memory: Memory) -> Bool {
        guard canRead(principal, memory), memory.userId == principal.userId else { return false }
        if memory.scope == .org { return principal.can(.writeOwnMemories, inOrg: memory.orgId) }
        return principal.role.allows(.writeOwnMemories)
    }

    /// Whether `principal` may review (approve, reject, edit, archive, delete) `memory`.
    public static func canReview(_ principal: Principal, _ memory: Memory) -> Bool {
        memory.scope == .org && memory.state != .quarantined && principal.can(.reviewMemories, inOrg: memory.orgId)
    }

    /// Whether `principal` may create a memory in `scope`.
    public static func canCreate(_ principal: Principal, scope: MemoryScope) -> Bool {
        guard principal.role.allows(.writeOwnMemories) else { return false }
        return scope == .personal || principal.orgId != nil
    }

    /// The tenants whose shards a search by `principal` needs to scan.
    public static func visibleTenants(_ principal: Principal) -> [String] {
        var tenants = [Memory.tenant(scope: .personal, userId: principal.userId, orgId: nil)]
        if let org = principal.orgId, principal.role.allows(.readMemories) {
            tenants.append(Memory.tenant(scope: .org, userId: principal.userId, orgId: org))
        }
        return tenants
    }
}
