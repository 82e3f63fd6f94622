public import EngramAtRest
import EngramCore
public import EngramDatabase
import EngramKernels
import EngramSegments
public import EngramStoreModel
public import Foundation
import GRDB
public import Logging

/// The default, in-process, durable implementation of `VectorStore`.
///
/// **Durability.** Every point (id, tenant, vector, payload) lives in one SQLite
/// database in WAL mode with `synchronous = FULL`; a write returns only after its
/// transaction has committed and been fsynced, so a `kill -9` (or power loss) at
/// any moment loses no acknowledged write and leaves the file openable (SQLite's
/// recovery rolls back any torn transaction).
///
/// **Search.** Vectors are also held in memory, one `VectorMatrix` shard per
/// tenant value (the collection's `tenantKey` payload field), mapped at open from
/// the collection's segment file when it matches the database exactly, rebuilt
/// from the database otherwise (`EmbeddedStore+Segments.swift`). A search whose
/// filter pins the tenant field scans only the matching shards; other conditions
/// are evaluated on candidate payloads, read from the database in score order.
///
/// **Concurrency.** Searches and reads share a readers-writer lock; writes take it
/// exclusively for the database commit and the in-memory update, so memory and
/// disk never disagree for a reader. Concurrent point writes (upserts, deletions)
/// share one transaction and one fsync (`GroupCommitter`): each is acknowledged
/// once its group is durable and in memory.
///
/// **Suspension.** Every operation is `async` and suspends instead of blocking the
/// caller's thread: writes run one at a time on the store's serial writer queue,
/// and reads (which take the lock and may read SQLite) on its concurrent reader
/// queue, both outside Swift's cooperative pool. The lock is taken and released on
/// those queues, never held across a suspension point, so a writer waiting for its
/// fsync stalls no task of the pool.
public final class EmbeddedStore: VectorStore, @unchecked Sendable {
    /// The service database. The `collections`, `points` and `payload_indexes` tables belong to
    /// the store; the database's migrator creates every table of the file.
    public let database: EngramDatabase
    /// The database's connection pool.
    let pool: DatabasePool
    /// Path of the database file.
    public let path: String

    let lock: ReadWriteLock
    /// Runs every write (lock held exclusively, SQLite commit and fsync), one at a time.
    let writerQueue: DispatchQueue
    /// Runs reads that take the lock or read SQLite, concurrently.
    let readerQueue = DispatchQueue(label: "engram.store.reader", attributes: .concurrent)
    /// Commits concurrent point writes in shared transactions on the writer queue, the lock held
    /// exclusively across each group's commit and in-memory update.
    let committer: GroupCommitter
    var collections: [String: CollectionState] = [:]
    let logger: Logger
    /// Where the collections' segment files live (`<database file>.segments/`), or nil when the store
    /// keeps none (`EmbeddedStore+Segments.swift`).
    let segmentDirectory: URL?
    /// Held by `persistSegments()`, so two calls never write the same file at once.
    let segmentWriter = NSLock()
    /// Entered while the collections opened from segment files are verified in the background
    /// (`segmentsVerified()`).
    let segmentVerification = DispatchGroup()

    /// Opens the store in `database` (whose migrator created its tables) and loads the in-memory
    /// shards: each collection from its segment file when that checks out, from SQLite otherwise.
    ///
    /// - Parameter segments: keep segment files beside the database (never for an encrypted
    ///   database, whose vectors must not be written in the clear, nor an in-memory one).
    public init(database: EngramDatabase, segments: Bool = true, logger: Logger = Logger(label: "engram.store")) throws {
        self.database = database
        self.pool = database.pool
        self.path = database.path
        self.logger = logger
        segmentDirectory = Self.segmentDirectory(path: database.path, enabled: segments && database.cipher == nil)
        let lock = ReadWriteLock()
        let writerQueue = DispatchQueue(label: "engram.store.writer")
        self.lock = lock
        self.writerQueue = writerQueue
        committer = GroupCommitter(pool: database.pool, queue: writerQueue) { body in try lock.write { try body() } }
        try loadShards()
    }

    /// Opens (creating if needed) the service database at `path` and the store in it.
    public convenience init(path: String, cipher: AtRestCipher? = nil, logger: Logger = Logger(label: "engram.store")) throws {
        let database: EngramDatabase
        do {
            database = try EngramDatabase(path: path, cipher: cipher, logger: logger)
        } catch let failure as EngramDatabase.OpenFailure {
            throw StoreError.io(failure.description)
        }
        try self.init(database: database, logger: logger)
    }

