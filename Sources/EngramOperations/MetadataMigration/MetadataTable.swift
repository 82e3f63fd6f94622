/// A column of a metadata table, as both engines hold it.
package struct MetadataColumn: Sendable, Hashable {
    /// How the column's values are compared and bound.
    package enum Kind: Sendable, Hashable {
        case text
        case integer
        case real
        case blob
        /// SQLite `INTEGER` 0/1, PostgreSQL `boolean`.
        case boolean
    }

    package let name: String
    package let kind: Kind
    /// PostgreSQL's type name, for the casts of bound values (`text`, `bigint`, `double precision`, …).
    package let postgresType: String
}

/// One metadata table: its SQLite columns (PostgreSQL has the same, plus `tenant`), its primary key,
/// and what PostgreSQL needs besides the values.
package struct MetadataTable: Sendable {
    package let name: String
    /// SQLite's columns, in SQLite's order: the values copied, compared and hashed.
    package let columns: [MetadataColumn]
    /// The primary key's columns, in key order: rows are copied and hashed in this order.
    package let primaryKey: [String]
    /// PostgreSQL's `GENERATED ALWAYS AS IDENTITY` column (copied with `OVERRIDING SYSTEM VALUE`, then
    /// the sequence is moved past the largest id).
    package let identityColumn: String?
    /// PostgreSQL's `tenant` is written, not generated: the memory's tenant, which SQLite does not store
    /// (`MemoryTenantResolver` derives it when copying into PostgreSQL).
    package let writesTenant: Bool

    /// Index of a column in `columns`.
    package func index(of column: String) -> Int? { columns.firstIndex { $0.name == column } }

    /// Indexes of the primary key's columns in `columns`.
    package var primaryKeyIndexes: [Int] { primaryKey.compactMap(index(of:)) }

    /// The primary key's values in a row of `columns`.
    package func key(of row: [MetadataValue]) -> [MetadataValue] { primaryKeyIndexes.map { row[$0] } }
}
