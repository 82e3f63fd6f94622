import EngramCore
import EngramKernels
public import EngramStoreModel
import Foundation
import GRDB

/// Exact dense search (single and batch) and sparse search.
extension EmbeddedStore {
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
            return try pool.read { db in
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
    func search(
        _ db: Database,
        _ state: CollectionState,
        _ request: SearchRequest,
        _ plan: TenantPlan,
        firstPass: [String?: [ScoredID]]
    ) throws -> [ScoredPoint] {
        let need = request.limit + request.offset
        guard need > 0 else { return [] }
        let fetch = try db.cachedStatement(sql: "SELECT payload, pid, tenant FROM points WHERE rowid = ?")
        func load(_ rowid: Int64) throws -> (PointID, Payload) {
            guard let id = state.pointID[rowid] else { throw StoreError.corrupt("point row \(rowid) missing") }
            if let cached = state.cachedPayload(rowid) { return (id, cached) }
            guard let row = try Row.fetchOne(fetch, arguments: [rowid]) else { throw StoreError.corrupt("point row \(rowid) missing") }
            let payload = try decodePayload(row[0], key: row[1], tenant: row[2])
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
            results.append(
                ScoredPoint(
                    id: id,
                    score: hit.score,
                    payload: payload,
                    vector: vector,
                    sparseVectors: request.withVector ? state.sparseVectors(hit.id) : nil
                )
            )
        }
        return results
    }

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
            return try pool.read { db in
                let fetch = try db.cachedStatement(sql: "SELECT payload, pid, tenant FROM points WHERE rowid = ?")
                func load(_ rowid: Int64) throws -> Payload {
                    if let cached = state.cachedPayload(rowid) { return cached }
                    guard let row = try Row.fetchOne(fetch, arguments: [rowid]) else { throw StoreError.corrupt("point row \(rowid) missing") }
                    let payload = try decodePayload(row[0], key: row[1], tenant: row[2])
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
                    results.append(
                        ScoredPoint(
                            id: id,
                            score: hit.score,
                            payload: request.withPayload ? try load(hit.id) : nil,
                            vector: vector,
                            sparseVectors: request.withVector ? state.sparseVectors(hit.id) : nil
                        )
                    )
                }
                return results
            }
        }
    }
}
