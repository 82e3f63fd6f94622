import EngramCore
import EngramKernels
import Foundation
import GRDB

/// Engine features behind the Qdrant-compatible API: sparse-vector search, vector updates,
/// strict payload edits and payload index definitions. The default single-dense-vector
/// path (`upsert` / `search`) does no extra work for any of them.
extension EmbeddedStore {
    // MARK: - Sparse search

    /// Exact search on a named sparse vector: dot product over shared indices (query values
    /// weighted by IDF when the vector has that modifier); points sharing no index are not hits.
    /// Suspends while the reader queue scans (it takes the lock and reads payloads from SQLite).
    public func searchSparse(_ collection: String, _ request: SparseSearchRequest) async throws -> [ScoredPoint] {
        try await onReader { try self.searchSparseBlocking(collection, request) }
    }

    func searchSparseBlocking(_ collection: String, _ request: SparseSearchRequest) throws -> [ScoredPoint] {
        guard request.limit >= 0, request.offset >= 0 else { throw StoreError.invalidRequest("limit and offset must be non-negative") }
        return try lock.read {
            let state = try state(collection)
            guard let index = state.sparse[request.using] else {
                throw StoreError.invalidRequest("Not existing vector name error: \(request.using)")
            }
            let query = try request.vector.normalized()
            let need = request.limit + request.offset
            guard need > 0 else { return [] }
            var ranked = index.scores(query).map { ScoredID(id: $0.key, score: Float($0.value)) }
            ranked.sort(by: ScoredID.ranksBefore)
            let filter = (request.filter?.isEmpty ?? true) ? nil : request.filter
            return try database.read { db in
                let fetch = try db.cachedStatement(sql: "SELECT payload FROM points WHERE rowid = ?")
                func load(_ rowid: Int64) throws -> Payload {
                    if let cached = state.cachedPayload(rowid) { return cached }
                    guard let data = try Data.fetchOne(fetch, arguments: [rowid]) else { throw StoreError.corrupt("point row \(rowid) missing") }
                    let payload = try PayloadCoding.decode(data)
                    state.cache(payload, for: rowid)
                    return payload
                }
                var accepted: [ScoredID] = []
                for hit in ranked {
                    if accepted.count == need { break }
                    guard let id = state.pointID[hit.id] else { continue }
                    if let filter, !FilterEvaluator.matches(filter, id: id, payload: try load(hit.id)) { continue }
                    accepted.append(hit)
                }
                let vectorStmt = try db.cachedStatement(sql: "SELECT vector FROM points WHERE rowid = ?")
                var results: [ScoredPoint] = []
                for hit in accepted.dropFirst(request.offset) {
                    if let t = request.scoreThreshold, hit.score < t { break }
                    guard let id = state.pointID[hit.id] else { continue }
                    var vector: [Float]?
                    if request.withVector, let data = try Data.fetchOne(vectorStmt, arguments: [hit.id]) {
                        vector = try PayloadCoding.vector(data, dimension: state.config.vectorSize)
                    }
                    results.append(ScoredPoint(id: id, score: hit.score, payload: request.withPayload ? try load(hit.id) : nil,
                                               vector: vector, sparseVectors: request.withVector ? state.sparseVectors(hit.id) : nil))
                }
                return results
            }
        }
    }

    // MARK: - Vector updates

    /// Replaces the given vectors of existing points (others keep their value). Fails with
    /// `StoreError.pointNotFound` (writing nothing) when a point does not exist. Suspends until the
    /// writer queue has committed and fsynced the update and updated the in-memory shards.
    public func updateVectors(_ collection: String, _ updates: [PointVectorsUpdate]) async throws {
        guard !updates.isEmpty else { return }
        try await onWriter { try self.updateVectorsBlocking(collection, updates) }
    }

