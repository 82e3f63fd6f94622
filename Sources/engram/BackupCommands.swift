import ArgumentParser
import EngramBackup
import EngramClientKit
import EngramConfig
import EngramDatabase
import EngramOffsite
import EngramOperations
import EngramPostgres
import EngramRuntime
import EngramStore
import EngramStoreModel
import Foundation
import GRDB
import Logging

/// `engram backup --out DIR`: a consistent online copy of the database (safe while serving) with a manifest.
/// When the metadata lives in PostgreSQL (`--metadata postgres://…`), the backup also holds
/// `metadata.pgdump`, a `pg_dump` of the schema taken with the owner's URL (`--metadata-owner`), and the
/// verification restores it into a scratch database (docs/postgres-backups.md).
/// With `--offsite s3://bucket/prefix` the verified backup is also uploaded, append-only, under a
/// compliance-mode Object Lock; `--upload DIR` sends an existing backup (verified first) instead of taking one.
struct Backup: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Back up the data directory (online, consistent) with a manifest.")
    @Option(help: "Directory to write the backup into (must be empty or absent).") var out: String?
    @Option(help: "Upload this existing backup directory (verified first) instead of taking a new one; needs --offsite.")
    var upload: String?
    @Option(
        help: ArgumentHelp(
            "Also upload the verified backup to s3://bucket/prefix/backup-<timestamp>/, append-only, under an S3 Object Lock in compliance mode.",
            discussion: "Settings: ENGRAM_OFFSITE_ENDPOINT, ENGRAM_OFFSITE_REGION, ENGRAM_OFFSITE_ACCESS_KEY_ID, ENGRAM_OFFSITE_SECRET_ACCESS_KEY."
        )
    )
    var offsite: String?
    @Option(help: "Days each off-site object stays locked against deletion (compliance mode).") var offsiteRetainDays = 30
    @Option(
        help: ArgumentHelp(
            "PostgreSQL server for the restore drill of the metadata dump: postgres://… of a role named like the schema owner, with CREATEDB.",
            discussion: "Default: the --metadata-owner URL (the drill is skipped, loudly, when that role may not create databases)."
        )
    )
    var scratch: String?
    @OptionGroup var store: StoreOptions

    func validate() throws {
        guard (out == nil) != (upload == nil) else { throw ValidationError("give either --out DIR (a new backup) or --upload DIR (an existing one)") }
        if upload != nil, offsite == nil { throw ValidationError("--upload needs --offsite s3://bucket/prefix") }
        guard (1...ObjectLockRetention.maximumDays).contains(offsiteRetainDays) else {
            throw ValidationError("--offsite-retain-days must be 1 to \(ObjectLockRetention.maximumDays)")
        }
    }

    func run() async throws {
        // The off-site settings are checked before the backup is taken.
        let offsiteCopy = try offsite.map { try OffsiteBackups(location: $0) }
        let directory: URL
        let location = try store.metadataLocation()
        let scratchServer = try PostgresBackupVerification.scratch(flag: scratch, fallback: location.ownerIfPostgres)
        if let upload {
            directory = URL(fileURLWithPath: upload)
            let report = await PostgresBackupVerification.verifyBackup(directory, scratch: scratchServer)
            guard report.ok else {
                print(report)
                FileHandle.standardError.write(Data("BACKUP VERIFICATION FAILED: \(upload)\n".utf8))
                throw ExitCode(1)
            }
            if let skipped = PostgresBackupVerification.skippedDrill(report) {
                FileHandle.standardError.write(Data("WARNING: the PostgreSQL restore drill was skipped: \(skipped)\n".utf8))
            }
            print("backup \(upload) verified")
        } else {
            directory = URL(fileURLWithPath: out ?? "")
            try await takeBackup(into: directory, location: location, scratch: scratchServer)
        }
        guard let offsiteCopy else { return }
        do {
            let retention = try ObjectLockRetention(days: offsiteRetainDays)
            let (folder, objects) = try await offsiteCopy.upload(directory, retention: retention)
            print("off-site copy \(folder): \(objects.count) objects, locked (COMPLIANCE) until \(retention.headerValue)")
        } catch {
            FileHandle.standardError.write(Data("OFF-SITE COPY FAILED: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }

    /// Takes the backup into `directory` (with the PostgreSQL dump when the metadata lives there) and runs the
    /// integrity gates on it (exit 1 when one fails).
    func takeBackup(into directory: URL, location: MetadataLocation, scratch: PostgresBackupVerification.Scratch) async throws {
        let source = store.dataDirectory.appendingPathComponent(StoreBackup.databaseFile)
        guard FileManager.default.fileExists(atPath: source.path) else { throw ValidationError("no database at \(source.path)") }
        let pool = try DatabasePool(path: source.path)
        let progress = ProgressReporter("backing up (pages)", total: nil)
        var manifest = try StoreBackup.create(from: pool, into: directory) { copied, total in
            progress.update(copied, total: total)
        }
        progress.finish()
        if case .postgres = location {
            let owner = try location.requireOwner(for: "engram backup")
            do {
                manifest = try await PostgresMetadataDump.add(owner: owner, to: directory)
            } catch {
                FileHandle.standardError.write(Data("BACKUP FAILED: the PostgreSQL metadata dump: \(error)\n".utf8))
                throw ExitCode(1)
            }
        }
        let rows = manifest.tables.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        print(
            "backup written to \(directory.path): \(manifest.files.map { "\($0.name) \($0.bytes) bytes sha256 \($0.sha256.prefix(16))…" }.joined(separator: ", ")); \(rows)"
        )
        if let postgres = manifest.postgres {
            print("PostgreSQL metadata (schema \(postgres.schema), one snapshot): \(PostgresRowCounts.summary(postgres.tables))")
        }
        let report = await PostgresBackupVerification.verifyBackup(directory, scratch: scratch)
        guard report.ok else {
            print(report)
            FileHandle.standardError.write(Data("BACKUP VERIFICATION FAILED: \(directory.path)\n".utf8))
            throw ExitCode(1)
        }
        if manifest.postgres != nil {
            print(report.checks.filter { $0.name.hasPrefix("pg") }.map { "ok   \($0.name): \($0.detail)" }.joined(separator: "\n"))
        }
        if let skipped = PostgresBackupVerification.skippedDrill(report) {
            FileHandle.standardError.write(Data("WARNING: the PostgreSQL restore drill was skipped: \(skipped)\n".utf8))
        }
    }
}

/// `engram verify DIR`: the integrity gates; exit 1 (loudly) when any fails. A backup with a PostgreSQL
/// metadata dump also gets `pg_restore --list` and, given a scratch server, the restore drill.
struct Verify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Verify a backup: size floor, checksums, integrity_check, row counts (and the PostgreSQL dump's restore drill)."
    )
    @Argument(help: "Backup directory.") var directory: String
    @Option(
        help: ArgumentHelp(
            "PostgreSQL server for the restore drill of metadata.pgdump: postgres://… of a role named like the schema owner, with CREATEDB.",
            discussion: "Default: ENGRAM_METADATA_OWNER. Without either, the drill is skipped (reported, not a failure)."
        )
    )
    var scratch: String?

    func run() async throws {
        let server = try PostgresBackupVerification.scratch(
            flag: scratch,
            fallback: try EngramConfiguration()[.metadataOwner].map { text in
                // A malformed URL is an error naming the variable, not a silently skipped drill.
                do { return try PostgresConnectionURL(text) } catch { throw EngramConfiguration.Invalid("ENGRAM_METADATA_OWNER: \(error)") }
            }
        )
        let report = await PostgresBackupVerification.verifyBackup(URL(fileURLWithPath: directory), scratch: server)
        print(report)
        if let skipped = PostgresBackupVerification.skippedDrill(report) {
            FileHandle.standardError.write(Data("WARNING: the PostgreSQL restore drill was skipped: \(skipped)\n".utf8))
        }
        if report.ok {
            print("backup OK")
        } else {
            FileHandle.standardError.write(Data("BACKUP VERIFICATION FAILED: \(directory)\n".utf8))
            throw ExitCode(1)
        }
    }
}

/// `engram restore DIR --to PATH`: verify, copy into a fresh data directory, verify the copy.
/// `engram restore --offsite s3://bucket/prefix/backup-<timestamp> --to PATH` first downloads the off-site
/// copy beside PATH and checks every file against its manifest (the restore drill of the off-site copy).
struct Restore: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Restore a verified backup into a new data directory, then verify it.")
    @Argument(help: "Backup directory.") var directory: String?
    @Option(help: "Restore from an off-site copy instead: s3://bucket/prefix/backup-<timestamp> (settings: ENGRAM_OFFSITE_*).")
    var offsite: String?
    @Option(help: "Data directory to restore into (must not hold a database).") var to: String
    @Option(
        help: ArgumentHelp(
            "Restore the backup's PostgreSQL metadata dump into this database: postgres://… of the schema owner's role; the database must have no schema engram.",
            discussion: "Needed when the backup holds metadata.pgdump."
        )
    )
    var metadataTo: String?

    func validate() throws {
        guard (directory == nil) != (offsite == nil) else { throw ValidationError("give either a backup directory or --offsite s3://…") }
    }

    func run() async throws {
        let target = URL(fileURLWithPath: to)
        var scratch: URL?
        defer { if let scratch { try? FileManager.default.removeItem(at: scratch) } }
        do {
            var source = URL(fileURLWithPath: directory ?? "")
            if let offsite {
                let copy = try OffsiteBackups(location: offsite)
                // Beside the target (the same file system, which has room for the database anyway).
                let download = target.standardizedFileURL.deletingLastPathComponent()
                    .appendingPathComponent(".engram-offsite-\(UUID().uuidString)")
                scratch = download
                try PrivateFiles.makeDirectory(download)
                let manifest = try await copy.download(into: download)
                print("downloaded \(manifest.files.count + 1) objects from \(offsite); sizes and sha256 match the manifest")
                source = download
            }
            var archive: PostgresDumpArchive?
            var metadataTarget: PostgresConnectionURL?
            if let part = StoreBackup.readManifest(source)?.postgres {
                guard let metadataTo else {
                    throw PostgresBackupError.target(
                        "the backup holds the PostgreSQL metadata (\(part.file)): give --metadata-to postgres://\(part.owner)@host/empty-database"
                    )
                }
                let url: PostgresConnectionURL
                do { url = try PostgresConnectionURL(metadataTo) } catch { throw PostgresBackupError.target("--metadata-to: \(error)") }
                // Every check before anything is written: the data directory, then the database.
                if FileManager.default.fileExists(atPath: target.appendingPathComponent(StoreBackup.databaseFile).path) {
                    throw StoreBackup.Failure.exists(target.appendingPathComponent(StoreBackup.databaseFile).path)
                }
                let before = StoreBackup.verify(source)
                guard before.ok else { throw StoreBackup.Failure.verification(before.description) }
                archive = try await PostgresMetadataRestore.check(source, part: part, target: url)
                metadataTarget = url
            } else if metadataTo != nil {
                throw PostgresBackupError.target("--metadata-to: this backup holds no PostgreSQL metadata dump (its metadata is in the SQLite file)")
            }
            if let archive, let metadataTarget {
                let counts = try await PostgresMetadataRestore.restore(archive, into: metadataTarget)
                print("PostgreSQL metadata restored into \(metadataTarget.database) on \(metadataTarget.host): \(PostgresRowCounts.summary(counts))")
            }
            let report = try StoreBackup.restore(source, to: target)
            print(report)
            print("restored into \(to) and verified")
        } catch {
            FileHandle.standardError.write(Data("RESTORE FAILED: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}

/// Scheduled backups while serving (`serve --backup-every 24h --keep 14`).
enum BackupSchedule {
    /// Every `every`, a backup into `root/backup-<timestamp>` and its verification; the newest `keep` are kept.
    /// With `postgresOwner` (the metadata owner's URL when the metadata lives in PostgreSQL), each backup also
    /// holds the `pg_dump` of the schema, verified with `pg_restore --list` and, when that role may create
    /// databases, the restore drill (skipped otherwise, with a warning). Each backup runs through `runner`:
    /// with replicas on one PostgreSQL database, one of them at a time takes it (into its own `root`).
    static func run(
        database: DatabasePool,
        root: URL,
        every: Duration,
        keep: Int,
        logger: Logger,
        postgresOwner: PostgresConnectionURL? = nil,
        runner: any SingleRunner = LocalRunner()
    ) async {
        while !Task.isCancelled {
            try? await Task.sleep(for: every)
            if Task.isCancelled { return }
            let dir = root.appendingPathComponent(StoreBackup.timestampedName())
            do {
                let ran = try await runner.run(.backup) {
                    try await backup(database: database, root: root, dir: dir, keep: keep, logger: logger, postgresOwner: postgresOwner)
                }
                if !ran { logger.info("scheduled backup skipped: another replica holds it") }
            } catch {
                logger.error("scheduled backup failed", metadata: ["dir": "\(dir.path)", "error": "\(error)"])
            }
        }
    }

    /// One scheduled backup into `dir`, verified, then the older ones pruned.
    private static func backup(
        database: DatabasePool,
        root: URL,
        dir: URL,
        keep: Int,
        logger: Logger,
        postgresOwner: PostgresConnectionURL?
    ) async throws {
        var manifest = try StoreBackup.create(from: database, into: dir)
        if let postgresOwner { manifest = try await PostgresMetadataDump.add(owner: postgresOwner, to: dir) }
        let report = await PostgresBackupVerification.verifyBackup(dir, scratch: postgresOwner.map { .ifPermitted($0) } ?? .none)
        if let skipped = PostgresBackupVerification.skippedDrill(report), postgresOwner != nil {
            logger.warning("scheduled backup: PostgreSQL restore drill skipped", metadata: ["why": "\(skipped)"])
        }
        if report.ok {
            try StoreBackup.prune(root, keep: keep)
            logger.info("scheduled backup written", metadata: ["dir": "\(dir.path)", "bytes": "\(manifest.files.first?.bytes ?? 0)"])
        } else {
            logger.error("scheduled backup FAILED verification", metadata: ["dir": "\(dir.path)"])
        }
    }
}
