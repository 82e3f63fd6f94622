import Crypto
import EngramCore
import EngramDatabase
public import Foundation
public import GRDB

/// A backup's manifest: what was copied, its size and SHA-256, and row counts
/// of every table, so `verify` can tell a good copy from a damaged one.
public struct BackupManifest: Codable, Sendable, Equatable {
    public struct File: Codable, Sendable, Equatable {
        public var name: String
        public var bytes: Int
        public var sha256: String
    }
    public var format: Int
    public var createdAt: String
    public var files: [File]
    /// Rows per table (`points`, `collections`, `audit_log`, `members`, …).
    public var tables: [String: Int]
    /// The PostgreSQL metadata dump, when the metadata lives in PostgreSQL (absent in older manifests and in
    /// backups of the SQLite metadata store). Its file is listed in `files` too, so the checksums, the
    /// off-site upload and download cover it like the database file.
    public var postgres: PostgresDump?

    /// What `engram backup` recorded about a `pg_dump` of the metadata schema.
    public struct PostgresDump: Codable, Sendable, Equatable {
        /// The dump's file name in the backup directory (`metadata.pgdump`, custom format).
        public var file: String
        /// The schema dumped (`engram`).
        public var schema: String
        /// The role that took the dump and owns the schema: the policies name it, so a restore must run as a
        /// role of that name.
        public var owner: String
        /// The server's version (`server_version_num`) at dump time.
        public var serverVersion: String
        /// Rows per table of the schema, counted in the snapshot the dump was taken from.
        public var tables: [String: Int]

        public init(file: String, schema: String, owner: String, serverVersion: String, tables: [String: Int]) {
            self.file = file
            self.schema = schema
            self.owner = owner
            self.serverVersion = serverVersion
            self.tables = tables
        }
    }
}

/// The outcome of verifying a backup: every gate and whether it passed.
public struct BackupReport: Sendable, CustomStringConvertible {
    public var checks: [(name: String, ok: Bool, detail: String)] = []
    public var ok: Bool { !checks.isEmpty && checks.allSatisfy(\.ok) }
    public var description: String {
        checks.map { "\($0.ok ? "ok  " : "FAIL") \($0.name)\($0.detail.isEmpty ? "" : ": " + $0.detail)" }.joined(separator: "\n")
    }
}

/// Consistent online backups of the service database (points, vectors, payloads,
/// users, audit log: everything lives in the one SQLite file), integrity-gated
/// verification, and restore.
///
/// The copy uses SQLite's online backup API through GRDB, so it is consistent
/// while the server keeps writing. The JWT signing secret is deliberately not
/// part of a backup.
public enum StoreBackup {
    public static let databaseFile = "engram.sqlite"
    public static let manifestFile = "manifest.json"
    /// A backup smaller than this cannot hold a valid database with its schema.
    public static let sizeFloor = 8 * 1024
    /// The PostgreSQL metadata dump's file name, when there is one.
    public static let postgresDumpFile = "metadata.pgdump"
    /// A `pg_dump` of the metadata schema smaller than this cannot hold its tables, policies and functions.
    public static let postgresDumpSizeFloor = 1024

    /// The size floor of one file of a backup.
    static func floor(for name: String) -> Int { name == databaseFile ? sizeFloor : postgresDumpSizeFloor }

    public enum Failure: Error, CustomStringConvertible {
        case exists(String)
        case missing(String)
        case verification(String)
        public var description: String {
            switch self {
            case let .exists(p): return "\(p) already exists and is not empty"
            case let .missing(p): return "\(p) is missing"
            case let .verification(r): return "backup failed verification:\n\(r)"
            }
        }
    }

