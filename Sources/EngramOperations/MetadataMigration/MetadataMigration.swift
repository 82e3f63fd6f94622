import ArgumentParser
package import EngramAtRest
import EngramClientKit
import EngramConfig
package import EngramDatabase
package import EngramPostgres
import EngramPostgresSchema
import EngramRuntime
package import Foundation
import GRDB

/// `engram migrate --from sqlite:DIR --to postgres://OWNER…` (or the reverse): copies every metadata
/// table (users, members, credentials, sessions, tokens, OAuth, org policy, the audit log, memory versions,
/// usage, the served log, reports, quarantine, webhook deliveries, the encryption state) between a data
/// directory's SQLite file and PostgreSQL schema `engram`, then verifies counts and hashes per table
/// (`MetadataVerification`). The memories' vectors stay in their store: only metadata moves.
///
/// PostgreSQL is reached with the schema owner's URL (policy `owner_rows` admits every tenant's rows; the
/// append-only tables only ever get inserts). Into PostgreSQL, the migrations run first
/// (`PostgresMigrator`); out of it, a database behind this build's schema is refused. Into SQLite, opening
/// the file runs its migrations. Sealed values (version snapshots, webhook secrets, TOTP secrets) move as
/// bytes: both engines seal them under the same tenants and identities. Rerunning the command finishes an
/// interrupted copy (`MetadataCopy`). Stop the server first: rows written during the copy may be missed.
package struct MetadataMigration {
    /// One side, as `--from`/`--to` name it.
    package enum Endpoint {
        /// `sqlite:DIR`: the file `DIR/engram.sqlite`.
        case sqlite(URL)
        /// `postgres://…` or `postgresql://…`: the schema owner's URL.
        case postgres(PostgresConnectionURL)
    }

    package let from: Endpoint
    package let to: Endpoint
    package let appRole: String

    /// Whether `spec` names a metadata store (rather than a memory store: `embedded`, `qdrant://…`).
    package static func namesMetadataStore(_ spec: String) -> Bool {
        spec.hasPrefix("sqlite:") || spec.hasPrefix("postgres://") || spec.hasPrefix("postgresql://")
    }

    package static func endpoint(_ spec: String, option: String) throws -> Endpoint {
        if spec.hasPrefix("sqlite:") {
            let path = String(spec.dropFirst("sqlite:".count))
            guard !path.isEmpty else { throw ValidationError("\(option) sqlite: needs the data directory (sqlite:./data)") }
            return .sqlite(URL(fileURLWithPath: path))
        }
        guard namesMetadataStore(spec) else {
            throw ValidationError("\(option): metadata moves between sqlite:DIR and postgres://… (memories between embedded and qdrant://…)")
        }
        do {
            return .postgres(try PostgresConnectionURL(spec))
        } catch {
            throw ValidationError("\(option): \(error)")
        }
    }

    package init(from: String, to: String, appRole: String) throws {
        self.from = try Self.endpoint(from, option: "--from")
        self.to = try Self.endpoint(to, option: "--to")
        self.appRole = appRole
        switch (self.from, self.to) {
        case (.sqlite, .postgres), (.postgres, .sqlite): break
        default: throw ValidationError("migrate metadata between sqlite:DIR and postgres://… (one of each)")
        }
    }

    package func run() async throws {
        let cipher = try EngramConfiguration().atRestCipher()
        switch (from, to) {
        case (.sqlite(let directory), .postgres(let url)):
            let database = try Self.openSQLite(directory, mustExist: true, cipher: cipher)
            try await Self.withPostgres(url) { engine in
                let applied = try await PostgresMigrator(appRole: appRole).migrate(engine)
                if !applied.isEmpty { print("PostgreSQL schema engram: applied \(applied.count) migrations") }
                let sqlite = SQLiteMetadataEndpoint(database: database, directory: directory)
                let resolver = MemoryTenantResolver(cipher: cipher, pool: database.pool)
                try await Self.migrate(
                    sqlite: database,
                    postgres: engine,
                    source: sqlite,
                    target: PostgresMetadataEndpoint(engine: engine),
                    tenants: resolver
                )
                let unopened = await resolver.unopenedSnapshots
                if unopened > 0 {
                    print(
                        "note: \(unopened) sealed version snapshots did not open with the configured key; their tenant came from the memory's other rows"
                    )
                }
            }
        case (.postgres(let url), .sqlite(let directory)):
            let database = try Self.openSQLite(directory, mustExist: false, cipher: cipher)
            try await Self.withPostgres(url) { engine in
                let pending = try await PostgresMigrator(appRole: appRole).pending(engine)
                guard pending.isEmpty else {
                    throw MetadataMigrationFailure(
                        "the PostgreSQL database lacks \(pending.count) of this build's migrations (first: \(pending[0])): migrate it first"
                    )
                }
                try await Self.migrate(
                    sqlite: database,
                    postgres: engine,
                    source: PostgresMetadataEndpoint(engine: engine),
                    target: SQLiteMetadataEndpoint(database: database, directory: directory),
                    tenants: nil
                )
            }
        default:
            throw ValidationError("migrate metadata between sqlite:DIR and postgres://… (one of each)")
        }
    }

    /// Copies, verifies, prints a line per table and the verdict; exits 1 when anything differs.
    package static func migrate(
        sqlite: EngramDatabase,
        postgres: PostgresEngine,
        source: any MetadataEndpoint,
        target: any MetadataEndpoint,
        tenants: MemoryTenantResolver?
    ) async throws {
        let tables = try await MetadataSchema.load(sqlite: sqlite.pool, postgres: postgres)
        print("migrating metadata from \(source.label) to \(target.label)")
        var total = 0
        for table in tables { total += try await source.count(table) }
        let progress = ProgressReporter("migrating metadata", total: total)
        let outcome = try await MetadataCopy(source: source, target: target, tenants: tenants).run(tables, progress: progress)
        progress.finish(outcome.read)
        print("copied \(outcome.inserted) rows; \(outcome.read - outcome.inserted) were in the target already")
        var results = try await MetadataVerification.verify(tables, source: source, target: target)
        if let postgres = target as? PostgresMetadataEndpoint {
            results += try await MetadataVerification.verifyTenants(tables, derived: outcome.tenantDigests, on: postgres)
        }
        print("verification (rows and SHA-256 of every row in key order; <table>.tenant: each row's key and PostgreSQL tenant):")
        for result in results { print(MetadataVerification.line(result)) }
        let differing = results.filter { !$0.matches }.map(\.table)
        guard differing.isEmpty else {
            FileHandle.standardError.write(
                Data("MIGRATION VERIFICATION FAILED: \(differing.joined(separator: ", ")) differ between source and target\n".utf8)
            )
            throw ExitCode(1)
        }
        print("metadata migrated: \(tables.count) tables, \(outcome.read) rows; counts and hashes match")
    }

    /// The data directory's database, its migrations run. A file holding sealed values opens with the
    /// configured key; any other opens without one, so opening records no key the source did not have
    /// (the copied `encryption_state` row says which key the values are under).
    package static func openSQLite(_ directory: URL, mustExist: Bool, cipher: AtRestCipher?) throws -> EngramDatabase {
        let file = directory.appendingPathComponent(EngramDatabase.fileName)
        if mustExist, !FileManager.default.fileExists(atPath: file.path) {
            throw MetadataMigrationFailure("no \(EngramDatabase.fileName) in \(directory.path)")
        }
        let logger = MemoryStores.quietLogger()
        do {
            return try EngramDatabase(directory: directory, cipher: nil, logger: logger)
        } catch is EncryptionKeyProblem where cipher != nil {
            return try EngramDatabase(directory: directory, cipher: cipher, logger: logger)
        } catch let failure as EngramDatabase.OpenFailure {
            throw MetadataMigrationFailure(failure.description)
        }
    }

    /// Runs an engine for the owner URL around `body`; PostgreSQL errors become one-line failures naming
    /// the URL (password masked).
    package static func withPostgres(_ url: PostgresConnectionURL, _ body: (PostgresEngine) async throws -> Void) async throws {
        do {
            try await PostgresEngine.withEngine(url, maximumConnections: 2, logger: MemoryStores.quietLogger()) { engine in
                try await engine.probe()
                try await body(engine)
            }
        } catch let error as PostgresEngineError {
            throw MetadataMigrationFailure("\(url): \(error)")
        }
    }
}
