package import EngramBackup
import EngramDatabase
package import EngramPostgres
import EngramPostgresSchema
package import Foundation
import PostgresNIO

/// Takes the `pg_dump` of the metadata schema into a backup directory, with the row counts of the same
/// snapshot.
///
/// How the counts and the dump agree: as the owner, one `SERIALIZABLE READ ONLY` transaction exports its
/// snapshot (`pg_export_snapshot()`), counts every table of the schema, and stays open while `pg_dump
/// --snapshot=<id>` runs; `pg_dump` imports that snapshot into its own (repeatable read) transaction, so the
/// dump holds exactly the rows counted, however busy the server is. The transaction is read-only and
/// holds no lock beyond the `ACCESS SHARE` locks `pg_dump` takes.
///
/// `pg_dump` runs as the schema owner with `--enable-row-security`: row-level security is forced on the
/// owner too, and the default (`row_security = off`) makes the server refuse every tenant table; with it on,
/// the owner's `owner_rows` policy admits every row. Only the schema `engram` is dumped, in the custom format
/// (`-Fc`: compressed, and `pg_restore` can list and restore it selectively).
///
/// The SQLite file (memories and vectors) and this dump are two snapshots taken one after the other, not
/// one: a memory written between them may be in one and not the other (the same holds for a live server
/// with the two stores).
package enum PostgresMetadataDump {
    /// Dumps the schema with `owner` into `directory/metadata.pgdump` and returns the manifest's part.
    package static func take(owner: PostgresConnectionURL, into directory: URL) async throws -> BackupManifest.PostgresDump {
        let pgDump = try PostgresClientTool.locate("pg_dump")
        let file = directory.appendingPathComponent(StoreBackup.postgresDumpFile)
        let partial = directory.appendingPathComponent(StoreBackup.postgresDumpFile + ".partial")
        let schema = PostgresSchema.name
        // A failed dump leaves nothing behind in the backup directory.
        var finished = false
        defer { if !finished { try? FileManager.default.removeItem(at: partial) } }
        let dump = try await PostgresEngine.withEngine(owner, maximumConnections: 1, logger: PostgresRowCounts.quietLogger) { engine in
            try await engine.probe()
            return try await engine.withGlobal(readOnly: true) { tx in
                let schemaOwner = try tx.column(
                    "SELECT pg_get_userbyid(nspowner)::text FROM pg_namespace WHERE nspname = \(schema)",
                    as: String.self
                ).first
                guard let schemaOwner else {
                    throw PostgresBackupError.target("the database \(owner.database) has no schema \(schema): nothing to back up")
                }
                guard schemaOwner == owner.username else {
                    throw PostgresBackupError.target(
                        "the schema \(schema) belongs to \(schemaOwner), not \(owner.username): back up with the schema owner's URL (--metadata-owner)"
                    )
                }
                let version = try tx.column("SELECT current_setting('server_version_num')", as: String.self).first ?? ""
                guard let snapshot = try tx.column("SELECT pg_export_snapshot()", as: String.self).first else {
                    throw PostgresBackupError.tool("the server exported no snapshot")
                }
                let counts = try PostgresRowCounts.count(tx, schema: schema)
                try? FileManager.default.removeItem(at: partial)
                try pgDump.runChecked(
                    [
                        "--format=custom", "--schema=\(schema)", "--enable-row-security", "--snapshot=\(snapshot)",
                        "--no-password", "--lock-wait-timeout=60000", "--file=\(partial.path)",
                    ],
                    connection: owner
                )
                return BackupManifest.PostgresDump(
                    file: StoreBackup.postgresDumpFile,
                    schema: schema,
                    owner: owner.username,
                    serverVersion: version,
                    tables: counts
                )
            }
        }
        try PrivateFiles.restrictFiles([partial.path])
        try FileManager.default.moveItem(at: partial, to: file)
        finished = true
        return dump
    }

    /// Takes the dump into the backup already written in `directory` and records it in its manifest.
    @discardableResult
    package static func add(owner: PostgresConnectionURL, to directory: URL) async throws -> BackupManifest {
        let dump = try await take(owner: owner, into: directory)
        return try StoreBackup.addPostgresDump(dump, into: directory)
    }
}
