package import EngramBackup
import EngramDatabase
package import EngramPostgres
package import Foundation

/// The `metadata.pgdump` file of a backup: its format check, its table of contents (`pg_restore --list`),
/// and restoring it into a database.
///
/// How it is restored (everything in the archive: `pg_dump` wrote the schema `engram` only, and
/// `pg_restore --schema` would skip the `CREATE SCHEMA` itself): `pg_restore --exit-on-error --single-transaction --no-owner`, as a role named like
/// the one that took the dump (the manifest's `postgres.owner`). Why:
/// - `--single-transaction` with `--exit-on-error`: a dump that fails half-way leaves nothing behind.
/// - `--no-owner`: the restoring role owns what it creates, with no `ALTER … OWNER` (which would need a
///   superuser when the names differ). The policies `owner_rows` name the dumping role (they were created
///   `TO CURRENT_USER`), so only a role of that name sees the rows afterwards: the restore refuses any other.
/// - privileges are restored (no `--no-privileges`): the application role the `GRANT`s name must exist in
///   the target cluster, or the restore stops there; without its grants the application could not run.
/// - no `--enable-row-security`: `pg_dump` writes `ENABLE ROW LEVEL SECURITY` and the policies after the data
///   (post-data section), so while rows are copied no policy applies yet; the setting's `COPY` refusal
///   never comes up.
package struct PostgresDumpArchive {
    /// The dump file.
    package let file: URL
    /// What the manifest recorded about it.
    package let part: BackupManifest.PostgresDump

    /// The archive of the backup in `directory` whose manifest has a PostgreSQL part.
    package init(directory: URL, part: BackupManifest.PostgresDump) throws {
        self.file = directory.appendingPathComponent(try OffsiteBackups.checked(part.file))
        self.part = part
    }

    /// Every custom-format archive starts with these bytes.
    package static let magic = Data("PGDMP".utf8)

    /// Checks the header, lists the table of contents with `pg_restore --list`, and checks that it holds the
    /// data of every table the manifest counted; returns how many entries the archive has.
    package func list() throws -> Int {
        guard let handle = try? FileHandle(forReadingFrom: file) else { throw PostgresBackupError.integrity("\(part.file) is missing") }
        let header = (try? handle.read(upToCount: Self.magic.count)) ?? nil
        try? handle.close()
        guard header == Self.magic else {
            throw PostgresBackupError.integrity("\(part.file) is not a pg_dump custom-format archive")
        }
        let output = try PostgresClientTool.locate("pg_restore").run(["--list", file.path], connection: nil)
        guard output.succeeded else {
            throw PostgresBackupError.integrity(
                "pg_restore --list cannot read \(part.file): \(PostgresClientTool.tail(output.standardError))"
            )
        }
        let entries = output.standardOutput.split(separator: "\n").filter { !$0.hasPrefix(";") && !$0.isEmpty }
        let dataOf = Set(
            entries.compactMap { line -> String? in
                // `3501; 0 16412 TABLE DATA engram members engram_owner`
                let fields = line.split(separator: " ").map(String.init)
                guard let at = fields.firstIndex(of: "TABLE"), at + 3 < fields.count, fields[at + 1] == "DATA",
                    fields[at + 2] == part.schema
                else { return nil }
                return fields[at + 3]
            }
        )
        let missing = part.tables.keys.filter { !dataOf.contains($0) }.sorted()
        guard missing.isEmpty else {
            throw PostgresBackupError.integrity("\(part.file) holds no data for \(missing.joined(separator: ", "))")
        }
        return entries.count
    }

    /// Refuses a role other than the dump's owner (see the type's documentation).
    package func checkRole(_ target: PostgresConnectionURL) throws {
        guard target.username == part.owner else {
            throw PostgresBackupError.target(
                "restore as the role that owned the dumped schema, \(part.owner), not \(target.username): its policies name that role"
            )
        }
    }

    /// Restores the archive into the database `target` names (connected as its role), in one transaction.
    package func restore(into target: PostgresConnectionURL) throws {
        try checkRole(target)
        let output = try PostgresClientTool.locate("pg_restore").run(
            [
                "--no-password", "--exit-on-error", "--single-transaction", "--no-owner", "--dbname=\(target.database)", file.path,
            ],
            connection: target
        )
        guard output.succeeded else {
            throw PostgresBackupError.integrity(
                "pg_restore into \(target.database) failed (nothing was kept): \(PostgresClientTool.tail(output.standardError))"
            )
        }
    }

    /// Restores into `target`, counts the rows there, and throws when they differ from the manifest's.
    package func restoreAndCount(into target: PostgresConnectionURL) async throws -> [String: Int] {
        try restore(into: target)
        let counts = try await PostgresRowCounts.count(at: target, schema: part.schema)
        let differences = PostgresRowCounts.differences(counts, expected: part.tables)
        guard differences.isEmpty else {
            throw PostgresBackupError.integrity("the restored rows differ from the manifest: \(differences)")
        }
        return counts
    }
}
