import Dispatch
@_spi(Testing) import EngramPostgres
import PostgresNIO
import Synchronization
import Testing

/// Tenant transactions on a real server: retries, rollbacks, errors, and the engine's lifecycle.
@Suite(.enabled(if: PostgresTestServer.isConfigured, PostgresTestServer.skipReason))
struct EngineTests {
    static let alice = try! PostgresTenantScope.user("alice", org: "a")

    /// One side of a write skew: reads the rows the other side inserts, waits (first run only) until the
    /// other side has read too, then inserts.
    final class SkewSide: Sendable {
        let reads: String
        let inserts: String
        let readDone = DispatchSemaphore(value: 0)
        let firstRun = Atomic(true)
        let runs: Atomic<Int>

        init(reads: String, inserts: String) {
            self.reads = reads
            self.inserts = inserts
            runs = Atomic(0)
        }

        struct BarrierTimedOut: Error {}

        func body(other: SkewSide) -> @Sendable (PostgresTransaction) throws -> Int {
            { tx in
                self.runs.add(1, ordering: .relaxed)
                let seen = try Catalog.count(tx, "webhook_deliveries", where: "provider = '\(self.reads)'")
                if self.firstRun.exchange(false, ordering: .relaxed) {
                    self.readDone.signal()
                    // A safety net, not a timing assertion: the other side reads within milliseconds.
                    guard other.readDone.wait(timeout: .now() + 60) == .success else { throw BarrierTimedOut() }
                }
                try tx.execute("INSERT INTO engram.webhook_deliveries (org_id, provider, delivery_id, at) VALUES ('a', \(self.inserts), 'x', 1)")
                return seen
            }
        }
    }

    @Test func aWriteSkewIsRetriedUntilBothTransactionsCommit() async throws {
        try await PostgresTestServer.withEngines(appConnections: 2) { app, owner in
            try await Seed.load(owner)
            // Each side reads what the other inserts: under SERIALIZABLE one of the two must fail with
            // 40001 (a dangerous structure), and the engine must run it again.
            let left = SkewSide(reads: "p1", inserts: "p2")
            let right = SkewSide(reads: "p2", inserts: "p1")
            async let one = app.withTenant(Self.alice, left.body(other: right))
            async let two = app.withTenant(Self.alice, right.body(other: left))
            let seen = try await [one, two]
            let runs = left.runs.load(ordering: .relaxed) + right.runs.load(ordering: .relaxed)
            #expect(runs == 3, "exactly one of the two transactions ran again")
            #expect(seen.sorted() == [0, 1], "the rerun saw the winner's row")
            let rows = try await owner.withGlobal { tx in try Catalog.count(tx, "webhook_deliveries", where: "provider IN ('p1', 'p2')") }
            #expect(rows == 2)
        }
    }

