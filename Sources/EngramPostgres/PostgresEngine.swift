public import Logging
import NIOCore
import NIOPosix
import NIOSSL
public import PostgresNIO
import Synchronization

/// The PostgreSQL engine: one postgres-nio connection pool, the thread pool that transaction bodies run
/// on, and tenant-scoped transactions.
///
/// ## Lifecycle
/// postgres-nio's `PostgresClient` leases nothing until its `run()` is running, and `run()` may be called
/// once; cancelling it closes the pool. `PostgresEngine.run()` wraps it: run it in a long-lived task (a
/// service group, or `withEngine`, which runs the engine around a closure and stops it afterwards).
/// Work submitted before `run()` starts waits for it; work submitted after it ended fails with
/// `unavailable`. When `run()` returns, the thread pool is shut down.
///
/// ## Transactions: synchronous bodies, on purpose
/// `withTenant` takes a synchronous body (`(PostgresTransaction) throws -> T`) and runs it on a dedicated
/// `NIOThreadPool` whose threads block on each statement's future. Why not an `async` body:
/// - The metadata seam this engine will implement is shared with SQLite, whose GRDB transactions take
///   synchronous closures only (and keeping one open across suspension points needs GRDB's unsafe
///   transactions on a writer the embedded store shares). With synchronous bodies the domain's rules
///   (`records.write { tx in … }`: last-owner checks, single-use codes) move over unchanged and run the
///   same on both engines.
/// - Blocking is confined: the waits happen on this engine's own threads (as many as connections, so a
///   body holding a connection always has a thread), never on an event loop (NIO forbids `wait()` there)
///   nor on Swift's cooperative pool; the caller of `withTenant` suspends.
/// - A body cannot interleave other awaits inside the transaction, which keeps transactions short and
///   makes the retry below sound: a body must have no effect outside the database, as it may run again.
///
/// Each transaction is `BEGIN ISOLATION LEVEL SERIALIZABLE [READ ONLY]`, then
/// `SELECT set_config('app.current_tenant', $1, true), set_config('app.current_user', $2, true)` (the
/// `true` makes them transaction-local, `SET LOCAL`; `SET` itself takes no bind parameters), the body,
/// `COMMIT`. On a throw it rolls back and rethrows the body's error; if the rollback itself fails the
/// connection is closed, so no connection returns to the pool inside a transaction (where the next
/// lease would inherit its tenant). SERIALIZABLE keeps read-check-write rules as safe as SQLite's single
/// writer; a serialization failure or deadlock (`40001`, `40P01`) reruns the whole transaction, up to
/// `maximumAttempts` times. A `COMMIT` that the server answers with `ROLLBACK` (the body swallowed a
/// failed statement) is an error, never a silent loss.
public final class PostgresEngine: Sendable {
    /// The server, user and database this engine connects to.
    public let url: PostgresConnectionURL
    /// Connections (and body threads) at most.
    public let maximumConnections: Int
    /// Attempts of one transaction when the server reports a serialization failure or deadlock.
    public static let maximumAttempts = 4

    let client: PostgresClient
    let threads: NIOThreadPool
    let logger: Logger
    private let lifecycle = Mutex(Lifecycle.idle)
    /// Callers of `waitUntilRunning` waiting for `run()` to start.
    private let startWaiters = Mutex<[CheckedContinuation<Void, Never>]>([])

    enum Lifecycle {
        case idle
        case running
        case ended
    }

    /// An engine for `url`. Nothing connects until `run()` runs and work arrives.
    public init(url: PostgresConnectionURL, maximumConnections: Int = 8, logger: Logger = Logger(label: "engram.postgres")) {
        precondition(maximumConnections >= 1, "a PostgreSQL engine needs at least one connection")
        self.url = url
        self.maximumConnections = maximumConnections
        self.logger = logger
        let tls: PostgresClient.Configuration.TLS
        switch url.tls {
        case .disable: tls = .disable
        case .require: tls = .require(Self.tlsConfiguration(url))
        }
        var configuration = PostgresClient.Configuration(
            host: url.host,
            port: url.port,
            username: url.username,
            password: url.password,
            database: url.database,
            tls: tls
        )
        configuration.options.maximumConnections = maximumConnections
        client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        threads = NIOThreadPool(numberOfThreads: maximumConnections)
        threads.start()
    }

