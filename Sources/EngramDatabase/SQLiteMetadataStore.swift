import EngramAtRest
public import EngramMetadata
import Foundation
import GRDB

/// Every metadata query inside one GRDB transaction: what `SQLiteMetadataStore` hands a body, as a
/// tenant transaction (`MetadataTransaction`) or a global one (`GlobalQueries`). The scope is carried
/// by the store but not enforced here: SQLite has no row-level security (PostgreSQL's policies do).
///
/// Version snapshots and webhook secrets are sealed with `cipher` when the database has one.
public struct SQLiteMetadataTransaction: MetadataTransaction, GlobalQueries {
    let db: Database
    /// Seals version snapshots and webhook secrets (nil: stored in plaintext).
    let cipher: AtRestCipher?

    init(db: Database, cipher: AtRestCipher?) {
        self.db = db
        self.cipher = cipher
    }
}

/// The metadata store on the service's SQLite file: transactions run on GRDB's writer or a reader and
/// suspend (never block Swift's cooperative pool) until they are done (a write: committed and fsynced).
/// Concurrent writes share one transaction and one fsync (`GroupCommitter`), each in its own savepoint.
public struct SQLiteMetadataStore: MetadataStore {
    let pool: DatabasePool
    let committer: GroupCommitter
    let cipher: AtRestCipher?

    /// The metadata tables of `database` (sealing with its cipher).
    public init(database: EngramDatabase) {
        pool = database.pool
        committer = database.metadataCommitter
        cipher = database.cipher
    }

    public var engine: MetadataEngine { .sqlite }
    public var sealsSecrets: Bool { cipher != nil }

    public func withTenant<T: Sendable>(
        _ scope: TenantScope,
        _ access: MetadataAccess,
        _ body: @escaping @Sendable (any MetadataTransaction) throws -> T
    ) async throws -> T {
        let cipher = cipher
        switch access {
        case .read: return try await pool.read { db in try body(SQLiteMetadataTransaction(db: db, cipher: cipher)) }
        case .write: return try await committer.write { db in try body(SQLiteMetadataTransaction(db: db, cipher: cipher)) }
        }
    }

    public func withGlobal<T: Sendable>(
        _ access: MetadataAccess,
        _ body: @escaping @Sendable (any GlobalQueries) throws -> T
    ) async throws -> T {
        let cipher = cipher
        switch access {
        case .read: return try await pool.read { db in try body(SQLiteMetadataTransaction(db: db, cipher: cipher)) }
        case .write: return try await committer.write { db in try body(SQLiteMetadataTransaction(db: db, cipher: cipher)) }
        }
    }
}

extension EngramDatabase: MetadataStore {
    /// The database's metadata store.
    public var metadata: SQLiteMetadataStore { SQLiteMetadataStore(database: self) }

    public var engine: MetadataEngine { .sqlite }
    public var sealsSecrets: Bool { cipher != nil }

    public func withTenant<T: Sendable>(
        _ scope: TenantScope,
        _ access: MetadataAccess,
        _ body: @escaping @Sendable (any MetadataTransaction) throws -> T
    ) async throws -> T {
        try await metadata.withTenant(scope, access, body)
    }

    public func withGlobal<T: Sendable>(
        _ access: MetadataAccess,
        _ body: @escaping @Sendable (any GlobalQueries) throws -> T
    ) async throws -> T {
        try await metadata.withGlobal(access, body)
    }
}

// MARK: - Rows read from GRDB

extension InvitationRow {
    init(_ row: Row) {
        self.init(
            id: row["id"],
            orgId: row["org_id"],
            userId: row["user_id"],
            role: row["role"],
            invitedBy: row["invited_by"],
            createdAt: row["created_at"],
            expiresAt: row["expires_at"]
        )
    }
}

extension SessionRow {
    init(_ row: Row) {
        self.init(
            id: row["id"],
            secretHash: row["secret_hash"],
            userId: row["user_id"],
            orgId: row["org_id"],
            csrfToken: row["csrf_token"],
            createdAt: row["created_at"],
            lastSeenAt: row["last_seen_at"],
            expiresAt: row["expires_at"],
            reauthAt: row["reauth_at"],
            ip: row["ip"],
            userAgent: row["user_agent"]
        )
    }
}

extension VersionRow {
    init(_ row: Row) {
        self.init(
            memoryId: row["memory_id"],
            version: row["version"],
            at: row["at"],
            actor: row["actor"],
            channel: row["channel"],
            client: row["client"],
            requestId: row["request_id"],
            reason: row["reason"],
            orgId: row["org_id"],
            state: row["state"],
            contentHash: row["content_hash"],
            snapshot: row["snapshot"],
            tokenId: row["token_id"]
        )
    }
}

extension ReportRow {
    init(_ row: Row) {
        self.init(
            id: row["id"],
            at: row["at"],
            memoryId: row["memory_id"],
            orgId: row["org_id"],
            userId: row["user_id"],
            verdict: row["verdict"],
            note: row["note"],
            resolved: row["resolved"]
        )
    }
}

extension LifecyclePolicyRow {
    init(_ row: Row) {
        self.init(
            staleAfterDays: row["stale_after_days"],
            versionRetentionDays: row["version_retention_days"],
            approverMustDiffer: row["approver_must_differ"]
        )
    }
}

extension AuditRow {
    init(_ row: Row) {
        self.init(
            id: row["id"],
            at: row["at"],
            orgId: row["org_id"],
            actor: row["actor"],
            action: row["action"],
            memoryId: row["memory_id"],
            beforeHash: row["before_hash"],
            afterHash: row["after_hash"],
            detail: row["detail"]
        )
    }
}
