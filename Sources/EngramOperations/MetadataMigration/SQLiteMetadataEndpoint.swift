package import EngramDatabase
package import Foundation
import GRDB

/// The metadata tables of a data directory's SQLite file (`DIR/engram.sqlite`) as a migration endpoint.
/// Inserts are `INSERT OR IGNORE`, one transaction per batch; an `AUTOINCREMENT` table's sequence
/// follows the ids inserted.
package struct SQLiteMetadataEndpoint: MetadataEndpoint {
    package let database: EngramDatabase
    package let directory: URL

    package var label: String { "sqlite:" + directory.path }

    package func count(_ table: MetadataTable) async throws -> Int {
        let sql = "SELECT count(*) FROM \(Self.quoted(table.name))"
        return try await database.pool.read { db in try Int.fetchOne(db, sql: sql) ?? 0 }
    }

    package func page(_ table: MetadataTable, after key: [MetadataValue]?, limit: Int) async throws -> [[MetadataValue]] {
        let columns = table.columns.map { Self.quoted($0.name) }.joined(separator: ", ")
        let primaryKey = table.primaryKey.map { Self.quoted($0) }.joined(separator: ", ")
        var sql = "SELECT \(columns) FROM \(Self.quoted(table.name))"
        var arguments: [DatabaseValue] = []
        if let key {
            sql += " WHERE (\(primaryKey)) > (\(key.map { _ in "?" }.joined(separator: ", ")))"
            arguments = key.map(\.sqlite)
        }
        sql += " ORDER BY \(primaryKey) LIMIT \(limit)"
        let kinds = table.columns.map(\.kind)
        let statementArguments = StatementArguments(arguments)
        let query = sql
        return try await database.pool.read { db in
            try Row.fetchAll(db, sql: query, arguments: statementArguments).map { row in
                kinds.indices.map { MetadataValue(sqlite: row[$0] as DatabaseValue, kind: kinds[$0]) }
            }
        }
    }

    package func insert(_ table: MetadataTable, _ rows: [[MetadataValue]], tenants: [String]?) async throws -> Int {
        let columns = table.columns.map { Self.quoted($0.name) }.joined(separator: ", ")
        let placeholders = table.columns.map { _ in "?" }.joined(separator: ", ")
        let sql = "INSERT OR IGNORE INTO \(Self.quoted(table.name)) (\(columns)) VALUES (\(placeholders))"
        let values = rows.map { StatementArguments($0.map(\.sqlite)) }
        return try await database.pool.write { db in
            let statement = try db.cachedStatement(sql: sql)
            var inserted = 0
            for arguments in values {
                try statement.execute(arguments: arguments)
                inserted += db.changesCount
            }
            return inserted
        }
    }

    package func finish(_ table: MetadataTable) async throws {}
}
