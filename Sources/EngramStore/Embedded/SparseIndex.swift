import EngramStoreModel
import Foundation

/// In-memory inverted index of one named sparse vector of a collection (rows keyed by row id).
final class SparseIndex: @unchecked Sendable {
    let modifier: SparseModifier
    private(set) var vectors: [Int64: SparseVector] = [:]
    /// Dimension index → (row id → value).
    private var postings: [UInt32: [Int64: Float]] = [:]

    init(modifier: SparseModifier) { self.modifier = modifier }

    var count: Int { vectors.count }

    func upsert(_ rowid: Int64, _ v: SparseVector) {
        remove(rowid)
        vectors[rowid] = v
        for (i, x) in zip(v.indices, v.values) { postings[i, default: [:]][rowid] = x }
    }

    func remove(_ rowid: Int64) {
        guard let old = vectors.removeValue(forKey: rowid) else { return }
        for i in old.indices {
            postings[i]?[rowid] = nil
            if postings[i]?.isEmpty == true { postings[i] = nil }
        }
    }

    /// Inverse document frequency of `index` over the rows holding this vector.
    func idf(_ index: UInt32) -> Double {
        let n = Double(vectors.count)
        let df = Double(postings[index]?.count ?? 0)
        return log((n - df + 0.5) / (df + 0.5) + 1)
    }

    /// Dot-product scores of every row sharing at least one index with `query` (IDF-weighted when configured).
    func scores(_ query: SparseVector) -> [Int64: Double] {
        var out: [Int64: Double] = [:]
        for (i, q) in zip(query.indices, query.values) {
            guard let list = postings[i] else { continue }
            let w = modifier == .idf ? Double(q) * idf(i) : Double(q)
            for (row, x) in list { out[row, default: 0] += w * Double(x) }
        }
        return out
    }
}

/// Binary encoding of a point's named sparse vectors (the `points.sparse` column):
/// little-endian `u32 count`, then per vector `u32 nameBytes, name, u32 n, n × u32 index, n × f32 value`.
enum SparseCoding {
    static func encode(_ vectors: [String: SparseVector]) -> Data? {
        guard !vectors.isEmpty else { return nil }
        var d = Data()
        func u32(_ x: UInt32) { withUnsafeBytes(of: x.littleEndian) { d.append(contentsOf: $0) } }
        u32(UInt32(vectors.count))
        for (name, v) in vectors.sorted(by: { $0.key < $1.key }) {
            let bytes = Array(name.utf8)
            u32(UInt32(bytes.count))
            d.append(contentsOf: bytes)
            u32(UInt32(v.indices.count))
            for i in v.indices { u32(i) }
            for x in v.values { u32(x.bitPattern) }
        }
        return d
    }

    static func decode(_ data: Data?) throws -> [String: SparseVector] {
        guard let data, !data.isEmpty else { return [:] }
        let b = [UInt8](data)
        var p = 0
        func u32() throws -> UInt32 {
            guard p + 4 <= b.count else { throw StoreError.corrupt("truncated sparse vector blob") }
            let x = UInt32(b[p]) | UInt32(b[p + 1]) << 8 | UInt32(b[p + 2]) << 16 | UInt32(b[p + 3]) << 24
            p += 4
            return x
        }
        var out: [String: SparseVector] = [:]
        let count = try u32()
        for _ in 0..<count {
            let len = Int(try u32())
            guard p + len <= b.count else { throw StoreError.corrupt("truncated sparse vector blob") }
            let name = String(decoding: b[p..<(p + len)], as: UTF8.self)
            p += len
            let n = Int(try u32())
            guard n <= (b.count - p) / 8 else { throw StoreError.corrupt("truncated sparse vector blob") }
            var idx: [UInt32] = []
            var val: [Float] = []
            idx.reserveCapacity(n)
            val.reserveCapacity(n)
            for _ in 0..<n { idx.append(try u32()) }
            for _ in 0..<n { val.append(Float(bitPattern: try u32())) }
            out[name] = SparseVector(indices: idx, values: val)
        }
        return out
    }
}
