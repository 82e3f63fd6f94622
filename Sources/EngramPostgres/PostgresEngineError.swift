import PostgresNIO

/// Every failure the PostgreSQL engine reports. No postgres-nio error (`PSQLError`,
/// `PostgresDecodingError`, `PostgresTransactionError`) leaves the module: `PostgresEngine` maps them at
/// its boundary, so callers (and the metadata seam) match on these cases only.
public enum PostgresEngineError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The connection URL is malformed; the reason never quotes the password.
    case invalidURL(String)
    /// The server could not be reached, the connection broke, the pool is closed, or the engine is not
    /// running (its `run()` ended).
    case unavailable(String)
    /// The server refused a statement. `sqlState` is the five-character SQLSTATE (`42501` insufficient
    /// privilege or a row-level security violation, `23505` unique violation, `40001` serialization
    /// failure, …), `message` the server's primary message.
    case server(sqlState: String, message: String)
    /// A value in a row did not decode to the requested Swift type.
    case decoding(String)
    /// The transaction kept failing with a serialization failure or deadlock (`40001`/`40P01`) after
    /// every retry.
    case retriesExhausted(sqlState: String, attempts: Int)
    /// The migrations recorded in `engram.schema_migrations` do not match the ones this build carries
    /// (a changed checksum, an id this build does not know).
    case migration(String)
    /// The application role may bypass row-level security (superuser, BYPASSRLS, owner of the schema's
    /// objects, member of the owner role, or allowed to create objects there). Each string is one reason.
    case posture([String])
    /// A transaction handle was used after its transaction ended, or a tenant scope is malformed.
    case misuse(String)

    /// The SQLSTATE of a server error (nil for other cases).
    public var sqlState: String? {
        switch self {
        case .server(let state, _), .retriesExhausted(let state, _): return state
        default: return nil
        }
    }

    /// `42501`: insufficient privilege, or a row that row-level security refuses to write.
    public var isDenied: Bool { sqlState == SQLState.insufficientPrivilege }
    /// `23505`: the row collides with a unique or primary key.
    public var isUniqueViolation: Bool { sqlState == SQLState.uniqueViolation }

    public var description: String {
        switch self {
        case .invalidURL(let why): return "invalid PostgreSQL URL: \(why)"
        case .unavailable(let why): return "PostgreSQL unavailable: \(why)"
        case .server(let state, let message): return "PostgreSQL error \(state): \(message)"
        case .decoding(let why): return "PostgreSQL value did not decode: \(why)"
        case .retriesExhausted(let state, let attempts): return "PostgreSQL transaction failed with \(state) \(attempts) times"
        case .migration(let why): return "PostgreSQL migrations: \(why)"
        case .posture(let reasons): return "the application role may bypass row-level security: " + reasons.joined(separator: "; ")
        case .misuse(let why): return "PostgreSQL engine misuse: \(why)"
        }
    }

    /// The SQLSTATE codes the engine acts on.
    public enum SQLState {
        public static let insufficientPrivilege = "42501"
        public static let uniqueViolation = "23505"
        public static let serializationFailure = "40001"
        public static let deadlockDetected = "40P01"
        public static let syntaxError = "42601"
        /// The transaction is aborted: an earlier statement of it failed.
        public static let inFailedTransaction = "25P02"
    }

    /// Whether the whole transaction may be run again (`40001`, `40P01`).
    var isRetryable: Bool {
        guard case .server(let state, _) = self else { return false }
        return state == SQLState.serializationFailure || state == SQLState.deadlockDetected
    }

    /// Maps any error raised by postgres-nio to this type; other errors (the body's own) pass unchanged.
    static func map(_ error: any Error) -> any Error {
        switch error {
        case let error as PostgresEngineError:
            return error
        case let error as PSQLError:
            return fromPSQL(error)
        case let error as PostgresDecodingError:
            return PostgresEngineError.decoding(
                "column \(error.columnName) (index \(error.columnIndex)) of type \(error.postgresType) as \(error.targetType): \(error.code)"
            )
        case let error as PostgresTransactionError:
            return map(error.closureError ?? error.commitError ?? error.beginError ?? error.rollbackError ?? error)
        default:
            // The pool's own errors (`ConnectionPoolError`: the connection circuit breaker tripped, …), and
            // NIO's and NIOSSL's connection and handshake failures, are the server being unreachable.
            let module = String(reflecting: type(of: error)).split(separator: ".").first ?? ""
            if ["_ConnectionPoolModule", "PostgresNIO", "NIOCore", "NIOPosix", "NIOSSL"].contains(module) {
                return PostgresEngineError.unavailable(String(describing: error))
            }
            return error
        }
    }

    static func fromPSQL(_ error: PSQLError) -> PostgresEngineError {
        if error.code == .server, let info = error.serverInfo {
            return .server(sqlState: info[.sqlState] ?? "XX000", message: info[.message] ?? "")
        }
        switch error.code {
        case .poolClosed: return .unavailable("the connection pool is closed")
        case .queryCancelled: return .unavailable("the query was cancelled")
        default:
            let underlying = error.underlying.map { ": \($0)" } ?? ""
            return .unavailable("\(error.code)\(underlying)")
        }
    }
}
