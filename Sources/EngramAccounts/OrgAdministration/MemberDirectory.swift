public import EngramAuth
public import EngramMetadata
public import Foundation

/// An organisation and its policy.
public struct Organisation: Sendable, Hashable, Codable {
    public var id: String
    public var name: String
    /// Org memories go to `pending_review` (not `published`) on finish.
    public var requireReview: Bool
    public var createdAt: Date
}

/// A user's membership in an organisation.
public struct Membership: Sendable, Hashable, Codable {
    public var orgId: String
    public var userId: String
    public var role: Role
    public var createdAt: Date
}

/// An invitation to join an organisation. A user id is one person's global identity (they may belong
/// to several organisations, and their personal memories follow the id), so an organisation's admin
/// cannot enrol anyone: they invite, and the person accepts with a credential of their own.
public struct Invitation: Sendable, Hashable, Codable {
    public var id: UUID
    public var orgId: String
    public var userId: String
    public var role: Role
    public var invitedBy: String
    public var createdAt: Date
    public var expiresAt: Date
}

/// Errors of directory operations.
public enum DirectoryError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalidIdentifier(String)
    case notFound(String)
    case lastOwner
    /// The user is already a member of the organisation, or already invited to it.
    case alreadyExists(String)

    public var description: String {
        switch self {
        case .invalidIdentifier(let why): return "invalid identifier: \(why)"
        case .notFound(let what): return "\(what) not found"
        case .lastOwner: return "the last owner of an organisation cannot be removed or demoted"
        case .alreadyExists(let what): return what
        }
    }
}

/// Users, organisations, memberships, invitations and revoked token ids, with their rules
/// (identifier checks, the last owner stays, invitations expire), persisted in the service
/// metadata store (`MemberQueries`; revocations through its global surface).
///
/// Every operation is `async`: a read suspends while one of the database's readers runs the
/// query, a write until its writer has committed (and fsynced) it; neither blocks a thread of
/// Swift's cooperative pool. A rule and the writes it guards run in one transaction.
public final class MemberDirectory: Sendable {
    private let metadata: any MetadataStore

    /// The directory in `metadata` (whose migrations created its tables).
    public init(metadata: any MetadataStore) {
        self.metadata = metadata
    }

    /// User and org ids: 1–64 characters of letters, digits, `.`, `_`, `-`, `@`.
    public static func validate(identifier: String, what: String) throws {
        guard (1...64).contains(identifier.count),
            identifier.unicodeScalars.allSatisfy({
                CharacterSet.alphanumerics.contains($0) && $0.isASCII || "._-@".unicodeScalars.contains($0)
            })
        else { throw DirectoryError.invalidIdentifier("\(what) must be 1-64 characters of letters, digits, '.', '_', '-', '@'") }
    }

    /// Creates the user and org if needed and sets the user's role in the org.
    public func upsertMember(userId: String, orgId: String, role: Role, orgName: String? = nil) async throws {
        try Self.validate(identifier: userId, what: "user id")
        try Self.validate(identifier: orgId, what: "org id")
        let now = Date().timeIntervalSince1970
        try await metadata.write(.org(orgId)) { tx in
            try tx.insertUser(id: userId, at: now)
            try tx.insertOrganisation(id: orgId, name: orgName ?? orgId, at: now)
            if try tx.role(orgId: orgId, userId: userId) == Role.owner.rawValue, role != .owner,
                try tx.memberCount(orgId: orgId, role: Role.owner.rawValue) <= 1
            {
                throw DirectoryError.lastOwner
            }
            try tx.upsertMember(orgId: orgId, userId: userId, role: role.rawValue, at: now, replacingRole: true)
        }
    }

    /// Creates a user with no organisation (personal memories only).
    public func upsertUser(_ userId: String) async throws {
        try Self.validate(identifier: userId, what: "user id")
        let now = Date().timeIntervalSince1970
        try await metadata.write(.user(userId)) { tx in try tx.insertUser(id: userId, at: now) }
    }

