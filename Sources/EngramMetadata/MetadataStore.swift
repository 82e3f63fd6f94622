/// The service's system of record for everything but memory content and vectors: users, members,
/// credentials, sessions, tokens and revocations, invitations, OAuth grants, org policy, the audit log,
/// memory versions, usage, verdicts, quarantine and webhook deliveries.
///
/// Bodies are synchronous: SQLite runs them on GRDB's queues, PostgreSQL on a thread pool, so no
/// cooperative thread blocks. A thrown error rolls the transaction back. Every tenant transaction
/// names its `TenantScope`; the few cross-tenant operations go through `withGlobal`.
public protocol MetadataStore: Sendable {
    /// The engine behind the store.
    var engine: MetadataEngine { get }
    /// Whether secrets (webhook secrets, version snapshots) are sealed at rest.
    var sealsSecrets: Bool { get }

    /// Runs `body` in one transaction limited to `scope`.
    func withTenant<T: Sendable>(
        _ scope: TenantScope,
        _ access: MetadataAccess,
        _ body: @escaping @Sendable (any MetadataTransaction) throws -> T
    ) async throws -> T

    /// Runs `body` in one transaction of the documented cross-tenant operations (`GlobalQueries`).
    func withGlobal<T: Sendable>(
        _ access: MetadataAccess,
        _ body: @escaping @Sendable (any GlobalQueries) throws -> T
    ) async throws -> T
}

extension MetadataStore {
    /// Runs `body` in one read transaction limited to `scope`.
    public func read<T: Sendable>(_ scope: TenantScope, _ body: @escaping @Sendable (any MetadataTransaction) throws -> T) async throws -> T {
        try await withTenant(scope, .read, body)
    }

    /// Runs `body` in one write transaction limited to `scope`.
    @discardableResult
    public func write<T: Sendable>(_ scope: TenantScope, _ body: @escaping @Sendable (any MetadataTransaction) throws -> T) async throws -> T {
        try await withTenant(scope, .write, body)
    }

    /// Runs `body` in one read transaction of the cross-tenant operations.
    public func readGlobal<T: Sendable>(_ body: @escaping @Sendable (any GlobalQueries) throws -> T) async throws -> T {
        try await withGlobal(.read, body)
    }

    /// Runs `body` in one write transaction of the cross-tenant operations.
    @discardableResult
    public func writeGlobal<T: Sendable>(_ body: @escaping @Sendable (any GlobalQueries) throws -> T) async throws -> T {
        try await withGlobal(.write, body)
    }
}
