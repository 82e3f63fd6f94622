public import EngramAuth
import EngramCore
public import Foundation

/// Why an organisation administration request is refused. The HTTP layer maps each case once.
public enum OrgAdministrationError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The caller's role does not allow the action (the message says which role it needs).
    case forbidden(String)
    /// The member, organisation or invitation is not there (or not the caller's to see).
    case notFound

    public var description: String {
        switch self {
        case let .forbidden(why): return why
        case .notFound: return "not found"
        }
    }
}

/// The rules of administering an organisation, whoever asks (REST today): which role may do what,
/// that only owners grant, change or remove the owner role, and which actions the audit log records
/// with what detail. Membership needs the person's consent, so adding someone invites them and they
/// accept with their own credential. The directory refuses to remove or demote the last owner.
public struct OrgAdministration: Sendable {
    /// Members, invitations and organisation policy.
    public let directory: MemberDirectory
    /// Where administrative actions are recorded (nil: not recorded).
    public let audit: AuditLog?

    /// Administration over `directory`, recording actions in `audit` when there is one.
    public init(directory: MemberDirectory, audit: AuditLog?) {
        self.directory = directory
        self.audit = audit
    }

    /// The organisation `principal` administers, when its role allows `permission` there.
    public static func authorize(_ principal: Principal, for permission: Permission) throws(OrgAdministrationError) -> String {
        guard let org = principal.orgId, principal.role.allows(permission) else {
            throw .forbidden("this needs the \(permission == .manageOwners ? "owner" : "admin or owner") role")
        }
        return org
    }

    /// The organisation's audit log, newest first: up to `limit` entries older than `cursor`, and
    /// whether more follow (the last entry's id is then the next cursor).
    public func auditEntries(_ principal: Principal, limit: Int, before cursor: Int64?) async throws -> (entries: [AuditEntry], more: Bool) {
        let org = try Self.authorize(principal, for: .readAudit)
        guard let audit else { return ([], false) }
        let entries = try await audit.entries(orgId: org, limit: limit + 1, before: cursor)
        return (Array(entries.prefix(limit)), entries.count > limit)
    }

    /// The organisation's members and its pending invitations.
    public func members(_ principal: Principal) async throws -> (members: [Membership], invitations: [Invitation]) {
        let org = try Self.authorize(principal, for: .manageMembers)
        return (try await directory.members(orgId: org), try await directory.invitations(orgId: org))
    }

    /// Invites `userId` to the caller's organisation with `role`; only owners invite owners.
    public func invite(
        _ principal: Principal,
        userId: String,
        role: Role,
        lifetime: TimeInterval = MemberDirectory.invitationLifetime
    ) async throws -> Invitation {
        let org = try Self.authorize(principal, for: .manageMembers)
        if role == .owner, !principal.role.allows(.manageOwners) {
            throw OrgAdministrationError.forbidden("only owners can grant or change the owner role")
        }
        let invitation = try await directory.invite(userId: userId, orgId: org, role: role, invitedBy: principal.userId, lifetime: lifetime)
        try await audit?.record(
            orgId: org,
            actor: principal.userId,
            action: "member.invite",
            detail: "user \(userId) role \(role.rawValue) invitation \(invitation.id.lowercasedText)"
        )
        return invitation
    }

    /// Withdraws a pending invitation of the caller's organisation.
    public func revokeInvitation(_ principal: Principal, id: UUID) async throws {
        let org = try Self.authorize(principal, for: .manageMembers)
        let removed = try await directory.removeInvitation(id: id, orgId: org)
        try await audit?.record(
            orgId: org,
            actor: principal.userId,
            action: "member.invite.revoke",
            detail: "user \(removed.userId) invitation \(removed.id.lowercasedText)"
        )
    }

    /// Changes a member's role; only owners grant the owner role or change an owner's.
    public func changeRole(_ principal: Principal, userId: String, role: Role) async throws -> Membership {
        let org = try Self.authorize(principal, for: .manageMembers)
        guard let previous = try await directory.role(userId: userId, orgId: org) else { throw OrgAdministrationError.notFound }
        if role == .owner || previous == .owner, !principal.role.allows(.manageOwners) {
            throw OrgAdministrationError.forbidden("only owners can grant or change the owner role")
        }
        try await directory.upsertMember(userId: userId, orgId: org, role: role)
        try await audit?.record(
            orgId: org,
            actor: principal.userId,
            action: "member.role",
            detail: "user \(userId) role \(previous.rawValue)→\(role.rawValue)"
        )
        guard let member = try await directory.members(orgId: org).first(where: { $0.userId == userId }) else {
            throw OrgAdministrationError.notFound
        }
        return member
    }

    /// Removes a member; only owners remove an owner.
    public func removeMember(_ principal: Principal, userId: String) async throws {
        let org = try Self.authorize(principal, for: .manageMembers)
        guard let current = try await directory.role(userId: userId, orgId: org) else { throw OrgAdministrationError.notFound }
        if current == .owner, !principal.role.allows(.manageOwners) {
            throw OrgAdministrationError.forbidden("only owners can remove an owner")
        }
        try await directory.removeMember(userId: userId, orgId: org)
        try await audit?.record(orgId: org, actor: principal.userId, action: "member.remove", detail: "user \(userId) role \(current.rawValue)")
    }

    /// The caller's organisation and its policy (admins and owners).
    public func organisation(_ principal: Principal) async throws -> Organisation {
        let org = try Self.authorize(principal, for: .reviewMemories)
        guard let organisation = try await directory.organisation(org) else { throw OrgAdministrationError.notFound }
        return organisation
    }

    /// Turns review of shared memories on or off for the caller's organisation.
    public func setRequireReview(_ principal: Principal, _ on: Bool) async throws -> Organisation {
        let org = try Self.authorize(principal, for: .configureOrg)
        try await directory.setRequireReview(on, orgId: org)
        try await audit?.record(orgId: org, actor: principal.userId, action: "org.policy", detail: "require_review \(on)")
        guard let organisation = try await directory.organisation(org) else { throw OrgAdministrationError.notFound }
        return organisation
    }

    /// The pending invitations addressed to the caller, in any organisation.
    public func invitations(for principal: Principal) async throws -> [Invitation] {
        try await directory.invitations(userId: principal.userId)
    }

    /// Accepts an invitation addressed to the caller: the membership is created with the invited role.
    public func acceptInvitation(_ principal: Principal, id: UUID) async throws -> Membership {
        let membership = try await directory.acceptInvitation(id: id, userId: principal.userId)
        try await audit?.record(
            orgId: membership.orgId,
            actor: principal.userId,
            action: "member.join",
            detail: "user \(principal.userId) role \(membership.role.rawValue) invitation \(id.lowercasedText)"
        )
        return membership
    }

    /// Declines an invitation addressed to the caller.
    public func declineInvitation(_ principal: Principal, id: UUID) async throws {
        let removed = try await directory.removeInvitation(id: id, userId: principal.userId)
        try await audit?.record(
            orgId: removed.orgId,
            actor: principal.userId,
            action: "member.invite.decline",
            detail: "user \(principal.userId) invitation \(id.lowercasedText)"
        )
    }
}
