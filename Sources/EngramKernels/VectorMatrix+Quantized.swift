import CBLAS
import CEngramKernels
import Foundation

/// Exact top-k through the int8 copy of the rows.
///
/// A full float scan is memory-bound (DESIGN.md §8): at 100k × 384 it reads 154 MB per query.
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

    /// One query's exact top-k through the int8 rows. Not split across threads: one core's
    /// int8 scan already reads at the memory bandwidth (`engram bench kernels`).
    func quantizedSearch(_ q: [Float], k: Int, accept: ((Int64) -> Bool)?) -> [ScoredID] {
        let query = QueryQuantization(q, stride: quantized.stride)
        let results = [quantizedScan(query, rows: 0..<count, k: k, accept: accept)]
        // The k-th best lower bound over all parts.
        var lowers = TopK(k: k)
        for part in results { for item in part.lowers.sorted() { lowers.insert(item) } }
        let floor = lowers.threshold
        var top = TopK(k: k)
        let d = Int32(dimension)
        q.withUnsafeBufferPointer { qp in
            for part in results {
                for c in part.candidates where c.upper >= floor {
                    let row = Int(c.row)
                    let score = cblas_sdot(d, qp.baseAddress, 1, storage! + row * dimension, 1)
                    top.insert(ScoredID(id: rowIDs[row], score: score))
                }
            }
        }
        return top.sorted()
    }

    /// Scans `rows` with the int8 kernel, keeping lower bounds and candidates.
    func quantizedScan(_ query: QueryQuantization, rows range: Range<Int>, k: Int,
                       accept: ((Int64) -> Bool)?) -> QuantizedPart {
        var part = QuantizedPart(lowers: TopK(k: k))
        let block = Self.quantizedBlock
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: block)
        defer { scratch.deallocate() }
        let stride = quantized.stride
        let data = quantized.data!, scales = quantized.scales!, errors = quantized.errors!, norms = quantized.norms!
        // A bound valid for every row: most rows fail the cheap test against it.
        let widest = query.bound(error: quantized.maxError, norm: quantized.maxNorm)
        var floor = -Float.infinity
        query.values.withUnsafeBufferPointer { qv in
            rowIDs.withUnsafeBufferPointer { ids in
                var start = range.lowerBound
                while start < range.upperBound {
                    let rows = min(block, range.upperBound - start)
                    engram_i8_scores(data + start * stride, scales + start, rows, stride, qv.baseAddress, query.scale, scratch)
                    for i in 0..<rows {
                        let s = scratch[i]
                        if s + widest < floor { continue }
                        let row = start + i
                        let b = query.bound(error: errors[row], norm: norms[row])
                        if s + b < floor { continue }
                        if let accept, !accept(ids[row]) { continue }
                        part.lowers.insert(ScoredID(id: Int64(row), score: s - b))
                        floor = part.lowers.threshold
                        part.candidates.append((Int32(row), s + b))
                    }
                    // Drop candidates the raised floor has ruled out, so the list stays short.
                    if part.candidates.count > 4 * k + 1024 {
                        part.candidates.removeAll { $0.upper < floor }
                    }
                    start += rows
                }
            }
        }
        part.candidates.removeAll { $0.upper < floor }
        return part
    }
}
