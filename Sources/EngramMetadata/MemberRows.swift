/// A row of `orgs`.
public struct OrganisationRow: Sendable, Hashable {
    public var id: String
    public var name: String
    public var requireReview: Bool
    /// Seconds since 1970.
    public var createdAt: Double

    public init(id: String, name: String, requireReview: Bool, createdAt: Double) {
        self.id = id
        self.name = name
        self.requireReview = requireReview
        self.createdAt = createdAt
    }
}

/// A row of `members` (`role` is the role's raw value).
public struct MemberRow: Sendable, Hashable {
    public var orgId: String
    public var userId: String
    public var role: String
    /// Seconds since 1970.
    public var createdAt: Double

    public init(orgId: String, userId: String, role: String, createdAt: Double) {
        self.orgId = orgId
        self.userId = userId
        self.role = role
        self.createdAt = createdAt
    }
}

/// A row of `invitations` (`id` is lowercased UUID text, `role` the role's raw value, times in
/// seconds since 1970).
public struct InvitationRow: Sendable, Hashable {
    public var id: String
    public var orgId: String
    public var userId: String
    public var role: String
    public var invitedBy: String
    public var createdAt: Double
    public var expiresAt: Double

    public init(id: String, orgId: String, userId: String, role: String, invitedBy: String, createdAt: Double, expiresAt: Double) {
        self.id = id
        self.orgId = orgId
        self.userId = userId
        self.role = role
        self.invitedBy = invitedBy
        self.createdAt = createdAt
        self.expiresAt = expiresAt
    }
}
