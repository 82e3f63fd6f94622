import EngramCore
import EngramKernels
import Foundation
import GRDB
import Logging
import Synchronization

/// The default, in-process, durable implementation of `VectorStore`.
///
/// **Durability.** Every point (id, tenant, vector, payload) lives in one SQLite
/// database in WAL mode with `synchronous = FULL`; a write returns only after its
/// transaction has committed and been fsynced, so a `kill -9` (or power loss) at
/// any moment loses no acknowledged write and leaves the file openable (SQLite's
/// recovery rolls back any torn transaction).
///
/// **Search.** Vectors are also held in memory, one `VectorMatrix` shard per
/// tenant value (the collection's `tenantKey` payload field), rebuilt from the
/// database on open. A search whose filter pins the tenant field scans only the
/// matching shards; other conditions are evaluated on candidate payloads, read
/// from the database in score order.
///
/// **Concurrency.** Searches and reads share a readers-writer lock; writes take it
/// exclusively for the database commit and the in-memory update, so memory and
/// disk never disagree for a reader.
///
/// **Suspension.** Every operation is `async` and suspends instead of blocking the
/// caller's thread: writes run one at a time on the store's serial writer queue,
/// and reads (which take the lock and may read SQLite) on its concurrent reader
/// queue, both outside Swift's cooperative pool. The lock is taken and released on
/// those queues, never held across a suspension point, so a writer waiting for its
/// fsync stalls no task of the pool.
public final class EmbeddedStore: VectorStore, @unchecked Sendable {
    /// The database. Other modules may keep their own tables in it (through their
    /// own migrations); the `collections` and `points` tables belong to the store.
    public let database: DatabasePool
    /// Path of the database file.
    public let path: String

    let lock = ReadWriteLock()
    /// Runs every write (lock held exclusively, SQLite commit and fsync), one at a time.
    let writerQueue = DispatchQueue(label: "engram.store.writer")
    /// Runs reads that take the lock or read SQLite, concurrently.
    let readerQueue = DispatchQueue(label: "engram.store.reader", attributes: .concurrent)
    var collections: [String: CollectionState] = [:]
    let logger: Logger

    final class CollectionState: @unchecked Sendable {
        let id: Int64
        let config: CollectionConfig
        var shards: [String?: VectorMatrix] = [:]
        /// Named sparse vectors (empty on the default single-dense-vector path).
        var sparse: [String: SparseIndex] = [:]
        /// Payload index definitions (Qdrant's `payload_schema`), field → schema JSON.
        var payloadIndexes: [String: JSONValue] = [:]
        /// Row id → point id, so searches need not touch the database for ids.
        private(set) var pointID: [Int64: PointID] = [:]
        /// Point id → row id (the inverse of `pointID`), so `has_id` searches need not either.
        private(set) var rowOf: [PointID: Int64] = [:]

        /// Records (or, with nil, forgets) the point id of a row in both maps.
        func setPoint(_ rowid: Int64, _ pid: PointID?) {
            if let old = pointID[rowid], old != pid { rowOf[old] = nil }
            pointID[rowid] = pid
            if let pid { rowOf[pid] = rowid }
        }
        /// Decoded payloads of rows recently read by filtered searches (readers
        /// fill it concurrently, so it has its own lock; writers invalidate rows).
        let payloadCache = Mutex<[Int64: Payload]>([:])
        static let payloadCacheLimit = 200_000

        func cachedPayload(_ rowid: Int64) -> Payload? { payloadCache.withLock { $0[rowid] } }

        func cache(_ payload: Payload, for rowid: Int64) {
            payloadCache.withLock { cache in
                if cache.count >= Self.payloadCacheLimit { cache.removeAll(keepingCapacity: true) }
                cache[rowid] = payload
            }
        }

        func invalidate(_ rowids: some Sequence<Int64>) {
            payloadCache.withLock { cache in for r in rowids { cache[r] = nil } }
        }

        init(id: Int64, config: CollectionConfig) {
            self.id = id
            self.config = config
            for (name, params) in config.sparseVectors { sparse[name] = SparseIndex(modifier: params.modifier) }
        }

        /// The sparse vectors of a row, or nil when the collection has none.
        func sparseVectors(_ rowid: Int64) -> [String: SparseVector]? {
            guard !sparse.isEmpty else { return nil }
            var out: [String: SparseVector] = [:]
            for (name, index) in sparse { if let v = index.vectors[rowid] { out[name] = v } }
            return out
        }

