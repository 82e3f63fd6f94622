import EngramCore
import EngramDatabase
import EngramKernels
public import EngramStoreModel
public import Foundation
import GRDB

/// A collection snapshot file.
public struct SnapshotDescription: Sendable, Hashable {
    public var name: String
    public var size: Int
    public var creationTime: Date?

    public init(name: String, size: Int, creationTime: Date?) {
        self.name = name
        self.size = size
        self.creationTime = creationTime
    }
}

/// Collection snapshots: a consistent copy of one collection (config, points with vectors and
/// payloads, sparse vectors, payload index definitions) in a standalone SQLite file with the
/// store's own schema, under `DATA_DIR/snapshots/<collection>/`. `restoreSnapshot` loads such a
/// file back (into the same or another collection name).
extension EmbeddedStore {
    /// `DATA_DIR/snapshots`.
    public var snapshotsDirectory: URL {
        URL(fileURLWithPath: path).deletingLastPathComponent().appendingPathComponent("snapshots", isDirectory: true)
    }

    /// `DATA_DIR/snapshots/<collection>`.
    public func snapshotDirectory(for collection: String) throws -> URL {
        try Self.validate(name: collection)
        return snapshotsDirectory.appendingPathComponent(collection, isDirectory: true)
    }

    static let snapshotSuffix = ".snapshot"

    /// Writes a snapshot of `collection` and returns its description. The copy is read in one
    /// read transaction (WAL snapshot isolation), so it is consistent while writes continue.
    /// Suspends while the reader queue writes the file.
    public func createSnapshot(_ collection: String) async throws -> SnapshotDescription {
        try await onReader { try self.createSnapshotBlocking(collection) }
    }

    func createSnapshotBlocking(_ collection: String) throws -> SnapshotDescription {
        let collectionID = try lock.read { try state(collection).id }
        let dir = try snapshotDirectory(for: collection)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let now = Date()
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyy-MM-dd-HH-mm-ss"
        let suffix = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        let name = "\(collection)-\(f.string(from: now))-\(suffix)\(Self.snapshotSuffix)"
        let final = dir.appendingPathComponent(name)
        let tmp = dir.appendingPathComponent(".\(name).part")
        try? FileManager.default.removeItem(at: tmp)
        do {
            try pool.read { db in
                guard
                    let col = try Row.fetchOne(
                        db,
                        sql: """
                            SELECT name, vector_size, distance, tenant_key, created_at, sparse_vectors FROM collections WHERE id = ? AND name = ?
                            """,
                        arguments: [collectionID, collection]
                    )
                else { throw StoreError.collectionNotFound(collection) }
                let out = try DatabaseQueue(path: tmp.path)
                try EngramDatabase.storeMigrator.migrate(out)
                try out.write { odb in
                    try odb.execute(
                        sql: """
                            INSERT INTO collections (name, vector_size, distance, tenant_key, created_at, sparse_vectors) VALUES (?, ?, ?, ?, ?, ?)
                            """,
                        arguments: [col[0], col[1], col[2], col[3], col[4], col[5]]
                    )
                    let newID = odb.lastInsertedRowID
                    for row in try Row.fetchAll(
                        db,
                        sql: "SELECT field, schema FROM payload_indexes WHERE collection_id = ?",
                        arguments: [collectionID]
                    ) {
                        try odb.execute(
                            sql: "INSERT INTO payload_indexes (collection_id, field, schema) VALUES (?, ?, ?)",
                            arguments: [newID, row[0], row[1]]
                        )
                    }
                    let insert = try odb.makeStatement(
                        sql: "INSERT INTO points (collection_id, pid, tenant, vector, payload, sparse) VALUES (?, ?, ?, ?, ?, ?)"
                    )
                    let cursor = try Row.fetchCursor(
                        db,
                        sql: "SELECT pid, tenant, vector, payload, sparse FROM points WHERE collection_id = ? ORDER BY pid",
                        arguments: [collectionID]
                    )
                    while let row = try cursor.next() {
                        try insert.execute(arguments: [newID, row[0], row[1], row[2], row[3], row[4]])
                    }
                }
                try out.close()
            }
            try FileManager.default.moveItem(at: tmp, to: final)
        } catch let error as DatabaseError {
            try? FileManager.default.removeItem(at: tmp)
            throw StoreError.io("snapshot of \(collection) failed: \(error.message ?? error.description)")
        } catch {
            try? FileManager.default.removeItem(at: tmp)
            throw error
        }
        let size = ((try? FileManager.default.attributesOfItem(atPath: final.path))?[.size] as? Int) ?? 0
        return SnapshotDescription(name: name, size: size, creationTime: now)
    }

