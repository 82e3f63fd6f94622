public import EngramPostgres
import Foundation
import PostgresNIO

/// Applies the numbered migrations as the schema owner, once, however many replicas start together.
///
/// Everything happens in one owner transaction (PostgreSQL's DDL is transactional: a failure leaves
/// nothing half-done):
/// 1. `pg_advisory_xact_lock`: a second migrator waits here until the first commits;
/// 2. `CREATE SCHEMA IF NOT EXISTS engram` and `engram.schema_migrations (id, checksum, applied_at)`;
/// 3. the recorded ids are checked against this build's: a recorded checksum that differs, or an id this
///    build does not know (a newer build migrated the database), is `PostgresEngineError.migration`;
/// 4. each missing migration runs statement by statement, then its id and checksum are recorded.
///
/// The transaction is READ COMMITTED, not SERIALIZABLE: a waiting migrator's snapshot would otherwise
/// date from before the lock and miss what the first one committed, and it would apply everything again.
/// Each statement after the lock sees the committed schema.
///
/// The owner needs CREATE on the database (or an existing `engram` schema it owns), and the application
/// role must exist: the migrations grant it exactly what it may do. The application itself never
/// migrates: at start-up it reads `pending(…)` and refuses to run behind the schema.
public struct PostgresMigrator: Sendable {
    /// The migrations this build carries, in order.
    public let migrations: [PostgresMigration]
    /// The application role the grants and policies name.
    public let appRole: String

    /// The advisory lock's key ("engram" in ASCII, then 1): any bigint works if every migrator uses it.
    static let lockKey: Int64 = 0x656E_6772_616D_0001

    /// A migrator for `migrations` granting to `appRole` (a plain identifier: lowercase letters, digits, `_`).
    public init(migrations: [PostgresMigration] = PostgresSchema.migrations, appRole: String = "engram_app") throws {
        guard let first = appRole.unicodeScalars.first, first == "_" || ("a"..."z").contains(first),
            appRole.unicodeScalars.allSatisfy({ ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_" }),
            appRole.count <= 63
        else { throw PostgresEngineError.misuse("application role \(appRole.debugDescription) is not a plain identifier") }
        let ids = migrations.map(\.id)
        guard ids == ids.sorted(), Set(ids).count == ids.count else {
            throw PostgresEngineError.misuse("migration ids must be unique and in order: \(ids)")
        }
        self.migrations = migrations
        self.appRole = appRole
    }

    /// Brings the database to this build's schema; returns the ids applied now (empty when it was current).
    /// `owner` must connect as the schema owner.
    @discardableResult
    public func migrate(_ owner: PostgresEngine) async throws -> [String] {
        let migrations = self.migrations
        let role = "\"\(appRole)\""
        return try await owner.withOwnerTransaction { tx in
            try tx.query("SELECT pg_advisory_xact_lock(\(Self.lockKey))")
            try tx.execute("CREATE SCHEMA IF NOT EXISTS engram")
            try tx.execute(
                """
                CREATE TABLE IF NOT EXISTS engram.schema_migrations (
                  id text PRIMARY KEY, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())
                """
            )
            let recorded = try tx.rows("SELECT id, checksum FROM engram.schema_migrations ORDER BY id", as: (String, String).self)
            let applied = try Self.check(recorded: recorded, against: migrations)
            var now: [String] = []
            for migration in migrations where !applied.contains(migration.id) {
                for (index, statement) in migration.statements.enumerated() {
                    do {
                        try tx.execute(PostgresQuery(unsafeSQL: statement.replacingOccurrences(of: "{app}", with: role)))
                    } catch {
                        throw PostgresEngineError.migration("\(migration.id), statement \(index + 1): \(error)")
                    }
                }
                try tx.execute("INSERT INTO engram.schema_migrations (id, checksum) VALUES (\(migration.id), \(migration.checksum))")
                now.append(migration.id)
            }
            return now
        }
    }

    /// The ids this build carries that the database has not applied, read by any role with SELECT on
    /// `engram.schema_migrations` (the application role at start-up). A database migrated by a newer
    /// build, or with a changed checksum, throws `migration`; one never migrated returns every id.
    public func pending(_ engine: PostgresEngine) async throws -> [String] {
        let migrations = self.migrations
        return try await engine.withGlobal { tx in
            let exists = try tx.column("SELECT to_regclass('engram.schema_migrations') IS NOT NULL", as: Bool.self)
            guard exists.first == true else { return migrations.map(\.id) }
            let recorded = try tx.rows("SELECT id, checksum FROM engram.schema_migrations ORDER BY id", as: (String, String).self)
            let applied = try Self.check(recorded: recorded, against: migrations)
            return migrations.map(\.id).filter { !applied.contains($0) }
        }
    }

    /// The recorded ids, after checking each against this build's migrations.
    static func check(recorded: [(String, String)], against migrations: [PostgresMigration]) throws -> Set<String> {
        let known = Dictionary(uniqueKeysWithValues: migrations.map { ($0.id, $0.checksum) })
        for (id, checksum) in recorded {
            guard let expected = known[id] else {
                throw PostgresEngineError.migration("the database has migration \(id), which this build does not know (a newer build migrated it)")
            }
            guard expected == checksum else {
                throw PostgresEngineError.migration(
                    "migration \(id) was applied with checksum \(checksum), but this build's is \(expected): applied migrations must not change"
                )
            }
        }
        return Set(recorded.map(\.0))
    }
}
