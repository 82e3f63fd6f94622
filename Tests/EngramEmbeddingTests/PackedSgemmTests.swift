import CBLAS
import CEngramKernels
import XCTest

/// The packed-weight kernel (`engram_sgemm_packed`, every CPU path) against `cblas_sgemm`.
final class PackedSgemmTests: XCTestCase {
    struct RNG {
        var state: UInt64
        mutating func float() -> Float {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return Float(state >> 40) / Float(1 << 24) * 2 - 1
        }
    }

    func check(
        m: Int,
        n: Int,
        k: Int,
        lda: Int,
        ldc: Int,
        beta: Float,
        isa: Int32,
        rng: inout RNG,
        file: StaticString = #filePath,
        line: UInt = #line
    ) {
        let a = (0..<(m * lda)).map { _ in rng.float() }
        let b = (0..<(k * n)).map { _ in rng.float() }
        let c0 = (0..<(m * ldc)).map { _ in rng.float() }
        var packed = [Float](repeating: .nan, count: engram_sgemm_packed_count(Int32(k), Int32(n)))
        engram_sgemm_pack(Int32(k), Int32(n), b, Int32(n), &packed)
        var want = c0
        cblas_sgemm(
            CblasRowMajor,
            CblasNoTrans,
            CblasNoTrans,
            Int32(m),
            Int32(n),
            Int32(k),
            1,
            a,
            Int32(lda),
            b,
            Int32(n),
            beta,
            &want,
            Int32(ldc)
        )
        // beta = 0 must not read C: start from NaN there.
        var got = beta == 0 ? [Float](repeating: .nan, count: m * ldc) : c0
        engram_sgemm_packed_isa(isa, Int32(m), Int32(n), Int32(k), a, Int32(lda), packed, beta, &got, Int32(ldc))
        for i in 0..<m {
            for j in 0..<n {
                // Error relative to Σ|a||b| (+ |beta·c|), the scale of the rounding.
                var scale = abs(beta * c0[i * ldc + j])
                for p in 0..<k { scale += abs(a[i * lda + p] * b[p * n + j]) }
                XCTAssertEqual(
                    got[i * ldc + j],
                    want[i * ldc + j],
                    accuracy: 1e-5 * max(scale, 1e-6),
                    "m \(m) n \(n) k \(k) isa \(isa) at \(i),\(j)",
                    file: file,
                    line: line
                )
            }
            // Columns past n are left alone.
            for j in n..<ldc where beta != 0 {
                XCTAssertEqual(got[i * ldc + j], c0[i * ldc + j], file: file, line: line)
            }
        }
    }

    func testMatchesBLASOnEveryPath() {
        var rng = RNG(state: 77)
        for isa: Int32 in [0, 1, 2] {
            for (m, n, k) in [
                (1, 1, 1), (3, 17, 5), (12, 1152, 384), (13, 384, 384), (8, 1536, 384), (40, 384, 1536),
                (100, 48, 2100), (250, 33, 7),
            ] {
                check(m: m, n: n, k: k, lda: k, ldc: n, beta: 0, isa: isa, rng: &rng)
                check(m: m, n: n, k: k, lda: k + 3, ldc: n + 5, beta: 1, isa: isa, rng: &rng)
            }
            check(m: 7, n: 20, k: 9, lda: 9, ldc: 20, beta: 0.5, isa: isa, rng: &rng)
        }
        XCTAssertTrue((0...2).contains(engram_sgemm_isa()))
    }
}
