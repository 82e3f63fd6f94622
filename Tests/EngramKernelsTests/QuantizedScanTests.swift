import CEngramKernels
import XCTest

@testable import EngramKernels

/// The int8 scan must return the float scan's exact top-k: same ids, float scores.
final class QuantizedScanTests: XCTestCase {
    override func tearDown() {
        VectorMatrix.quantizedScan = true
        VectorMatrix.quantizedScanThreshold = 4096
    }

    /// Searches with the int8 scan and with the float scan and compares.
    func assertSameAsFloat(
        _ m: VectorMatrix,
        _ q: [Float],
        k: Int,
        accept: ((Int64) -> Bool)? = nil,
        file: StaticString = #filePath,
        line: UInt = #line
    ) throws {
        VectorMatrix.quantizedScan = false
        let want = try m.search(q, k: k, accept: accept)
        VectorMatrix.quantizedScan = true
        VectorMatrix.quantizedScanThreshold = 1
        let got = try m.search(q, k: k, accept: accept)
        XCTAssertEqual(got.count, want.count, "result count", file: file, line: line)
        for (g, w) in zip(got, want) {
            // Float summation order differs between sdot and sgemv: relative tolerance.
            let scale = max(1, abs(w.score))
            XCTAssertEqual(g.score, w.score, accuracy: 1e-5 * scale, file: file, line: line)
            if g.id != w.id {
                // Only near-equal scores may trade places.
                XCTAssertEqual(g.score, w.score, accuracy: 1e-6 * scale, "ids \(g.id) vs \(w.id) differ without a tie", file: file, line: line)
            }
        }
    }

    func testRandomRowsGiveTheFloatTopK() throws {
        var rng = TestRNG(state: 31)
        for (n, d, k) in [(50, 8, 5), (3000, 384, 10), (20_000, 64, 30), (9_000, 100, 1)] {
            let m = VectorMatrix(dimension: d)
            for i in 0..<n { try m.upsert(id: Int64(i), vector: rng.vector(d)) }
            for _ in 0..<8 { try assertSameAsFloat(m, rng.vector(d), k: k) }
        }
    }

    /// Near-duplicate clusters put many rows within the quantisation error of the k-th best:
    /// the bound must still keep every one of them as a candidate.
    func testClusteredRowsGiveTheFloatTopK() throws {
        var rng = TestRNG(state: 32)
        let d = 384
        let centres = (0..<5).map { _ in rng.vector(d) }
        let m = VectorMatrix(dimension: d)
        for i in 0..<10_000 {
            let c = centres[i % centres.count]
            let v = c.map { $0 + rng.float() * 0.01 }
            try m.upsert(id: Int64(i), vector: v)
        }
        for c in centres {
            try assertSameAsFloat(m, c.map { $0 + rng.float() * 0.005 }, k: 50)
        }
        // Exact copies: ties everywhere.
        let copies = VectorMatrix(dimension: 16)
        let v = rng.vector(16)
        for i in 0..<500 { try copies.upsert(id: Int64(i), vector: v) }
        try assertSameAsFloat(copies, v, k: 20)
    }

    func testAcceptPredicateAndDotProduct() throws {
        var rng = TestRNG(state: 33)
        let m = VectorMatrix(dimension: 48)
        for i in 0..<6000 { try m.upsert(id: Int64(i), vector: rng.vector(48)) }
        try assertSameAsFloat(m, rng.vector(48), k: 15, accept: { $0 % 7 == 3 })
        // Dot product: rows and queries keep their lengths (from 0.001 to 1000).
        let dot = VectorMatrix(dimension: 32, normalizes: false)
        for i in 0..<5000 {
            let scale = Float([0.001, 1, 30, 1000][i % 4])
            try dot.upsert(id: Int64(i), vector: rng.vector(32).map { $0 * scale })
        }
        for scale: Float in [0.01, 1, 500] { try assertSameAsFloat(dot, rng.vector(32).map { $0 * scale }, k: 12) }
        // A zero row and a zero query.
        try dot.upsert(id: 99_999, vector: [Float](repeating: 0, count: 32))
        try assertSameAsFloat(dot, [Float](repeating: 0, count: 32), k: 3)
    }