    /// The snapshots of `collection`, oldest first. Suspends while the reader queue lists them.
    public func listSnapshots(_ collection: String) async throws -> [SnapshotDescription] {
        try await onReader { try self.listSnapshotsBlocking(collection) }
    }

    func listSnapshotsBlocking(_ collection: String) throws -> [SnapshotDescription] {
        let dir = try snapshotDirectory(for: collection)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        return names.filter { $0.hasSuffix(Self.snapshotSuffix) && !$0.hasPrefix(".") }.compactMap { name in
            guard let attrs = try? FileManager.default.attributesOfItem(atPath: dir.appendingPathComponent(name).path) else { return nil }
            return SnapshotDescription(name: name, size: (attrs[.size] as? Int) ?? 0, creationTime: attrs[.modificationDate] as? Date)
        }.sorted { ($0.creationTime ?? .distantPast, $0.name) < ($1.creationTime ?? .distantPast, $1.name) }
    }

    /// The file of snapshot `name` of `collection`, or nil when there is none. Suspends while
    /// the reader queue looks for it.
    public func snapshotFile(_ collection: String, name: String) async throws -> URL? {
        try await onReader { try self.snapshotFileBlocking(collection, name: name) }
    }

    func snapshotFileBlocking(_ collection: String, name: String) throws -> URL? {
        guard !name.isEmpty, !name.hasPrefix("."), !name.contains("/"), !name.contains("\\"), name.hasSuffix(Self.snapshotSuffix) else {
            return nil
        }
        let url = try snapshotDirectory(for: collection).appendingPathComponent(name)
        return FileManager.default.fileExists(atPath: url.path) ? url : nil
    }

    /// Deletes snapshot `name` of `collection`; returns whether it existed. Suspends while the
    /// reader queue removes the file.
    @discardableResult
    public func deleteSnapshot(_ collection: String, name: String) async throws -> Bool {
        try await onReader {
            guard let url = try self.snapshotFileBlocking(collection, name: name) else { return false }
            try FileManager.default.removeItem(at: url)
            return true
        }
    }

    /// Replaces (or creates) `collection` with the content of a snapshot file made by
    /// `createSnapshot`. The file is checked first (one collection, vectors of the right size,
    /// readable ids); `validatePayload` sees every payload before anything is written (e.g. a
    /// secret filter) and may throw to refuse the restore. The swap is one transaction: a
    /// crash leaves either the old collection or the restored one. Suspends while the writer
    /// queue checks the file (where `validatePayload` runs) and commits and fsyncs the swap.
    public func restoreSnapshot(
        _ collection: String,
        from file: URL,
        validatePayload: (@Sendable (PointID, Payload) throws -> Void)? = nil
    ) async throws {
        try await onWriter { try self.restoreSnapshotBlocking(collection, from: file, validatePayload: validatePayload) }
    }

