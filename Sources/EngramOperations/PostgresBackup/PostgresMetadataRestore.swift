package import EngramBackup
import EngramDatabase
package import EngramPostgres
package import Foundation
import PostgresNIO

/// `engram restore DIR --to DATA --metadata-to postgres://OWNER@host/db`: the PostgreSQL half of a restore.
///
/// The target database must exist and have no schema `engram` (a restore never merges into or overwrites
/// metadata); the URL's role must be named like the role that took the dump (its policies name it) and may
/// create the schema (the database's owner, or `CREATE` on it), and the application role the grants name must
/// exist in that cluster. The dump is restored in one transaction (`PostgresDumpArchive.restore`), then the
/// rows are counted and compared with the manifest: a difference fails the restore loudly (the database then
/// holds the restored schema; drop it before trying again).
package enum PostgresMetadataRestore {
    /// Checks what can be checked before anything is written: the archive, the role, an empty target.
    package static func check(_ directory: URL, part: BackupManifest.PostgresDump, target: PostgresConnectionURL) async throws -> PostgresDumpArchive
    {
        let archive = try PostgresDumpArchive(directory: directory, part: part)
        _ = try archive.list()
        try archive.checkRole(target)
        let schema = part.schema
        let exists = try await PostgresEngine.withEngine(target, maximumConnections: 1, logger: PostgresRowCounts.quietLogger) { engine in
            try await engine.probe()
            return try await engine.withGlobal(readOnly: true) { tx in
                try tx.column("SELECT count(*) FROM pg_namespace WHERE nspname = \(schema)", as: Int64.self).first ?? 0
            }
        }
        guard exists == 0 else {
            throw PostgresBackupError.target(
                "the database \(target.database) already has a schema \(schema): restore into an empty database (a restore never overwrites metadata)"
            )
        }
        return archive
    }

    /// Restores the checked archive into `target` and compares the row counts; returns them.
    package static func restore(_ archive: PostgresDumpArchive, into target: PostgresConnectionURL) async throws -> [String: Int] {
        try await archive.restoreAndCount(into: target)
    }
}
