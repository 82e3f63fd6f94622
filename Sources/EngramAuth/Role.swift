/// A member's role in an organisation.
public enum Role: String, Sendable, Codable, CaseIterable, Comparable {
    case owner, admin, member, viewer

    /// Rank for comparisons: owner > admin > member > viewer.
    var rank: Int {
        switch self {
        case .owner: return 3
        case .admin: return 2
        case .member: return 1
        case .viewer: return 0
        }
    }

    public static func < (a: Role, b: Role) -> Bool { a.rank < b.rank }

    /// What this role may do. The one permission table of the service.
    public var permissions: Set<Permission> {
        switch self {
        case .owner: return Set(Permission.allCases)
        case .admin: return [.readMemories, .writeOwnMemories, .reviewMemories, .manageMembers, .readAudit, .configureOrg]
        case .member: return [.readMemories, .writeOwnMemories]
        case .viewer: return [.readMemories]
        }
    }

    /// Whether the role grants `permission`.
    public func allows(_ permission: Permission) -> Bool { permissions.contains(permission) }
}

/// An action a role may be allowed to take.
public enum Permission: String, Sendable, Codable, CaseIterable {
    /// Read memories visible to the principal.
    case readMemories
    /// Create, change and delete one's own memories.
    case writeOwnMemories
    /// List, approve, reject, edit, archive and delete the org's memories.
    case reviewMemories
    /// Add, change and remove members below owner.
    case manageMembers
    /// Read the org's audit log.
    case readAudit
    /// Change the org's policy (e.g. `require_review`).
    case configureOrg
    /// Grant or revoke the owner role.
    case manageOwners
    /// Delete the organisation.
    case deleteOrg
}

/// The authenticated caller: who, in which organisation, with which role.
public struct Principal: Sendable, Hashable, Codable {
    public var userId: String
    public var orgId: String?
    public var role: Role

    public init(userId: String, orgId: String?, role: Role) {
        self.userId = userId
        self.orgId = orgId
        self.role = role
    }

    /// Whether the principal holds `permission` in `org` (its own organisation only).
    public func can(_ permission: Permission, inOrg org: String?) -> Bool {
        guard let org, org == orgId else { return false }
        return role.allows(permission)
    }
}