    func updateVectorsBlocking(_ collection: String, _ updates: [PointVectorsUpdate]) throws {
        try lock.write {
            let state = try state(collection)
            let probe = VectorMatrix(dimension: state.config.vectorSize, normalizes: state.config.distance == .cosine)
            var prepared: [PointVectorsUpdate] = []
            for u in updates {
                var p = u
                if let v = u.vector {
                    do { p.vector = try probe.prepare(v) } catch let KernelError.dimensionMismatch(e, g) {
                        throw StoreError.dimensionMismatch(expected: e, got: g)
                    } catch { throw StoreError.invalidVector("\(error)") }
                }
                for (name, sv) in u.sparseVectors {
                    guard state.sparse[name] != nil else { throw StoreError.invalidRequest("Not existing vector name error: \(name)") }
                    p.sparseVectors[name] = try sv.normalized()
                }
                prepared.append(p)
            }
            struct Change { let rowid: Int64; let tenant: String?; let vector: [Float]?; let sparse: [String: SparseVector]? }
            let changes = try database.write { db -> [Change] in
                let find = try db.cachedStatement(sql: "SELECT rowid, tenant, sparse FROM points WHERE collection_id = ? AND pid = ?")
                var changes: [Change] = []
                for u in prepared {
                    guard let row = try Row.fetchOne(find, arguments: [state.id, u.id.storageKey]) else {
                        throw StoreError.pointNotFound(u.id)
                    }
                    let rowid: Int64 = row[0]
                    var sparse: [String: SparseVector]?
                    if !u.sparseVectors.isEmpty {
                        var merged = try SparseCoding.decode(row[2])
                        for (k, v) in u.sparseVectors { merged[k] = v }
                        sparse = merged
                        try db.execute(sql: "UPDATE points SET sparse = ? WHERE rowid = ?",
                                       arguments: [SparseCoding.encode(merged), rowid])
                    }
                    if let v = u.vector {
                        try db.execute(sql: "UPDATE points SET vector = ? WHERE rowid = ?",
                                       arguments: [PayloadCoding.vectorData(v), rowid])
                    }
                    changes.append(Change(rowid: rowid, tenant: row[1], vector: u.vector, sparse: sparse))
                }
                return changes
            }
            for c in changes {
                if let v = c.vector { try state.shard(c.tenant).upsertPrepared(id: c.rowid, vector: v) }
                if let s = c.sparse { state.setSparse(c.rowid, s) }
            }
        }
    }

    // MARK: - Payload index definitions

    /// Records a payload index definition (Qdrant's `payload_schema`). Exact search needs no
    /// index; the definition is kept durably so clients see what they created. A keyword index
    /// with `is_tenant: true` on a collection without a tenant key makes that field the tenant
    /// key: points are re-sharded per value, so searches pinning it scan only those shards.
    /// Suspends until the writer queue has committed and fsynced the definition (and re-sharding).
    public func createPayloadIndex(_ collection: String, field: String, schema: JSONValue) async throws {
        try await onWriter { try self.createPayloadIndexBlocking(collection, field: field, schema: schema) }
    }

    func createPayloadIndexBlocking(_ collection: String, field: String, schema: JSONValue) throws {
        guard !field.isEmpty else { throw StoreError.invalidRequest("field_name must not be empty") }
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        let json = String(decoding: try e.encode(schema), as: UTF8.self)
        var isTenant = false
        if case let .object(o) = schema, o["is_tenant"] == .bool(true), o["type"] == .string("keyword") { isTenant = true }
        try lock.write {
            let state = try state(collection)
            guard isTenant, state.config.tenantKey == nil else {
                try database.write { db in
                    try db.execute(sql: "INSERT OR REPLACE INTO payload_indexes (collection_id, field, schema) VALUES (?, ?, ?)",
                                   arguments: [state.id, field, json])
                }
                state.payloadIndexes[field] = schema
                return
            }
            var config = state.config
            config.tenantKey = field
            let resharded = CollectionState(id: state.id, config: config)
            try database.write { db in
                try db.execute(sql: "INSERT OR REPLACE INTO payload_indexes (collection_id, field, schema) VALUES (?, ?, ?)",
                               arguments: [state.id, field, json])
                try db.execute(sql: "UPDATE collections SET tenant_key = ? WHERE id = ?", arguments: [field, state.id])
                let update = try db.cachedStatement(sql: "UPDATE points SET tenant = ? WHERE rowid = ?")
                let rows = try Row.fetchAll(db, sql: "SELECT rowid, payload FROM points WHERE collection_id = ?", arguments: [state.id])
                for row in rows {
                    let tenant = PayloadCoding.tenant(of: try PayloadCoding.decode(row[1]), key: field)
                    try update.execute(arguments: [tenant, row[0] as Int64])
                }
                try Self.loadCollection(db, resharded)
            }
            collections[collection] = resharded
        }
    }

    /// Removes a payload index definition; returns whether it existed. Suspends until the writer
    /// queue has committed and fsynced the removal.
    @discardableResult
    public func deletePayloadIndex(_ collection: String, field: String) async throws -> Bool {
        try await onWriter { try self.deletePayloadIndexBlocking(collection, field: field) }
    }

    func deletePayloadIndexBlocking(_ collection: String, field: String) throws -> Bool {
        try lock.write {
            let state = try state(collection)
            guard state.payloadIndexes[field] != nil else { return false }
            try database.write { db in
                try db.execute(sql: "DELETE FROM payload_indexes WHERE collection_id = ? AND field = ?", arguments: [state.id, field])
            }
            state.payloadIndexes[field] = nil
            return true
        }
    }

    /// The payload index definitions of a collection, field → schema. Suspends on the reader
    /// queue (for the lock).
    public func payloadIndexes(_ collection: String) async throws -> [String: JSONValue] {
        try await onReader { try self.lock.read { try self.state(collection).payloadIndexes } }
    }

    /// The collection names, sorted. Suspends on the reader queue (for the lock).
    public func collectionNames() async throws -> [String] {
        try await onReader { self.lock.read { self.collections.keys.sorted() } }
    }
}
