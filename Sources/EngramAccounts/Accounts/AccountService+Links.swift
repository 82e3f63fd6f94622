public import EngramAuth
import EngramMetadata
public import Foundation

extension AccountService {
    /// Invites `userId` to the principal's org (the org's rules: `OrgAdministration.invite`) and makes a
    /// single-use link for it, valid as long as the invitation.
    public func invite(
        _ principal: Principal,
        userId: String,
        role: Role,
        lifetime: TimeInterval = MemberDirectory.invitationLifetime,
        administration: OrgAdministration
    ) async throws -> (invitation: Invitation, link: IssuedLink) {
        let invitation = try await administration.invite(principal, userId: userId, role: role, lifetime: lifetime)
        let link = try await linkInvitation(invitation, createdBy: principal.userId)
        return (invitation, link)
    }

    /// A single-use link for an existing invitation (the CLI invites through the directory directly).
    public func linkInvitation(_ invitation: Invitation, createdBy: String) async throws -> IssuedLink {
        let secret = OneTimeSecret.generate()
        let row = CredentialLinkRow(
            secretHash: secret.hash,
            kind: LinkInfo.Kind.invitation.rawValue,
            userId: invitation.userId,
            invitationId: invitation.id.uuidString.lowercased(),
            createdBy: createdBy,
            createdAt: Date().timeIntervalSince1970,
            expiresAt: invitation.expiresAt.timeIntervalSince1970
        )
        try await metadata.write(.user(row.userId)) { tx in try tx.insertLink(row) }
        return IssuedLink(secret: secret.value, expiresAt: invitation.expiresAt)
    }

    /// A single-use password reset link for `userId` (earlier unused ones stop working). `principal` nil
    /// is the operator (CLI); otherwise an admin of an org the user belongs to, and only owners reset owners.
    public func issueResetLink(
        for userId: String,
        by principal: Principal?,
        lifetime: TimeInterval? = nil,
        now: Date = Date()
    ) async throws
        -> IssuedLink
    {
        if let principal {
            let org = try OrgAdministration.authorize(principal, for: .manageMembers)
            guard let role = try await directory.role(userId: userId, orgId: org) else { throw AccountError.notFound }
            if role == .owner, !principal.role.allows(.manageOwners) {
                throw OrgAdministrationError.forbidden("only owners can reset an owner's password")
            }
        } else {
            guard try await directory.userExists(userId) else { throw AccountError.notFound }
        }
        let secret = OneTimeSecret.generate()
        let expires = now.addingTimeInterval(lifetime ?? settings.resetLinkLifetime)
        let row = CredentialLinkRow(
            secretHash: secret.hash,
            kind: LinkInfo.Kind.reset.rawValue,
            userId: userId,
            invitationId: nil,
            createdBy: principal?.userId ?? "operator",
            createdAt: now.timeIntervalSince1970,
            expiresAt: expires.timeIntervalSince1970
        )
        try await metadata.write(.user(userId)) { tx in
            try tx.expireLinks(userId: userId, kind: LinkInfo.Kind.reset.rawValue, at: now.timeIntervalSince1970)
            try tx.insertLink(row)
        }
        try await record(
            userId: userId,
            actor: principal?.userId ?? "operator",
            action: "password.reset_link",
            detail: "user \(userId); expires \(Int(expires.timeIntervalSince1970))"
        )
        return IssuedLink(secret: secret.value, expiresAt: expires)
    }

    /// What a link is; `invalidLink` for an unknown, expired or used one.
    public func inspectLink(_ secret: String, now: Date = Date()) async throws -> LinkInfo {
        let hash = OneTimeSecret.hash(secret)
        return try await metadata.read(try await linkScope(hash)) { tx in try self.liveLink(hash, tx: tx, now: now).info }
    }

