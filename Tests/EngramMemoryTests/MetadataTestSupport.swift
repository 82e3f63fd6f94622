import EngramAtRest
import EngramDatabase
import EngramMetadata
@_spi(Testing) import EngramPostgres
import EngramPostgresSchema
import Foundation

/// The metadata store a domain test runs on: the SQLite database it made, or — when
/// `ENGRAM_TEST_POSTGRES_URL` is set (`bash Tests/postgres.sh`) — a fresh PostgreSQL database copied from a
/// template migrated once per process, on the application role (row-level security enforced), so the
/// same suites run on both engines. Hold the value as long as the store is used: releasing it stops the
/// engine and drops the database.
final class TestMetadata: Sendable {
    /// The store the domain is given.
    let store: any MetadataStore
    /// The PostgreSQL engine (application role; nil on SQLite), for tests that look at the stored bytes.
    let postgres: PostgresEngine?
    /// The PostgreSQL engine's `run()` (nil on SQLite).
    private let running: Task<Void, Never>?
    /// The PostgreSQL database (nil on SQLite).
    private let databaseName: String?

    private init(store: any MetadataStore, postgres: PostgresEngine? = nil, running: Task<Void, Never>?, databaseName: String?) {
        self.store = store
        self.postgres = postgres
        self.running = running
        self.databaseName = databaseName
    }

    deinit {
        running?.cancel()
        if let databaseName {
            let running = running
            Task.detached {
                await running?.value
                await PostgresTestDatabases.shared.drop(databaseName)
            }
        }
    }

    /// Whether the domain suites run on PostgreSQL in this process.
    static var onPostgres: Bool { !(ProcessInfo.processInfo.environment["ENGRAM_TEST_POSTGRES_URL"] ?? "").isEmpty }

    /// The engine the suites run on.
    static var engine: MetadataEngine { onPostgres ? .postgres : .sqlite }

    /// `sqlite()`'s database as the store, or on PostgreSQL a fresh database sealing with `sealer`.
    static func make(sealer: AtRestCipher? = nil, sqlite: () throws -> EngramDatabase) async throws -> TestMetadata {
        guard onPostgres else { return TestMetadata(store: SQLiteMetadataStore(database: try sqlite()), running: nil, databaseName: nil) }
        let name = try await PostgresTestDatabases.shared.create()
        let engine = PostgresEngine(url: try PostgresTestDatabases.appURL().with(database: name), maximumConnections: 2)
        let running = Task.detached { await engine.run() }
        await engine.waitUntilRunning()
        return TestMetadata(
            store: PostgresMetadataStore(engine: engine, sealer: sealer),
            postgres: engine,
            running: running,
            databaseName: name
        )
    }

    /// A SQLite database in a fresh temporary file (the default when the test needs none of its own).
    static func make(sealer: AtRestCipher? = nil) async throws -> TestMetadata {
        try await make(sealer: sealer) {
            try EngramDatabase(
                path: FileManager.default.temporaryDirectory.appendingPathComponent("engram-meta-\(UUID()).sqlite").path,
                cipher: sealer
            )
        }
    }
}

/// Creates the domain suites' PostgreSQL databases from one migrated template, through the owner's
/// connection to the `postgres` maintenance database, and drops them.
actor PostgresTestDatabases {
    static let shared = PostgresTestDatabases()
    private var template: Task<String, any Error>?
    private var maintenance: PostgresEngine?

    static func appURL() throws -> PostgresConnectionURL {
        try PostgresConnectionURL(ProcessInfo.processInfo.environment["ENGRAM_TEST_POSTGRES_URL"] ?? "")
    }

    static func ownerURL() throws -> PostgresConnectionURL {
        guard let text = ProcessInfo.processInfo.environment["ENGRAM_TEST_POSTGRES_OWNER_URL"], !text.isEmpty else {
            throw MissingOwner()
        }
        return try PostgresConnectionURL(text)
    }

    struct MissingOwner: Error, CustomStringConvertible {
        var description: String { "ENGRAM_TEST_POSTGRES_URL is set but ENGRAM_TEST_POSTGRES_OWNER_URL is not" }
    }

    private func maintenanceEngine() async throws -> PostgresEngine {
        if let maintenance { return maintenance }
        let engine = PostgresEngine(url: try Self.ownerURL().with(database: "postgres"), maximumConnections: 2)
        Task.detached { await engine.run() }
        maintenance = engine
        await engine.waitUntilRunning()
        return engine
    }

    static func randomName(_ prefix: String) -> String {
        prefix + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16)
    }

    /// A new migrated database's name.
    func create() async throws -> String {
        let engine = try await maintenanceEngine()
        let template = try await migratedTemplate(engine)
        let name = Self.randomName("engram_m_")
        _ = try await engine.unscopedQuery("CREATE DATABASE \(unescaped: name) TEMPLATE \(unescaped: template) STRATEGY FILE_COPY")
        return name
    }

    func drop(_ name: String) async {
        _ = try? await maintenanceEngine().unscopedQuery("DROP DATABASE IF EXISTS \(unescaped: name) WITH (FORCE)")
    }

    private func migratedTemplate(_ engine: PostgresEngine) async throws -> String {
        if let template { return try await template.value }
        let task = Task<String, any Error> {
            let name = Self.randomName("engram_mtpl_")
            _ = try await engine.unscopedQuery("CREATE DATABASE \(unescaped: name)")
            let migrator = try PostgresMigrator(appRole: try Self.appURL().username)
            try await PostgresEngine.withEngine(try Self.ownerURL().with(database: name), maximumConnections: 1) { owner in
                try await migrator.migrate(owner)
            }
            return name
        }
        template = task
        return try await task.value
    }
}

/// Holds the `TestMetadata` of helpers that hand back only the services built on it, for as long as the
/// suite instance (one test) lives.
final class MetadataKeeper: @unchecked Sendable {
    private let lock = NSLock()
    private var held: [TestMetadata] = []

    func keep(_ metadata: TestMetadata) { lock.withLock { held.append(metadata) } }
}
