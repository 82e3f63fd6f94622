public import EngramAtRest
public import Foundation
public import GRDB
public import Logging

/// The service's SQLite database: one file (`engram.sqlite` in the data directory) in WAL mode
/// with `synchronous = FULL`, holding every table: the embedded store's collections and points,
/// users, organisations, members, invitations, revoked token ids and the audit log.
///
/// Opening it applies the single migrator (`EngramDatabase.migrator`), which registers every
/// table of the file, so a data directory written by any earlier version opens with only its
/// missing migrations run. The file, its WAL and shared-memory files are private (0600).
public final class EngramDatabase: Sendable {
    /// The file name inside a data directory.
    public static let fileName = "engram.sqlite"

    /// GRDB's connection pool: one writer, concurrent readers.
    public let pool: DatabasePool
    /// Path of the database file.
    public let path: String
    /// Seals memory payloads, versions and stored secrets (nil: values are stored in plaintext).
    public let cipher: AtRestCipher?
    /// Commits concurrent metadata writes (versions, outbox, audit, directory) in shared transactions.
    public let metadataCommitter: GroupCommitter

    /// Opens (creating if needed) the database at `path` and runs the missing migrations.
    ///
    /// With `cipher`, the file's recorded key must be one the cipher holds (a file never sealed
    /// records the cipher's key); without one, a file holding sealed values does not open. Either
    /// mismatch throws `EncryptionKeyProblem`.
    public init(path: String, cipher: AtRestCipher? = nil, logger: Logger = Logger(label: "engram.database")) throws {
        self.path = path
        self.cipher = cipher
        var config = Configuration()
        let sealed = cipher != nil
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
            try db.execute(sql: "PRAGMA foreign_keys = ON")
            // With encryption at rest, content SQLite frees or overwrites (a row rewritten sealed, a
            // deleted memory) is zeroed instead of lingering in free space.
            if sealed { try db.execute(sql: "PRAGMA secure_delete = ON") }
        }
        config.busyMode = .timeout(10)
        do {
            pool = try DatabasePool(path: path, configuration: config)
            // GRDB's pool switches its writer to WAL mode after `prepareDatabase` ran, and sets
            // `synchronous = NORMAL` as it does (commits then reach the disk only at checkpoints:
            // safe from a killed process, not from a power loss). Every commit is fsynced again.
            try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
            try Self.migrator.migrate(pool)
            try pool.write { db in try Self.checkEncryption(db, cipher: cipher) }
        } catch let error as DatabaseError {
            throw OpenFailure(description: "cannot open \(path): \(error.message ?? error.description)")
        }
        metadataCommitter = GroupCommitter(pool: pool, queue: DispatchQueue(label: "engram.metadata.writer"))
        do {
            try PrivateFiles.restrictFiles(PrivateFiles.databaseFiles(path))
        } catch {
            logger.warning(
                "cannot make the database files private (0600)",
                metadata: ["path": "\(path)", "error": "\(error)"]
            )
        }
    }

    /// Opens the database in `directory` (file `engram.sqlite`), creating the directory (private: 0700).
    public convenience init(directory: URL, cipher: AtRestCipher? = nil, logger: Logger = Logger(label: "engram.database")) throws {
        try PrivateFiles.makeDirectory(directory)
        try self.init(path: directory.appendingPathComponent(Self.fileName).path, cipher: cipher, logger: logger)
    }

    /// The database file could not be opened or migrated.
    public struct OpenFailure: Error, CustomStringConvertible {
        public var description: String
    }
}
