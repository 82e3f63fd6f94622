package import EngramPostgres
import EngramPostgresSchema
import Foundation
package import Logging
import PostgresNIO

/// Rows per table of the metadata schema, counted as the schema owner.
///
/// The owner sees every row through the `owner_rows` policy of each tenant table (row-level security is
/// forced on it too), so its counts are the whole table's. One statement counts every table (each count
/// runs through `query_to_xml`, which executes it in the same snapshot): no identifier is spliced into SQL
/// on this side, `format('%I.%I')` quotes them on the server.
package enum PostgresRowCounts {
    /// Counts every ordinary table of `schema` inside the transaction `tx`, in its snapshot.
    package static func count(_ tx: PostgresTransaction, schema: String = PostgresSchema.name) throws -> [String: Int] {
        let rows = try tx.rows(
            """
            SELECT c.relname::text, \
            (xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM %I.%I', n.nspname, c.relname), \
            false, true, '')))[1]::text::bigint \
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
            WHERE n.nspname = \(schema) AND c.relkind IN ('r', 'p') ORDER BY 1
            """,
            as: (String, Int64).self
        )
        var counts: [String: Int] = [:]
        for (table, count) in rows { counts[table] = Int(count) }
        return counts
    }

    /// Counts the tables of `schema` in the database `url` names, connected as that URL's role (the owner).
    package static func count(at url: PostgresConnectionURL, schema: String = PostgresSchema.name) async throws -> [String: Int] {
        try await PostgresEngine.withEngine(url, maximumConnections: 1, logger: quietLogger) { engine in
            try await engine.probe()
            return try await engine.withGlobal(readOnly: true) { tx in try count(tx, schema: schema) }
        }
    }

    /// The engine's logger for these one-off connections: warnings and errors only.
    package static var quietLogger: Logger {
        var logger = Logger(label: "engram.postgres.backup")
        logger.logLevel = .warning
        return logger
    }

    /// `name=count …` sorted by name, for a report line.
    package static func summary(_ counts: [String: Int]) -> String {
        counts.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
    }

    /// Where two sets of counts differ, for a report line (empty when equal).
    package static func differences(_ actual: [String: Int], expected: [String: Int]) -> String {
        Set(actual.keys).union(expected.keys).sorted().compactMap { table in
            let a = actual[table]
            let e = expected[table]
            guard a != e else { return nil }
            return "\(table) \(a.map(String.init) ?? "missing") vs manifest \(e.map(String.init) ?? "missing")"
        }.joined(separator: "; ")
    }
}
