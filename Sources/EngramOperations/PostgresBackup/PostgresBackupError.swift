import EngramConfig

/// A failure of a backup, verification or restore of the PostgreSQL metadata; reported as one line
/// (`engram: …`), never with a password (the URLs' descriptions hide it, the client programs never see it on
/// their command line).
package enum PostgresBackupError: CommandFailure, Equatable {
    /// A client program is missing, cannot start, or failed (with its last error lines).
    case tool(String)
    /// The dump or its manifest part does not hold what it should.
    case integrity(String)
    /// The target of a restore or drill is not usable (not empty, wrong role).
    case target(String)

    package var description: String {
        switch self {
        case .tool(let detail): "PostgreSQL client: \(detail)"
        case .integrity(let detail): "PostgreSQL dump: \(detail)"
        case .target(let detail): "PostgreSQL target: \(detail)"
        }
    }
}