    /// Opens the store in `directory` (file `engram.sqlite`), creating the directory (private: 0700).
    public convenience init(directory: URL, cipher: AtRestCipher? = nil, logger: Logger = Logger(label: "engram.store")) throws {
        try PrivateFiles.makeDirectory(directory)
        try self.init(path: directory.appendingPathComponent(EngramDatabase.fileName).path, cipher: cipher, logger: logger)
    }

    private func loadShards() throws {
        let start = Date()
        var total = 0
        var mapped: [(CollectionState, SegmentFile.Opened)] = []
        try pool.read { db in
            var byID: [Int64: CollectionState] = [:]
            var recorded: [Int64: String] = [:]
            for row in try Row.fetchAll(
                db,
                sql: "SELECT id, name, vector_size, distance, tenant_key, sparse_vectors, segment FROM collections"
            ) {
                let state = try Self.collectionState(row)
                byID[state.id] = state
                collections[state.config.name] = state
                recorded[state.id] = row["segment"]
            }
            for row in try Row.fetchAll(db, sql: "SELECT collection_id, field, schema FROM payload_indexes") {
                byID[row[0]]?.payloadIndexes[row[1]] = try? JSONDecoder().decode(JSONValue.self, from: Data((row[2] as String).utf8))
            }
            // Collections whose segment file checks out are served from it; the others are rebuilt.
            var rebuild: [Int64: CollectionState] = [:]
            for (id, state) in byID {
                if case let (rows, opened)? = openSegment(state, recorded: recorded[id]) {
                    mapped.append((state, opened))
                    total += rows
                } else {
                    rebuild[id] = state
                }
            }
            total += try Self.loadRows(db, into: rebuild)
        }
        logger.info(
            "store opened",
            metadata: [
                "path": "\(path)", "collections": "\(collections.count)", "points": "\(total)",
                "mapped": "\(mapped.reduce(0) { $0 + $1.0.count })",
                "seconds": "\(String(format: "%.3f", Date().timeIntervalSince(start)))",
            ]
        )
        verifyInBackground(mapped)
    }

    /// Loads the shards, point ids and sparse vectors of `states` (empty) from their rows in the
    /// database; the number of points loaded.
    static func loadRows(_ db: Database, into states: [Int64: CollectionState]) throws -> Int {
        guard !states.isEmpty else { return 0 }
        let ids = states.keys.map(String.init).joined(separator: ",")
        var points: [Int64: Int] = [:]
        let counts = "SELECT collection_id, tenant, COUNT(*) FROM points WHERE collection_id IN (\(ids)) GROUP BY collection_id, tenant"
        for row in try Row.fetchAll(db, sql: counts) {
            guard let state = states[row[0]] else { continue }
            let n: Int = row[2]
            state.shard(row[1] as String?).reserve(n)
            points[state.id, default: 0] += n
        }
        // Once per collection: each reservation of a larger capacity rehashes the maps.
        for (id, n) in points { states[id]?.reservePoints(n) }
        var total = 0
        // In rowid order (`+` keeps SQLite off the collection index, whose order would make every
        // row a random read of the table).
        let cursor = try Row.fetchCursor(
            db,
            sql: "SELECT rowid, collection_id, tenant, vector, pid, sparse FROM points WHERE +collection_id IN (\(ids))"
        )
        var lastTenant: String?
        var lastShard: VectorMatrix?
        var lastCollection: Int64 = -1
        while let row = try cursor.next() {
            let collectionID: Int64 = row[1]
            guard let state = states[collectionID] else { continue }
            let tenant: String? = row[2]
            let shard: VectorMatrix
            if let s = lastShard, collectionID == lastCollection, tenant == lastTenant {
                shard = s
            } else {
                shard = state.shard(tenant)
                lastShard = shard
                lastTenant = tenant
                lastCollection = collectionID
            }
            let rowid: Int64 = row[0]
            guard let pid = PointID(storageKey: row[4]) else { throw StoreError.corrupt("bad point id in row \(rowid)") }
            state.setPoint(rowid, pid)
            if !state.sparse.isEmpty, let blob = row[5] as Data? { state.setSparse(rowid, try SparseCoding.decode(blob)) }
            try row.withUnsafeData(atIndex: 3) { data in
                guard let data else { throw StoreError.corrupt("point without vector") }
                try data.withUnsafeBytes { raw in
                    do { try shard.upsertPrepared(id: rowid, bytes: raw) } catch {
                        throw StoreError.corrupt("vector of point row \(rowid) has the wrong size")
                    }
                }
            }
            total += 1
        }
        return total
    }

