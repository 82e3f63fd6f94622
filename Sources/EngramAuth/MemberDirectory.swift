import Foundation
import GRDB

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
        case let .invalidIdentifier(why): return "invalid identifier: \(why)"
        case let .notFound(what): return "\(what) not found"
        case .lastOwner: return "the last owner of an organisation cannot be removed or demoted"
        case let .alreadyExists(what): return what
        }
    }
}

/// Users, organisations, memberships and revoked token ids, persisted in the
/// service's SQLite database (the embedded store's file) through GRDB.
///
/// Every operation is `async`: a read suspends while one of GRDB's readers runs
/// the query, a write until GRDB's writer has committed (and fsynced) it; neither
/// blocks a thread of Swift's cooperative pool.
public final class MemberDirectory: Sendable {
    private let database: DatabasePool

    /// Opens the directory in `database`, creating its tables.
    public init(database: DatabasePool) throws {
        self.database = database
        var m = DatabaseMigrator()
        m.registerMigration("auth-v1") { db in
            try db.execute(sql: """
                CREATE TABLE IF NOT EXISTS orgs (
                    id TEXT PRIMARY KEY, name TEXT NOT NULL, require_review INTEGER NOT NULL DEFAULT 0, created_at REAL NOT NULL);
                CREATE TABLE IF NOT EXISTS users (id TEXT PRIMARY KEY, created_at REAL NOT NULL);
                CREATE TABLE IF NOT EXISTS members (
                    org_id TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
                    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                    role TEXT NOT NULL, created_at REAL NOT NULL, PRIMARY KEY (org_id, user_id));
                CREATE TABLE IF NOT EXISTS revoked_tokens (jti TEXT PRIMARY KEY, revoked_at REAL NOT NULL, expires_at REAL);
                """)
        }
        m.registerMigration("auth-v2-invitations") { db in
            try db.execute(sql: """
                CREATE TABLE invitations (
                    id TEXT PRIMARY KEY, org_id TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE, user_id TEXT NOT NULL,
                    role TEXT NOT NULL, invited_by TEXT NOT NULL, created_at REAL NOT NULL, expires_at REAL NOT NULL);
                CREATE UNIQUE INDEX invitations_org_user ON invitations(org_id, user_id);
                CREATE INDEX invitations_user ON invitations(user_id);
                """)
        }
        try m.migrate(database)
    }

    /// User and org ids: 1–64 characters of letters, digits, `.`, `_`, `-`, `@`.
    public static func validate(identifier: String, what: String) throws {
        guard (1...64).contains(identifier.count),
              identifier.unicodeScalars.allSatisfy({ CharacterSet.alphanumerics.contains($0) && $0.isASCII || "._-@".unicodeScalars.contains($0) })
        else { throw DirectoryError.invalidIdentifier("\(what) must be 1-64 characters of letters, digits, '.', '_', '-', '@'") }
    }

    /// Creates the user and org if needed and sets the user's role in the org.
    public func upsertMember(userId: String, orgId: String, role: Role, orgName: String? = nil) async throws {
        try Self.validate(identifier: userId, what: "user id")
        try Self.validate(identifier: orgId, what: "org id")
        let now = Date().timeIntervalSince1970
        try await database.write { db in
            try db.execute(sql: "INSERT OR IGNORE INTO users (id, created_at) VALUES (?, ?)", arguments: [userId, now])
            try db.execute(sql: "INSERT OR IGNORE INTO orgs (id, name, created_at) VALUES (?, ?, ?)", arguments: [orgId, orgName ?? orgId, now])
            if let current = try String.fetchOne(db, sql: "SELECT role FROM members WHERE org_id = ? AND user_id = ?", arguments: [orgId, userId]),
               current == Role.owner.rawValue, role != .owner, try ownerCount(db, orgId) <= 1 {
                throw DirectoryError.lastOwner
            }
            try db.execute(sql: """
                INSERT INTO members (org_id, user_id, role, created_at) VALUES (?, ?, ?, ?)
                ON CONFLICT(org_id, user_id) DO UPDATE SET role = excluded.role
                """, arguments: [orgId, userId, role.rawValue, now])
        }
    }

    /// Creates a user with no organisation (personal memories only).
    public func upsertUser(_ userId: String) async throws {
        try Self.validate(identifier: userId, what: "user id")
        try await database.write { db in
            try db.execute(sql: "INSERT OR IGNORE INTO users (id, created_at) VALUES (?, ?)", arguments: [userId, Date().timeIntervalSince1970])
        }
    }

