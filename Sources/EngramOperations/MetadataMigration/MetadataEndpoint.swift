import Foundation

/// One side of a metadata migration: a store the copy reads rows from in primary-key order and writes
/// rows into idempotently (a row whose key is already there is left as it is, never overwritten).
package protocol MetadataEndpoint: Sendable {
    /// What the endpoint is, for the output (a PostgreSQL URL with its password masked).
    var label: String { get }
    /// The table's row count.
    func count(_ table: MetadataTable) async throws -> Int
    /// Up to `limit` rows (values of `table.columns`) whose primary key comes after `key` (nil: from the
    /// first), in primary-key order (text compared byte by byte on both engines).
    func page(_ table: MetadataTable, after key: [MetadataValue]?, limit: Int) async throws -> [[MetadataValue]]
    /// Inserts the rows that are not there yet (a key already present is skipped) and returns how many
    /// were inserted. `tenants` holds each row's PostgreSQL tenant when `table.writesTenant`.
    func insert(_ table: MetadataTable, _ rows: [[MetadataValue]], tenants: [String]?) async throws -> Int
    /// Runs once a table's rows are in (PostgreSQL moves an identity sequence past the largest id).
    func finish(_ table: MetadataTable) async throws
}

extension MetadataEndpoint {
    /// A double-quoted SQL identifier (names come from the schemas, never from input).
    package static func quoted(_ name: String) -> String { "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }
}
