import Dispatch
import EngramCore
import EngramKernels
import EngramStoreModel
import Synchronization

extension EmbeddedStore {
    /// One collection in memory: its vector shards per tenant value, sparse indexes, payload index
    /// definitions, the row id ↔ point id maps and a cache of decoded payloads.
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

        /// The name of the segment file known to hold exactly this collection's shards (opened from it
        /// or written from them); nil when none is.
        var segment: String?

        /// Makes room for `points` more rows in the id maps.
        func reservePoints(_ points: Int) {
            pointID.reserveCapacity(pointID.count + points)
            rowOf.reserveCapacity(rowOf.count + points)
        }

        /// Sets both id maps of a collection loaded from a segment file (built side by side, on two
        /// cores); false, changing nothing, when a row id or a point id repeats.
        func installPoints(_ rows: [(Int64, PointID)]) -> Bool {
            final class Maps: @unchecked Sendable {  // each map is written by one of the two iterations only
                var byRow: [Int64: PointID] = [:]
                var byID: [PointID: Int64] = [:]
            }
            let maps = Maps()
            DispatchQueue.concurrentPerform(iterations: 2) { part in
                if part == 0 {
                    var byRow = [Int64: PointID](minimumCapacity: rows.count)
                    for (rowid, pid) in rows { byRow[rowid] = pid }
                    maps.byRow = byRow
                } else {
                    var byID = [PointID: Int64](minimumCapacity: rows.count)
                    for (rowid, pid) in rows { byID[pid] = rowid }
                    maps.byID = byID
                }
            }
            guard maps.byRow.count == rows.count, maps.byID.count == rows.count else { return false }
            pointID = maps.byRow
            rowOf = maps.byID
            return true
        }

        /// Takes the shards and point ids of `other` (the same collection, loaded aside), forgetting
        /// its own.
        func replacePoints(with other: CollectionState) {
            shards = other.shards
            pointID = other.pointID
            rowOf = other.rowOf
            segment = nil
            payloadCache.withLock { $0.removeAll() }
        }

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

        /// How many decoded payloads the cache holds.
        var cachedPayloadCount: Int { payloadCache.withLock { $0.count } }

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
}