    private func ownerCount(_ db: Database, _ orgId: String) throws -> Int {
        try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM members WHERE org_id = ? AND role = 'owner'", arguments: [orgId]) ?? 0
    }

    /// Removes a member; the last owner cannot be removed.
    public func removeMember(userId: String, orgId: String) async throws {
        try await database.write { db in
            guard let role = try String.fetchOne(db, sql: "SELECT role FROM members WHERE org_id = ? AND user_id = ?", arguments: [orgId, userId]) else {
                throw DirectoryError.notFound("member")
            }
            if role == Role.owner.rawValue, try ownerCount(db, orgId) <= 1 { throw DirectoryError.lastOwner }
            try db.execute(sql: "DELETE FROM members WHERE org_id = ? AND user_id = ?", arguments: [orgId, userId])
        }
    }

    /// The user's current role in the org, or nil when not a member.
    public func role(userId: String, orgId: String) async throws -> Role? {
        try await database.read { db in
            try String.fetchOne(db, sql: "SELECT role FROM members WHERE org_id = ? AND user_id = ?", arguments: [orgId, userId])
                .flatMap(Role.init(rawValue:))
        }
    }

    /// Whether the user exists.
    public func userExists(_ userId: String) async throws -> Bool {
        try await database.read { db in try Bool.fetchOne(db, sql: "SELECT EXISTS(SELECT 1 FROM users WHERE id = ?)", arguments: [userId]) ?? false }
    }

    /// Members of an org, by user id.
    public func members(orgId: String) async throws -> [Membership] {
        try await database.read { db in
            try Row.fetchAll(db, sql: "SELECT org_id, user_id, role, created_at FROM members WHERE org_id = ? ORDER BY user_id", arguments: [orgId])
                .compactMap { row in
                    guard let role = Role(rawValue: row["role"]) else { return nil }
                    return Membership(orgId: row["org_id"], userId: row["user_id"], role: role,
                                      createdAt: Date(timeIntervalSince1970: row["created_at"]))
                }
        }
    }

    /// The organisation, if it exists.
    public func organisation(_ orgId: String) async throws -> Organisation? {
        try await database.read { db in
            try Row.fetchOne(db, sql: "SELECT id, name, require_review, created_at FROM orgs WHERE id = ?", arguments: [orgId]).map { row in
                Organisation(id: row["id"], name: row["name"], requireReview: row["require_review"],
                             createdAt: Date(timeIntervalSince1970: row["created_at"]))
            }
        }
    }

    /// Sets the org's review policy.
    public func setRequireReview(_ on: Bool, orgId: String) async throws {
        try await database.write { db in
            try db.execute(sql: "UPDATE orgs SET require_review = ? WHERE id = ?", arguments: [on, orgId])
            if db.changesCount == 0 { throw DirectoryError.notFound("organisation") }
        }
    }

    /// Records a revoked token id (kept until it would have expired anyway).
    public func revoke(jti: String, expiresAt: Date?) async throws {
        try await database.write { db in
            try db.execute(sql: "INSERT OR REPLACE INTO revoked_tokens (jti, revoked_at, expires_at) VALUES (?, ?, ?)",
                           arguments: [jti, Date().timeIntervalSince1970, expiresAt?.timeIntervalSince1970])
        }
    }

    /// Whether a token id has been revoked.
    public func isRevoked(jti: String) async throws -> Bool {
        try await database.read { db in
            try Bool.fetchOne(db, sql: "SELECT EXISTS(SELECT 1 FROM revoked_tokens WHERE jti = ?)", arguments: [jti]) ?? false
        }
    }

    // MARK: - Invitations

    /// How long an invitation stays valid.
    public static let invitationLifetime: TimeInterval = 7 * 86_400

