package import EngramPostgres
import Foundation
import PostgresNIO

/// A throwaway database for the restore drill: created with a random name on the scratch server, handed to
/// a body, and dropped afterwards, whether the body succeeded or not.
///
/// Created from `template0` (nothing a DBA added to `template1` can disturb the restore) with `createdb`,
/// dropped with `dropdb --if-exists --force` (PostgreSQL 13 or newer: a connection the drill left open
/// cannot keep it alive). The scratch role needs `CREATEDB`.
package struct PostgresScratchDatabase {
    /// The scratch server's role URL, pointing at the scratch database.
    package let url: PostgresConnectionURL

    /// The prefix of every scratch database's name (`engram_verify_<random>`).
    package static let namePrefix = "engram_verify_"

    /// Whether `server`'s role may create databases.
    package static func canCreateDatabases(_ server: PostgresConnectionURL) async throws -> Bool {
        try await PostgresEngine.withEngine(server, maximumConnections: 1, logger: PostgresRowCounts.quietLogger) { engine in
            try await engine.probe()
            return try await engine.withGlobal(readOnly: true) { tx in
                try tx.column("SELECT rolcreatedb OR rolsuper FROM pg_roles WHERE rolname = current_user", as: Bool.self).first ?? false
            }
        }
    }

    /// Creates a database on `server`, runs `body` with it, and drops it (also when `body` throws; a failed
    /// drop is reported after the body's own error, never instead of it).
    package static func with<T>(on server: PostgresConnectionURL, _ body: (Self) async throws -> T) async throws -> T {
        let name = namePrefix + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16)
        try PostgresClientTool.locate("createdb").runChecked(
            ["--no-password", "--template=template0", "--maintenance-db=\(server.database)", name],
            connection: server
        )
        var scratch = server
        scratch.database = name
        let result: Result<T, any Error>
        do {
            result = .success(try await body(Self(url: scratch)))
        } catch {
            result = .failure(error)
        }
        let drop = await dropWithRetries(name, on: server)
        if case .failure(let dropError) = drop {
            if case .failure(let error) = result {
                throw PostgresBackupError.tool("\(error); and the scratch database \(name) could not be dropped: \(dropError)")
            }
            throw PostgresBackupError.tool("the scratch database \(name) could not be dropped: \(dropError)")
        }
        return try result.get()
    }

    /// Pauses between drop attempts: a backend that just served the drill (its client gone, the server
    /// process still exiting) or an autovacuum worker that found the freshly restored tables may belong to
    /// another role, which `--force` may not terminate; both are gone within a moment.
    package static let dropRetryPauses: [Duration] = [.milliseconds(200), .milliseconds(500), .seconds(1), .seconds(2), .seconds(4)]

    /// `dropdb --if-exists --force`, tried again after each pause while it fails; the last failure if none succeeds.
    package static func dropWithRetries(_ name: String, on server: PostgresConnectionURL) async -> Result<Void, any Error> {
        var attempt = Result<Void, any Error> { try drop(name, on: server) }
        for pause in dropRetryPauses {
            guard case .failure = attempt else { break }
            try? await Task.sleep(for: pause)
            attempt = Result { try drop(name, on: server) }
        }
        return attempt
    }

    package static func drop(_ name: String, on server: PostgresConnectionURL) throws {
        try PostgresClientTool.locate("dropdb").runChecked(
            ["--no-password", "--if-exists", "--force", "--maintenance-db=\(server.database)", name],
            connection: server
        )
    }
}
