@_spi(Testing) import EngramPostgres
import PostgresNIO
import Testing

/// What replicas on one database coordinate through it (migration `0013_replicas_v1`): single-runner jobs
/// under session advisory locks, and shared token buckets.
@Suite(.enabled(if: PostgresTestServer.isConfigured, PostgresTestServer.skipReason))
struct ReplicaCoordinationTests {
    struct Refused: Error {}

    /// Two replicas (two engines on one database): while one holds a job, the other is refused at once and
    /// its body does not run; another job is not blocked; after the holder is done (or threw), it is free.
    @Test func oneReplicaAtATimeRunsAJob() async throws {
        try await PostgresTestServer.withDatabase { appURL, _ in
            try await PostgresEngine.withEngine(appURL, maximumConnections: 2) { first in
                try await PostgresEngine.withEngine(appURL, maximumConnections: 2) { second in
                    var secondRan = false
                    var otherJobRan = false
                    let held: Bool? = try await first.withSessionLock(PostgresJobLock.sweep) {
                        let refused: Void? = try await second.withSessionLock(PostgresJobLock.sweep) { secondRan = true }
                        #expect(refused == nil)
                        let other: Void? = try await second.withSessionLock(PostgresJobLock.backup) { otherJobRan = true }
                        #expect(other != nil)
                        return true
                    }
                    #expect(held == true)
                    #expect(!secondRan, "the second replica ran the job while the first held it")
                    #expect(otherJobRan, "another job was blocked")
                    var ranAfter = false
                    _ = try await second.withSessionLock(PostgresJobLock.sweep) { ranAfter = true }
                    #expect(ranAfter, "the lock was not released after the run")
                    // A run that throws releases the lock too.
                    await #expect(throws: Refused.self) {
                        try await second.withSessionLock(PostgresJobLock.sweep) { throw Refused() }
                    }
                    var ranAfterThrow = false
                    _ = try await first.withSessionLock(PostgresJobLock.sweep) { ranAfterThrow = true }
                    #expect(ranAfterThrow, "the lock was not released after a run that threw")
                }
            }
        }
    }

    /// Two replicas take from one bucket: a burst of 4 is 4 in total, whichever replica asks; a look does
    /// not take; another key has its own bucket; the table holds digests, never the keys.
    @Test func replicasShareOneBucketPerKey() async throws {
        try await PostgresTestServer.withEngines(appConnections: 2) { app, owner in
            try await PostgresEngine.withEngine(try PostgresTestServer.appURL().with(database: app.url.database), maximumConnections: 2) { second in
                let a = PostgresRateBuckets(engine: app)
                let b = PostgresRateBuckets(engine: second)
                // One token an hour: nothing refills while the test runs.
                let rate = 1.0 / 3600
                let key = "writes|ip:192.0.2.7"
                #expect(try await a.peek(key: key, rate: rate, burst: 4) == nil)
                var allowed = 0
                for i in 0..<8 {
                    let buckets = i.isMultiple(of: 2) ? a : b
                    if try await buckets.take(key: key, rate: rate, burst: 4) == nil { allowed += 1 }
                }
                #expect(allowed == 4)
                let wait = try await b.peek(key: key, rate: rate, burst: 4)
                #expect(wait != nil && wait! > 0)
                #expect(try await a.take(key: "writes|ip:192.0.2.8", rate: rate, burst: 4) == nil)
                let stored = try await owner.withGlobal { tx in try tx.column("SELECT key FROM engram.rate_buckets", as: String.self) }
                #expect(stored.count == 2)
                #expect(stored.allSatisfy { !$0.contains("192.0.2") && $0.count == 64 })
                // The application role reaches the table only through the definer function.
                await #expect(throws: PostgresEngineError.self) {
                    try await app.withGlobal { tx in try tx.column("SELECT key FROM engram.rate_buckets", as: String.self) }
                }
            }
        }
    }
}
