import CBLAS
import CEngramKernels
import Foundation

/// Exact top-k through the int8 copy of the rows.
///
/// A full float scan is memory-bound (it streams every row once): at 100k × 384 it reads 154 MB per query.
/// The int8 rows are a quarter of that. Each int8 score `ŝᵢ` is within a proven bound `bᵢ` of
/// the float similarity (`QueryQuantization.bound`), so:
///
/// 1. the scan keeps the k largest lower bounds `ŝᵢ − bᵢ`; their smallest, `L`, is a value at
///    least k rows reach, so the k-th best similarity is ≥ `L`;
/// 2. every row whose upper bound `ŝᵢ + bᵢ` reaches `L` is a candidate, and no other row can
///    be in the top k;
/// 3. candidates are rescored with the float rows (`cblas_sdot`) and the best k returned.
///
/// The result is the same set the float scan returns (up to float rounding of equal scores);
/// `VectorMatrixTests` checks this against `cblas_sgemv` on random and clustered data. Only a
/// few dozen to a few hundred rows are rescored in practice.
extension VectorMatrix {
    /// Use the int8 scan for matrices of at least `quantizedScanThreshold` rows (below that the
    /// float rows fit in cache and `cblas_sgemv` is as fast). Benchmarks switch it off to compare.
    public nonisolated(unsafe) static var quantizedScan = true
    /// Rows from which the int8 scan is used.
    public nonisolated(unsafe) static var quantizedScanThreshold = 4096
    /// Whether searches of this matrix take the int8 path (single and batch alike).
    public var usesQuantizedScan: Bool { Self.quantizedScan && count >= Self.quantizedScanThreshold }

    /// Rows scored per call of the int8 kernel.
    static let quantizedBlock = 4096

    /// Which int8 kernel this CPU runs (`avx512`, `avx2` or `portable`).
    public static var quantizedKernel: String {
        switch engram_i8_isa() {
        case 2: return "avx512"
        case 1: return "avx2"
        default: return "portable"
        }
    }

    /// One part's result: the k best lower bounds and the rows that may still be in the top k.
    struct QuantizedPart {
        var lowers: TopK
        var candidates: [(row: Int32, upper: Float)] = []
    }

    /// Exact top-k for each query through the int8 rows, all queries in one pass over the rows
    /// (the int8 kernel reads each row once for up to eight queries, so concurrent searches
    /// batched together share the memory traffic). Not split across threads: one core's int8
    /// scan already reads at the memory bandwidth (`engram-bench kernels`).
    /// - Parameter queries: prepared (normalised) queries.
    func quantizedSearch(_ queries: [[Float]], k: Int, accept: ((Int64) -> Bool)?) -> [[ScoredID]] {
        let stride = quantized.stride
        let quantizedQueries = queries.map { QueryQuantization($0, stride: stride) }
        let parts = quantizedScan(quantizedQueries, k: k, accept: accept)
        let d = Int32(dimension)
        if readsRowsAhead {
            readAhead(rows: parts.lazy.flatMap { part in part.candidates.lazy.filter { $0.upper >= part.lowers.threshold }.map { Int($0.row) } })
        }
        return zip(queries, parts).map { q, part in
            // The k-th best lower bound: every row in the top k has an upper bound at least this.
            let floor = part.lowers.threshold
            var top = TopK(k: k)
            q.withUnsafeBufferPointer { qp in
                for c in part.candidates where c.upper >= floor {
                    let row = Int(c.row)
                    let score = cblas_sdot(d, qp.baseAddress, 1, storage! + row * dimension, 1)
                    top.insert(ScoredID(id: rowIDs[row], score: score))
                }
            }
            return top.sorted()
        }
    }

    /// One pass over all rows for every query, keeping each query's lower bounds and candidates.
    func quantizedScan(_ queries: [QueryQuantization], k: Int, accept: ((Int64) -> Bool)?) -> [QuantizedPart] {
        let nq = queries.count
        var parts = (0..<nq).map { _ in QuantizedPart(lowers: TopK(k: k)) }
        guard nq > 0 else { return [] }
        let block = Self.quantizedBlock
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: block * nq)
        defer { scratch.deallocate() }
        let stride = quantized.stride
        let n = count
        let data = quantized.data!
        let scales = quantized.scales!
        let errors = quantized.errors!
        let norms = quantized.norms!
        var values: [Int16] = []
        values.reserveCapacity(nq * stride)
        for q in queries { values += q.values }
        let queryScales = queries.map(\.scale)
        // A bound valid for every row, per query: most rows fail the cheap test against it.
        let widest = queries.map { $0.bound(error: quantized.maxError, norm: quantized.maxNorm) }
        var floors = [Float](repeating: -.infinity, count: nq)
        values.withUnsafeBufferPointer { qv in
            rowIDs.withUnsafeBufferPointer { ids in
                var start = 0
                while start < n {
                    let rows = min(block, n - start)
                    engram_i8_scores(
                        data + start * stride,
                        scales + start,
                        rows,
                        stride,
                        qv.baseAddress,
                        queryScales,
                        Int32(nq),
                        scratch
                    )
                    for qi in 0..<nq {
                        let scores = scratch + qi * rows
                        let query = queries[qi]
                        var floor = floors[qi]
                        let wide = widest[qi]
                        for i in 0..<rows {
                            let s = scores[i]
                            if s + wide < floor { continue }
                            let row = start + i
                            let b = query.bound(error: errors[row], norm: norms[row])
                            if s + b < floor { continue }
                            if let accept, !accept(ids[row]) { continue }
                            parts[qi].lowers.insert(ScoredID(id: Int64(row), score: s - b))
                            floor = parts[qi].lowers.threshold
                            parts[qi].candidates.append((Int32(row), s + b))
                        }
                        // Drop candidates the raised floor has ruled out, so the list stays short.
                        if parts[qi].candidates.count > 4 * k + 1024 {
                            parts[qi].candidates.removeAll { $0.upper < floor }
                        }
                        floors[qi] = floor
                    }
                    start += rows
                }
            }
        }
        for qi in 0..<nq { parts[qi].candidates.removeAll { $0.upper < floors[qi] } }
        return parts
    }
}
