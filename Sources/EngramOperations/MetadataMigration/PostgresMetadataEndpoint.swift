package import EngramPostgres

/// The metadata tables of PostgreSQL schema `engram`, through the schema owner's connection (policy
/// `owner_rows` admits every tenant's rows) as a migration endpoint. Inserts are one multi-row
/// `INSERT … ON CONFLICT DO NOTHING` per batch (identity ids copied with `OVERRIDING SYSTEM VALUE`);
/// text keys are ordered `COLLATE "C"`, byte by byte, as SQLite orders them.
package struct PostgresMetadataEndpoint: MetadataEndpoint {
    package let engine: PostgresEngine

    package var label: String { engine.url.description }

    package static func table(_ table: MetadataTable) -> String { "engram." + quoted(table.name) }

    /// A primary-key column as ordered and compared: text byte by byte.
    package static func keyExpression(_ column: MetadataColumn) -> String {
        column.kind == .text ? "\(quoted(column.name)) COLLATE \"C\"" : quoted(column.name)
    }

    package func count(_ table: MetadataTable) async throws -> Int {
        let sql = "SELECT count(*) FROM \(Self.table(table))"
        let rows = try await engine.withGlobal { tx in try tx.plainRows(sql) }
        guard case .integer(let n)? = rows.first?.first else { throw MetadataMigrationFailure("\(table.name): no row count") }
        return Int(n)
    }

    package func page(_ table: MetadataTable, after key: [MetadataValue]?, limit: Int) async throws -> [[MetadataValue]] {
        try await rows(table, columns: table.columns, after: key, limit: limit)
    }

    /// The count and SHA-256 of every row's key and `tenant`, in key order (`MetadataVerification.verifyTenants`).
    package func tenantDigest(_ table: MetadataTable) async throws -> MetadataVerification.Digest {
        let keyColumns = table.primaryKeyIndexes.map { table.columns[$0] }
        let columns = keyColumns + [MetadataColumn(name: "tenant", kind: .text, postgresType: "text")]
        var hasher = MetadataVerification.Hasher()
        var after: [MetadataValue]?
        while true {
            let page = try await rows(table, columns: columns, after: after, limit: MetadataVerification.pageSize)
            guard let last = page.last else { break }
            for row in page { hasher.add(row) }
            after = Array(last.prefix(keyColumns.count))
            if page.count < MetadataVerification.pageSize { break }
        }
        return hasher.digest
    }

    /// Up to `limit` rows of `columns` whose key comes after `key`, in key order.
    private func rows(
        _ table: MetadataTable,
        columns: [MetadataColumn],
        after key: [MetadataValue]?,
        limit: Int
    ) async throws
        -> [[MetadataValue]]
    {
        let keyColumns = table.primaryKeyIndexes.map { table.columns[$0] }
        let keyList = keyColumns.map(Self.keyExpression).joined(separator: ", ")
        var sql = "SELECT \(columns.map { Self.quoted($0.name) }.joined(separator: ", ")) FROM \(Self.table(table))"
        var binds: [PostgresPlainValue] = []
        if let key {
            let placeholders = keyColumns.enumerated().map { "$\($0.offset + 1)::\($0.element.postgresType)" }
            sql += " WHERE (\(keyList)) > (\(placeholders.joined(separator: ", ")))"
            binds = zip(key, keyColumns).map { $0.postgres(kind: $1.kind) }
        }
        sql += " ORDER BY \(keyList) LIMIT \(limit)"
        let kinds = columns.map(\.kind)
        let query = sql
        let values = binds
        let rows = try await engine.withGlobal { tx in try tx.plainRows(query, values) }
        return rows.map { row in zip(row, kinds).map { MetadataValue(postgres: $0, kind: $1) } }
    }

    package func insert(_ table: MetadataTable, _ rows: [[MetadataValue]], tenants: [String]?) async throws -> Int {
        guard !rows.isEmpty else { return 0 }
        if table.writesTenant, tenants?.count != rows.count {
            throw MetadataMigrationFailure("\(table.name): the rows' tenants are missing")
        }
        var names = table.columns.map { Self.quoted($0.name) }
        var types = table.columns.map(\.postgresType)
        if table.writesTenant {
            names.append("tenant")
            types.append("text")
        }
        var binds: [PostgresPlainValue] = []
        binds.reserveCapacity(rows.count * types.count)
        var tuples: [String] = []
        for (index, row) in rows.enumerated() {
            var placeholders: [String] = []
            for (value, column) in zip(row, table.columns) {
                binds.append(value.postgres(kind: column.kind))
                placeholders.append("$\(binds.count)::\(column.postgresType)")
            }
            if table.writesTenant, let tenants {
                binds.append(.text(tenants[index]))
                placeholders.append("$\(binds.count)::text")
            }
            tuples.append("(" + placeholders.joined(separator: ", ") + ")")
        }
        let overriding = table.identityColumn == nil ? "" : " OVERRIDING SYSTEM VALUE"
        let sql = """
            INSERT INTO \(Self.table(table)) (\(names.joined(separator: ", ")))\(overriding) \
            VALUES \(tuples.joined(separator: ", ")) ON CONFLICT DO NOTHING
            """
        let values = binds
        return try await engine.withGlobal(readOnly: false) { tx in try tx.plainExecute(sql, values) }
    }

    /// Moves an identity sequence past the largest id copied (never back), so new rows get new ids.
    package func finish(_ table: MetadataTable) async throws {
        guard let identity = table.identityColumn else { return }
        let sequence = "pg_get_serial_sequence('engram.\(table.name)', '\(identity)')"
        let sql = """
            SELECT setval(\(sequence), m) FROM (SELECT max(\(Self.quoted(identity))) AS m FROM \(Self.table(table))) x
            WHERE m IS NOT NULL AND m > coalesce(pg_sequence_last_value(\(sequence)::regclass), 0)
            """
        try await engine.withGlobal(readOnly: false) { tx in _ = try tx.plainRows(sql) }
    }
}
