package import EngramBackup
import EngramConfig
import EngramDatabase
package import EngramPostgres
import EngramRuntime
package import Foundation

/// The integrity gates of a backup's PostgreSQL part, after `StoreBackup.verify` (which already checks the
/// dump's size floor, size and SHA-256 against the manifest, since the manifest lists it among its files):
///
/// 1. `pg_dump archive`: the custom-format header, `pg_restore --list` reads the table of contents, and it
///    holds the data of every table the manifest counted.
/// 2. `pg restore drill`: on a scratch server, a database with a random name (`engram_verify_…`) is created,
///    the dump restored into it, its rows counted and compared with the manifest's (taken in the dump's
///    snapshot), and the database dropped, whatever happened. Without a scratch server the drill is
///    skipped, and the report says so (`SKIPPED`, not a failure).
package enum PostgresBackupVerification {
    /// Where the drill may run.
    package enum Scratch {
        /// No scratch server: the drill is skipped.
        case none
        /// A server named on purpose (`--scratch`): a role without `CREATEDB` fails the drill.
        case required(PostgresConnectionURL)
        /// The metadata owner, used by default (`engram backup`, scheduled backups): a role without
        /// `CREATEDB` (the production posture) skips the drill instead.
        case ifPermitted(PostgresConnectionURL)
    }

    /// The name of the drill's check; its detail starts with `SKIPPED` when it did not run.
    package static let drillCheck = "pg restore drill"

    /// Appends the PostgreSQL gates to `report` for the backup in `directory`; does nothing for a backup
    /// without a PostgreSQL part (the SQLite metadata store, or a manifest older than the part).
    package static func verify(_ directory: URL, scratch: Scratch, into report: inout BackupReport) async {
        guard let manifest = StoreBackup.readManifest(directory), let part = manifest.postgres else { return }
        let archive: PostgresDumpArchive
        do {
            archive = try PostgresDumpArchive(directory: directory, part: part)
            let entries = try archive.list()
            report.checks.append(("pg_dump archive", true, "\(part.file): \(entries) entries, data of \(part.tables.count) tables"))
        } catch {
            report.checks.append(("pg_dump archive", false, "\(error)"))
            report.checks.append((drillCheck, false, "not run: the archive failed its check"))
            return
        }
        let server: PostgresConnectionURL
        let required: Bool
        switch scratch {
        case .none:
            report.checks.append(
                (
                    drillCheck, true,
                    "SKIPPED: no scratch server (give --scratch postgres://… of a role named \(part.owner) with CREATEDB, or ENGRAM_METADATA_OWNER)"
                )
            )
            return
        case .required(let url):
            server = url
            required = true
        case .ifPermitted(let url):
            server = url
            required = false
        }
        do {
            try archive.checkRole(server)
            guard try await PostgresScratchDatabase.canCreateDatabases(server) else {
                let why = "the role \(server.username) may not create databases (CREATEDB)"
                if required {
                    report.checks.append((drillCheck, false, why))
                } else {
                    report.checks.append((drillCheck, true, "SKIPPED: \(why); give --scratch postgres://… to run it"))
                }
                return
            }
            let counts = try await PostgresScratchDatabase.with(on: server) { scratch in
                try await archive.restoreAndCount(into: scratch.url)
            }
            report.checks.append(
                (drillCheck, true, "restored into a scratch database on \(server.host):\(server.port), dropped; \(PostgresRowCounts.summary(counts))")
            )
        } catch {
            report.checks.append((drillCheck, false, "\(error)"))
        }
    }

    /// The drill's detail when it was skipped, for a loud line on standard error.
    package static func skippedDrill(_ report: BackupReport) -> String? {
        report.checks.first { $0.name == drillCheck && $0.detail.hasPrefix("SKIPPED") }?.detail
    }
}

extension PostgresBackupVerification {
    /// The scratch server: `--scratch` when given (required to work), else `fallback` (the metadata owner:
    /// used when permitted), else none.
    package static func scratch(flag: String?, fallback: PostgresConnectionURL?) throws -> Scratch {
        if let flag {
            do { return .required(try PostgresConnectionURL(flag)) } catch { throw EngramConfiguration.Invalid("--scratch: \(error)") }
        }
        return fallback.map { .ifPermitted($0) } ?? .none
    }

    /// Every gate of the backup in `directory`: `StoreBackup.verify` (manifest, size floors, checksums of every
    /// file, `integrity_check`, SQLite row counts), then the PostgreSQL part's.
    package static func verifyBackup(_ directory: URL, scratch: Scratch) async -> BackupReport {
        var report = StoreBackup.verify(directory)
        await verify(directory, scratch: scratch, into: &report)
        return report
    }
}

extension MetadataLocation {
    /// The owner's URL when the metadata lives in PostgreSQL and it was given.
    package var ownerIfPostgres: PostgresConnectionURL? {
        guard case .postgres(_, let owner) = self else { return nil }
        return owner
    }
}
