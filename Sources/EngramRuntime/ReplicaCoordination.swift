import EngramHTTPEdge
package import EngramPostgres
package import Logging
import Synchronization

/// A background job that one replica at a time runs when several share one PostgreSQL database.
package enum ReplicaJob: String, Sendable {
    /// The freshness sweep (`MemoryService.sweep`): staleness, archival, retention purges.
    case sweep
    /// A scheduled backup (`serve --backup-every`).
    case backup
    /// A pass of the outbox reconciler (`MemoryService.reconcileOutbox`).
    case reconcile
}

/// Runs a job unless another replica is running it now.
package protocol SingleRunner: Sendable {
    /// Runs `body` unless another replica runs `job` at this moment (then returns false at once, without
    /// waiting: the next period's run comes soon enough). Rethrows `body`'s errors.
    func run(_ job: ReplicaJob, _ body: () async throws -> Void) async throws -> Bool
}

/// SQLite metadata: one process owns the file, so every job runs.
package struct LocalRunner: SingleRunner {
    package init() {}

    package func run(_ job: ReplicaJob, _ body: () async throws -> Void) async throws -> Bool {
        try await body()
        return true
    }
}

/// PostgreSQL metadata: a job runs under its session advisory lock (`PostgresJobLock`), taken with
/// `pg_try_advisory_lock` on a connection of its own for the run's duration.
package struct PostgresSingleRunner: SingleRunner {
    package let engine: PostgresEngine

    package init(engine: PostgresEngine) {
        self.engine = engine
    }

    package func run(_ job: ReplicaJob, _ body: () async throws -> Void) async throws -> Bool {
        let key =
            switch job {
            case .sweep: PostgresJobLock.sweep
            case .backup: PostgresJobLock.backup
            case .reconcile: PostgresJobLock.reconcile
            }
        return try await engine.withSessionLock(key) { try await body() } != nil
    }
}

/// The write, failed-authentication and failed sign-in limits of replicas on one PostgreSQL database
/// (`PostgresRateBuckets`). A failing call throws, and `RateLimiter` falls back to this process's
/// buckets; the outage is logged once when it starts and once when it ends.
package final class PostgresSharedRateBuckets: SharedRateBuckets {
    package let buckets: PostgresRateBuckets
    package let logger: Logger
    private let failing = Mutex(false)

    package init(engine: PostgresEngine, logger: Logger) {
        buckets = PostgresRateBuckets(engine: engine)
        self.logger = logger
    }

    package func take(key: String, rate: Double, burst: Double) async throws -> Double? {
        try await observed { try await buckets.take(key: key, rate: rate, burst: burst) }
    }

    package func peek(key: String, rate: Double, burst: Double) async throws -> Double? {
        try await observed { try await buckets.peek(key: key, rate: rate, burst: burst) }
    }

    private func observed(_ call: () async throws -> Double?) async throws -> Double? {
        do {
            let wait = try await call()
            if failing.withLock({ was in
                defer { was = false }
                return was
            }) {
                logger.info("shared rate limits: PostgreSQL answers again; limits hold across replicas")
            }
            return wait
        } catch {
            if !failing.withLock({ was in
                defer { was = true }
                return was
            }) {
                logger.warning(
                    "shared rate limits: PostgreSQL failed; each replica limits with its own buckets until it answers",
                    metadata: ["error": "\(error)"]
                )
            }
            throw error
        }
    }
}
