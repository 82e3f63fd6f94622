public import EngramMetadata
import GRDB

/// The change feed of `GlobalQueries` on SQLite: the `memory_versions` rows in insertion (rowid) order.
///
/// One process owns a SQLite file, so no other replica needs the feed; it is served so that the follower
/// behaves the same on both engines (and is tested on both). A rowid freed by a purge of the newest versions
/// may be used again, which a follower never sees: harmless with one process, and the reason a shared
/// deployment uses PostgreSQL, whose feed is its own table (`engram.changes`).
extension SQLiteMetadataTransaction {
    public func changes(after seq: Int64, limit: Int) throws -> [ChangeRow] {
        try Row.fetchAll(
            db,
            sql: """
                SELECT rowid AS seq, memory_id, version, state, content_hash, at FROM memory_versions
                WHERE rowid > ? ORDER BY rowid LIMIT ?
                """,
            arguments: [seq, limit]
        ).map(Self.changeRow)
    }

    public func changes(at positions: [Int64]) throws -> [ChangeRow] {
        guard !positions.isEmpty else { return [] }
        // Bound parameters in chunks below SQLite's variable limit.
        var rows: [ChangeRow] = []
        var start = 0
        while start < positions.count {
            let chunk = Array(positions[start..<min(positions.count, start + 500)])
            start += chunk.count
            let marks = Array(repeating: "?", count: chunk.count).joined(separator: ",")
            rows += try Row.fetchAll(
                db,
                sql: """
                    SELECT rowid AS seq, memory_id, version, state, content_hash, at FROM memory_versions
                    WHERE rowid IN (\(marks)) ORDER BY rowid
                    """,
                arguments: StatementArguments(chunk)
            ).map(Self.changeRow)
        }
        return rows
    }

    private static func changeRow(_ row: Row) -> ChangeRow {
        ChangeRow(
            seq: row["seq"],
            kind: .memory,
            key: row["memory_id"],
            version: row["version"],
            state: row["state"],
            contentHash: row["content_hash"],
            at: row["at"]
        )
    }

    public func latestChange() throws -> Int64 {
        try Int64.fetchOne(db, sql: "SELECT coalesce(max(rowid), 0) FROM memory_versions") ?? 0
    }

    /// Nothing to forget: the feed is the version history itself, purged with it.
    public func purgeChanges(before: Double) throws -> Int { 0 }
}
