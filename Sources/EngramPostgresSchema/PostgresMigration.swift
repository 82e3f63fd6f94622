import Crypto
import EngramCore

/// One numbered migration of the PostgreSQL schema: single statements, applied in order in the
/// migrator's one owner transaction.
///
/// Statements are single on purpose: postgres-nio speaks the extended query protocol only (its
/// `simpleQuery` goes through the same Parse/Bind/Execute), and the server refuses a prepared statement
/// holding several commands (`42601`, "cannot insert multiple commands into a prepared statement"; a test
/// checks this). `{app}` in a statement stands for the application role's quoted name, filled in by the
/// migrator; the checksum covers the text before that substitution, so deployments with differently
/// named roles record the same checksums.
///
/// An applied migration is immutable: its id and checksum are recorded in `engram.schema_migrations`,
/// and a build whose statements for that id differ refuses to run (a schema change is a new migration).
public struct PostgresMigration: Sendable, Hashable {
    /// `NNNN_name`, ordered by its number.
    public let id: String
    /// The SQLite migrations (GRDB identifiers in `EngramDatabase.migrator`) this one mirrors.
    public let sqliteCounterparts: [String]
    /// The statements, one command each.
    public let statements: [String]

    public init(id: String, mirroring sqliteCounterparts: [String], _ statements: [String]) {
        self.id = id
        self.sqliteCounterparts = sqliteCounterparts
        self.statements = statements
    }

    /// SHA-256 (hex) of the statements, each followed by a NUL byte.
    public var checksum: String {
        var hasher = SHA256()
        for statement in statements {
            hasher.update(data: Array(statement.utf8))
            hasher.update(data: [0])
        }
        return Hex.lowercase(hasher.finalize())
    }
}