    /// Copies the database at `source` into `directory` (created; must be empty) and writes the manifest.
    /// `progress` hears (pages copied, pages in all) after each step of 1,024 pages; concurrent writes to
    /// the source do not disturb the copy (it reads one snapshot).
    @discardableResult
    public static func create(
        from source: DatabasePool,
        into directory: URL,
        progress: ((_ copied: Int, _ total: Int) -> Void)? = nil
    ) throws -> BackupManifest {
        let fm = FileManager.default
        if let items = try? fm.contentsOfDirectory(atPath: directory.path), !items.isEmpty { throw Failure.exists(directory.path) }
        try PrivateFiles.makeDirectory(directory)
        let target = directory.appendingPathComponent(databaseFile)
        let partial = directory.appendingPathComponent(databaseFile + ".partial")
        let destination = try DatabaseQueue(path: partial.path)
        try source.backup(to: destination, pagesPerStep: progress == nil ? -1 : 1024) { step in
            progress?(step.completedPageCount, step.totalPageCount)
        }
        try destination.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA journal_mode = DELETE") }
        try destination.close()
        try fm.moveItem(at: partial, to: target)
        try PrivateFiles.restrictFiles([target.path])
        let manifest = BackupManifest(
            format: 1,
            createdAt: ISO8601DateFormatter().string(from: Date()),
            files: [try describe(target)],
            tables: try tableCounts(path: target.path)
        )
        try writeManifest(manifest, into: directory)
        return manifest
    }

    /// Writes `manifest` as the directory's `manifest.json` (atomically, owner-only).
    public static func writeManifest(_ manifest: BackupManifest, into directory: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = try encoder.encode(manifest)
        try data.write(to: directory.appendingPathComponent(manifestFile), options: .atomic)
        try PrivateFiles.restrictFiles([directory.appendingPathComponent(manifestFile).path])
    }

    /// Reads the directory's manifest; nil when it is missing or unreadable.
    public static func readManifest(_ directory: URL) -> BackupManifest? {
        guard let data = try? Data(contentsOf: directory.appendingPathComponent(manifestFile)) else { return nil }
        return try? JSONDecoder().decode(BackupManifest.self, from: data)
    }

    /// Adds the dump file `dump.file` (already written in `directory`) to the manifest with the PostgreSQL part,
    /// and rewrites the manifest.
    @discardableResult
    public static func addPostgresDump(_ dump: BackupManifest.PostgresDump, into directory: URL) throws -> BackupManifest {
        guard var manifest = readManifest(directory) else { throw Failure.missing(directory.appendingPathComponent(manifestFile).path) }
        let file = directory.appendingPathComponent(dump.file)
        try PrivateFiles.restrictFiles([file.path])
        manifest.files.removeAll { $0.name == dump.file }
        manifest.files.append(try describe(file))
        manifest.postgres = dump
        try writeManifest(manifest, into: directory)
        return manifest
    }

    /// The size and SHA-256 of a file.
    public static func describe(_ file: URL) throws -> BackupManifest.File {
        let data = try Data(contentsOf: file, options: .alwaysMapped)
        return .init(
            name: file.lastPathComponent,
            bytes: data.count,
            sha256: Hex.lowercase(SHA256.hash(data: data))
        )
    }

