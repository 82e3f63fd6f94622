package import EngramClientKit

/// Copies every metadata table from one endpoint to the other, table by table in `MetadataSchema.copyOrder`,
/// each in primary-key order in batches of `batchSize` rows, one transaction per batch.
///
/// Resumable by idempotence, with no cursor to keep: every insert skips a row whose key the target holds
/// already (`INSERT OR IGNORE`, `ON CONFLICT DO NOTHING`), so a run that stopped half-way (killed, a lost
/// connection) is finished by running the same command again: the rows already copied are read and
/// skipped, the rest inserted, nothing duplicated. A target row is never overwritten: if it differs from
/// the source's under the same key, the verification that follows reports the table.
///
/// Into PostgreSQL, the tenants derived for the memories' rows are hashed as they are copied (each row's key
/// and tenant, in key order), so the verification also holds the target's `tenant` column to them.
package struct MetadataCopy {
    package let source: any MetadataEndpoint
    package let target: any MetadataEndpoint
    /// Derives PostgreSQL's written tenants (copying from SQLite into PostgreSQL; nil into SQLite, which has none).
    package let tenants: MemoryTenantResolver?
    package var batchSize = 500

    /// Rows read from the source and rows the target did not hold yet.
    package struct Outcome {
        package var read = 0
        package var inserted = 0
        /// Per table whose tenants were derived: the rows and the SHA-256 of every row's key and tenant.
        package var tenantDigests: [String: MetadataVerification.Digest] = [:]
    }

    package func run(_ tables: [MetadataTable], progress: ProgressReporter) async throws -> Outcome {
        var outcome = Outcome()
        for table in tables {
            var after: [MetadataValue]?
            var tenantHash: MetadataVerification.Hasher?
            while true {
                let rows = try await source.page(table, after: after, limit: batchSize)
                guard let last = rows.last else { break }
                var rowTenants: [String]?
                if table.writesTenant, let tenants {
                    let derived = try await tenants.tenants(for: table, rows: rows)
                    var hasher = tenantHash ?? MetadataVerification.Hasher()
                    for (row, tenant) in zip(rows, derived) { hasher.add(table.key(of: row) + [.text(tenant)]) }
                    tenantHash = hasher
                    rowTenants = derived
                }
                outcome.inserted += try await target.insert(table, rows, tenants: rowTenants)
                outcome.read += rows.count
                progress.update(outcome.read)
                after = table.key(of: last)
                if rows.count < batchSize { break }
            }
            try await target.finish(table)
            if table.writesTenant, tenants != nil {
                outcome.tenantDigests[table.name] = (tenantHash ?? MetadataVerification.Hasher()).digest
            }
        }
        return outcome
    }
}
