import EngramCore
import EngramDatabase
import EngramKernels
public import EngramStoreModel
import Foundation
import GRDB

/// Point writes: upserts, deletions and vector updates.
extension EmbeddedStore {
    // MARK: - Writes

    /// A point write staged in a group's transaction, applied to the in-memory shards once the group
    /// is durable.
    struct StagedUpsert: @unchecked Sendable {  // handed from the stage to the apply step on the writer queue
        let state: CollectionState
        let changes: [UpsertChange]
    }

    struct UpsertChange {
        let rowid: Int64
        let oldTenant: String??
        let tenant: String?
        let vector: [Float]
        let key: String
        let sparse: [String: SparseVector]
    }

    /// Inserts or replaces points, all or none. Suspends until the batch has been committed and
    /// fsynced (with the other writes that arrived meanwhile: `GroupCommitter`) and the in-memory
    /// shards updated.
    public func upsert(_ collection: String, points: [PointStruct]) async throws {
        guard !points.isEmpty else { return }
        try await committer.write(
            { db in try self.stageUpsert(db, collection, points: points) },
            then: { staged in try self.applyUpsert(staged) }
        )
    }

    /// Validates and writes the points inside a group's transaction (the write lock held).
    func stageUpsert(_ db: Database, _ collection: String, points: [PointStruct]) throws -> StagedUpsert {
        let state = try state(collection)
        let probe = VectorMatrix(dimension: state.config.vectorSize, normalizes: state.config.distance == .cosine)
        // Validate and encode the whole batch before touching the disk.
        struct Prepared {
            let key: String
            let vector: [Float]
            let tenant: String?
            let payload: Data
            let sparse: [String: SparseVector]
        }
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
            let key = p.id.storageKey
            let tenant = PayloadCoding.tenant(of: p.payload, key: state.config.tenantKey)
            let item = Prepared(
                key: key,
                vector: v,
                tenant: tenant,
                payload: try encodePayload(p.payload, key: key, tenant: tenant),
                sparse: sparse
            )
            if let i = lastIndexOfKey[item.key] {
                prepared[i] = item
            } else {
                lastIndexOfKey[item.key] = prepared.count
                prepared.append(item)
            }
        }
        let changes = try { () throws -> [UpsertChange] in
            var changes: [UpsertChange] = []
            let find = try db.cachedStatement(sql: "SELECT rowid, tenant FROM points WHERE collection_id = ? AND pid = ?")
            for p in prepared {
                if let old = try Row.fetchOne(find, arguments: [state.id, p.key]) {
                    let rowid: Int64 = old[0]
                    try db.execute(
                        sql: "UPDATE points SET tenant = ?, vector = ?, payload = ?, sparse = ? WHERE rowid = ?",
                        arguments: [
                            p.tenant, PayloadCoding.vectorData(p.vector), p.payload,
                            SparseCoding.encode(p.sparse), rowid,
                        ]
                    )
                    changes.append(
                        UpsertChange(
                            rowid: rowid,
                            oldTenant: .some(old[1] as String?),
                            tenant: p.tenant,
                            vector: p.vector,
                            key: p.key,
                            sparse: p.sparse
                        )
                    )
                } else {
                    try db.execute(
                        sql: "INSERT INTO points (collection_id, pid, tenant, vector, payload, sparse) VALUES (?, ?, ?, ?, ?, ?)",
                        arguments: [
                            state.id, p.key, p.tenant, PayloadCoding.vectorData(p.vector), p.payload,
                            SparseCoding.encode(p.sparse),
                        ]
                    )
                    changes.append(
                        UpsertChange(
                            rowid: db.lastInsertedRowID,
                            oldTenant: .none,
                            tenant: p.tenant,
                            vector: p.vector,
                            key: p.key,
                            sparse: p.sparse
                        )
                    )
                }
            }
            return changes
        }()
        return StagedUpsert(state: state, changes: changes)
    }

    /// The in-memory side of a committed upsert (the write lock held).
    func applyUpsert(_ staged: StagedUpsert) throws {
        let state = staged.state
        state.invalidate(staged.changes.map(\.rowid))
        for c in staged.changes {
            if case let .some(old) = c.oldTenant, old != c.tenant { state.shards[old]?.remove(id: c.rowid) }
            try state.shard(c.tenant).upsertPrepared(id: c.rowid, vector: c.vector)
            state.setPoint(c.rowid, PointID(storageKey: c.key))
            if !state.sparse.isEmpty { state.setSparse(c.rowid, c.sparse) }
        }
    }

    /// Deletes the selected points; returns how many existed. Suspends until the deletion has been
    /// committed and fsynced (with the other writes that arrived meanwhile: `GroupCommitter`) and the
    /// in-memory shards updated.
    @discardableResult
    public func delete(_ collection: String, _ selector: PointSelector) async throws -> Int {
        struct Staged: @unchecked Sendable {  // handed from the stage to the apply step on the writer queue
            let state: CollectionState
            let rows: [SelectedRow]
        }
        return try await committer.write(
            { db -> Staged in
                let state = try self.state(collection)
                let rows = try self.selectRows(db, state, selector)
                let stmt = try db.cachedStatement(sql: "DELETE FROM points WHERE rowid = ?")
                for r in rows { try stmt.execute(arguments: [r.rowid]) }
                return Staged(state: state, rows: rows)
            },
            then: { staged in
                let (state, rows) = (staged.state, staged.rows)
                state.invalidate(rows.map(\.rowid))
                for r in rows {
                    state.shards[r.tenant]?.remove(id: r.rowid)
                    state.setPoint(r.rowid, nil)
                    if !state.sparse.isEmpty { state.removeSparse(r.rowid) }
                }
                return rows.count
            }
        )
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
            struct Change {
                let rowid: Int64
                let tenant: String?
                let vector: [Float]?
                let sparse: [String: SparseVector]?
            }
            let changes = try pool.write { db -> [Change] in
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
                        try db.execute(
                            sql: "UPDATE points SET sparse = ? WHERE rowid = ?",
                            arguments: [SparseCoding.encode(merged), rowid]
                        )
                    }
                    if let v = u.vector {
                        try db.execute(
                            sql: "UPDATE points SET vector = ? WHERE rowid = ?",
                            arguments: [PayloadCoding.vectorData(v), rowid]
                        )
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
}
