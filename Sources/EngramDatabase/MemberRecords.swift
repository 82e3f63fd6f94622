import EngramAtRest
public import EngramMetadata
import GRDB

/// The SQL of users, organisations, members, invitations and revoked token ids. The rules
/// (owner counts, invitation lifetimes, identifier checks) belong to the caller, which runs them
/// inside one `read` or `write` transaction through `MemberTransaction`.
///
/// A `write` suspends until GRDB's writer has committed (and fsynced) it, a `read` while one of
/// GRDB's readers runs it; neither blocks Swift's cooperative pool.
public struct MemberRecords: Sendable {
    let pool: DatabasePool
    let cipher: AtRestCipher?

    /// The member tables of `database`.
    public init(database: EngramDatabase) {
        pool = database.pool
        cipher = database.cipher
    }

    /// Runs `body` in one write transaction; a thrown error rolls it back.
    public func write<T: Sendable>(_ body: @escaping @Sendable (MemberTransaction) throws -> T) async throws -> T {
        try await pool.write { db in try body(SQLiteMetadataTransaction(db: db, cipher: cipher)) }
    }

    /// Runs `body` in one read transaction.
    public func read<T: Sendable>(_ body: @escaping @Sendable (MemberTransaction) throws -> T) async throws -> T {
        try await pool.read { db in try body(SQLiteMetadataTransaction(db: db, cipher: cipher)) }
    }
}

/// The member tables inside one transaction of `MemberRecords` (every metadata query: the name
/// today's callers use).
public typealias MemberTransaction = SQLiteMetadataTransaction

/// The member tables (`MemberQueries`, and the revoked token ids of `GlobalQueries`).
extension SQLiteMetadataTransaction {
    // MARK: - Users and organisations

    /// Creates the user unless it exists.
    public func insertUser(id: String, at time: Double) throws {
        try db.execute(sql: "INSERT OR IGNORE INTO users (id, created_at) VALUES (?, ?)", arguments: [id, time])
    }

    /// Whether the user exists.
    public func userExists(id: String) throws -> Bool {
        try Bool.fetchOne(db, sql: "SELECT EXISTS(SELECT 1 FROM users WHERE id = ?)", arguments: [id]) ?? false
    }

    /// Creates the organisation unless it exists.
    public func insertOrganisation(id: String, name: String, at time: Double) throws {
        try db.execute(sql: "INSERT OR IGNORE INTO orgs (id, name, created_at) VALUES (?, ?, ?)", arguments: [id, name, time])
    }

    /// The organisation, if it exists.
    public func organisation(id: String) throws -> OrganisationRow? {
        try Row.fetchOne(db, sql: "SELECT id, name, require_review, created_at FROM orgs WHERE id = ?", arguments: [id]).map { row in
            OrganisationRow(id: row["id"], name: row["name"], requireReview: row["require_review"], createdAt: row["created_at"])
        }
    }

    /// Sets the organisation's review policy; returns whether the organisation exists.
    public func setRequireReview(_ on: Bool, orgId: String) throws -> Bool {
        try db.execute(sql: "UPDATE orgs SET require_review = ? WHERE id = ?", arguments: [on, orgId])
        return db.changesCount > 0
    }

    // MARK: - Members

    /// The member's role (raw value), or nil when not a member.
    public func role(orgId: String, userId: String) throws -> String? {
        try String.fetchOne(db, sql: "SELECT role FROM members WHERE org_id = ? AND user_id = ?", arguments: [orgId, userId])
    }

    /// The orgs the user belongs to, by id.
    public func orgIds(userId: String) throws -> [String] {
        try String.fetchAll(db, sql: "SELECT org_id FROM members WHERE user_id = ? ORDER BY org_id", arguments: [userId])
    }

    /// How many members of the organisation have `role`.
    public func memberCount(orgId: String, role: String) throws -> Int {
        try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM members WHERE org_id = ? AND role = ?", arguments: [orgId, role]) ?? 0
    }

    /// Adds the member, or with `replacingRole` sets the role of an existing one (an existing
    /// member otherwise keeps theirs).
    public func upsertMember(orgId: String, userId: String, role: String, at time: Double, replacingRole: Bool) throws {
        let conflict = replacingRole ? "DO UPDATE SET role = excluded.role" : "DO NOTHING"
        try db.execute(
            sql: """
                INSERT INTO members (org_id, user_id, role, created_at) VALUES (?, ?, ?, ?)
                ON CONFLICT(org_id, user_id) \(conflict)
                """,
            arguments: [orgId, userId, role, time]
        )
    }