    func restoreSnapshotBlocking(
        _ collection: String,
        from file: URL,
        validatePayload: ((PointID, Payload) throws -> Void)?
    ) throws {
        try Self.validate(name: collection)
        var readOnly = Configuration()
        readOnly.readonly = true
        let snapshotID: Int64
        let configRow: Row
        do {
            let snap: DatabaseQueue
            do { snap = try DatabaseQueue(path: file.path, configuration: readOnly) } catch {
                throw StoreError.invalidRequest("snapshot is not readable: \(error)")
            }
            defer { try? snap.close() }
            (snapshotID, configRow) = try snap.read { db -> (Int64, Row) in
                let ok =
                    (try? db.tableExists("collections")) == true && (try? db.tableExists("points")) == true
                    && (try? db.tableExists("payload_indexes")) == true
                guard ok else { throw StoreError.invalidRequest("not an Engram collection snapshot") }
                let rows = try Row.fetchAll(db, sql: "SELECT id, name, vector_size, distance, tenant_key, sparse_vectors FROM collections")
                guard rows.count == 1 else { throw StoreError.invalidRequest("a snapshot holds exactly one collection, this file has \(rows.count)") }
                let state = try Self.collectionState(rows[0])
                let bad =
                    try Int.fetchOne(
                        db,
                        sql: "SELECT COUNT(*) FROM points WHERE collection_id != ? OR length(vector) != ?",
                        arguments: [state.id, state.config.vectorSize * 4]
                    ) ?? 0
                guard bad == 0 else { throw StoreError.invalidRequest("snapshot has \(bad) malformed points") }
                if let validatePayload {
                    let cursor = try Row.fetchCursor(db, sql: "SELECT pid, payload, tenant FROM points")
                    while let row = try cursor.next() {
                        guard let id = PointID(storageKey: row[0]) else { throw StoreError.invalidRequest("snapshot has a malformed point id") }
                        try validatePayload(id, try decodePayload(row[1], key: row[0], tenant: row[2]))
                    }
                }
                return (state.id, rows[0])
            }
        } catch let e as DatabaseError {
            throw StoreError.invalidRequest("snapshot is not readable: \(e.message ?? e.description)")
        }
        let source = try Self.collectionState(configRow)
        let config = CollectionConfig(
            name: collection,
            vectorSize: source.config.vectorSize,
            distance: source.config.distance,
            tenantKey: source.config.tenantKey,
            sparseVectors: source.config.sparseVectors
        )
        guard (1...65_536).contains(config.vectorSize) else { throw StoreError.invalidRequest("snapshot has an invalid vector size") }
        try lock.write {
            let old = collections[collection]
            var restored: CollectionState?
            try pool.writeWithoutTransaction { db in
                try db.execute(sql: "ATTACH DATABASE ? AS snap", arguments: [file.path])
                defer { try? db.execute(sql: "DETACH DATABASE snap") }
                try db.inTransaction {
                    if let old {
                        try db.execute(sql: "DELETE FROM points WHERE collection_id = ?", arguments: [old.id])
                        try db.execute(sql: "DELETE FROM collections WHERE id = ?", arguments: [old.id])
                    }
                    try db.execute(
                        sql:
                            "INSERT INTO main.collections (name, vector_size, distance, tenant_key, created_at, sparse_vectors) VALUES (?, ?, ?, ?, ?, ?)",
                        arguments: [
                            collection, config.vectorSize, config.distance.rawValue, config.tenantKey,
                            Date().timeIntervalSince1970, try Self.sparseConfigJSON(config),
                        ]
                    )
                    let newID = db.lastInsertedRowID
                    try db.execute(
                        sql: """
                            INSERT INTO main.payload_indexes (collection_id, field, schema)
                            SELECT ?, field, schema FROM snap.payload_indexes WHERE collection_id = ?
                            """,
                        arguments: [newID, snapshotID]
                    )
                    try db.execute(
                        sql: """
                            INSERT INTO main.points (collection_id, pid, tenant, vector, payload, sparse)
                            SELECT ?, pid, tenant, vector, payload, sparse FROM snap.points WHERE collection_id = ? ORDER BY pid
                            """,
                        arguments: [newID, snapshotID]
                    )
                    let state = CollectionState(id: newID, config: config)
                    try Self.loadCollection(db, state)
                    restored = state
                    return .commit
                }
            }
            collections[collection] = restored
        }
    }

    /// Builds one collection's in-memory state (shards, ids, sparse vectors, index definitions) from `db`.
    static func loadCollection(_ db: Database, _ state: CollectionState) throws {
        for row in try Row.fetchAll(db, sql: "SELECT field, schema FROM payload_indexes WHERE collection_id = ?", arguments: [state.id]) {
            state.payloadIndexes[row[0]] = try? JSONDecoder().decode(JSONValue.self, from: Data((row[1] as String).utf8))
        }
        let cursor = try Row.fetchCursor(
            db,
            sql: "SELECT rowid, tenant, vector, pid, sparse FROM points WHERE collection_id = ?",
            arguments: [state.id]
        )
        while let row = try cursor.next() {
            let rowid: Int64 = row[0]
            guard let pid = PointID(storageKey: row[3]) else { throw StoreError.invalidRequest("bad point id in row \(rowid)") }
            state.setPoint(rowid, pid)
            if !state.sparse.isEmpty, let blob = row[4] as Data? { state.setSparse(rowid, try SparseCoding.decode(blob)) }
            let shard = state.shard(row[1] as String?)
            try row.withUnsafeData(atIndex: 2) { data in
                guard let data else { throw StoreError.invalidRequest("point without vector") }
                try data.withUnsafeBytes { raw in
                    do { try shard.upsertPrepared(id: rowid, bytes: raw) } catch {
                        throw StoreError.invalidRequest("vector of point row \(rowid) has the wrong size")
                    }
                }
            }
        }
    }
}
