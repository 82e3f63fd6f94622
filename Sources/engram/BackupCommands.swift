import ArgumentParser
import EngramDatabase
import EngramStore
import Foundation
import GRDB
import Logging

/// `engram backup --out DIR`: a consistent online copy of the database (safe while serving) with a manifest.
struct Backup: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Back up the data directory (online, consistent) with a manifest.")
    @Option(help: "Directory to write the backup into (must be empty or absent).") var out: String
    @OptionGroup var store: StoreOptions

    func run() async throws {
        let source = store.dataDirectory.appendingPathComponent(StoreBackup.databaseFile)
        guard FileManager.default.fileExists(atPath: source.path) else { throw ValidationError("no database at \(source.path)") }
        let pool = try DatabasePool(path: source.path)
        let progress = ProgressReporter("backing up (pages)", total: nil)
        let manifest = try StoreBackup.create(from: pool, into: URL(fileURLWithPath: out)) { copied, total in
            progress.update(copied, total: total)
        }
        progress.finish()
        let rows = manifest.tables.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        print("backup written to \(out): \(manifest.files.map { "\($0.name) \($0.bytes) bytes sha256 \($0.sha256.prefix(16))…" }.joined()); \(rows)")
        let report = StoreBackup.verify(URL(fileURLWithPath: out))
        guard report.ok else {
            print(report)
            throw ExitCode(1)
        }
    }
}

/// `engram verify DIR`: the integrity gates; exit 1 (loudly) when any fails.
struct Verify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Verify a backup: size floor, checksums, integrity_check, row counts.")
    @Argument(help: "Backup directory.") var directory: String

    func run() async throws {
        let report = StoreBackup.verify(URL(fileURLWithPath: directory))
        print(report)
        if report.ok {
            print("backup OK")
        } else {
            FileHandle.standardError.write(Data("BACKUP VERIFICATION FAILED: \(directory)\n".utf8))
            throw ExitCode(1)
        }
    }
}

/// `engram restore DIR --to PATH`: verify, copy into a fresh data directory, verify the copy.
struct Restore: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Restore a verified backup into a new data directory, then verify it.")
    @Argument(help: "Backup directory.") var directory: String
    @Option(help: "Data directory to restore into (must not hold a database).") var to: String

    func run() async throws {
        do {
            let report = try StoreBackup.restore(URL(fileURLWithPath: directory), to: URL(fileURLWithPath: to))
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
    /// Parses `90s`, `15m`, `24h`, `7d`.
    static func interval(_ text: String) -> Duration? {
        guard let unit = text.last, let n = Double(text.dropLast()), n > 0 else { return nil }
        switch unit {
        case "s": return .seconds(n)
        case "m": return .seconds(n * 60)
        case "h": return .seconds(n * 3600)
        case "d": return .seconds(n * 86_400)
        default: return nil
        }
    }

    static func run(database: DatabasePool, root: URL, every: Duration, keep: Int, logger: Logger) async {
        while !Task.isCancelled {
            try? await Task.sleep(for: every)
            if Task.isCancelled { return }
            let dir = root.appendingPathComponent(StoreBackup.timestampedName())
            do {
                let manifest = try StoreBackup.create(from: database, into: dir)
                let report = StoreBackup.verify(dir)
                if report.ok {
                    try StoreBackup.prune(root, keep: keep)
                    logger.info("scheduled backup written", metadata: ["dir": "\(dir.path)", "bytes": "\(manifest.files.first?.bytes ?? 0)"])
                } else {
                    logger.error("scheduled backup FAILED verification", metadata: ["dir": "\(dir.path)"])
                }
            } catch {
                logger.error("scheduled backup failed", metadata: ["dir": "\(dir.path)", "error": "\(error)"])
            }
        }
    }
}