    /// Removes a member; the last owner cannot be removed.
    public func removeMember(userId: String, orgId: String) async throws {
        try await metadata.write(.org(orgId)) { tx in
            guard let role = try tx.role(orgId: orgId, userId: userId) else { throw DirectoryError.notFound("member") }
            if role == Role.owner.rawValue, try tx.memberCount(orgId: orgId, role: Role.owner.rawValue) <= 1 {
                throw DirectoryError.lastOwner
            }
            try tx.deleteMember(orgId: orgId, userId: userId)
        }
    }

    /// The user's current role in the org, or nil when not a member.
    public func role(userId: String, orgId: String) async throws -> Role? {
        try await metadata.read(.user(userId, org: orgId)) { tx in try tx.role(orgId: orgId, userId: userId).flatMap(Role.init(rawValue:)) }
    }

    /// The orgs the user belongs to, by id.
    public func memberships(userId: String) async throws -> [String] {
        try await metadata.read(.user(userId)) { tx in try tx.orgIds(userId: userId) }
    }

    /// Whether the user exists.
    public func userExists(_ userId: String) async throws -> Bool {
        try await metadata.read(.user(userId)) { tx in try tx.userExists(id: userId) }
    }

    /// Members of an org, by user id.
    public func members(orgId: String) async throws -> [Membership] {
        try await metadata.read(.org(orgId)) { tx in
            try tx.members(orgId: orgId).compactMap { row in
                guard let role = Role(rawValue: row.role) else { return nil }
                return Membership(orgId: row.orgId, userId: row.userId, role: role, createdAt: Date(timeIntervalSince1970: row.createdAt))
            }
        }
    }

    /// The organisation, if it exists.
    public func organisation(_ orgId: String) async throws -> Organisation? {
        try await metadata.read(.org(orgId)) { tx in
            try tx.organisation(id: orgId).map { row in
                Organisation(
                    id: row.id,
                    name: row.name,
                    requireReview: row.requireReview,
                    createdAt: Date(timeIntervalSince1970: row.createdAt)
                )
            }
        }
    }

    /// Sets the org's review policy.
    public func setRequireReview(_ on: Bool, orgId: String) async throws {
        try await metadata.write(.org(orgId)) { tx in
            guard try tx.setRequireReview(on, orgId: orgId) else { throw DirectoryError.notFound("organisation") }
        }
    }

    /// Records a revoked token id (kept until it would have expired anyway).
    public func revoke(jti: String, expiresAt: Date?) async throws {
        let now = Date().timeIntervalSince1970
        try await metadata.writeGlobal { tx in try tx.revoke(jti: jti, at: now, expiresAt: expiresAt?.timeIntervalSince1970) }
    }

    /// Whether a token id has been revoked.
    public func isRevoked(jti: String) async throws -> Bool {
        try await metadata.readGlobal { tx in try tx.isRevoked(jti: jti) }
    }

    // MARK: - Invitations

    /// How long an invitation stays valid.
    public static let invitationLifetime: TimeInterval = 7 * 86_400

    /// Invites `userId` into `orgId` with `role` (replacing an expired invitation). The person becomes a
    /// member only when they accept (`acceptInvitation`). Fails when they are a member or hold a live invitation.
    public func invite(
        userId: String,
        orgId: String,
        role: Role,
        invitedBy: String,
        lifetime: TimeInterval = invitationLifetime,
        now: Date = Date()
    ) async throws -> Invitation {
        try Self.validate(identifier: userId, what: "user id")
        let invitation = Invitation(
            id: UUID(),
            orgId: orgId,
            userId: userId,
            role: role,
            invitedBy: invitedBy,
            createdAt: now,
            expiresAt: now.addingTimeInterval(lifetime)
        )
        let row = InvitationRow(
            id: invitation.id.uuidString.lowercased(),
            orgId: orgId,
            userId: userId,
            role: role.rawValue,
            invitedBy: invitedBy,
            createdAt: now.timeIntervalSince1970,
            expiresAt: invitation.expiresAt.timeIntervalSince1970
        )
        try await metadata.write(.org(orgId, actor: invitedBy)) { tx in
            if try tx.role(orgId: orgId, userId: userId) != nil {
                throw DirectoryError.alreadyExists("\(userId) is already a member; use PATCH to change the role")
            }
            try tx.deleteExpiredInvitations(orgId: orgId, userId: userId, now: now.timeIntervalSince1970)
            if try tx.invitationExists(orgId: orgId, userId: userId) {
                throw DirectoryError.alreadyExists("\(userId) already has a pending invitation to \(orgId)")
            }
            try tx.insertInvitation(row)
        }
        return invitation
    }