    /// A collection's in-memory state from its `collections` row.
    static func collectionState(_ row: Row) throws -> CollectionState {
        guard let distance = Distance(rawValue: row["distance"]) else {
            throw StoreError.corrupt("unknown distance for collection \(row["name"] as String)")
        }
        var sparse: [String: SparseVectorParams] = [:]
        if let json = row["sparse_vectors"] as String? {
            guard let decoded = try? JSONDecoder().decode([String: SparseVectorParams].self, from: Data(json.utf8)) else {
                throw StoreError.corrupt("unreadable sparse vector configuration for collection \(row["name"] as String)")
            }
            sparse = decoded
        }
        let config = CollectionConfig(
            name: row["name"],
            vectorSize: row["vector_size"],
            distance: distance,
            tenantKey: row["tenant_key"],
            sparseVectors: sparse
        )
        return CollectionState(id: row["id"], config: config)
    }

    static func sparseConfigJSON(_ config: CollectionConfig) throws -> String? {
        guard !config.sparseVectors.isEmpty else { return nil }
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return String(decoding: try e.encode(config.sparseVectors), as: UTF8.self)
    }

    // MARK: - Queues

    /// Runs `body` on the serial writer queue; the caller suspends until it returns.
    func onWriter<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await Self.run(on: writerQueue, body)
    }

    /// Runs `body` on the concurrent reader queue; the caller suspends until it returns.
    func onReader<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await Self.run(on: readerQueue, body)
    }

    /// Runs `body` on `queue` and resumes the suspended caller with its result.
    static func run<T: Sendable>(on queue: DispatchQueue, _ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            queue.async { continuation.resume(with: Result { try body() }) }
        }
    }

    // MARK: - Collections

    /// Creates a collection. Suspends while the writer queue commits (and fsyncs) its row.
    public func createCollection(_ config: CollectionConfig) async throws {
        try await onWriter { try self.createCollectionBlocking(config) }
    }

    func createCollectionBlocking(_ config: CollectionConfig) throws {
        try Self.validate(name: config.name)
        guard (1...65_536).contains(config.vectorSize) else {
            throw StoreError.invalidRequest("vector size must be between 1 and 65536, got \(config.vectorSize)")
        }
        try lock.write {
            guard collections[config.name] == nil else { throw StoreError.collectionExists(config.name) }
            let id = try pool.write { db -> Int64 in
                try db.execute(
                    sql: "INSERT INTO collections (name, vector_size, distance, tenant_key, created_at, sparse_vectors) VALUES (?, ?, ?, ?, ?, ?)",
                    arguments: [
                        config.name, config.vectorSize, config.distance.rawValue, config.tenantKey,
                        Date().timeIntervalSince1970, try Self.sparseConfigJSON(config),
                    ]
                )
                return db.lastInsertedRowID
            }
            collections[config.name] = CollectionState(id: id, config: config)
        }
    }

    static func validate(name: String) throws {
        guard !name.isEmpty, name.utf8.count <= 255 else {
            throw StoreError.invalidCollectionName("must be 1 to 255 bytes")
        }
        guard !name.contains(where: { "/\\\0".contains($0) || $0.isNewline }), name != ".", name != ".." else {
            throw StoreError.invalidCollectionName("must not contain path separators or control characters")
        }
    }

    /// Deletes a collection and its points; returns whether it existed. Suspends while the
    /// writer queue commits (and fsyncs) the deletion.
    @discardableResult
    public func deleteCollection(_ name: String) async throws -> Bool {
        try await onWriter { try self.deleteCollectionBlocking(name) }
    }

    func deleteCollectionBlocking(_ name: String) throws -> Bool {
        try lock.write {
            guard let state = collections[name] else { return false }
            try pool.write { db in
                try db.execute(sql: "DELETE FROM points WHERE collection_id = ?", arguments: [state.id])
                try db.execute(sql: "DELETE FROM collections WHERE id = ?", arguments: [state.id])
            }
            collections[name] = nil
            return true
        }
    }

    /// A collection's configuration and size. Suspends on the reader queue (for the lock).
    public func collectionInfo(_ name: String) async throws -> CollectionInfo {
        try await onReader {
            try self.lock.read {
                let state = try self.state(name)
                return CollectionInfo(config: state.config, pointsCount: state.count, shardCount: state.shards.count)
            }
        }
    }

    /// Every collection's configuration, by name. Suspends on the reader queue (for the lock).
    public func listCollections() async throws -> [CollectionConfig] {
        try await onReader {
            self.lock.read { self.collections.values.map(\.config).sorted { $0.name < $1.name } }
        }
    }

    func state(_ name: String) throws -> CollectionState {
        guard let s = collections[name] else { throw StoreError.collectionNotFound(name) }
        return s
    }

}
