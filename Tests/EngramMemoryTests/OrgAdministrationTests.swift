import EngramAccounts
import EngramAuth
import EngramMemory
import EngramStore
import EngramStoreModel
import Foundation
import Testing

/// The rules of organisation administration, without HTTP: which role may do what, that only owners
/// touch the owner role, that the last owner stays, and what the audit log records.
@Suite struct OrgAdministrationTests {
    let administration: OrgAdministration
    let directory: MemberDirectory
    let audit: AuditLog
    /// The metadata store's database (SQLite, or PostgreSQL under `Tests/postgres.sh`).
    let metadata: TestMetadata

    static let owner = Principal(userId: "olivia", orgId: "acme", role: .owner)
    static let admin = Principal(userId: "adam", orgId: "acme", role: .admin)
    static let member = Principal(userId: "mia", orgId: "acme", role: .member)

    init() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("engram-orgadmin-\(UUID().uuidString)")
        let store = try EmbeddedStore(directory: folder)
        metadata = try await TestMetadata.make { store.database }
        directory = MemberDirectory(metadata: metadata.store)
        audit = AuditLog(metadata: metadata.store)
        administration = OrgAdministration(directory: directory, audit: audit)
        for p in [Self.owner, Self.admin, Self.member] {
            try await directory.upsertMember(userId: p.userId, orgId: "acme", role: p.role)
        }
    }

    /// The audit log of acme, oldest first, as `action: detail`.
    func auditTrail() async throws -> [String] {
        try await audit.entries(orgId: "acme", limit: 100).reversed().map { "\($0.action): \($0.detail ?? "")" }
    }

    @Test func membersAndViewersAdministerNothing() async throws {
        let viewer = Principal(userId: "vic", orgId: "acme", role: .viewer)
        for p in [Self.member, viewer] {
            await #expect(throws: OrgAdministrationError.forbidden("this needs the admin or owner role")) {
                try await administration.members(p)
            }
            await #expect(throws: OrgAdministrationError.self) { try await administration.invite(p, userId: "zoe", role: .viewer) }
            await #expect(throws: OrgAdministrationError.self) { try await administration.setRequireReview(p, true) }
            await #expect(throws: OrgAdministrationError.self) { try await administration.auditEntries(p, limit: 10, before: nil) }
        }
        let orgless = Principal(userId: "solo", orgId: nil, role: .owner)
        #expect(throws: OrgAdministrationError.self) { try OrgAdministration.authorize(orgless, for: .manageMembers) }
        #expect(try await auditTrail().isEmpty)
    }

    @Test func onlyOwnersGrantTheOwnerRole() async throws {
        await #expect(throws: OrgAdministrationError.forbidden("only owners can grant or change the owner role")) {
            try await administration.invite(Self.admin, userId: "zoe", role: .owner)
        }
        await #expect(throws: OrgAdministrationError.forbidden("only owners can grant or change the owner role")) {
            try await administration.changeRole(Self.admin, userId: "mia", role: .owner)
        }
        await #expect(throws: OrgAdministrationError.forbidden("only owners can grant or change the owner role")) {
            try await administration.changeRole(Self.admin, userId: "olivia", role: .member)
        }
        await #expect(throws: OrgAdministrationError.forbidden("only owners can remove an owner")) {
            try await administration.removeMember(Self.admin, userId: "olivia")
        }
        #expect(try await directory.role(userId: "mia", orgId: "acme") == .member)
        #expect(try await directory.role(userId: "olivia", orgId: "acme") == .owner)

        let promoted = try await administration.changeRole(Self.owner, userId: "mia", role: .owner)
        #expect(promoted.role == .owner)
        let invitation = try await administration.invite(Self.owner, userId: "zoe", role: .owner)
        #expect(invitation.role == .owner)
        #expect(
            try await auditTrail() == [
                "member.role: user mia role member→owner",
                "member.invite: user zoe role owner invitation \(invitation.id.uuidString.lowercased())",
            ]
        )
    }

    @Test func adminsManageRolesBelowOwner() async throws {
        let changed = try await administration.changeRole(Self.admin, userId: "mia", role: .viewer)
        #expect(changed.role == .viewer)
        try await administration.removeMember(Self.admin, userId: "mia")
        #expect(try await directory.role(userId: "mia", orgId: "acme") == nil)
        await #expect(throws: OrgAdministrationError.notFound) { try await administration.changeRole(Self.admin, userId: "mia", role: .member) }
        await #expect(throws: OrgAdministrationError.notFound) { try await administration.removeMember(Self.admin, userId: "nobody") }
        #expect(try await auditTrail() == ["member.role: user mia role member→viewer", "member.remove: user mia role viewer"])
    }

    @Test func theLastOwnerCannotBeDemotedOrRemoved() async throws {
        await #expect(throws: DirectoryError.lastOwner) { try await administration.changeRole(Self.owner, userId: "olivia", role: .admin) }
        await #expect(throws: DirectoryError.lastOwner) { try await administration.removeMember(Self.owner, userId: "olivia") }
        #expect(try await directory.role(userId: "olivia", orgId: "acme") == .owner)
        #expect(try await auditTrail().isEmpty)
    }

    @Test func invitationsNeedTheInviteesConsent() async throws {
        let invitation = try await administration.invite(Self.admin, userId: "zoe", role: .member)
        #expect(try await directory.role(userId: "zoe", orgId: "acme") == nil)
        let listing = try await administration.members(Self.admin)
        #expect(listing.invitations.map(\.userId) == ["zoe"])
        let zoe = Principal(userId: "zoe", orgId: nil, role: .member)
        #expect(try await administration.invitations(for: zoe).map(\.id) == [invitation.id])
        let membership = try await administration.acceptInvitation(zoe, id: invitation.id)
        #expect(membership.orgId == "acme" && membership.role == .member)
        #expect(try await directory.role(userId: "zoe", orgId: "acme") == .member)

        let declined = try await administration.invite(Self.admin, userId: "yan", role: .viewer)
        let yan = Principal(userId: "yan", orgId: nil, role: .member)
        await #expect(throws: DirectoryError.self) { try await administration.acceptInvitation(zoe, id: declined.id) }
        try await administration.declineInvitation(yan, id: declined.id)
        // Declined means gone: it is neither listed nor accepted afterwards (on PostgreSQL the row is the
        // org's, so a decline scoped to the invitee alone deleted nothing).
        #expect(try await administration.invitations(for: yan).isEmpty)
        await #expect(throws: DirectoryError.self) { try await administration.acceptInvitation(yan, id: declined.id) }
        #expect(try await directory.role(userId: "yan", orgId: "acme") == nil)

        let revoked = try await administration.invite(Self.admin, userId: "xia", role: .viewer)
        try await administration.revokeInvitation(Self.admin, id: revoked.id)
        #expect(try await administration.invitations(for: Principal(userId: "xia", orgId: nil, role: .member)).isEmpty)

        let id = { (i: Invitation) in i.id.uuidString.lowercased() }
        #expect(
            try await auditTrail() == [
                "member.invite: user zoe role member invitation \(id(invitation))",
                "member.join: user zoe role member invitation \(id(invitation))",
                "member.invite: user yan role viewer invitation \(id(declined))",
                "member.invite.decline: user yan invitation \(id(declined))",
                "member.invite: user xia role viewer invitation \(id(revoked))",
                "member.invite.revoke: user xia invitation \(id(revoked))",
            ]
        )
    }

    @Test func policyChangesAreAuditedAndPaged() async throws {
        let before = try await administration.organisation(Self.admin)
        #expect(before.requireReview == false)
        #expect(try await administration.setRequireReview(Self.admin, true).requireReview)
        #expect(try await administration.setRequireReview(Self.owner, false).requireReview == false)
        let first = try await administration.auditEntries(Self.admin, limit: 1, before: nil)
        #expect(first.more && first.entries.map(\.detail) == ["require_review false"])
        let rest = try await administration.auditEntries(Self.admin, limit: 1, before: first.entries.last?.id)
        #expect(!rest.more && rest.entries.map(\.detail) == ["require_review true"])
        #expect(rest.entries.map(\.actor) == ["adam"])

        let unaudited = OrgAdministration(directory: directory, audit: nil)
        let empty = try await unaudited.auditEntries(Self.admin, limit: 10, before: nil)
        #expect(empty.entries.isEmpty && !empty.more)
    }
}