    static func tableCounts(path: String) throws -> [String: Int] {
        var config = Configuration()
        config.readonly = true
        let queue = try DatabaseQueue(path: path, configuration: config)
        defer { try? queue.close() }
        return try queue.read { db in
            var counts: [String: Int] = [:]
            for table in try String.fetchAll(
                db,
                sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'grdb_%'"
            ) {
                counts[table] = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \"\(table)\"") ?? 0
            }
            return counts
        }
    }

    /// Runs the integrity gates: manifest present and readable, size floor,
    /// checksums, `PRAGMA integrity_check`, and row counts equal to the manifest's.
    public static func verify(_ directory: URL) -> BackupReport {
        var report = BackupReport()
        let manifestURL = directory.appendingPathComponent(manifestFile)
        guard let data = try? Data(contentsOf: manifestURL), let manifest = try? JSONDecoder().decode(BackupManifest.self, from: data) else {
            report.checks.append(("manifest", false, "missing or unreadable \(manifestFile)"))
            return report
        }
        report.checks.append(("manifest", true, "created \(manifest.createdAt)"))
        for file in manifest.files {
            let url = directory.appendingPathComponent(file.name)
            guard let actual = try? describe(url) else {
                report.checks.append(("file \(file.name)", false, "missing"))
                continue
            }
            let minimum = Self.floor(for: file.name)
            report.checks.append(("size floor \(file.name)", actual.bytes >= minimum, "\(actual.bytes) bytes (floor \(minimum))"))
            report.checks.append(("size \(file.name)", actual.bytes == file.bytes, "\(actual.bytes) vs manifest \(file.bytes)"))
            report.checks.append(("sha256 \(file.name)", actual.sha256 == file.sha256, actual.sha256 == file.sha256 ? "" : "checksum mismatch"))
        }
        let db = directory.appendingPathComponent(databaseFile)
        do {
            var config = Configuration()
            config.readonly = true
            let queue = try DatabaseQueue(path: db.path, configuration: config)
            let result = try queue.read { try String.fetchAll($0, sql: "PRAGMA integrity_check") }
            try queue.close()
            report.checks.append(("integrity_check", result == ["ok"], result.prefix(3).joined(separator: "; ")))
            let counts = try tableCounts(path: db.path)
            let same = counts == manifest.tables
            report.checks.append(
                (
                    "row counts", same,
                    same
                        ? counts.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
                        : "differ from the manifest"
                )
            )
        } catch {
            report.checks.append(("integrity_check", false, "cannot open the database: \(error)"))
        }
        return report
    }

    /// Verifies the backup, copies it to `dataDirectory` (which must not hold a database yet),
    /// and verifies the restored copy against the manifest (the restore drill).
    public static func restore(_ directory: URL, to dataDirectory: URL) throws -> BackupReport {
        let before = verify(directory)
        guard before.ok else { throw Failure.verification(before.description) }
        let fm = FileManager.default
        let target = dataDirectory.appendingPathComponent(databaseFile)
        if fm.fileExists(atPath: target.path) { throw Failure.exists(target.path) }
        try PrivateFiles.makeDirectory(dataDirectory)
        let partial = dataDirectory.appendingPathComponent(databaseFile + ".restoring")
        try? fm.removeItem(at: partial)
        try fm.copyItem(at: directory.appendingPathComponent(databaseFile), to: partial)
        try fm.moveItem(at: partial, to: target)
        try PrivateFiles.restrictFiles([target.path])
        // Drill: the restored file must pass the same gates.
        let drill = fm.temporaryDirectory.appendingPathComponent("engram-restore-check-\(UUID().uuidString)")
        try fm.createDirectory(at: drill, withIntermediateDirectories: true)
        defer { try? fm.removeItem(at: drill) }
        try fm.copyItem(at: target, to: drill.appendingPathComponent(databaseFile))
        // The drill checks the restored database file only (a PostgreSQL dump is restored and checked elsewhere).
        guard var restored = readManifest(directory) else { throw Failure.missing(directory.appendingPathComponent(manifestFile).path) }
        restored.files.removeAll { $0.name != databaseFile }
        restored.postgres = nil
        try writeManifest(restored, into: drill)
        let after = verify(drill)
        guard after.ok else { throw Failure.verification(after.description) }
        return after
    }

    /// Keeps the newest `keep` backups named `backup-*` in `root`, deleting older ones.
    public static func prune(_ root: URL, keep: Int) throws {
        let fm = FileManager.default
        let names = (try? fm.contentsOfDirectory(atPath: root.path))?.filter { $0.hasPrefix("backup-") }.sorted() ?? []
        for name in names.dropLast(max(0, keep)) { try fm.removeItem(at: root.appendingPathComponent(name)) }
    }

    /// A timestamped backup directory name, e.g. `backup-20261124-013000`.
    public static func timestampedName(_ date: Date = Date()) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyyMMdd-HHmmss"
        return "backup-" + f.string(from: date)
    }
}