        func setSparse(_ rowid: Int64, _ vectors: [String: SparseVector]) {
            for (name, index) in sparse {
                if let v = vectors[name] { index.upsert(rowid, v) } else { index.remove(rowid) }
            }
        }

        func removeSparse(_ rowid: Int64) {
            for index in sparse.values { index.remove(rowid) }
        }

        var count: Int { shards.values.reduce(0) { $0 + $1.count } }

        func shard(_ tenant: String?) -> VectorMatrix {
            if let m = shards[tenant] { return m }
            let m = VectorMatrix(dimension: config.vectorSize, normalizes: config.distance == .cosine)
            shards[tenant] = m
            return m
        }
    }

    /// Opens (creating if needed) the store at `path` and rebuilds the in-memory shards.
    public init(path: String, logger: Logger = Logger(label: "engram.store")) throws {
        self.path = path
        self.logger = logger
        var config = Configuration()
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
            try db.execute(sql: "PRAGMA foreign_keys = ON")
        }
        config.busyMode = .timeout(10)
        do {
            database = try DatabasePool(path: path, configuration: config)
            try Self.migrator.migrate(database)
        } catch let error as DatabaseError {
            throw StoreError.io("cannot open \(path): \(error.message ?? error.description)")
        }
        do { try PrivateFiles.restrictFiles(PrivateFiles.databaseFiles(path)) } catch {
            logger.warning("cannot make the database files private (0600)", metadata: ["path": "\(path)", "error": "\(error)"])
        }
        try loadShards()
    }

    /// Opens the store in `directory` (file `engram.sqlite`), creating the directory (private: 0700).
    public convenience init(directory: URL, logger: Logger = Logger(label: "engram.store")) throws {
        try PrivateFiles.makeDirectory(directory)
        try self.init(path: directory.appendingPathComponent("engram.sqlite").path, logger: logger)
    }

    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("store-v1") { db in
            try db.execute(sql: """
                CREATE TABLE collections (
                    id INTEGER PRIMARY KEY,
                    name TEXT NOT NULL UNIQUE,
                    vector_size INTEGER NOT NULL,
                    distance TEXT NOT NULL,
                    tenant_key TEXT,
                    created_at REAL NOT NULL
                );
                CREATE TABLE points (
                    rowid INTEGER PRIMARY KEY,
                    collection_id INTEGER NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
                    pid TEXT NOT NULL,
                    tenant TEXT,
                    vector BLOB NOT NULL,
                    payload BLOB NOT NULL,
                    UNIQUE (collection_id, pid)
                );
                CREATE INDEX points_tenant ON points(collection_id, tenant, pid);
                """)
        }
        // Qdrant-compatible API: named sparse vectors and payload index definitions.
        // Columns are nullable additions, so v1 data reads unchanged.
        m.registerMigration("store-v2-sparse-indexes") { db in
            try db.execute(sql: """
                ALTER TABLE collections ADD COLUMN sparse_vectors TEXT;
                ALTER TABLE points ADD COLUMN sparse BLOB;
                CREATE TABLE payload_indexes (
                    collection_id INTEGER NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
                    field TEXT NOT NULL,
                    schema TEXT NOT NULL,
                    PRIMARY KEY (collection_id, field)
                );
                """)
        }
        return m
    }

    private func loadShards() throws {
        let start = Date()
        var total = 0
        try database.read { db in
            var byID: [Int64: CollectionState] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT id, name, vector_size, distance, tenant_key, sparse_vectors FROM collections") {
                let state = try Self.collectionState(row)
                byID[state.id] = state
                collections[state.config.name] = state
            }
            for row in try Row.fetchAll(db, sql: "SELECT collection_id, field, schema FROM payload_indexes") {
                byID[row[0]]?.payloadIndexes[row[1]] = try? JSONDecoder().decode(JSONValue.self, from: Data((row[2] as String).utf8))
            }
            let sizes = try Row.fetchAll(db, sql: "SELECT collection_id, tenant, COUNT(*) FROM points GROUP BY collection_id, tenant")
            for row in sizes {
                guard let state = byID[row[0]] else { continue }
                state.shard(row[1] as String?).reserve(row[2])
            }
            let cursor = try Row.fetchCursor(db, sql: "SELECT rowid, collection_id, tenant, vector, pid, sparse FROM points")
            var lastTenant: String?
            var lastShard: VectorMatrix?
            var lastCollection: Int64 = -1
            while let row = try cursor.next() {
                let collectionID: Int64 = row[1]
                guard let state = byID[collectionID] else { continue }
                let tenant: String? = row[2]
                let shard: VectorMatrix
                if let s = lastShard, collectionID == lastCollection, tenant == lastTenant { shard = s } else {
                    shard = state.shard(tenant)
                    lastShard = shard; lastTenant = tenant; lastCollection = collectionID
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
        }
        logger.info("store opened", metadata: [
            "path": "\(path)", "collections": "\(collections.count)", "points": "\(total)",
            "seconds": "\(String(format: "%.3f", Date().timeIntervalSince(start)))",
        ])
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
        let config = CollectionConfig(name: row["name"], vectorSize: row["vector_size"], distance: distance,
                                      tenantKey: row["tenant_key"], sparseVectors: sparse)
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
            let id = try database.write { db -> Int64 in
                try db.execute(
                    sql: "INSERT INTO collections (name, vector_size, distance, tenant_key, created_at, sparse_vectors) VALUES (?, ?, ?, ?, ?, ?)",
                    arguments: [config.name, config.vectorSize, config.distance.rawValue, config.tenantKey,
                                Date().timeIntervalSince1970, try Self.sparseConfigJSON(config)])
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
            try database.write { db in
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

    // MARK: - Writes

    /// Inserts or replaces points, all or none. Suspends until the writer queue has committed
    /// and fsynced the batch and updated the in-memory shards.
    public func upsert(_ collection: String, points: [PointStruct]) async throws {
        guard !points.isEmpty else { return }
        try await onWriter { try self.upsertBlocking(collection, points: points) }
    }

    func upsertBlocking(_ collection: String, points: [PointStruct]) throws {
        guard !points.isEmpty else { return }
        try lock.write {
            let state = try state(collection)
            let probe = VectorMatrix(dimension: state.config.vectorSize, normalizes: state.config.distance == .cosine)
            // Validate and encode the whole batch before touching the disk.
            struct Prepared { let key: String; let vector: [Float]; let tenant: String?; let payload: Data; let sparse: [String: SparseVector] }
            var prepared: [Prepared] = []
            prepared.reserveCapacity(points.count)
            var lastIndexOfKey: [String: Int] = [:]
            for p in points {
                let v: [Float]
                do { v = try probe.prepare(p.vector) } catch let KernelError.dimensionMismatch(e, g) {
                    throw StoreError.dimensionMismatch(expected: e, got: g)
                } catch { throw StoreError.invalidVector("\(error)") }
                var sparse: [String: SparseVector] = [:]
                for (name, sv) in p.sparseVectors {
                    guard state.sparse[name] != nil else { throw StoreError.invalidRequest("Not existing vector name error: \(name)") }
                    sparse[name] = try sv.normalized()
                }
                let item = Prepared(key: p.id.storageKey, vector: v,
                                    tenant: PayloadCoding.tenant(of: p.payload, key: state.config.tenantKey),
                                    payload: try PayloadCoding.encode(p.payload), sparse: sparse)
                if let i = lastIndexOfKey[item.key] { prepared[i] = item } else {
                    lastIndexOfKey[item.key] = prepared.count
                    prepared.append(item)
                }
            }
            struct Change { let rowid: Int64; let oldTenant: String??; let tenant: String?; let vector: [Float]; let key: String; let sparse: [String: SparseVector] }
            let changes = try database.write { db -> [Change] in
                var changes: [Change] = []
                let find = try db.cachedStatement(sql: "SELECT rowid, tenant FROM points WHERE collection_id = ? AND pid = ?")
                for p in prepared {
                    if let old = try Row.fetchOne(find, arguments: [state.id, p.key]) {
                        let rowid: Int64 = old[0]
                        try db.execute(sql: "UPDATE points SET tenant = ?, vector = ?, payload = ?, sparse = ? WHERE rowid = ?",
                                       arguments: [p.tenant, PayloadCoding.vectorData(p.vector), p.payload,
                                                   SparseCoding.encode(p.sparse), rowid])
                        changes.append(Change(rowid: rowid, oldTenant: .some(old[1] as String?), tenant: p.tenant, vector: p.vector, key: p.key, sparse: p.sparse))
                    } else {
                        try db.execute(
                            sql: "INSERT INTO points (collection_id, pid, tenant, vector, payload, sparse) VALUES (?, ?, ?, ?, ?, ?)",
                            arguments: [state.id, p.key, p.tenant, PayloadCoding.vectorData(p.vector), p.payload,
                                        SparseCoding.encode(p.sparse)])
                        changes.append(Change(rowid: db.lastInsertedRowID, oldTenant: .none, tenant: p.tenant, vector: p.vector, key: p.key, sparse: p.sparse))
                    }
                }
                return changes
            }
            state.invalidate(changes.map(\.rowid))
            for c in changes {
                if case let .some(old) = c.oldTenant, old != c.tenant { state.shards[old]?.remove(id: c.rowid) }
                try state.shard(c.tenant).upsertPrepared(id: c.rowid, vector: c.vector)
                state.setPoint(c.rowid, PointID(storageKey: c.key))
                if !state.sparse.isEmpty { state.setSparse(c.rowid, c.sparse) }
            }
        }
    }

    /// Deletes the selected points; returns how many existed. Suspends until the writer queue
    /// has committed and fsynced the deletion and updated the in-memory shards.
    @discardableResult
    public func delete(_ collection: String, _ selector: PointSelector) async throws -> Int {
        try await onWriter { try self.deleteBlocking(collection, selector) }
    }

    func deleteBlocking(_ collection: String, _ selector: PointSelector) throws -> Int {
        try lock.write {
            let state = try state(collection)
            let rows = try database.write { db -> [SelectedRow] in
                let rows = try selectRows(db, state, selector)
                let stmt = try db.cachedStatement(sql: "DELETE FROM points WHERE rowid = ?")
                for r in rows { try stmt.execute(arguments: [r.rowid]) }
                return rows
            }
            state.invalidate(rows.map(\.rowid))
            for r in rows {
                state.shards[r.tenant]?.remove(id: r.rowid)
                state.setPoint(r.rowid, nil)
                if !state.sparse.isEmpty { state.removeSparse(r.rowid) }
            }
            return rows.count
        }
    }

    // MARK: - Payload edits

    /// Merges `payload` into the selected points (a null value deletes the key); `key` nests it
    /// under a dotted path. With `requireAll`, an id naming a missing point fails the edit with
    /// `StoreError.pointNotFound` and nothing is written (Qdrant's semantics). Suspends as `editPayloads`.
    public func setPayload(_ collection: String, payload: Payload, key: String?, _ selector: PointSelector,
                           requireAll: Bool = false) async throws {
        try await editPayloads(collection, selector, requireAll: requireAll) { old in
            var new = old
            if let key {
                new = Self.merging(payload, into: new, at: key.split(separator: ".").map(String.init))
            } else {
                for (k, v) in payload { if v.isNull { new[k] = nil } else { new[k] = v } }
            }
            return new
        }
    }

    static func merging(_ payload: Payload, into object: Payload, at path: [String]) -> Payload {
        var result = object
        guard let head = path.first else {
            for (k, v) in payload { if v.isNull { result[k] = nil } else { result[k] = v } }
            return result
        }
        var inner: Payload = [:]
        if case let .object(o)? = object[head] { inner = o }
        result[head] = .object(merging(payload, into: inner, at: Array(path.dropFirst())))
        return result
    }

    /// Replaces the selected points' payloads (`requireAll` as in `setPayload`). Suspends as `editPayloads`.
    public func overwritePayload(_ collection: String, payload: Payload, _ selector: PointSelector,
                                 requireAll: Bool = false) async throws {
        try await editPayloads(collection, selector, requireAll: requireAll) { _ in payload }
    }

    /// Removes keys (dotted paths) from the selected points (`requireAll` as in `setPayload`).
    /// Suspends as `editPayloads`.
    public func deletePayloadKeys(_ collection: String, keys: [String], _ selector: PointSelector,
                                  requireAll: Bool = false) async throws {
        try await editPayloads(collection, selector, requireAll: requireAll) { old in
            var new = old
            for key in keys { new = Self.removing(key.split(separator: ".").map(String.init)[...], from: new) }
            return new
        }
    }

    static func removing(_ path: ArraySlice<String>, from object: Payload) -> Payload {
        guard let head = path.first else { return object }
        var result = object
        if path.count == 1 {
            result[head] = nil
        } else if case let .object(o)? = object[head] {
            result[head] = .object(removing(path.dropFirst(), from: o))
        }
        return result
    }

    /// Empties the selected points' payloads (`requireAll` as in `setPayload`). Suspends as `editPayloads`.
    public func clearPayload(_ collection: String, _ selector: PointSelector, requireAll: Bool = false) async throws {
        try await editPayloads(collection, selector, requireAll: requireAll) { _ in [:] }
    }

    /// Applies `transform` to the selected points' payloads in one transaction, moving points
    /// between shards when their tenant value changes. With `requireAll`, an id selector naming a
    /// missing point fails the whole edit with `StoreError.pointNotFound` and nothing is written
    /// (Qdrant's semantics). Suspends until the writer queue (where `transform` runs) has committed
    /// and fsynced the edit and updated the in-memory shards.
    public func editPayloads(_ collection: String, _ selector: PointSelector, requireAll: Bool = false,
                             _ transform: @escaping @Sendable (Payload) throws -> Payload) async throws {
        try await onWriter { try self.editPayloadsBlocking(collection, selector, requireAll: requireAll, transform) }
    }

    func editPayloadsBlocking(_ collection: String, _ selector: PointSelector, requireAll: Bool,
                              _ transform: (Payload) throws -> Payload) throws {
        try lock.write {
            let state = try state(collection)
            struct Move { let rowid: Int64; let from: String?; let to: String? }
            let (moves, edited) = try database.write { db -> ([Move], [Int64]) in
                var moves: [Move] = []
                var edited: [Int64] = []
                let update = try db.cachedStatement(sql: "UPDATE points SET payload = ?, tenant = ? WHERE rowid = ?")
                for row in try selectRows(db, state, selector, requireAll: requireAll) {
                    let new = try transform(row.payload)
                    let tenant = PayloadCoding.tenant(of: new, key: state.config.tenantKey)
                    try update.execute(arguments: [try PayloadCoding.encode(new), tenant, row.rowid])
                    edited.append(row.rowid)
                    if tenant != row.tenant { moves.append(Move(rowid: row.rowid, from: row.tenant, to: tenant)) }
                }
                return (moves, edited)
            }
            state.invalidate(edited)
            for m in moves {
                guard let from = state.shards[m.from], let v = from.vector(for: m.rowid) else { continue }
                from.remove(id: m.rowid)
                try state.shard(m.to).upsertPrepared(id: m.rowid, vector: v)
            }
        }
    }

    // MARK: - Reads

    struct SelectedRow {
        let rowid: Int64
        let id: PointID
        let tenant: String?
        let payload: Payload
    }

    /// The rows a selector picks, read inside a transaction.
    func selectRows(_ db: Database, _ state: CollectionState, _ selector: PointSelector,
                    requireAll: Bool = false) throws -> [SelectedRow] {
        switch selector {
        case let .ids(ids):
            let stmt = try db.cachedStatement(sql: "SELECT rowid, tenant, payload FROM points WHERE collection_id = ? AND pid = ?")
            var seen = Set<PointID>()
            return try ids.compactMap { id -> SelectedRow? in
                guard seen.insert(id).inserted else { return nil }
                guard let row = try Row.fetchOne(stmt, arguments: [state.id, id.storageKey]) else {
                    if requireAll { throw StoreError.pointNotFound(id) }
                    return nil
                }
                return SelectedRow(rowid: row[0], id: id, tenant: row[1], payload: try PayloadCoding.decode(row[2]))
            }
        case let .filter(filter):
            var out: [SelectedRow] = []
            try scanRows(db, state, filter: filter, from: nil) { r in out.append(r); return true }
            return out
        }
    }

    /// Visits rows matching `filter` in id order from `from` (inclusive) until `visit` returns false.
    func scanRows(_ db: Database, _ state: CollectionState, filter: Filter?, from: PointID?,
                          _ visit: (SelectedRow) throws -> Bool) throws {
        let plan = TenantPlan(filter: filter, tenantKey: state.config.tenantKey)
        var sql = "SELECT rowid, pid, tenant, payload FROM points WHERE collection_id = ?"
        var args: [(any DatabaseValueConvertible)?] = [state.id]
        if let from { sql += " AND pid >= ?"; args.append(from.storageKey) }
        if let tenants = plan.tenants {
            sql += " AND (tenant IS NULL OR tenant IN (" + tenants.map { _ in "?" }.joined(separator: ",") + "))"
            args += tenants.map { $0 as (any DatabaseValueConvertible)? }
        }
        sql += " ORDER BY pid"
        let cursor = try Row.fetchCursor(db, sql: sql, arguments: StatementArguments(args))
        while let row = try cursor.next() {
            guard let id = PointID(storageKey: row[1]) else { throw StoreError.corrupt("bad point id") }
            let tenant: String? = row[2]
            let payload = try PayloadCoding.decode(row[3])
            if let f = plan.filter(forTenant: tenant), !FilterEvaluator.matches(f, id: id, payload: payload) { continue }
            if try !visit(SelectedRow(rowid: row[0], id: id, tenant: tenant, payload: payload)) { return }
        }
    }

    /// The found points in request order (missing ids are skipped). Suspends while the reader
    /// queue reads them.
    public func retrieve(_ collection: String, ids: [PointID], withPayload: Bool = true, withVector: Bool = false) async throws -> [Record] {
        try await onReader { try self.retrieveBlocking(collection, ids: ids, withPayload: withPayload, withVector: withVector) }
    }

    func retrieveBlocking(_ collection: String, ids: [PointID], withPayload: Bool, withVector: Bool) throws -> [Record] {
        try lock.read {
            let state = try state(collection)
            return try database.read { db in
                let stmt = try db.cachedStatement(sql: "SELECT payload, vector, rowid FROM points WHERE collection_id = ? AND pid = ?")
                var seen = Set<PointID>()
                return try ids.compactMap { id -> Record? in
                    guard seen.insert(id).inserted, let row = try Row.fetchOne(stmt, arguments: [state.id, id.storageKey]) else { return nil }
                    return Record(id: id,
                                  payload: withPayload ? try PayloadCoding.decode(row[0]) : nil,
                                  vector: withVector ? try PayloadCoding.vector(row[1], dimension: state.config.vectorSize) : nil,
                                  sparseVectors: withVector ? state.sparseVectors(row[2]) : nil)
                }
            }
        }
    }

    /// Points in id order; `nextPageOffset` is the first id of the next page. Suspends while the
    /// reader queue reads the page.
    public func scroll(_ collection: String, _ request: ScrollRequest) async throws -> ScrollResult {
        try await onReader { try self.scrollBlocking(collection, request) }
    }

    func scrollBlocking(_ collection: String, _ request: ScrollRequest) throws -> ScrollResult {
        guard request.limit >= 0 else { throw StoreError.invalidRequest("limit must be non-negative") }
        return try lock.read {
            let state = try state(collection)
            return try database.read { db in
                var rows: [SelectedRow] = []
                var next: PointID?
                try scanRows(db, state, filter: request.filter, from: request.offset) { r in
                    if rows.count == request.limit { next = r.id; return false }
                    rows.append(r)
                    return true
                }
                let vectorStmt = try db.cachedStatement(sql: "SELECT vector FROM points WHERE rowid = ?")
                let points = try rows.map { r in
                    Record(id: r.id, payload: request.withPayload ? r.payload : nil,
                           vector: request.withVector
                               ? try PayloadCoding.vector(try Data.fetchOne(vectorStmt, arguments: [r.rowid]) ?? Data(),
                                                          dimension: state.config.vectorSize)
                               : nil,
                           sparseVectors: request.withVector ? state.sparseVectors(r.rowid) : nil)
                }
                return ScrollResult(points: points, nextPageOffset: next)
            }
        }
    }

    /// The exact number of points matching `filter`. Suspends while the reader queue counts
    /// (a filtered count reads SQLite).
    public func count(_ collection: String, filter: Filter? = nil) async throws -> Int {
        try await onReader { try self.countBlocking(collection, filter: filter) }
    }

    func countBlocking(_ collection: String, filter: Filter?) throws -> Int {
        try lock.read {
            let state = try state(collection)
            guard let filter, !filter.isEmpty else { return state.count }
            return try database.read { db in
                var n = 0
                try scanRows(db, state, filter: filter, from: nil) { _ in n += 1; return true }
                return n
            }
        }
    }

    // MARK: - Search

    /// Exact search (see the type's documentation for the plan). Suspends while the reader
    /// queue scans: it takes the lock (which a committing writer holds) and reads candidate
    /// payloads from SQLite.
    public func search(_ collection: String, _ request: SearchRequest) async throws -> [ScoredPoint] {
        try await search(collection, batch: [request])[0]
    }

    /// Batch search: each request as `search(_:_:)` answers it, but requests that scan the same
    /// shard share one pass over its rows (`VectorMatrix.search(batch:k:)`). Suspends as `search(_:_:)`.
    public func search(_ collection: String, batch: [SearchRequest]) async throws -> [[ScoredPoint]] {
        try await onReader { try self.searchBlocking(collection, batch: batch) }
    }

    func searchBlocking(_ collection: String, batch requests: [SearchRequest]) throws -> [[ScoredPoint]] {
        for request in requests {
            guard request.limit >= 0, request.offset >= 0 else { throw StoreError.invalidRequest("limit and offset must be non-negative") }
        }
        return try lock.read {
            let state = try state(collection)
            for request in requests {
                guard request.vector.count == state.config.vectorSize else {
                    throw StoreError.dimensionMismatch(expected: state.config.vectorSize, got: request.vector.count)
                }
                guard !request.vector.contains(where: { !$0.isFinite }) else {
                    throw StoreError.invalidVector("vector contains NaN or infinity")
                }
            }
            let plans = requests.map { TenantPlan(filter: $0.filter, tenantKey: state.config.tenantKey) }
            let firstPasses = requests.count > 1 ? try sharedFirstPasses(state, requests, plans) : Array(repeating: [:], count: requests.count)
            return try database.read { db in
                try requests.indices.map { try search(db, state, requests[$0], plans[$0], firstPass: firstPasses[$0]) }
            }
        }
    }

    /// How many candidates the first scan of a shard takes: the results needed, or with a filter
    /// to check, more (the search widens further only when too few pass).
    static func firstScanDepth(need: Int, filtered: Bool, rows: Int) -> Int {
        filtered ? min(rows, need * 4 + 16) : need
    }

    /// The first scan of every shard that several requests read, done once for all of them.
    /// Returns, per request, shard → that request's first-scan candidates (best first).
    func sharedFirstPasses(_ state: CollectionState, _ requests: [SearchRequest], _ plans: [TenantPlan]) throws -> [[String?: [ScoredID]]] {
        var groups: [String?: [(request: Int, depth: Int)]] = [:]
        for (i, request) in requests.enumerated() {
            let need = request.limit + request.offset
            guard need > 0, plans[i].pinnedIDs == nil else { continue }
            // Only shards on the int8 path: their batch and single scans rescore alike, so a
            // request gets bit-identical results whether or not it shared a pass.
            for (tenant, shard) in plans[i].shards(in: state.shards) where shard.usesQuantizedScan {
                let depth = Self.firstScanDepth(need: need, filtered: plans[i].filter(forTenant: tenant) != nil, rows: shard.count)
                groups[tenant, default: []].append((i, depth))
            }
        }
        var out = [[String?: [ScoredID]]](repeating: [:], count: requests.count)
        for (tenant, members) in groups where members.count > 1 {
            guard let shard = state.shards[tenant] else { continue }
            let depth = members.map(\.depth).max()!
            let results = try shard.search(batch: members.map { requests[$0.request].vector }, k: depth)
            // The top `d` of a top-`depth` list is the top `d`: same order, same ties.
            for (member, hits) in zip(members, results) { out[member.request][tenant] = Array(hits.prefix(member.depth)) }
        }
        return out
    }

    /// One request inside the read lock and a read transaction.
    func search(_ db: Database, _ state: CollectionState, _ request: SearchRequest, _ plan: TenantPlan,
                firstPass: [String?: [ScoredID]]) throws -> [ScoredPoint] {
        let need = request.limit + request.offset
        guard need > 0 else { return [] }
        let fetch = try db.cachedStatement(sql: "SELECT payload FROM points WHERE rowid = ?")
        func load(_ rowid: Int64) throws -> (PointID, Payload) {
            guard let id = state.pointID[rowid] else { throw StoreError.corrupt("point row \(rowid) missing") }
            if let cached = state.cachedPayload(rowid) { return (id, cached) }
            guard let data = try Data.fetchOne(fetch, arguments: [rowid]) else { throw StoreError.corrupt("point row \(rowid) missing") }
            let payload = try PayloadCoding.decode(data)
            state.cache(payload, for: rowid)
            return (id, payload)
        }
        var merged = TopK(k: need)
        let pinnedIDs = plan.pinnedIDs
        if let ids = pinnedIDs {
            // `has_id` names the candidates: score just those rows, O(ids) not O(rows).
            let rowids = ids.compactMap { state.rowOf[$0] }
            for (tenant, shard) in plan.shards(in: state.shards) {
                let filter = plan.filter(forTenant: tenant)
                let needsPayload = !(filter?.onlyHasID ?? true)
                for hit in try shard.scores(request.vector, ids: rowids.filter { shard.contains(id: $0) }) {
                    if needsPayload, let filter {
                        let (id, payload) = try load(hit.id)
                        guard FilterEvaluator.matches(filter, id: id, payload: payload) else { continue }
                    }
                    merged.insert(hit)
                }
            }
        }
        for (tenant, shard) in plan.shards(in: state.shards) where pinnedIDs == nil {
            let filter = plan.filter(forTenant: tenant)
            guard let filter else {
                for hit in try firstPass[tenant] ?? shard.search(request.vector, k: need) { merged.insert(hit) }
                continue
            }
            // Widen the candidate list until enough candidates pass the filter.
            let first = Self.firstScanDepth(need: need, filtered: true, rows: shard.count)
            var k = first
            var accepted: [ScoredID] = []
            while k > 0 {
                accepted.removeAll(keepingCapacity: true)
                for hit in try (k == first ? firstPass[tenant] : nil) ?? shard.search(request.vector, k: k) {
                    let (id, payload) = try load(hit.id)
                    if FilterEvaluator.matches(filter, id: id, payload: payload) {
                        accepted.append(hit)
                        if accepted.count == need { break }
                    }
                }
                if accepted.count == need || k == shard.count { break }
                k = min(shard.count, k * 4)
            }
            for hit in accepted { merged.insert(hit) }
        }
        var results: [ScoredPoint] = []
        let vectorStmt = try db.cachedStatement(sql: "SELECT vector FROM points WHERE rowid = ?")
        for hit in merged.sorted().dropFirst(request.offset) {
            if let t = request.scoreThreshold, hit.score < t { break }
            guard let id = state.pointID[hit.id] else { throw StoreError.corrupt("point row \(hit.id) missing") }
            let payload = request.withPayload ? try load(hit.id).1 : nil
            var vector: [Float]?
            if request.withVector, let data = try Data.fetchOne(vectorStmt, arguments: [hit.id]) {
                vector = try PayloadCoding.vector(data, dimension: state.config.vectorSize)
            }
            results.append(ScoredPoint(id: id, score: hit.score, payload: payload, vector: vector,
                                       sparseVectors: request.withVector ? state.sparseVectors(hit.id) : nil))
        }
        return results
    }
}

/// How a filter maps onto tenant shards: when its top-level `must` pins the
/// tenant field to string values, only those shards (plus the shard of points
/// whose tenant field is not a single string) are scanned, and the pinning
/// condition need not be re-evaluated inside the named shards.
struct TenantPlan {
    /// The pinned tenant values, or nil when the filter does not pin the tenant.
    let tenants: [String]?
    let full: Filter?
    let residual: Filter?

    init(filter: Filter?, tenantKey: String?) {
        full = (filter?.isEmpty ?? true) ? nil : filter
        guard let filter = full, let tenantKey, let must = filter.must else {
            tenants = nil; residual = full; return
        }
        for (i, condition) in must.enumerated() {
            guard case let .field(f) = condition, f.key == tenantKey, f.range == nil, f.valuesCount == nil else { continue }
            var values: [String]?
            switch f.match {
            case let .value(.string(s))?: values = [s]
            case let .any(list)?:
                let strings = list.compactMap(\.stringValue)
                if strings.count == list.count { values = strings }
            default: break
            }
            guard let values else { continue }
            var rest = filter
            rest.must!.remove(at: i)
            tenants = values
            residual = rest.isEmpty ? nil : rest
            return
        }
        tenants = nil
        residual = full
    }

    /// The ids of a top-level `must` `has_id` condition: only those points can match.
    var pinnedIDs: [PointID]? {
        for condition in full?.must ?? [] { if case let .hasID(ids) = condition { return ids } }
        return nil
    }

    /// The filter to evaluate on a point of the given shard.
    func filter(forTenant tenant: String?) -> Filter? {
        guard tenants != nil else { return full }
        return tenant == nil ? full : residual
    }

    func shards(in all: [String?: VectorMatrix]) -> [(String?, VectorMatrix)] {
        guard let tenants else { return all.map { ($0.key, $0.value) } }
        var out: [(String?, VectorMatrix)] = []
        for t in Set(tenants) { if let s = all[t] { out.append((t, s)) } }
        if let other = all[nil] { out.append((nil, other)) }
        return out
    }
}