    /// TLS with the chain and host name verified, against `sslrootcert` when given.
    static func tlsConfiguration(_ url: PostgresConnectionURL) -> TLSConfiguration {
        var configuration = TLSConfiguration.makeClientConfiguration()
        if let roots = url.rootCertificatePath { configuration.trustRoots = .file(roots) }
        return configuration
    }

    deinit {
        // An engine whose run() never ran still owns started threads.
        if lifecycle.withLock({ $0 }) != .ended { threads.shutdownGracefully { _ in } }
    }

    /// Runs the connection pool until the surrounding task is cancelled (or a service group shuts down
    /// gracefully), then closes the connections and stops the body threads. Call it once.
    public func run() async {
        let first = lifecycle.withLock { state -> Bool in
            guard state == .idle else { return false }
            state = .running
            return true
        }
        precondition(first, "PostgresEngine.run() may be called once")
        let waiters = startWaiters.withLock { waiters in
            defer { waiters = [] }
            return waiters
        }
        for waiter in waiters { waiter.resume() }
        await client.run()
        lifecycle.withLock { $0 = .ended }
        try? await threads.shutdownGracefully()
    }

    /// Returns once `run()` has started (at once if it has started or ended). Work submitted earlier waits
    /// for `run()` anyway; waiting first spares postgres-nio's "run() hasn't been called" warning.
    public func waitUntilRunning() async {
        await withCheckedContinuation { continuation in
            let resumeNow = lifecycle.withLock { state in
                guard state == .idle else { return true }
                startWaiters.withLock { $0.append(continuation) }
                return false
            }
            if resumeNow { continuation.resume() }
        }
    }

