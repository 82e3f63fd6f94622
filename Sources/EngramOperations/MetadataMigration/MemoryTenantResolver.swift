package import EngramAtRest
import EngramDatabase
import EngramMemory
import EngramMemoryModel
import EngramMetadata
import Foundation
package import GRDB

/// The PostgreSQL `tenant` of a memory's rows, which the SQLite file does not store: PostgreSQL files
/// `memory_versions`, `memory_usage`, `served_log`, `memory_reports`, `quarantine` and `outbox` under the memory's
/// tenant (`user:<id>` for a personal memory, even inside an org; else `org:<id>`), as
/// `PostgresMetadataStore` does.
///
/// A version's tenant is the one its snapshot records (the memory's payload, `tenant`, else `scope` with
/// `user_id`/`org_id`: what `VersionRow.tenant` was when the ledger wrote it), opened with the at-rest key
/// when sealed; else the tenant of the memory's earlier version; else the embedded store's point of the
/// memory; else its organisation's; else the acting user's. Any other row takes its memory's tenant (that
/// of its latest version, as `engram.memory_tenant` does), else the point's, else its org's, else its
/// user's. Versions are copied first and in key order, so the memory's latest version is known when its
/// other rows are copied. Nothing of a snapshot leaves this type but the tenant key.
package actor MemoryTenantResolver {
    package let cipher: AtRestCipher?
    package let pool: DatabasePool
    /// Each memory's tenant: that of its latest version seen so far.
    private var memoryTenants: [String: String] = [:]
    /// Sealed snapshots that did not open (no key, or another key): their tenant came from a fallback.
    private(set) var unopenedSnapshots = 0

    package init(cipher: AtRestCipher?, pool: DatabasePool) {
        self.cipher = cipher
        self.pool = pool
    }

    /// The tenant of each row of `table` (a table whose PostgreSQL `tenant` is written).
    package func tenants(for table: MetadataTable, rows: [[MetadataValue]]) async throws -> [String] {
        guard let memoryColumn = table.index(of: "memory_id") else {
            throw MetadataMigrationFailure("\(table.name): PostgreSQL writes its tenant, but it has no memory_id")
        }
        let org = table.index(of: "org_id")
        let user = table.index(of: "user_id")
        var result: [String] = []
        result.reserveCapacity(rows.count)
        for row in rows {
            guard let memoryId = row[memoryColumn].textValue else { throw MetadataMigrationFailure("\(table.name): a row has no memory id") }
            let orgId = org.flatMap { row[$0].textValue }
            if table.name == "memory_versions" {
                let tenant = try await versionTenant(table, row, memoryId: memoryId, orgId: orgId)
                memoryTenants[memoryId] = tenant
                result.append(tenant)
                continue
            }
            if let known = memoryTenants[memoryId] {
                result.append(known)
            } else if let point = try await pointTenant(memoryId) {
                memoryTenants[memoryId] = point
                result.append(point)
            } else if let orgId, Self.isTenant("org:" + orgId) {
                result.append("org:" + orgId)
            } else if let userId = user.flatMap({ row[$0].textValue }), Self.isTenant("user:" + userId) {
                result.append("user:" + userId)
            } else {
                throw MetadataMigrationFailure("\(table.name): the tenant of memory \(memoryId) is not known (no version, point, org or user)")
            }
        }
        return result
    }

    private func versionTenant(_ table: MetadataTable, _ row: [MetadataValue], memoryId: String, orgId: String?) async throws -> String {
        if let snapshot = table.index(of: "snapshot"), case .blob(let bytes) = row[snapshot],
            let versionColumn = table.index(of: "version"), case .integer(let version) = row[versionColumn],
            let tenant = snapshotTenant(bytes, memoryId: memoryId, version: Int(version), orgId: orgId)
        {
            return tenant
        }
        if let earlier = memoryTenants[memoryId] { return earlier }
        if let point = try await pointTenant(memoryId) { return point }
        if let orgId, Self.isTenant("org:" + orgId) { return "org:" + orgId }
        if let actor = table.index(of: "actor").flatMap({ row[$0].textValue }), Self.isTenant("user:" + actor) { return "user:" + actor }
        throw MetadataMigrationFailure("memory_versions: the tenant of memory \(memoryId) is not known")
    }

    /// The tenant a snapshot records (nil when it does not open or records none).
    private func snapshotTenant(_ bytes: [UInt8], memoryId: String, version: Int, orgId: String?) -> String? {
        var data = Data(bytes)
        if AtRestCipher.isSealed(data) {
            guard let cipher,
                let opened = try? cipher.open(
                    data,
                    tenant: SealedIdentity.versionTenant(orgId),
                    identity: SealedIdentity.versionIdentity(memoryId, version)
                )
            else {
                unopenedSnapshots += 1
                return nil
            }
            data = opened
        }
        guard let payload = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else { return nil }
        if let tenant = payload["tenant"] as? String, Self.isTenant(tenant) { return tenant }
        if let scope = (payload["scope"] as? String).flatMap(MemoryScope.init(rawValue:)), let userId = payload["user_id"] as? String {
            let tenant = Memory.tenant(scope: scope, userId: userId, orgId: payload["org_id"] as? String)
            if Self.isTenant(tenant) { return tenant }
        }
        return nil
    }

    /// The tenant of the memory's point in the embedded store (the same file), if it has one.
    private func pointTenant(_ memoryId: String) async throws -> String? {
        let tenant = try await pool.read { db in
            try String.fetchOne(
                db,
                sql: "SELECT tenant FROM points WHERE lower(pid) = lower(?) AND tenant IS NOT NULL LIMIT 1",
                arguments: [memoryId]
            )
        }
        return tenant.flatMap { Self.isTenant($0) ? $0 : nil }
    }

    /// Whether `key` passes PostgreSQL's check on a written tenant: `org:` or `user:`, then at least one
    /// character that is neither a comma nor whitespace.
    package static func isTenant(_ key: String) -> Bool {
        let rest: Substring
        if key.hasPrefix("org:") {
            rest = key.dropFirst(4)
        } else if key.hasPrefix("user:") {
            rest = key.dropFirst(5)
        } else {
            return false
        }
        return !rest.isEmpty && !rest.contains { $0 == "," || $0.isWhitespace }
    }
}