    /// Live (unexpired) invitations of an organisation, or addressed to a user.
    public func invitations(orgId: String? = nil, userId: String? = nil, now: Date = Date()) async throws -> [Invitation] {
        try await metadata.read(TenantScope(org: orgId, user: userId)) { tx in
            try tx.invitations(orgId: orgId, userId: userId, aliveAfter: now.timeIntervalSince1970).compactMap(Self.invitation)
        }
    }

    private static func invitation(_ row: InvitationRow) -> Invitation? {
        guard let id = UUID(uuidString: row.id), let role = Role(rawValue: row.role) else { return nil }
        return Invitation(
            id: id,
            orgId: row.orgId,
            userId: row.userId,
            role: role,
            invitedBy: row.invitedBy,
            createdAt: Date(timeIntervalSince1970: row.createdAt),
            expiresAt: Date(timeIntervalSince1970: row.expiresAt)
        )
    }

    /// Accepts a live invitation addressed to `userId`: the membership is created with the invited role
    /// and the invitation is consumed. Another user's, an expired or an unknown invitation is not found.
    public func acceptInvitation(id: UUID, userId: String, now: Date = Date()) async throws -> Membership {
        let key = id.uuidString.lowercased()
        let time = now.timeIntervalSince1970
        // The invitee reads their own invitation; the membership row is the inviting org's, so the write's
        // scope names that org too, granted by the live invitation addressed to them (checked again inside).
        guard let orgId = try await metadata.read(.user(userId), { tx in try tx.invitation(id: key, userId: userId, aliveAfter: time)?.orgId })
        else { throw DirectoryError.notFound("invitation") }
        return try await metadata.write(.user(userId, org: orgId)) { tx in
            guard let row = try tx.invitation(id: key, userId: userId, aliveAfter: time), row.orgId == orgId, let invitation = Self.invitation(row)
            else {
                throw DirectoryError.notFound("invitation")
            }
            try tx.insertUser(id: userId, at: time)
            try tx.upsertMember(orgId: invitation.orgId, userId: userId, role: invitation.role.rawValue, at: time, replacingRole: false)
            try tx.deleteInvitation(id: key)
            let role = try tx.role(orgId: invitation.orgId, userId: userId).flatMap(Role.init(rawValue:)) ?? invitation.role
            return Membership(orgId: invitation.orgId, userId: userId, role: role, createdAt: now)
        }
    }

    /// Removes an invitation: declined by its addressee (`userId`) or revoked by the org (`orgId`).
    /// Returns the removed invitation; not found when neither matches.
    @discardableResult
    public func removeInvitation(id: UUID, userId: String? = nil, orgId: String? = nil) async throws -> Invitation {
        let key = id.uuidString.lowercased()
        // The row is the inviting org's: a decline by its addressee reads the invitation in their own scope
        // first, and the delete's scope names that org too (checked again inside), as accepting does.
        var org = orgId
        if org == nil, let userId {
            org = try await metadata.read(.user(userId)) { tx in
                try tx.invitation(id: key).flatMap { $0.userId == userId ? $0.orgId : nil }
            }
            guard org != nil else { throw DirectoryError.notFound("invitation") }
        }
        return try await metadata.write(TenantScope(org: org, user: userId)) { tx in
            guard let row = try tx.invitation(id: key), let invitation = Self.invitation(row),
                userId.map({ $0 == invitation.userId }) ?? true, orgId.map({ $0 == invitation.orgId }) ?? true,
                userId != nil || orgId != nil
            else { throw DirectoryError.notFound("invitation") }
            try tx.deleteInvitation(id: key)
            return invitation
        }
    }
}
