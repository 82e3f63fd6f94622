import Foundation

/// A PostgreSQL server address in URL form: `postgres://user:password@host:port/database?sslmode=…`
/// (scheme `postgres` or `postgresql`).
///
/// postgres-nio has no URL initialiser; this is the one place that reads the form the operator writes
/// (`--metadata postgres://…`, `ENGRAM_TEST_POSTGRES_URL`). User and password are percent-decoded (a
/// password with `@`, `:` or `/` must be percent-encoded); the port defaults to 5432; the database is
/// required. Query parameters:
///
/// - `sslmode`: `disable` (plain TCP: loopback and test clusters), `require` or `verify-full` (TLS with the
///   certificate chain and host name verified: postgres-nio's `require` never skips verification, so
///   libpq's unverified `require` does not exist here). Without `sslmode` TLS is required: a typo never
///   downgrades to plain text.
/// - `sslrootcert`: a PEM file of trust roots for a private CA (with TLS only).
///
/// Any other parameter is refused, so a misspelt `sslmode` is an error rather than silently ignored.
/// `description` never shows the password.
public struct PostgresConnectionURL: Sendable, Hashable, CustomStringConvertible {
    /// How the connection is protected.
    public enum TLSMode: String, Sendable, Hashable {
        /// No TLS (`sslmode=disable`).
        case disable
        /// TLS with the server's certificate verified (`sslmode=require` or `verify-full`).
        case require
    }

    public var host: String
    public var port: Int
    public var username: String
    public var password: String?
    public var database: String
    public var tls: TLSMode
    /// PEM trust roots for TLS (`sslrootcert`); nil: the system's.
    public var rootCertificatePath: String?

    public init(
        host: String,
        port: Int = 5432,
        username: String,
        password: String?,
        database: String,
        tls: TLSMode = .require,
        rootCertificatePath: String? = nil
    ) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
        self.tls = tls
        self.rootCertificatePath = rootCertificatePath
    }

    /// Parses `text`; throws `PostgresEngineError.invalidURL` naming what is wrong (never the password).
    public init(_ text: String) throws {
        func invalid(_ why: String) -> PostgresEngineError { .invalidURL(why) }
        guard let components = URLComponents(string: text) else { throw invalid("not a URL") }
        guard let scheme = components.scheme?.lowercased(), scheme == "postgres" || scheme == "postgresql" else {
            throw invalid("the scheme must be postgres:// or postgresql://")
        }
        guard var host = components.host, !host.isEmpty else { throw invalid("no host") }
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard let user = components.user, !user.isEmpty else { throw invalid("no user name") }
        let port = components.port ?? 5432
        guard (1...65_535).contains(port) else { throw invalid("port \(port) is out of range") }
        var path = components.path
        if path.hasPrefix("/") { path.removeFirst() }
        guard !path.isEmpty, !path.contains("/") else { throw invalid("the path must name exactly one database") }

        var tls = TLSMode.require
        var rootCertificatePath: String?
        var seen: Set<String> = []
        for item in components.queryItems ?? [] {
            guard seen.insert(item.name).inserted else { throw invalid("parameter \(item.name) is given twice") }
            let value = item.value ?? ""
            switch item.name {
            case "sslmode":
                switch value {
                case "disable": tls = .disable
                case "require", "verify-full": tls = .require
                default: throw invalid("sslmode must be disable, require or verify-full, not \(value)")
                }
            case "sslrootcert":
                guard !value.isEmpty else { throw invalid("sslrootcert is empty") }
                rootCertificatePath = value
            default:
                throw invalid("unknown parameter \(item.name) (known: sslmode, sslrootcert)")
            }
        }
        if rootCertificatePath != nil, tls == .disable { throw invalid("sslrootcert needs TLS, but sslmode=disable") }
        self.init(
            host: host,
            port: port,
            username: user,
            password: components.password,
            database: path.removingPercentEncoding ?? path,
            tls: tls,
            rootCertificatePath: rootCertificatePath
        )
    }

    /// The same server and credentials, another database (the tests copy a template per test).
    public func with(database: String) -> PostgresConnectionURL {
        var copy = self
        copy.database = database
        return copy
    }

    /// The URL with the password replaced by `***`.
    public var description: String {
        let credentials = password == nil ? username : "\(username):***"
        let hostPart = host.contains(":") ? "[\(host)]" : host
        var text = "postgres://\(credentials)@\(hostPart):\(port)/\(database)?sslmode=\(tls == .disable ? "disable" : "verify-full")"
        if let rootCertificatePath { text += "&sslrootcert=\(rootCertificatePath)" }
        return text
    }
}
