public import Foundation

/// The data directory, the database with its WAL and shared-memory files, and backups hold every
/// memory and member: they are private to the service's user (directories 0700, files 0600).
/// New files get that from the process umask (`engram` sets 0077 at start); these helpers set it
/// explicitly and tighten files an older version created world-readable.
public enum PrivateFiles {
    public static let directoryMode = 0o700
    public static let fileMode = 0o600

    /// Creates `directory` (and missing parents) if needed and makes it 0700.
    public static func makeDirectory(_ directory: URL) throws {
        try FileManager.default.createDirectory(
            at: directory,
            withIntermediateDirectories: true,
            attributes: [.posixPermissions: directoryMode]
        )
        try restrict(directory.path, to: directoryMode)
    }

    /// Makes the existing files among `paths` 0600 (missing ones are skipped).
    public static func restrictFiles(_ paths: [String]) throws {
        for path in paths where FileManager.default.fileExists(atPath: path) { try restrict(path, to: fileMode) }
    }

    /// The database file and the files SQLite keeps beside it.
    public static func databaseFiles(_ path: String) -> [String] { [path, path + "-wal", path + "-shm", path + "-journal"] }

    static func restrict(_ path: String, to mode: Int) throws {
        let current = (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber)?.intValue
        if current != mode { try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path) }
    }
}