    /// Accepts an invitation link: sets the password (new user) or checks it (a user who has one),
    /// makes the membership, spends the link and the invitation, and signs the person in.
    public func acceptInvitationLink(_ secret: String, password: String, client: ClientInfo, now: Date = Date()) async throws -> IssuedSession {
        let hash = OneTimeSecret.hash(secret)
        let scope = try await linkScope(hash)
        let (info, existing, invitedOrg) = try await metadata.read(scope) { tx in
            let link = try self.liveLink(hash, tx: tx, now: now)
            guard link.info.kind == .invitation, let invitationId = link.row.invitationId,
                let invitation = try tx.invitation(id: invitationId, userId: link.row.userId, aliveAfter: now.timeIntervalSince1970)
            else { throw AccountError.invalidLink }
            return (link.info, try tx.credential(userId: link.info.userId)?.passwordHash, invitation.orgId)
        }
        var newHash: String?
        if let existing {
            guard await PasswordHasher.verify(password, hash: existing) else { throw AccountError.invalidCredentials }
        } else {
            if let problem = PasswordPolicy.problem(password, userId: info.userId) { throw AccountError.weakPassword(problem) }
            newHash = await PasswordHasher.hash(password)
        }
        let time = now.timeIntervalSince1970
        let passwordHash = newHash
        // The membership and the invitation are the inviting org's rows: the live invitation the link names
        // grants the write that org too (checked again inside).
        let writeScope = TenantScope(tenants: scope.tenants + ["org:\(invitedOrg)"], userId: scope.userId)
        let orgId = try await metadata.write(writeScope) { tx -> String in
            let link = try self.liveLink(hash, tx: tx, now: now)
            guard let invitationId = link.row.invitationId,
                let invitation = try tx.invitation(id: invitationId, userId: link.row.userId, aliveAfter: time),
                invitation.orgId == invitedOrg,
                try tx.useLink(secretHash: hash, at: time)
            else { throw AccountError.invalidLink }
            try tx.insertUser(id: invitation.userId, at: time)
            if let passwordHash { try tx.setPassword(userId: invitation.userId, hash: passwordHash, at: time) }
            try tx.upsertMember(orgId: invitation.orgId, userId: invitation.userId, role: invitation.role, at: time, replacingRole: false)
            try tx.deleteInvitation(id: invitationId)
            return invitation.orgId
        }
        let issued = try await openSession(userId: info.userId, orgId: orgId, client: client, now: now)
        try await record(
            userId: info.userId,
            actor: info.userId,
            action: "invitation.use",
            detail: "org \(orgId); ip \(client.ip); session \(issued.session.id)"
        )
        return issued
    }

    /// Uses a reset link: sets the new password and ends every session of the user.
    public func useResetLink(_ secret: String, password: String, client: ClientInfo, now: Date = Date()) async throws -> String {
        let hash = OneTimeSecret.hash(secret)
        let scope = try await linkScope(hash)
        let info = try await metadata.read(scope) { tx in try self.liveLink(hash, tx: tx, now: now).info }
        guard info.kind == .reset else { throw AccountError.invalidLink }
        if let problem = PasswordPolicy.problem(password, userId: info.userId) { throw AccountError.weakPassword(problem) }
        let passwordHash = await PasswordHasher.hash(password)
        let time = now.timeIntervalSince1970
        let ended = try await metadata.write(scope) { tx -> Int in
            let link = try self.liveLink(hash, tx: tx, now: now)
            guard link.info.kind == .reset, try tx.useLink(secretHash: hash, at: time) else { throw AccountError.invalidLink }
            try tx.setPassword(userId: link.row.userId, hash: passwordHash, at: time)
            return try tx.deleteSessions(userId: link.row.userId)
        }
        try await record(userId: info.userId, actor: info.userId, action: "password.reset", detail: "ip \(client.ip); \(ended) sessions ended")
        return info.userId
    }

    /// The scope of the user a link belongs to: a global lookup (the person is not signed in), after
    /// which the link is read and spent in that user's scope. `invalidLink` for an unknown link.
    func linkScope(_ hash: String) async throws -> TenantScope {
        guard let userId = try await metadata.readGlobal({ tx in try tx.link(secretHash: hash)?.userId }) else {
            throw AccountError.invalidLink
        }
        return .user(userId)
    }

    /// The link row and what it is, when it is unused and unexpired.
    func liveLink(_ hash: String, tx: any MetadataTransaction, now: Date) throws -> (row: CredentialLinkRow, info: LinkInfo) {
        let time = now.timeIntervalSince1970
        guard let row = try tx.link(secretHash: hash), row.usedAt == nil, row.expiresAt > time, let kind = LinkInfo.Kind(rawValue: row.kind)
        else { throw AccountError.invalidLink }
        var orgId: String?
        var role: Role?
        if kind == .invitation {
            guard let id = row.invitationId, let invitation = try tx.invitation(id: id, userId: row.userId, aliveAfter: time) else {
                throw AccountError.invalidLink
            }
            orgId = invitation.orgId
            role = Role(rawValue: invitation.role)
        }
        let hasPassword = try tx.credential(userId: row.userId)?.passwordHash != nil
        return (
            row,
            LinkInfo(
                kind: kind,
                userId: row.userId,
                orgId: orgId,
                role: role,
                hasPassword: hasPassword,
                expiresAt: Date(timeIntervalSince1970: row.expiresAt)
            )
        )
    }
}