    /// Invites `userId` into `orgId` with `role` (replacing an expired invitation). The person becomes a
    /// member only when they accept (`acceptInvitation`). Fails when they are a member or hold a live invitation.
    public func invite(userId: String, orgId: String, role: Role, invitedBy: String, now: Date = Date()) async throws -> Invitation {
        try Self.validate(identifier: userId, what: "user id")
        let invitation = Invitation(id: UUID(), orgId: orgId, userId: userId, role: role, invitedBy: invitedBy, createdAt: now,
                                    expiresAt: now.addingTimeInterval(Self.invitationLifetime))
        try await database.write { db in
            if try Bool.fetchOne(db, sql: "SELECT EXISTS(SELECT 1 FROM members WHERE org_id = ? AND user_id = ?)", arguments: [orgId, userId]) == true {
                throw DirectoryError.alreadyExists("\(userId) is already a member; use PATCH to change the role")
            }
            try db.execute(sql: "DELETE FROM invitations WHERE org_id = ? AND user_id = ? AND expires_at <= ?",
                           arguments: [orgId, userId, now.timeIntervalSince1970])
            if try Bool.fetchOne(db, sql: "SELECT EXISTS(SELECT 1 FROM invitations WHERE org_id = ? AND user_id = ?)", arguments: [orgId, userId]) == true {
                throw DirectoryError.alreadyExists("\(userId) already has a pending invitation to \(orgId)")
            }
            try db.execute(sql: """
                INSERT INTO invitations (id, org_id, user_id, role, invited_by, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)
                """, arguments: [invitation.id.uuidString.lowercased(), orgId, userId, role.rawValue, invitedBy,
                                 now.timeIntervalSince1970, invitation.expiresAt.timeIntervalSince1970])
        }
        return invitation
    }

    /// Live (unexpired) invitations of an organisation, or addressed to a user.
    public func invitations(orgId: String? = nil, userId: String? = nil, now: Date = Date()) async throws -> [Invitation] {
        try await database.read { db in
            var sql = "SELECT * FROM invitations WHERE expires_at > ?"
            var args: [any DatabaseValueConvertible] = [now.timeIntervalSince1970]
            if let orgId { sql += " AND org_id = ?"; args.append(orgId) }
            if let userId { sql += " AND user_id = ?"; args.append(userId) }
            sql += " ORDER BY created_at"
            return try Row.fetchAll(db, sql: sql, arguments: StatementArguments(args)).compactMap(Self.invitation)
        }
    }

    private static func invitation(_ row: Row) -> Invitation? {
        guard let id = UUID(uuidString: row["id"]), let role = Role(rawValue: row["role"]) else { return nil }
        return Invitation(id: id, orgId: row["org_id"], userId: row["user_id"], role: role, invitedBy: row["invited_by"],
                          createdAt: Date(timeIntervalSince1970: row["created_at"]), expiresAt: Date(timeIntervalSince1970: row["expires_at"]))
    }

    /// Accepts a live invitation addressed to `userId`: the membership is created with the invited role
    /// and the invitation is consumed. Another user's, an expired or an unknown invitation is not found.
    public func acceptInvitation(id: UUID, userId: String, now: Date = Date()) async throws -> Membership {
        try await database.write { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM invitations WHERE id = ? AND user_id = ? AND expires_at > ?",
                                             arguments: [id.uuidString.lowercased(), userId, now.timeIntervalSince1970]),
                  let invitation = Self.invitation(row) else { throw DirectoryError.notFound("invitation") }
            try db.execute(sql: "INSERT OR IGNORE INTO users (id, created_at) VALUES (?, ?)", arguments: [userId, now.timeIntervalSince1970])
            try db.execute(sql: """
                INSERT INTO members (org_id, user_id, role, created_at) VALUES (?, ?, ?, ?)
                ON CONFLICT(org_id, user_id) DO NOTHING
                """, arguments: [invitation.orgId, userId, invitation.role.rawValue, now.timeIntervalSince1970])
            try db.execute(sql: "DELETE FROM invitations WHERE id = ?", arguments: [id.uuidString.lowercased()])
            let role = try String.fetchOne(db, sql: "SELECT role FROM members WHERE org_id = ? AND user_id = ?",
                                           arguments: [invitation.orgId, userId]).flatMap(Role.init(rawValue:)) ?? invitation.role
            return Membership(orgId: invitation.orgId, userId: userId, role: role, createdAt: now)
        }
    }

    /// Removes an invitation: declined by its addressee (`userId`) or revoked by the org (`orgId`).
    /// Returns the removed invitation; not found when neither matches.
    @discardableResult
    public func removeInvitation(id: UUID, userId: String? = nil, orgId: String? = nil) async throws -> Invitation {
        try await database.write { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM invitations WHERE id = ?", arguments: [id.uuidString.lowercased()]),
                  let invitation = Self.invitation(row),
                  userId.map({ $0 == invitation.userId }) ?? true, orgId.map({ $0 == invitation.orgId }) ?? true,
                  userId != nil || orgId != nil
            else { throw DirectoryError.notFound("invitation") }
            try db.execute(sql: "DELETE FROM invitations WHERE id = ?", arguments: [id.uuidString.lowercased()])
            return invitation
        }
    }
}
