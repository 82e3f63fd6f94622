import EngramCore
import EngramKernels
public import EngramStoreModel
import Foundation
import GRDB

/// Point reads: selection, retrieval by id, scroll and count.
extension EmbeddedStore {
    // MARK: - Reads

    struct SelectedRow {
        let rowid: Int64
        let id: PointID
        let tenant: String?
        let payload: Payload
    }

    /// The rows a selector picks, read inside a transaction.
    func selectRows(
        _ db: Database,
        _ state: CollectionState,
        _ selector: PointSelector,
        requireAll: Bool = false
    ) throws -> [SelectedRow] {
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
                return SelectedRow(rowid: row[0], id: id, tenant: row[1], payload: try decodePayload(row[2], key: id.storageKey, tenant: row[1]))
            }
        case let .filter(filter):
            var out: [SelectedRow] = []
            try scanRows(db, state, filter: filter, from: nil) { r in
                out.append(r)
                return true
            }
            return out
        }
    }

    /// Visits rows matching `filter` in id order from `from` (inclusive) until `visit` returns false.
    /// Without `decoding`, a row's payload is opened only when the filter needs it (otherwise the visitor
    /// gets an empty payload): listing ids or counting never touches a sealed value it does not need.
    func scanRows(
        _ db: Database,
        _ state: CollectionState,
        filter: Filter?,
        from: PointID?,
        decoding: Bool = true,
        _ visit: (SelectedRow) throws -> Bool
    ) throws {
        let plan = TenantPlan(filter: filter, tenantKey: state.config.tenantKey)
        var sql = "SELECT rowid, pid, tenant, payload FROM points WHERE collection_id = ?"
        var args: [(any DatabaseValueConvertible)?] = [state.id]
        if let from {
            sql += " AND pid >= ?"
            args.append(from.storageKey)
        }
        if let tenants = plan.tenants {
            sql += " AND (tenant IS NULL OR tenant IN (" + tenants.map { _ in "?" }.joined(separator: ",") + "))"
            args += tenants.map { $0 as (any DatabaseValueConvertible)? }
        }
        sql += " ORDER BY pid"
        let cursor = try Row.fetchCursor(db, sql: sql, arguments: StatementArguments(args))
        while let row = try cursor.next() {
            guard let id = PointID(storageKey: row[1]) else { throw StoreError.corrupt("bad point id") }
            let tenant: String? = row[2]
            let rowFilter = plan.filter(forTenant: tenant)
            let payload = decoding || rowFilter != nil ? try decodePayload(row[3], key: row[1], tenant: tenant) : [:]
            if let f = rowFilter, !FilterEvaluator.matches(f, id: id, payload: payload) { continue }
            if try !visit(SelectedRow(rowid: row[0], id: id, tenant: tenant, payload: payload)) { return }
        }
    }

    /// The found points in request order (missing ids are skipped). Suspends while the reader
    /// queue reads them.
    public func retrieve(
        _ collection: String,
        ids: [PointID],
        withPayload: Bool = true,
        withVector: Bool = false
    ) async throws -> [EngramStoreModel.Record] {
        try await onReader { try self.retrieveBlocking(collection, ids: ids, withPayload: withPayload, withVector: withVector) }
    }

    func retrieveBlocking(_ collection: String, ids: [PointID], withPayload: Bool, withVector: Bool) throws -> [Record] {
        try lock.read {
            let state = try state(collection)
            return try pool.read { db in
                let stmt = try db.cachedStatement(sql: "SELECT payload, vector, rowid, tenant FROM points WHERE collection_id = ? AND pid = ?")
                var seen = Set<PointID>()
                return try ids.compactMap { id -> Record? in
                    guard seen.insert(id).inserted, let row = try Row.fetchOne(stmt, arguments: [state.id, id.storageKey]) else { return nil }
                    return Record(
                        id: id,
                        payload: withPayload ? try decodePayload(row[0], key: id.storageKey, tenant: row[3]) : nil,
                        vector: withVector ? try PayloadCoding.vector(row[1], dimension: state.config.vectorSize) : nil,
                        sparseVectors: withVector ? state.sparseVectors(row[2]) : nil
                    )
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
            return try pool.read { db in
                var rows: [SelectedRow] = []
                var next: PointID?
                try scanRows(db, state, filter: request.filter, from: request.offset, decoding: request.withPayload) { r in
                    if rows.count == request.limit {
                        next = r.id
                        return false
                    }
                    rows.append(r)
                    return true
                }
                let vectorStmt = try db.cachedStatement(sql: "SELECT vector FROM points WHERE rowid = ?")
                let points = try rows.map { r in
                    Record(
                        id: r.id,
                        payload: request.withPayload ? r.payload : nil,
                        vector: request.withVector
                            ? try PayloadCoding.vector(
                                try Data.fetchOne(vectorStmt, arguments: [r.rowid]) ?? Data(),
                                dimension: state.config.vectorSize
                            )
                            : nil,
                        sparseVectors: request.withVector ? state.sparseVectors(r.rowid) : nil
                    )
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
            return try pool.read { db in
                var n = 0
                try scanRows(db, state, filter: filter, from: nil, decoding: false) { _ in
                    n += 1
                    return true
                }
                return n
            }
        }
    }

    /// Decoded payloads held in the collections' caches (filtered searches fill them; `engram-bench
    /// mcp` reports it beside the resident memory).
    public var cachedPayloadCount: Int { lock.read { collections.values.reduce(0) { $0 + $1.cachedPayloadCount } } }
}
