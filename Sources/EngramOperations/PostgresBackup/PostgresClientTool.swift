import EngramConfig
package import EngramPostgres
package import Foundation

/// One of PostgreSQL's client programs (`pg_dump`, `pg_restore`, `createdb`, `dropdb`), found on this machine
/// and run as a child process with the connection in its environment.
///
/// Where the programs come from: the directory `ENGRAM_PG_BIN` names, else `PATH`, else the newest
/// `/usr/lib/postgresql/<major>/bin` (Debian's layout). `pg_dump` must be at least as new as the server.
///
/// Secrets: the password reaches the child only as `PGPASSWORD` in its environment, never on its command
/// line (which other users can read in `/proc`) nor in a log. Host, port, user and database go in `PGHOST`,
/// `PGPORT`, `PGUSER` and `PGDATABASE`; TLS follows the URL (`sslmode=disable` → `PGSSLMODE=disable`,
/// otherwise `verify-full` against `sslrootcert`, else the system's trust roots: libpq 16 or newer). Every
/// other `PG*` variable of the parent is dropped, so a stray `PGSERVICE` or `PGOPTIONS` cannot redirect it.
package struct PostgresClientTool {
    /// The program's path.
    package let executable: URL

    /// The directory override's variable.
    package static let binDirectoryVariable = EngramConfiguration.Setting.postgresBin.rawValue

    /// What a finished run printed and how it ended.
    package struct Output {
        package let status: Int32
        package let standardOutput: String
        package let standardError: String
        package var succeeded: Bool { status == 0 }
    }

    /// Finds `name` (see the type's documentation for the order); throws when it is nowhere.
    package static func locate(_ name: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Self {
        let fm = FileManager.default
        if let override = EngramConfiguration(environment: environment)[.postgresBin] {
            let url = URL(fileURLWithPath: override).appendingPathComponent(name)
            guard fm.isExecutableFile(atPath: url.path) else {
                throw PostgresBackupError.tool("\(binDirectoryVariable)=\(override) holds no executable \(name)")
            }
            return Self(executable: url)
        }
        for directory in (environment["PATH"] ?? "").split(separator: ":") where !directory.isEmpty {
            let url = URL(fileURLWithPath: String(directory)).appendingPathComponent(name)
            if fm.isExecutableFile(atPath: url.path) { return Self(executable: url) }
        }
        let versions = ((try? fm.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []).compactMap(Int.init).sorted()
        for version in versions.reversed() {
            let url = URL(fileURLWithPath: "/usr/lib/postgresql/\(version)/bin").appendingPathComponent(name)
            if fm.isExecutableFile(atPath: url.path) { return Self(executable: url) }
        }
        throw PostgresBackupError.tool(
            "\(name) not found on PATH nor in /usr/lib/postgresql/*/bin: install the PostgreSQL client (apt-get install postgresql-client) or set \(binDirectoryVariable)"
        )
    }

    /// The child's environment for `connection` (to `database`, else the URL's); without a connection, the
    /// parent's minus every `PG*` variable.
    package static func environment(
        for connection: PostgresConnectionURL?,
        database: String? = nil,
        inheriting parent: [String: String] = ProcessInfo.processInfo.environment
    ) -> [String: String] {
        var environment = parent.filter { !$0.key.hasPrefix("PG") }
        guard let connection else { return environment }
        environment["PGHOST"] = connection.host
        environment["PGPORT"] = String(connection.port)
        environment["PGUSER"] = connection.username
        environment["PGDATABASE"] = database ?? connection.database
        if let password = connection.password { environment["PGPASSWORD"] = password }
        switch connection.tls {
        case .disable:
            environment["PGSSLMODE"] = "disable"
        case .require:
            environment["PGSSLMODE"] = "verify-full"
            environment["PGSSLROOTCERT"] = connection.rootCertificatePath ?? "system"
        }
        environment["PGAPPNAME"] = "engram-backup"
        environment["PGCONNECT_TIMEOUT"] = "30"
        return environment
    }

    /// Runs the program with `arguments` against `connection` (to `database`, else the URL's; nil: a program
    /// that reads a file only, such as `pg_restore --list`), waits for it
    /// and returns what it printed. Blocks the calling thread: call it from a thread that may block (the
    /// engine's body threads, or a detached task).
    package func run(_ arguments: [String], connection: PostgresConnectionURL?, database: String? = nil) throws -> Output {
        let fm = FileManager.default
        let scratch = fm.temporaryDirectory.appendingPathComponent("engram-pgtool-\(UUID().uuidString)")
        try fm.createDirectory(at: scratch, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        defer { try? fm.removeItem(at: scratch) }
        let outURL = scratch.appendingPathComponent("stdout")
        let errURL = scratch.appendingPathComponent("stderr")
        fm.createFile(atPath: outURL.path, contents: nil)
        fm.createFile(atPath: errURL.path, contents: nil)
        let out = try FileHandle(forWritingTo: outURL)
        let err = try FileHandle(forWritingTo: errURL)
        defer {
            try? out.close()
            try? err.close()
        }
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.environment = Self.environment(for: connection, database: database)
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = out
        process.standardError = err
        do {
            try process.run()
        } catch {
            throw PostgresBackupError.tool("cannot start \(executable.path): \(error)")
        }
        process.waitUntilExit()
        let standardOutput = (try? String(contentsOf: outURL, encoding: .utf8)) ?? ""
        let standardError = (try? String(contentsOf: errURL, encoding: .utf8)) ?? ""
        return Output(status: process.terminationStatus, standardOutput: standardOutput, standardError: standardError)
    }

    /// Runs the program and throws, with its last error lines, when it fails.
    @discardableResult
    package func runChecked(_ arguments: [String], connection: PostgresConnectionURL?, database: String? = nil) throws -> Output {
        let output = try run(arguments, connection: connection, database: database)
        guard output.succeeded else {
            throw PostgresBackupError.tool(
                "\(executable.lastPathComponent) exited with \(output.status): \(Self.tail(output.standardError))"
            )
        }
        return output
    }

    /// The last lines of a program's error output, for a one-line report.
    package static func tail(_ text: String, lines: Int = 3) -> String {
        let kept = text.split(separator: "\n").suffix(lines).joined(separator: " | ")
        return kept.isEmpty ? "(no message)" : kept
    }
}
