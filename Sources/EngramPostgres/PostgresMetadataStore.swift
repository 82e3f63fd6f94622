public import EngramMetadata
import Foundation
import PostgresNIO

/// The metadata store on PostgreSQL: every tenant transaction runs in `PostgresEngine.withTenant` with the
/// scope's keys (row-level security admits only those tenants' rows), every global one in
/// `PostgresEngine.withGlobal`, where the cross-tenant operations go through the SECURITY DEFINER functions
/// of `docs/postgres.md` (the application role sees no tenant row there).
///
/// Version snapshots and webhook secrets are sealed with `sealer` exactly as the SQLite store seals them
/// (the same tenants and identities, `SealedIdentity`), so sealed bytes move between the engines as they are.
public struct PostgresMetadataStore: MetadataStore {
    /// The engine, connected as the application role.
    public let database: PostgresEngine
    /// Seals version snapshots and webhook secrets (nil: stored in plaintext).
    public let sealer: (any RecordSealing)?

    /// The metadata store on `engine` (the application role's), sealing with `sealer` when given.
    public init(engine: PostgresEngine, sealer: (any RecordSealing)? = nil) {
        database = engine
        self.sealer = sealer
    }

    public var engine: MetadataEngine { .postgres }
    public var sealsSecrets: Bool { sealer != nil }

    public func withTenant<T: Sendable>(
        _ scope: TenantScope,
        _ access: MetadataAccess,
        _ body: @escaping @Sendable (any MetadataTransaction) throws -> T
    ) async throws -> T {
        let keys = try PostgresTenantScope(tenants: scope.tenants, userId: scope.userId)
        let sealer = sealer
        return try await database.withTenant(keys, readOnly: access == .read) { tx in
            try body(PostgresMetadataTransaction(tx: tx, scope: scope, sealer: sealer))
        }
    }

    public func withGlobal<T: Sendable>(
        _ access: MetadataAccess,
        _ body: @escaping @Sendable (any GlobalQueries) throws -> T
    ) async throws -> T {
        let sealer = sealer
        return try await database.withGlobal(readOnly: access == .read) { tx in
            try body(PostgresGlobalTransaction(tx: tx, sealer: sealer))
        }
    }
}

/// Opens version snapshots and webhook secrets as the SQLite store does.
struct PostgresSealing {
    let sealer: (any RecordSealing)?

    /// A version as read: its snapshot opened; a snapshot that does not open (altered, moved, or under a
    /// key the server lacks) is returned empty, which every reader skips as unreadable.
    func opened(_ row: VersionRow) -> VersionRow {
        var r = row
        guard SealedIdentity.looksSealed(r.snapshot) else { return r }
        let identity = SealedIdentity.versionIdentity(r.memoryId, r.version)
        r.snapshot = (try? sealer?.open(r.snapshot, tenant: SealedIdentity.versionTenant(r.orgId), identity: identity)) ?? Data()
        return r
    }

    func sealed(_ r: VersionRow) throws -> Data {
        try sealer?.seal(
            r.snapshot,
            tenant: SealedIdentity.versionTenant(r.orgId),
            identity: SealedIdentity.versionIdentity(r.memoryId, r.version)
        ) ?? r.snapshot
    }
}

/// A memory-owned row whose tenant cannot be told: the memory has no version or usage row in the
/// transaction's scope, and the scope names no single tenant to file it under.
public struct PostgresUnknownMemoryTenant: Error, CustomStringConvertible {
    public let memoryId: String
    public let scope: TenantScope
    public var description: String { "the tenant of memory \(memoryId) is not known in \(scope)" }
}

/// Every tenant query inside one `PostgresEngine.withTenant` transaction: the SQLite store's SQL,
/// ported, and limited by row-level security to the scope's tenants.
struct PostgresMetadataTransaction: MetadataTransaction {
    let tx: PostgresTransaction
    let scope: TenantScope
    let sealing: PostgresSealing

    init(tx: PostgresTransaction, scope: TenantScope, sealer: (any RecordSealing)?) {
        self.tx = tx
        self.scope = scope
        sealing = PostgresSealing(sealer: sealer)
    }

    /// The tenant of a memory's row: the one the row declares (a version's `tenant`, `Memory.tenant`), else
    /// the tenant the memory's versions (or usage row) are filed under, else its organisation's, else the
    /// acting user's own (a personal memory's first row).
    func memoryTenant(_ memoryId: String, orgId: String?, declared: String? = nil) throws -> String {
        if let declared { return declared }
        let known = try tx.column(
            """
            SELECT tenant FROM engram.memory_versions WHERE memory_id = \(memoryId)
            UNION ALL SELECT tenant FROM engram.memory_usage WHERE memory_id = \(memoryId) LIMIT 1
            """,
            as: String.self
        )
        if let tenant = known.first { return tenant }
        if let orgId { return "org:" + orgId }
        if let user = scope.userId { return "user:" + user }
        if scope.tenants.count == 1, let only = scope.tenants.first { return only }
        throw PostgresUnknownMemoryTenant(memoryId: memoryId, scope: scope)
    }

    // MARK: - Members