    /// Removes the member.
    public func deleteMember(orgId: String, userId: String) throws {
        try db.execute(sql: "DELETE FROM members WHERE org_id = ? AND user_id = ?", arguments: [orgId, userId])
    }

    /// Members of an organisation, by user id.
    public func members(orgId: String) throws -> [MemberRow] {
        try Row.fetchAll(
            db,
            sql: "SELECT org_id, user_id, role, created_at FROM members WHERE org_id = ? ORDER BY user_id",
            arguments: [orgId]
        ).map { row in
            MemberRow(orgId: row["org_id"], userId: row["user_id"], role: row["role"], createdAt: row["created_at"])
        }
    }

    // MARK: - Revoked tokens

    /// Records a revoked token id (replacing an earlier record of it).
    public func revoke(jti: String, at time: Double, expiresAt: Double?) throws {
        try db.execute(
            sql: "INSERT OR REPLACE INTO revoked_tokens (jti, revoked_at, expires_at) VALUES (?, ?, ?)",
            arguments: [jti, time, expiresAt]
        )
    }

    /// Whether the token id has been revoked.
    public func isRevoked(jti: String) throws -> Bool {
        try Bool.fetchOne(db, sql: "SELECT EXISTS(SELECT 1 FROM revoked_tokens WHERE jti = ?)", arguments: [jti]) ?? false
    }

    // MARK: - Invitations

    /// Adds an invitation.
    public func insertInvitation(_ invitation: InvitationRow) throws {
        try db.execute(
            sql: """
                INSERT INTO invitations (id, org_id, user_id, role, invited_by, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                invitation.id, invitation.orgId, invitation.userId, invitation.role, invitation.invitedBy, invitation.createdAt,
                invitation.expiresAt,
            ]
        )
    }

    /// Whether an invitation of `userId` into `orgId` exists (live or not).
    public func invitationExists(orgId: String, userId: String) throws -> Bool {
        let sql = "SELECT EXISTS(SELECT 1 FROM invitations WHERE org_id = ? AND user_id = ?)"
        return try Bool.fetchOne(db, sql: sql, arguments: [orgId, userId]) ?? false
    }

    /// Removes the invitations of `userId` into `orgId` that expired at or before `now`.
    public func deleteExpiredInvitations(orgId: String, userId: String, now: Double) throws {
        try db.execute(
            sql: "DELETE FROM invitations WHERE org_id = ? AND user_id = ? AND expires_at <= ?",
            arguments: [orgId, userId, now]
        )
    }

    /// Invitations alive after `now`, of an organisation and/or addressed to a user, oldest first.
    public func invitations(orgId: String?, userId: String?, aliveAfter now: Double) throws -> [InvitationRow] {
        var sql = "SELECT * FROM invitations WHERE expires_at > ?"
        var args: [any DatabaseValueConvertible] = [now]
        if let orgId {
            sql += " AND org_id = ?"
            args.append(orgId)
        }
        if let userId {
            sql += " AND user_id = ?"
            args.append(userId)
        }
        sql += " ORDER BY created_at"
        return try Row.fetchAll(db, sql: sql, arguments: StatementArguments(args)).map(InvitationRow.init)
    }

    /// The invitation with `id`; with `userId` and `aliveAfter`, only when addressed to that user
    /// and alive after that time.
    public func invitation(id: String, userId: String?, aliveAfter now: Double?) throws -> InvitationRow? {
        var sql = "SELECT * FROM invitations WHERE id = ?"
        var args: [any DatabaseValueConvertible] = [id]
        if let userId {
            sql += " AND user_id = ?"
            args.append(userId)
        }
        if let now {
            sql += " AND expires_at > ?"
            args.append(now)
        }
        return try Row.fetchOne(db, sql: sql, arguments: StatementArguments(args)).map(InvitationRow.init)
    }

    /// Removes the invitation.
    public func deleteInvitation(id: String) throws {
        try db.execute(sql: "DELETE FROM invitations WHERE id = ?", arguments: [id])
    }
}
