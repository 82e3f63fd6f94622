package import ArgumentParser
package import EngramDatabase
package import EngramMetadata
package import EngramPostgres
import EngramPostgresSchema
import Foundation
package import Logging

/// The metadata engines a benchmark runs on: SQLite always (the baseline), and PostgreSQL when
/// `--postgres` names a scratch database, so both figures come from one run on one machine.
package struct BenchMetadataOptions: ParsableArguments {
    package init() {}

    @Option(help: "Also run on PostgreSQL metadata: the application role's URL of a scratch database (postgres://…).")
    package var postgres: String?

    @Option(help: "The owner role's URL of that database (migrations run with it first).")
    package var postgresOwner: String?

    package func validate() throws {
        guard (postgres == nil) == (postgresOwner == nil) else { throw ValidationError("--postgres and --postgres-owner go together") }
    }

    /// SQLite, then PostgreSQL when asked.
    package func engines() throws -> [BenchMetadataEngine] {
        guard let postgres, let postgresOwner else { return [.sqlite] }
        return [.sqlite, .postgres(app: try PostgresConnectionURL(postgres), owner: try PostgresConnectionURL(postgresOwner))]
    }
}

/// One metadata engine under benchmark.
package enum BenchMetadataEngine {
    case sqlite
    case postgres(app: PostgresConnectionURL, owner: PostgresConnectionURL)

    package var name: String {
        switch self {
        case .sqlite: "sqlite"
        case .postgres: "postgres"
        }
    }

    /// Where this engine's latency samples go: `path` for SQLite, `name-postgres.json` beside it otherwise.
    package func samplesPath(_ path: String?) -> String? {
        guard let path, case .postgres = self else { return path }
        let url = URL(fileURLWithPath: path)
        return url.deletingPathExtension().path + "-\(name)." + (url.pathExtension.isEmpty ? "json" : url.pathExtension)
    }

    /// Runs `body` with this engine's metadata store: `database` (the embedded store's own file) on SQLite;
    /// on PostgreSQL the application role's store after migrating as the owner, its pool stopped afterwards.
    package func withStore<T>(
        database: EngramDatabase,
        logger: Logger,
        _ body: (any MetadataStore) async throws -> T
    ) async throws -> T {
        switch self {
        case .sqlite:
            return try await body(database)
        case .postgres(let app, let owner):
            let migrator = try PostgresMigrator(appRole: app.username)
            try await PostgresEngine.withEngine(owner, maximumConnections: 1, logger: logger) { try await migrator.migrate($0) }
            return try await PostgresEngine.withEngine(app, logger: logger) { engine in
                try await body(PostgresMetadataStore(engine: engine, sealer: database.cipher))
            }
        }
    }
}

/// Prints each engine's figure beside the first engine's (the SQLite baseline) as a ratio.
package enum BenchComparison {
    package static func print(_ label: String, _ figures: [(engine: String, value: Double)], unit: String, higherIsBetter: Bool = false) {
        guard figures.count > 1, let base = figures.first, base.value > 0 else { return }
        for other in figures.dropFirst() {
            let ratio = other.value / base.value
            Swift.print(
                String(
                    format: "%@: %@ %.2f %@ vs %@ %.2f %@: %.2fx %@",
                    label,
                    other.engine,
                    other.value,
                    unit,
                    base.engine,
                    base.value,
                    unit,
                    ratio,
                    higherIsBetter ? "(higher is better)" : "(lower is better)"
                )
            )
        }
    }
}