    func insertUser(id: String, at time: Double) throws {
        try tx.execute("INSERT INTO engram.users (id, created_at) VALUES (\(id), \(time)) ON CONFLICT (id) DO NOTHING")
    }

    func userExists(id: String) throws -> Bool {
        try tx.column("SELECT EXISTS (SELECT 1 FROM engram.users WHERE id = \(id))", as: Bool.self).first ?? false
    }

    func insertOrganisation(id: String, name: String, at time: Double) throws {
        try tx.execute(
            "INSERT INTO engram.orgs (id, name, created_at) VALUES (\(id), \(name), \(time)) ON CONFLICT (id) DO NOTHING"
        )
    }

    func organisation(id: String) throws -> OrganisationRow? {
        try tx.rows(
            "SELECT id, name, require_review, created_at FROM engram.orgs WHERE id = \(id)",
            as: (String, String, Bool, Double).self
        ).first.map { OrganisationRow(id: $0.0, name: $0.1, requireReview: $0.2, createdAt: $0.3) }
    }

    func setRequireReview(_ on: Bool, orgId: String) throws -> Bool {
        try tx.execute("UPDATE engram.orgs SET require_review = \(on) WHERE id = \(orgId)") > 0
    }

    func role(orgId: String, userId: String) throws -> String? {
        try tx.column("SELECT role FROM engram.members WHERE org_id = \(orgId) AND user_id = \(userId)", as: String.self).first
    }

    func orgIds(userId: String) throws -> [String] {
        try tx.column("SELECT org_id FROM engram.members WHERE user_id = \(userId) ORDER BY org_id", as: String.self)
    }

    func memberCount(orgId: String, role: String) throws -> Int {
        try tx.column("SELECT count(*) FROM engram.members WHERE org_id = \(orgId) AND role = \(role)", as: Int.self).first ?? 0
    }

    func upsertMember(orgId: String, userId: String, role: String, at time: Double, replacingRole: Bool) throws {
        if replacingRole {
            try tx.execute(
                """
                INSERT INTO engram.members (org_id, user_id, role, created_at) VALUES (\(orgId), \(userId), \(role), \(time))
                ON CONFLICT (org_id, user_id) DO UPDATE SET role = excluded.role
                """
            )
        } else {
            try tx.execute(
                """
                INSERT INTO engram.members (org_id, user_id, role, created_at) VALUES (\(orgId), \(userId), \(role), \(time))
                ON CONFLICT (org_id, user_id) DO NOTHING
                """
            )
        }
    }

    func deleteMember(orgId: String, userId: String) throws {
        try tx.execute("DELETE FROM engram.members WHERE org_id = \(orgId) AND user_id = \(userId)")
    }

    func members(orgId: String) throws -> [MemberRow] {
        try tx.rows(
            "SELECT org_id, user_id, role, created_at FROM engram.members WHERE org_id = \(orgId) ORDER BY user_id",
            as: (String, String, String, Double).self
        ).map { MemberRow(orgId: $0.0, userId: $0.1, role: $0.2, createdAt: $0.3) }
    }

    private static let invitationColumns = "id, org_id, user_id, role, invited_by, created_at, expires_at"

    func insertInvitation(_ i: InvitationRow) throws {
        try tx.execute(
            """
            INSERT INTO engram.invitations (id, org_id, user_id, role, invited_by, created_at, expires_at)
            VALUES (\(i.id), \(i.orgId), \(i.userId), \(i.role), \(i.invitedBy), \(i.createdAt), \(i.expiresAt))
            """
        )
    }

    func invitationExists(orgId: String, userId: String) throws -> Bool {
        try tx.column(
            "SELECT EXISTS (SELECT 1 FROM engram.invitations WHERE org_id = \(orgId) AND user_id = \(userId))",
            as: Bool.self
        ).first ?? false
    }

    func deleteExpiredInvitations(orgId: String, userId: String, now: Double) throws {
        try tx.execute("DELETE FROM engram.invitations WHERE org_id = \(orgId) AND user_id = \(userId) AND expires_at <= \(now)")
    }

    func invitations(orgId: String?, userId: String?, aliveAfter now: Double) throws -> [InvitationRow] {
        try tx.rows(
            """
            SELECT \(unescaped: Self.invitationColumns) FROM engram.invitations
            WHERE expires_at > \(now) AND (\(orgId)::text IS NULL OR org_id = \(orgId))
              AND (\(userId)::text IS NULL OR user_id = \(userId))
            ORDER BY created_at
            """,
            as: InvitationTuple.self
        ).map(invitationRow)
    }

    func invitation(id: String, userId: String?, aliveAfter now: Double?) throws -> InvitationRow? {
        try tx.rows(
            """
            SELECT \(unescaped: Self.invitationColumns) FROM engram.invitations
            WHERE id = \(id) AND (\(userId)::text IS NULL OR user_id = \(userId))
              AND (\(now)::double precision IS NULL OR expires_at > \(now))
            """,
            as: InvitationTuple.self
        ).first.map(invitationRow)
    }

    func deleteInvitation(id: String) throws {
        try tx.execute("DELETE FROM engram.invitations WHERE id = \(id)")
    }

}
