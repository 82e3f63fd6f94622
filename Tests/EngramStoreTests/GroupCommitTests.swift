import EngramDatabase
import EngramStore
import EngramStoreModel
import Foundation
import GRDB
import Synchronization
import Testing

/// `GroupCommitter`: concurrent writes share a transaction, each in its own savepoint, and are
/// acknowledged only once their group has committed.
@Suite struct GroupCommitTests {
    /// A database in a temporary directory with a plain table `t(x)` and a deferred foreign key
    /// (`child.pid` → `parent.id`) that fails only at COMMIT.
    static func database() throws -> (DatabasePool, URL) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("engram-group-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        var config = Configuration()
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
            try db.execute(sql: "PRAGMA foreign_keys = ON")
        }
        let pool = try DatabasePool(path: dir.appendingPathComponent("test.sqlite").path, configuration: config)
        try pool.write { db in
            try db.execute(sql: "CREATE TABLE t (x INTEGER NOT NULL)")
            try db.execute(sql: "CREATE TABLE parent (id INTEGER PRIMARY KEY)")
            try db.execute(
                sql: "CREATE TABLE child (pid INTEGER NOT NULL REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED)"
            )
        }
        return (pool, dir)
    }

    /// Holds the committer's queue inside a first write until `release()`, so that the writes
    /// submitted meanwhile all wait for the next group.
    final class Gate: Sendable {
        let entered = DispatchSemaphore(value: 0)
        let open = DispatchSemaphore(value: 0)
        func hold() {
            entered.signal()
            open.wait()
        }
        func release() { open.signal() }
    }

    /// Submits a write that blocks the committer's queue, and returns once it is inside its group.
    static func blockFirstGroup(_ committer: GroupCommitter, _ gate: Gate) async -> Task<Void, any Error> {
        let first = Task {
            try await committer.write { db in
                try db.execute(sql: "INSERT INTO t (x) VALUES (0)")
                gate.hold()
            }
        }
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().async {
                gate.entered.wait()
                c.resume()
            }
        }
        return first
    }

    /// Waits (without a clock) until `count` writes are queued behind the running group.
    static func waitUntilQueued(_ committer: GroupCommitter, _ count: Int) async {
        while committer.waitingWrites < count { await Task.yield() }
    }

    @Test func concurrentWritesShareOneCommit() async throws {
        let (pool, dir) = try Self.database()
        defer { try? FileManager.default.removeItem(at: dir) }
        let committer = GroupCommitter(pool: pool, queue: DispatchQueue(label: "test.writer"))
        let gate = Gate()
        let first = await Self.blockFirstGroup(committer, gate)
        let writers = (1...20).map { i in
            Task { try await committer.write { db in try db.execute(sql: "INSERT INTO t (x) VALUES (\(i))") } }
        }
        await Self.waitUntilQueued(committer, 20)
        gate.release()
        try await first.value
        for w in writers { try await w.value }
        // The first write alone, then the twenty that queued behind it: two transactions, two fsyncs.
        #expect(committer.groupsCommitted == 2)
        let rows = try await pool.read { db in try Int.fetchAll(db, sql: "SELECT x FROM t ORDER BY x") }
        #expect(rows == Array(0...20))
    }

    struct Refused: Error, Equatable {}

    @Test func aFailingWriteFailsAloneAndLaterWritesSeeEarlierOnes() async throws {
        let (pool, dir) = try Self.database()
        defer { try? FileManager.default.removeItem(at: dir) }
        let committer = GroupCommitter(pool: pool, queue: DispatchQueue(label: "test.writer"))
        let gate = Gate()
        let first = await Self.blockFirstGroup(committer, gate)
        let a = Task { try await committer.write { db in try db.execute(sql: "INSERT INTO t (x) VALUES (1)") } }
        await Self.waitUntilQueued(committer, 1)
        let b = Task {
            try await committer.write { db in
                try db.execute(sql: "INSERT INTO t (x) VALUES (2)")
                throw Refused()
            }
        }
        await Self.waitUntilQueued(committer, 2)
        let c = Task { try await committer.write { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM t")! } }
        await Self.waitUntilQueued(committer, 3)
        gate.release()
        try await first.value
        try await a.value
        await #expect(throws: Refused.self) { try await b.value }
        // c ran after a (and after b's rollback) in the same transaction: it counts 0 and 1, not 2.
        #expect(try await c.value == 2)
        #expect(committer.groupsCommitted == 2)
        let rows = try await pool.read { db in try Int.fetchAll(db, sql: "SELECT x FROM t ORDER BY x") }
        #expect(rows == [0, 1])
    }

    @Test func aFailedCommitFailsEveryWriteOfItsGroupAndAppliesNothing() async throws {
        let (pool, dir) = try Self.database()
        defer { try? FileManager.default.removeItem(at: dir) }
        let committer = GroupCommitter(pool: pool, queue: DispatchQueue(label: "test.writer"))
        let applied = Mutex(0)
        let gate = Gate()
        let first = await Self.blockFirstGroup(committer, gate)
        let a = Task {
            try await committer.write(
                { db in try db.execute(sql: "INSERT INTO t (x) VALUES (1)") },
                then: { _ in applied.withLock { $0 += 1 } }
            )
        }
        await Self.waitUntilQueued(committer, 1)
        // Stages fine (the key is deferred) and breaks the COMMIT of the whole group.
        let b = Task { try await committer.write { db in try db.execute(sql: "INSERT INTO child (pid) VALUES (42)") } }
        await Self.waitUntilQueued(committer, 2)
        gate.release()
        try await first.value
        await #expect(throws: DatabaseError.self) { try await a.value }
        await #expect(throws: DatabaseError.self) { try await b.value }
        #expect(applied.withLock { $0 } == 0)
        let rows = try await pool.read { db in try Int.fetchAll(db, sql: "SELECT x FROM t ORDER BY x") }
        #expect(rows == [0])
        // The committer goes on: the next write commits.
        try await committer.write { db in try db.execute(sql: "INSERT INTO t (x) VALUES (3)") }
        #expect(try await pool.read { db in try Int.fetchAll(db, sql: "SELECT x FROM t ORDER BY x") } == [0, 3])
    }

    @Test func concurrentStoreUpsertsAreAllDurableAndSearchable() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("engram-group-store-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try EmbeddedStore(directory: dir)
        try await store.createCollection(CollectionConfig(name: "c", vectorSize: 4, distance: .cosine, tenantKey: "tenant"))
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<48 {
                group.addTask {
                    let v: [Float] = [Float(i + 1), 1, Float(i % 3), 0.5]
                    try await store.upsert(
                        "c",
                        points: [PointStruct(id: .number(UInt64(i)), vector: v, payload: ["tenant": .string("t\(i % 4)"), "i": .double(Double(i))])]
                    )
                }
            }
            for i in 0..<8 { group.addTask { try await store.delete("c", .ids([.number(UInt64(100 + i))])) } }
            try await group.waitForAll()
        }
        #expect(try await store.count("c", filter: nil) == 48)
        // A second store on the same file rebuilds its shards from what was committed.
        let reopened = try EmbeddedStore(directory: dir)
        #expect(try await reopened.count("c", filter: nil) == 48)
        let hits = try await reopened.search("c", SearchRequest(vector: [48, 1, 2, 0.5], limit: 1))
        #expect(hits.first?.id == .number(47))
    }

    /// Every commit is fsynced: the writer connection runs `synchronous = FULL` (GRDB's pool sets
    /// NORMAL when it turns WAL on, which syncs only at checkpoints), and so do the readers.
    @Test func theServiceDatabaseSyncsEveryCommit() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("engram-sync-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let database = try EngramDatabase(directory: dir)
        let full = 2
        #expect(try await database.pool.write { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") } == full)
        #expect(try await database.metadataCommitter.write { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") } == full)
        #expect(try await database.pool.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") } == "wal")
    }
}