    /// Overwrites and swap-removes must keep the int8 rows in step with the float rows.
    func testBatchSearchMatchesSingleSearches() throws {
        var rng = TestRNG(state: 36)
        let m = VectorMatrix(dimension: 96)
        for i in 0..<7000 { try m.upsert(id: Int64(i), vector: rng.vector(96)) }
        let queries = (0..<11).map { _ in rng.vector(96) }
        let batch = try m.search(batch: queries, k: 17)
        VectorMatrix.quantizedScan = false
        for (q, got) in zip(queries, batch) {
            let want = try m.search(q, k: 17)
            XCTAssertEqual(got.map(\.id), want.map(\.id))
            for (g, w) in zip(got, want) { XCTAssertEqual(g.score, w.score, accuracy: 1e-5) }
        }
    }

    func testUpdatesAndRemovalsKeepTheInt8RowsInStep() throws {
        var rng = TestRNG(state: 34)
        let m = VectorMatrix(dimension: 64)
        for i in 0..<8000 { try m.upsert(id: Int64(i), vector: rng.vector(64)) }
        for i in stride(from: 0, to: 8000, by: 3) { m.remove(id: Int64(i)) }
        for i in stride(from: 1, to: 8000, by: 5) { try m.upsert(id: Int64(i), vector: rng.vector(64)) }
        let q = rng.vector(64)
        try m.upsert(id: 123_456, vector: q)  // the best match, added last
        VectorMatrix.quantizedScanThreshold = 1
        XCTAssertEqual(try m.search(q, k: 1).first?.id, 123_456)
        for _ in 0..<5 { try assertSameAsFloat(m, rng.vector(64), k: 20) }
        m.removeAll()
        for i in 0..<100 { try m.upsert(id: Int64(i), vector: rng.vector(64)) }
        try assertSameAsFloat(m, rng.vector(64), k: 10)
    }

    /// Every kernel path (AVX-512, AVX2, portable) computes the same scores.
    func testKernelPathsAgree() {
        var rng = TestRNG(state: 35)
        let n = 37
        let stride = 128
        let rows = (0..<(n * stride)).map { _ in Int8(truncatingIfNeeded: Int(rng.next() % 255) - 127) }
        let scales = (0..<n).map { _ in Float(rng.next() % 1000 + 1) / 1e5 }
        let query = (0..<stride).map { _ in Int16(truncatingIfNeeded: Int(rng.next() % 60_000) - 30_000) }
        var expected = [Float](repeating: 0, count: n)
        for i in 0..<n {
            var acc: Int64 = 0
            for j in 0..<stride { acc += Int64(query[j]) * Int64(rows[i * stride + j]) }
            expected[i] = 0.5 * scales[i] * Float(acc)
        }
        for isa in [0, 1, 2] {
            var out = [Float](repeating: .nan, count: n)
            engram_i8_scores_isa(Int32(isa), rows, scales, n, stride, query, [0.5], 1, &out)
            XCTAssertEqual(out, expected, "path \(isa)")
        }
        // Several queries per pass (up to 8, and 11 = 8 + 3 in two passes): each as if alone.
        for nq in [2, 5, 8, 11] {
            let queries = (0..<(nq * stride)).map { _ in Int16(truncatingIfNeeded: Int(rng.next() % 60_000) - 30_000) }
            let queryScales = (0..<nq).map { Float($0 + 1) / 4 }
            var alone: [Float] = []
            for q in 0..<nq {
                var out = [Float](repeating: .nan, count: n)
                engram_i8_scores_isa(0, rows, scales, n, stride, Array(queries[(q * stride)..<((q + 1) * stride)]), [queryScales[q]], 1, &out)
                alone += out
            }
            for isa in [0, 1, 2] {
                var out = [Float](repeating: .nan, count: nq * n)
                engram_i8_scores_isa(Int32(isa), rows, scales, n, stride, queries, queryScales, Int32(nq), &out)
                XCTAssertEqual(out, alone, "path \(isa), \(nq) queries")
            }
        }
        XCTAssertTrue(["avx512", "avx2", "portable"].contains(VectorMatrix.quantizedKernel))
    }
}