    @Test func aThrowingBodyRollsBackAndItsErrorPassesUnchanged() async throws {
        struct DomainRule: Error, Equatable { let why: String }
        try await PostgresTestServer.withEngines { app, owner in
            try await Seed.load(owner)
            let error = await #expect(throws: DomainRule.self) {
                try await app.withTenant(Self.alice) { tx in
                    try tx.execute("DELETE FROM engram.members WHERE org_id = 'a' AND user_id = 'alice'")
                    throw DomainRule(why: "last owner")
                }
            }
            #expect(error == DomainRule(why: "last owner"))
            let members = try await owner.withGlobal { tx in try Catalog.count(tx, "members", where: "user_id = 'alice'") }
            #expect(members == 1)
        }
    }

    @Test func aSwallowedFailureIsNotASilentCommit() async throws {
        try await PostgresTestServer.withEngines { app, owner in
            try await Seed.load(owner)
            let error = await #expect(throws: PostgresEngineError.self) {
                try await app.withTenant(Self.alice) { tx in
                    try tx.execute("INSERT INTO engram.audit_log (at, org_id, actor, action) VALUES (3, 'a', 'alice', 'lost')")
                    _ = try? tx.execute("INSERT INTO engram.orgs (id, name, created_at) VALUES ('a', 'again', 1)")
                    return 1
                }
            }
            #expect(error?.sqlState == PostgresEngineError.SQLState.inFailedTransaction, "\(String(describing: error))")
            let lost = try await owner.withGlobal { tx in try Catalog.count(tx, "audit_log", where: "action = 'lost'") }
            #expect(lost == 0)
        }
    }

    @Test func serverErrorsAreTyped() async throws {
        try await PostgresTestServer.withEngines { app, owner in
            try await Seed.load(owner)
            let duplicate = await #expect(throws: PostgresEngineError.self) {
                try await app.withTenant(Self.alice) { tx in
                    try tx.execute("INSERT INTO engram.orgs (id, name, created_at) VALUES ('a', 'again', 1)")
                }
            }
            #expect(duplicate?.isUniqueViolation == true)
            let readOnly = await #expect(throws: PostgresEngineError.self) {
                try await app.withTenant(Self.alice, readOnly: true) { tx in
                    try tx.execute("INSERT INTO engram.audit_log (at, org_id, actor, action) VALUES (1, 'a', 'alice', 'ro')")
                }
            }
            #expect(readOnly?.sqlState == "25006", "\(String(describing: readOnly))")
            let decoding = await #expect(throws: PostgresEngineError.self) {
                try await app.withTenant(Self.alice) { tx in try tx.column("SELECT name FROM engram.orgs", as: Int.self) }
            }
            if case .decoding = decoding {} else { Issue.record("expected a decoding error, got \(String(describing: decoding))") }
        }
    }

    @Test func aHandleKeptPastItsTransactionIsRefused() async throws {
        try await PostgresTestServer.withEngines { app, _ in
            let kept = try await app.withTenant(Self.alice) { tx in tx }
            #expect(throws: PostgresEngineError.misuse("a transaction handle was used after its transaction ended")) {
                try kept.query("SELECT 1")
            }
        }
    }

    @Test func aStoppedEngineIsUnavailable() async throws {
        try await PostgresTestServer.withDatabase { appURL, _ in
            let engine = try await PostgresEngine.withEngine(appURL) { engine in
                let one = try await engine.withGlobal { tx in try tx.column("SELECT 1", as: Int.self) }
                #expect(one == [1])
                return engine
            }
            let error = await #expect(throws: PostgresEngineError.self) {
                try await engine.withGlobal { tx in try tx.column("SELECT 1", as: Int.self) }
            }
            if case .unavailable = error {} else { Issue.record("expected unavailable, got \(String(describing: error))") }
        }
    }

    /// A server shutting down (SIGTERM) stops its engine while a background flush may be inside a
    /// transaction: the body's statement fails on the closing connection, and the ROLLBACK that follows must
    /// not wait forever for a connection that will never answer (it did: `run()` then never returned, as it
    /// waits for the body's thread). The time limit only turns a hang into a failure.
    @Test(.timeLimit(.minutes(1))) func anEngineStoppedMidTransactionStillEnds() async throws {
        try await PostgresTestServer.withDatabase { appURL, _ in
            let engine = PostgresEngine(url: appURL, maximumConnections: 1)
            let runner = Task { await engine.run() }
            await engine.waitUntilRunning()
            let inside = DispatchSemaphore(value: 0)
            let release = DispatchSemaphore(value: 0)
            let work = Task {
                try await engine.withGlobal { tx in
                    inside.signal()
                    _ = release.wait(timeout: .now() + 30)
                    return try tx.column("SELECT 1", as: Int.self)
                }
            }
            await withCheckedContinuation { (entered: CheckedContinuation<Void, Never>) in
                DispatchQueue.global().async {
                    inside.wait()
                    entered.resume()
                }
            }
            runner.cancel()
            // Ordering only (no timing is asserted): let the pool start closing the leased connection.
            try await Task.sleep(for: .milliseconds(300))
            release.signal()
            _ = await work.result
            await runner.value
            await #expect(throws: PostgresEngineError.self) { try await engine.withGlobal { tx in try tx.column("SELECT 1", as: Int.self) } }
        }
    }

    @Test func theProbeReportsAWrongPasswordOrAnUnreachableServerAtOnce() async throws {
        var url = try PostgresTestServer.appURL()
        url.password = "definitely-not-the-password"
        let wrongPassword = await #expect(throws: PostgresEngineError.self) {
            try await PostgresEngine.withEngine(url) { try await $0.probe() }
        }
        #expect(wrongPassword?.sqlState == "28P01", "\(String(describing: wrongPassword))")
        #expect(!"\(String(describing: wrongPassword))".contains("definitely-not-the-password"))

        var closed = try PostgresTestServer.appURL()
        closed.port = 1
        let unreachable = await #expect(throws: PostgresEngineError.self) {
            try await PostgresEngine.withEngine(closed) { try await $0.probe() }
        }
        if case .unavailable = unreachable {} else { Issue.record("expected unavailable, got \(String(describing: unreachable))") }

        try await PostgresEngine.withEngine(try PostgresTestServer.appURL()) { try await $0.probe() }
    }
}
