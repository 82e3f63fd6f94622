import EngramCore
public import EngramMetadata
public import Foundation

/// One audit entry. Never holds memory content: ids, hashes, actions, roles.
public struct AuditEntry: Sendable, Hashable, Codable {
    public var id: Int64
    public var at: Date
    public var orgId: String?
    public var actor: String
    public var action: String
    public var memoryId: UUID?
    public var beforeHash: String?
    public var afterHash: String?
    /// Short structured detail, e.g. `state draft→published` or `role member→admin`.
    public var detail: String?
}

/// The append-only audit log of admin actions, promotions and deletions.
///
/// Stored in the metadata store (`AuditQueries`); triggers make rows immutable (any
/// UPDATE or DELETE aborts), and no API edits or removes entries.
public final class AuditLog: Sendable {
    private let metadata: any MetadataStore

    /// The audit log in `metadata` (whose migrations created its table).
    public init(metadata: any MetadataStore) {
        self.metadata = metadata
    }

    /// An entry to append (the log assigns `id` and `at`).
    public struct Record: Sendable, Hashable {
        public var orgId: String?
        public var actor: String
        public var action: String
        public var memoryId: UUID?
        public var beforeHash: String?
        public var afterHash: String?
        public var detail: String?

        public init(
            orgId: String?,
            actor: String,
            action: String,
            memoryId: UUID? = nil,
            beforeHash: String? = nil,
            afterHash: String? = nil,
            detail: String? = nil
        ) {
            self.orgId = orgId
            self.actor = actor
            self.action = action
            self.memoryId = memoryId
            self.beforeHash = beforeHash
            self.afterHash = afterHash
            self.detail = detail
        }
    }

    /// Appends an entry (durably, before returning). Suspends as `record(_:)`.
    public func record(
        orgId: String?,
        actor: String,
        action: String,
        memoryId: UUID? = nil,
        beforeHash: String? = nil,
        afterHash: String? = nil,
        detail: String? = nil
    ) async throws {
        try await record([
            Record(
                orgId: orgId,
                actor: actor,
                action: action,
                memoryId: memoryId,
                beforeHash: beforeHash,
                afterHash: afterHash,
                detail: detail
            )
        ])
    }

    /// Appends an event about a person (sign-in, tokens, OAuth) to the log of each org in `orgs`, or once
    /// without an org when they belong to none.
    public func record(orgs: [String], actor: String, action: String, detail: String?) async throws {
        let targets: [String?] = orgs.isEmpty ? [nil] : orgs
        try await record(targets.map { Record(orgId: $0, actor: String(actor.prefix(64)), action: action, detail: detail) })
    }

    /// Appends entries in one transaction (bulk imports, store reloads), durably, before returning.
    /// Suspends until the database's writer has committed (and fsynced) the transaction.
    public func record(_ records: [Record]) async throws {
        guard !records.isEmpty else { return }
        let at = Date().timeIntervalSince1970
        // Each entry belongs to its org, or to its actor when it has none.
        let scope = TenantScope(tenants: records.map { r in r.orgId.map { "org:" + $0 } ?? "user:" + r.actor }, userId: records.first?.actor)
        let rows = records.map { r in
            AuditRow(
                at: at,
                orgId: r.orgId,
                actor: r.actor,
                action: r.action,
                memoryId: r.memoryId?.lowercasedText,
                beforeHash: r.beforeHash,
                afterHash: r.afterHash,
                detail: r.detail
            )
        }
        try await metadata.write(scope) { tx in try tx.appendAudit(rows) }
    }

    /// Entries of one organisation, newest first, `limit` after the cursor (an entry id).
    /// Suspends while one of the database's readers fetches them.
    public func entries(orgId: String, limit: Int, before cursor: Int64? = nil) async throws -> [AuditEntry] {
        try await metadata.read(.org(orgId)) { tx in try tx.auditRows(orgId: orgId, limit: limit, before: cursor) }.map { row in
            AuditEntry(
                id: row.id,
                at: Date(timeIntervalSince1970: row.at),
                orgId: row.orgId,
                actor: row.actor,
                action: row.action,
                memoryId: row.memoryId.flatMap(UUID.init(uuidString:)),
                beforeHash: row.beforeHash,
                afterHash: row.afterHash,
                detail: row.detail
            )
        }
    }
}
