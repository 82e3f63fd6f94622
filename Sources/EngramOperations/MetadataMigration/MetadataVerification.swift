import Crypto
import Foundation

/// The check after a copy: per table, the row count and a SHA-256 over every row in primary-key order on
/// both sides. A row is its SQLite columns' values in SQLite's column order, each canonically encoded
/// (`MetadataValue.canonical`: PostgreSQL's booleans as SQLite's 0/1, doubles by their bits, bytes as
/// they are); PostgreSQL's `tenant`, which SQLite lacks, is not part of it. Equal counts and hashes mean
/// the same rows under the same keys.
package enum MetadataVerification {
    /// One side's view of one table.
    package struct Digest: Equatable {
        package var rows: Int
        package var sha256: String
    }

    /// Both sides of one table.
    package struct TableResult {
        package let table: String
        package let source: Digest
        package let target: Digest
        package var matches: Bool { source == target }
    }

    package static let pageSize = 1000

    /// A running count and SHA-256 of rows, each fed as its values' canonical encodings.
    package struct Hasher {
        private var sha = SHA256()
        private var rows = 0

        package mutating func add(_ row: [MetadataValue]) {
            for value in row { value.canonical(into: &sha) }
            rows += 1
        }

        package var digest: Digest { Digest(rows: rows, sha256: sha.finalize().map { String(format: "%02x", $0) }.joined()) }
    }

    /// The count and hash of `table` on `endpoint`.
    package static func digest(_ table: MetadataTable, on endpoint: any MetadataEndpoint) async throws -> Digest {
        var hasher = Hasher()
        var after: [MetadataValue]?
        while true {
            let page = try await endpoint.page(table, after: after, limit: pageSize)
            guard let last = page.last else { break }
            for row in page { hasher.add(row) }
            after = table.key(of: last)
            if page.count < pageSize { break }
        }
        return hasher.digest
    }

    /// The tenants PostgreSQL files the memories' rows under against those derived during the copy
    /// (`MetadataCopy.Outcome.tenantDigests`), one result per table, named `<table>.tenant`.
    package static func verifyTenants(
        _ tables: [MetadataTable],
        derived: [String: Digest],
        on target: PostgresMetadataEndpoint
    ) async throws
        -> [TableResult]
    {
        var results: [TableResult] = []
        for table in tables {
            guard let expected = derived[table.name] else { continue }
            results.append(TableResult(table: table.name + ".tenant", source: expected, target: try await target.tenantDigest(table)))
        }
        return results
    }

    /// Every table's result, source and target.
    package static func verify(_ tables: [MetadataTable], source: any MetadataEndpoint, target: any MetadataEndpoint) async throws -> [TableResult] {
        var results: [TableResult] = []
        for table in tables {
            results.append(
                TableResult(table: table.name, source: try await digest(table, on: source), target: try await digest(table, on: target))
            )
        }
        return results
    }

    /// The line printed for one table: counts, the first 16 hex digits of each hash, the verdict.
    package static func line(_ result: TableResult) -> String {
        let name = result.table.padding(toLength: 24, withPad: " ", startingAt: 0)
        return "  \(name) source \(result.source.rows) rows \(result.source.sha256.prefix(16))  "
            + "target \(result.target.rows) rows \(result.target.sha256.prefix(16))  \(result.matches ? "ok" : "DIFFERS")"
    }
}
