import Crypto
import EngramCore
import PostgresNIO

/// The token buckets replicas share (`engram.rate_buckets`, migration `0013_replicas_v1`): each decision
/// is one autocommit call of `engram.take_rate_token`, which refills and takes on the database's clock
/// in one `INSERT … ON CONFLICT DO UPDATE … RETURNING` (row-locked: concurrent replicas queue, never
/// retry). Keys are stored as SHA-256 digests: a bucket names no IP, token id or user in clear.
public struct PostgresRateBuckets: Sendable {
    let engine: PostgresEngine

    /// Buckets reached through `engine` (the application role's pool).
    public init(engine: PostgresEngine) {
        self.engine = engine
    }

    /// The stored key of `key`: its SHA-256, hex.
    static func digest(_ key: String) -> String { Hex.lowercase(SHA256.hash(data: Array(key.utf8))) }

    /// Takes one token from `key`'s bucket (`rate` per second up to `burst`; a new bucket is full).
    /// - Returns: nil when a token was taken, else the seconds until one is available.
    public func take(key: String, rate: Double, burst: Double) async throws -> Double? {
        try await call(key: key, rate: rate, burst: burst, take: true)
    }

    /// Whether `key`'s bucket holds a token, without taking one (nil: yes, or no bucket yet).
    public func peek(key: String, rate: Double, burst: Double) async throws -> Double? {
        try await call(key: key, rate: rate, burst: burst, take: false)
    }

    private func call(key: String, rate: Double, burst: Double, take: Bool) async throws -> Double? {
        let rows = try await engine.autocommit(
            "SELECT engram.take_rate_token(\(Self.digest(key)), \(rate), \(burst), \(take))"
        )
        guard let row = rows.first else { throw PostgresEngineError.unavailable("engram.take_rate_token returned no row") }
        do { return try row.decode(Double?.self) } catch { throw PostgresEngineError.map(error) }
    }
}

extension PostgresEngine {
    /// One statement in autocommit (no transaction, no tenant settings: tenant tables show nothing), for
    /// the replica coordination calls that touch only global state.
    func autocommit(_ query: PostgresQuery) async throws -> [PostgresRow] {
        try checkRunning()
        do {
            return try await client.withConnection { connection in
                try await connection.query(query, logger: logger).get().rows
            }
        } catch {
            throw PostgresEngineError.map(error)
        }
    }

    /// Runs `body` while this process holds the session advisory lock `key` on a connection of its own
    /// (outside the pool, opened for this run and closed after it, which releases the lock whatever
    /// happened), so one replica at a time runs the job the key stands for. Returns nil at once, without
    /// running `body`, when another session holds the lock (`pg_try_advisory_lock`: no waiting).
    ///
    /// If the lock's connection breaks while `body` runs, the server releases the lock and `body` goes on:
    /// the jobs guarded this way are idempotent, and a second runner in that window only repeats work.
    public func withSessionLock<T>(_ key: Int64, _ body: () async throws -> T) async throws -> T? {
        let connection = try await directConnection()
        let acquired: Bool
        do {
            let rows = try await connection.query("SELECT pg_try_advisory_lock(\(key))", logger: logger).get().rows
            acquired = try rows.first?.decode(Bool.self) ?? false
        } catch {
            try? await connection.close()
            throw PostgresEngineError.map(error)
        }
        guard acquired else {
            try? await connection.close()
            return nil
        }
        do {
            let result = try await body()
            try? await connection.close()
            return result
        } catch {
            try? await connection.close()
            throw error
        }
    }
}

/// The fixed advisory-lock keys of the jobs one replica at a time runs (`withSessionLock`): "engram" in
/// ASCII, then a job number (the migrator's lock is number 1).
public enum PostgresJobLock {
    /// The freshness sweep (staleness, archival, retention purges).
    public static let sweep: Int64 = 0x656E_6772_616D_0002
    /// Scheduled backups (`serve --backup-every`).
    public static let backup: Int64 = 0x656E_6772_616D_0003
    /// The outbox reconciler (store writes left by crashed writers).
    public static let reconcile: Int64 = 0x656E_6772_616D_0004
}