    /// Runs an engine for `url` around `body` and stops it afterwards (the CLI's and the tests' form).
    @discardableResult
    public static func withEngine<T>(
        _ url: PostgresConnectionURL,
        maximumConnections: Int = 8,
        logger: Logger = Logger(label: "engram.postgres"),
        _ body: (PostgresEngine) async throws -> T
    ) async throws -> T {
        let engine = PostgresEngine(url: url, maximumConnections: maximumConnections, logger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await engine.run() }
            defer { group.cancelAll() }
            await engine.waitUntilRunning()
            return try await body(engine)
        }
    }

    /// Opens one connection outside the pool, runs `SELECT 1` and closes it. A wrong password, a missing
    /// database, a TLS failure or an unreachable server fails here at once with the server's reason; the
    /// pool, by contrast, keeps retrying new connections with back-off and fails the waiting work only when
    /// its circuit breaker trips (about a minute). Start-up calls it before anything else.
    public func probe() async throws {
        let connection = try await directConnection()
        do {
            _ = try await connection.query("SELECT 1", logger: logger).get()
        } catch {
            try? await connection.close()
            throw PostgresEngineError.map(error)
        }
        do { try await connection.close() } catch { throw PostgresEngineError.map(error) }
    }

    /// Opens one connection outside the pool (the caller closes it): `probe()`'s, and the session
    /// advisory locks', whose lifetime must be the connection's own.
    func directConnection() async throws -> PostgresConnection {
        let tls: PostgresConnection.Configuration.TLS
        switch url.tls {
        case .disable:
            tls = .disable
        case .require:
            do {
                tls = .require(try NIOSSLContext(configuration: Self.tlsConfiguration(url)))
            } catch {
                throw PostgresEngineError.unavailable("TLS setup failed: \(error)")
            }
        }
        let configuration = PostgresConnection.Configuration(
            host: url.host,
            port: url.port,
            username: url.username,
            password: url.password,
            database: url.database,
            tls: tls
        )
        do {
            return try await PostgresConnection.connect(
                on: PostgresConnection.defaultEventLoopGroup.any(),
                configuration: configuration,
                id: 0,
                logger: logger
            ).get()
        } catch {
            throw PostgresEngineError.map(error)
        }
    }

    /// Runs `body` in one SERIALIZABLE transaction whose row-level security settings name `scope`
    /// (see the type's documentation), committing when it returns and rolling back when it throws.
    /// Retries on `40001`/`40P01`; the body may therefore run more than once and must have no effect
    /// outside the database. Throws the body's own errors unchanged and every database failure as
    /// `PostgresEngineError`.
    @discardableResult
    public func withTenant<T: Sendable>(
        _ scope: PostgresTenantScope,
        readOnly: Bool = false,
        _ body: @escaping @Sendable (PostgresTransaction) throws -> T
    ) async throws -> T {
        let begin: PostgresQuery =
            readOnly ? "BEGIN ISOLATION LEVEL SERIALIZABLE READ ONLY" : "BEGIN ISOLATION LEVEL SERIALIZABLE"
        return try await transaction(begin: begin, scope: scope, retrying: true, body)
    }

    /// Runs `body` in a SERIALIZABLE transaction whose tenant settings are empty: every tenant table shows
    /// and accepts nothing, while the global tables (users, revoked tokens, OAuth clients, the migration
    /// record, …) and the SECURITY DEFINER lookups answer. For the cross-tenant operations the seam
    /// documents, and the start-up checks. Retried like `withTenant`.
    @discardableResult
    public func withGlobal<T: Sendable>(
        readOnly: Bool = true,
        _ body: @escaping @Sendable (PostgresTransaction) throws -> T
    ) async throws -> T {
        let begin: PostgresQuery =
            readOnly ? "BEGIN ISOLATION LEVEL SERIALIZABLE READ ONLY" : "BEGIN ISOLATION LEVEL SERIALIZABLE"
        return try await transaction(begin: begin, scope: .global, retrying: true, body)
    }

    /// One READ COMMITTED transaction with no tenant settings, not retried: the migrator's (it runs as the
    /// owner, which its own policies admit). READ COMMITTED because each statement must see what another
    /// migrator committed while this one waited for the advisory lock.
    package func withOwnerTransaction<T: Sendable>(_ body: @escaping @Sendable (PostgresTransaction) throws -> T) async throws -> T {
        try await transaction(begin: "BEGIN ISOLATION LEVEL READ COMMITTED", scope: nil, retrying: false, body)
    }

    /// A statement outside any transaction and without tenant settings (autocommit), returning its rows.
    /// The attack tests' unscoped path and the tests' `CREATE DATABASE`; never the domain's.
    @_spi(Testing)
    public func unscopedQuery(_ query: PostgresQuery) async throws -> [PostgresRow] {
        try await autocommit(query)
    }

    /// A SERIALIZABLE transaction that never sets the tenant (not retried): what a forgotten `SET LOCAL`
    /// would give. For the attack tests only.
    @_spi(Testing)
    public func withUnscopedTransaction<T: Sendable>(_ body: @escaping @Sendable (PostgresTransaction) throws -> T) async throws -> T {
        try await transaction(begin: "BEGIN ISOLATION LEVEL SERIALIZABLE", scope: nil, retrying: false, body)
    }

    // MARK: - The transaction loop

    /// A failed attempt that may be run again, with the error to throw when no attempt is left.
    private struct RetryableAttempt: Error {
        let cause: PostgresEngineError
        let thrown: any Error
    }

    private func transaction<T: Sendable>(
        begin: PostgresQuery,
        scope: PostgresTenantScope?,
        retrying: Bool,
        _ body: @escaping @Sendable (PostgresTransaction) throws -> T
    ) async throws -> T {
        var attempt = 1
        while true {
            try checkRunning()
            do {
                let logger = self.logger
                let threads = self.threads
                return try await client.withConnection { connection in
                    try await threads.runIfActive {
                        try Self.runTransaction(on: connection, begin: begin, scope: scope, logger: logger, body)
                    }
                }
            } catch let failed as RetryableAttempt {
                guard retrying else { throw PostgresEngineError.map(failed.thrown) }
                guard attempt < Self.maximumAttempts else {
                    throw PostgresEngineError.retriesExhausted(sqlState: failed.cause.sqlState ?? "40001", attempts: attempt)
                }
                logger.debug("retrying a transaction", metadata: ["sqlstate": "\(failed.cause.sqlState ?? "")", "attempt": "\(attempt)"])
                attempt += 1
                // A short random pause lets the transaction that won the conflict finish first.
                try await Task.sleep(for: .milliseconds(Int.random(in: 1...(5 * attempt))))
            } catch is NIOThreadPoolError.ThreadPoolInactive {
                throw PostgresEngineError.unavailable("the engine has stopped")
            } catch {
                throw PostgresEngineError.map(error)
            }
        }
    }

    /// BEGIN, the settings, the body and COMMIT on one connection, blocking this (pool) thread.
    private static func runTransaction<T>(
        on connection: PostgresConnection,
        begin: PostgresQuery,
        scope: PostgresTenantScope?,
        logger: Logger,
        _ body: (PostgresTransaction) throws -> T
    ) throws -> T {
        let tx = PostgresTransaction(connection: connection, logger: logger)
        var begun = false
        do {
            try tx.execute(begin)
            begun = true
            // The settings are transaction-local and never set for a session, so a transaction starts with
            // both empty: the global scope (no tenant, no user) needs no statement, one round trip less.
            if let scope, !(scope.tenants.isEmpty && scope.userId == nil) {
                try tx.query(
                    """
                    SELECT set_config('app.current_tenant', \(scope.tenantSetting), true), \
                    set_config('app.current_user', \(scope.userSetting), true)
                    """
                )
            }
            let value = try body(tx)
            let tag = try tx.commit()
            guard tag == "COMMIT" else {
                // The server rolled back: a statement failed and the body went on anyway.
                let cause = tx.close()
                let aborted = PostgresEngineError.server(
                    sqlState: cause?.sqlState ?? PostgresEngineError.SQLState.inFailedTransaction,
                    message: "the transaction was rolled back at COMMIT: a statement in it had failed"
                )
                if let cause { throw RetryableAttempt(cause: cause, thrown: aborted) }
                throw aborted
            }
            _ = tx.close()
            return value
        } catch let error as RetryableAttempt {
            throw error
        } catch {
            let mapped = PostgresEngineError.map(error) as? PostgresEngineError
            let retryable = tx.close() ?? (mapped?.isRetryable == true ? mapped : nil)
            if begun { rollback(connection, logger: logger) }
            if let retryable { throw RetryableAttempt(cause: retryable, thrown: error) }
            throw error
        }
    }

    /// ROLLBACK (harmless when the server already ended the transaction); a connection that cannot roll
    /// back is closed, so the pool never lends it out mid-transaction. Nothing is sent on a closed
    /// connection, and the wait ends when the connection closes (`PostgresTransaction.answer`): a pool
    /// closing the connection (the engine stopping while a body ran) never answers.
    private static func rollback(_ connection: PostgresConnection, logger: Logger) {
        guard !connection.isClosed else { return }
        do {
            _ = try PostgresTransaction.answer(connection.query("ROLLBACK", logger: logger), on: connection)
        } catch {
            logger.warning("ROLLBACK failed; closing the connection", metadata: ["error": "\(PostgresEngineError.map(error))"])
            connection.close().whenComplete { _ in }
        }
    }

    func checkRunning() throws {
        if lifecycle.withLock({ $0 }) == .ended { throw PostgresEngineError.unavailable("the engine has stopped") }
    }
}
