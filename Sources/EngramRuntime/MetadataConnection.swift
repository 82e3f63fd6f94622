package import EngramAtRest
import EngramConfig
package import EngramDatabase
package import EngramMetadata
package import EngramPostgres
import EngramPostgresSchema
import Foundation
package import Logging

/// The metadata store a command runs on, opened from its `MetadataLocation`, and what to stop at the end
/// (a PostgreSQL engine's connection pool).
package final class MetadataConnection: Sendable {
    /// The store the domain uses.
    package let store: any MetadataStore
    /// The PostgreSQL engine behind `store` (nil on SQLite).
    package let engine: PostgresEngine?
    /// Where the metadata is, for logs: never a password.
    package let summary: String
    private let runner: Task<Void, Never>?

    private init(store: any MetadataStore, engine: PostgresEngine?, summary: String, runner: Task<Void, Never>?) {
        self.store = store
        self.engine = engine
        self.summary = summary
        self.runner = runner
    }

    /// The SQLite tables of `database` (the data directory's file).
    package static func sqlite(_ database: EngramDatabase) -> MetadataConnection {
        MetadataConnection(store: database, engine: nil, summary: "sqlite (\(database.path))", runner: nil)
    }

    /// Opens the metadata at `location`: on SQLite, the data directory's database (`sqlite()`, opened only
    /// then); on PostgreSQL, the application role's connection pool after these start-up checks, each a
    /// clear `Runtime.Failure` (or `EncryptionKeyProblem`) when it fails:
    /// 1. one probe connection (a wrong password or an unreachable server fails here, with the server's reason);
    /// 2. with `migrate` and an owner URL, the migrations, as the owner, under the advisory lock (replicas
    ///    starting together migrate once);
    /// 3. no migration pending (an application behind its schema refuses to start);
    /// 4. the application role's posture (`PostgresRolePosture`: no superuser, BYPASSRLS or ownership);
    /// 5. the encryption key against `engram.encryption_state` (`EngramDatabase.encryptionStep`).
    package static func open(
        _ location: MetadataLocation,
        sqlite: () throws -> EngramDatabase,
        cipher: AtRestCipher?,
        migrate: Bool,
        logger: Logger
    ) async throws -> MetadataConnection {
        guard case .postgres(let app, let owner) = location else { return .sqlite(try sqlite()) }
        let summary = "postgres (\(app.username)@\(app.host):\(app.port)/\(app.database))"
        let engine = PostgresEngine(url: app, logger: logger)
        let runner = Task { await engine.run() }
        do {
            await engine.waitUntilRunning()
            try await engine.probe()
            let migrator = try PostgresMigrator(appRole: app.username)
            if migrate, let owner {
                let applied = try await PostgresEngine.withEngine(owner, maximumConnections: 1, logger: logger) { try await migrator.migrate($0) }
                if !applied.isEmpty { logger.info("PostgreSQL migrations applied", metadata: ["ids": "\(applied.joined(separator: ","))"]) }
            }
            let pending = try await migrator.pending(engine)
            guard pending.isEmpty else {
                throw Runtime.Failure(
                    description: "the PostgreSQL schema lacks \(pending.count) migration(s) (\(pending.first ?? "")…): "
                        + "give the owner role's URL once with --metadata-owner (ENGRAM_METADATA_OWNER) so `engram serve` migrates it"
                )
            }
            try await PostgresRolePosture.check(engine)
            try await PostgresEncryptionState.check(engine, cipher: cipher)
            logger.info("metadata in PostgreSQL", metadata: ["role": "\(app.username)", "host": "\(app.host)", "database": "\(app.database)"])
            return MetadataConnection(
                store: PostgresMetadataStore(engine: engine, sealer: cipher),
                engine: engine,
                summary: summary,
                runner: runner
            )
        } catch let failure as Runtime.Failure {
            await Self.stop(runner)
            throw failure
        } catch let problem as EncryptionKeyProblem {
            await Self.stop(runner)
            throw problem
        } catch {
            await Self.stop(runner)
            throw Runtime.Failure(description: "PostgreSQL metadata store \(summary): \(error)")
        }
    }

    /// Stops the connection pool (nothing on SQLite). Call once, when the command is done.
    package func close() async {
        await Self.stop(runner)
    }

    private static func stop(_ runner: Task<Void, Never>?) async {
        guard let runner else { return }
        runner.cancel()
        await runner.value
    }
}

extension StoreOptions {
    /// Runs `body` on the metadata store these options name (`--metadata`), opening the data directory's
    /// SQLite database only when the metadata lives there, and closes it afterwards. Migrations run first
    /// when `--metadata-owner` is given.
    package func withMetadata<T>(_ body: (MetadataConnection) async throws -> T) async throws -> T {
        let configuration = EngramConfiguration()
        let cipher = try configuration.atRestCipher()
        var logger = Logger(label: "engram.metadata")
        logger.logLevel = .warning
        let connection = try await MetadataConnection.open(
            try metadataLocation(configuration),
            sqlite: { try EngramDatabase(directory: dataDirectory, cipher: cipher) },
            cipher: cipher,
            migrate: true,
            logger: logger
        )
        do {
            let result = try await body(connection)
            await connection.close()
            return result
        } catch {
            await connection.close()
            throw error
        }
    }
}

extension StoreOptions {
    /// Runs `body` with the PostgreSQL metadata store when `--metadata` names one, else with nil (the
    /// memory store's own SQLite database then holds the metadata, as it always did).
    package func withPostgresMetadata<T>(_ body: ((any MetadataStore)?) async throws -> T) async throws -> T {
        guard case .postgres = try metadataLocation() else { return try await body(nil) }
        return try await withMetadata { connection in try await body(connection.store) }
    }
}

extension PostgresEncryptionState {
    /// Checks `cipher` against `engram.encryption_state` with the SQLite file's rule
    /// (`EngramDatabase.encryptionStep`), recording a first key or the start of a rotation.
    package static func check(_ engine: PostgresEngine, cipher: AtRestCipher?) async throws {
        try await check(engine, now: Date().timeIntervalSince1970) { recorded in
            let state = recorded.map { EngramDatabase.EncryptionState(keyID: $0.keyID, targetKeyID: $0.targetKeyID, rotating: $0.rotating) }
            switch try EngramDatabase.encryptionStep(state: state, cipher: cipher) {
            case .none: return nil
            case .record(let keyID): return .record(keyID: keyID)
            case .startRotation(let target): return .startRotation(targetKeyID: target)
            }
        }
    }
}
