import XCTest

@testable import EngramKernels

/// Deterministic pseudo-random data for the tests.
struct TestRNG {
    var state: UInt64
    mutating func next() -> UInt64 {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return state
    }
    mutating func float() -> Float { Float(next() >> 40) / Float(1 << 24) * 2 - 1 }
    mutating func vector(_ d: Int) -> [Float] { (0..<d).map { _ in float() } }
}

/// The reference: normalise in Double, score every row, full sort.
func naiveTopK(rows: [(Int64, [Float])], query: [Float], k: Int) -> [(Int64, Double)] {
    func normalised(_ v: [Float]) -> [Double] {
        let n = v.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
        return v.map { n > 0 ? Double($0) / n : Double($0) }
    }
    let q = normalised(query)
    let scored = rows.map { id, v -> (Int64, Double) in
        let r = normalised(v)
        return (id, zip(q, r).reduce(0) { $0 + $1.0 * $1.1 })
    }
    return Array(scored.sorted { $0.1 > $1.1 || ($0.1 == $1.1 && $0.0 < $1.0) }.prefix(k))
}

final class VectorMatrixTests: XCTestCase {
    func assertSameTopK(_ got: [ScoredID], _ want: [(Int64, Double)], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(got.count, want.count, "result count", file: file, line: line)
        for (g, w) in zip(got, want) {
            XCTAssertEqual(Double(g.score), w.1, accuracy: 1e-5, "score of \(g.id)", file: file, line: line)
            if g.id != w.0 {
                // Only a near-tie may swap places between float and double arithmetic.
                XCTAssertEqual(Double(g.score), w.1, accuracy: 1e-6, "id \(g.id) vs \(w.0) differ without a tie", file: file, line: line)
            }
        }
        XCTAssertEqual(Set(got.map(\.id)).count, got.count, "duplicate ids", file: file, line: line)
    }

    func testSingleQueryMatchesNaiveLoop() throws {
        var rng = TestRNG(state: 1)
        for (n, d, k) in [(1, 8, 1), (37, 16, 5), (1000, 32, 10), (20_000, 64, 25)] {
            let m = VectorMatrix(dimension: d)
            var rows: [(Int64, [Float])] = []
            for i in 0..<n {
                let v = rng.vector(d)
                rows.append((Int64(i * 3 + 7), v))
                try m.upsert(id: Int64(i * 3 + 7), vector: v)
            }
            for _ in 0..<5 {
                let q = rng.vector(d)
                assertSameTopK(try m.search(q, k: k), naiveTopK(rows: rows, query: q, k: k))
            }
        }
    }

    func testBatchMatchesSingles() throws {
        var rng = TestRNG(state: 2)
        let m = VectorMatrix(dimension: 24)
        for i in 0..<3000 { try m.upsert(id: Int64(i), vector: rng.vector(24)) }
        let qs = (0..<7).map { _ in rng.vector(24) }
        let batch = try m.search(batch: qs, k: 12)
        XCTAssertEqual(batch.count, qs.count)
        for (q, b) in zip(qs, batch) {
            let single = try m.search(q, k: 12)
            XCTAssertEqual(b.map(\.id), single.map(\.id))
            for (x, y) in zip(b, single) { XCTAssertEqual(x.score, y.score, accuracy: 1e-5) }
        }
    }

    func testTiesBreakByAscendingID() throws {
        let m = VectorMatrix(dimension: 4)
        for id in [9, 3, 7, 1] as [Int64] { try m.upsert(id: id, vector: [1, 0, 0, 0]) }
        try m.upsert(id: 5, vector: [0, 1, 0, 0])
        let r = try m.search([1, 0, 0, 0], k: 3)
        XCTAssertEqual(r.map(\.id), [1, 3, 7])
        XCTAssertEqual(r[0].score, 1, accuracy: 1e-6)
    }

    func testKLargerThanRowsAndEmptyMatrix() throws {
        let m = VectorMatrix(dimension: 3)
        XCTAssertEqual(try m.search([1, 2, 3], k: 10), [])
        XCTAssertEqual(try m.search(batch: [[1, 2, 3]], k: 10), [[]])
        try m.upsert(id: 1, vector: [1, 0, 0])
        try m.upsert(id: 2, vector: [0, 1, 0])
        XCTAssertEqual(try m.search([1, 1, 0], k: 10).count, 2)
    }

    func testInvalidInputIsATypedError() throws {
        let m = VectorMatrix(dimension: 3)
        XCTAssertThrowsError(try m.upsert(id: 1, vector: [1, 2])) { error in
            XCTAssertEqual(error as? KernelError, .dimensionMismatch(expected: 3, got: 2))
        }
        try m.upsert(id: 1, vector: [1, 2, 3])
        XCTAssertThrowsError(try m.search([1, 2, 3, 4], k: 1)) { error in
            XCTAssertEqual(error as? KernelError, .dimensionMismatch(expected: 3, got: 4))
        }
        XCTAssertThrowsError(try m.search([1, 2, 3], k: 0)) { XCTAssertEqual($0 as? KernelError, .invalidK(0)) }
        XCTAssertThrowsError(try m.upsert(id: 2, vector: [1, .nan, 3]))
        XCTAssertThrowsError(try m.search([1, .infinity, 3], k: 1))
        XCTAssertEqual(m.count, 1, "a rejected write stores nothing")
    }

    func testRowsAreNormalisedAndOverwrittenInPlace() throws {
        let m = VectorMatrix(dimension: 2)
        try m.upsert(id: 10, vector: [3, 4])
        XCTAssertEqual(m.vector(for: 10)![0], 0.6, accuracy: 1e-6)
        XCTAssertEqual(m.vector(for: 10)![1], 0.8, accuracy: 1e-6)
        try m.upsert(id: 10, vector: [0, 5])
        XCTAssertEqual(m.count, 1)
        XCTAssertEqual(m.vector(for: 10)!, [0, 1])
        let dot = VectorMatrix(dimension: 2, normalizes: false)
        try dot.upsert(id: 1, vector: [3, 4])
        XCTAssertEqual(dot.vector(for: 1)!, [3, 4])
        XCTAssertEqual(try dot.search([1, 1], k: 1)[0].score, 7, accuracy: 1e-6)
    }

    func testRemoveSwapsLastRowAndKeepsIDs() throws {
        var rng = TestRNG(state: 3)
        let m = VectorMatrix(dimension: 8)
        var live: [Int64: [Float]] = [:]
        for i in 0..<5000 {
            let v = rng.vector(8)
            try m.upsert(id: Int64(i), vector: v)
            live[Int64(i)] = try m.prepare(v)
        }
        for i in stride(from: 0, to: 5000, by: 3) {
            XCTAssertTrue(m.remove(id: Int64(i)))
            live[Int64(i)] = nil
        }
        XCTAssertFalse(m.remove(id: 0), "removing twice reports absence")
        XCTAssertEqual(m.count, live.count)
        for (id, v) in live { XCTAssertEqual(m.vector(for: id)!, v, "row of \(id) intact after swaps") }
        XCTAssertEqual(Set(m.ids), Set(live.keys))
        // Every remaining row is still its own best match.
        for id in live.keys.prefix(50) {
            XCTAssertEqual(try m.search(live[id]!, k: 1)[0].id, id)
        }
        // Removed ids never come back from search.
        let all = try m.search(rng.vector(8), k: 10_000)
        XCTAssertEqual(all.count, live.count)
        XCTAssertTrue(all.allSatisfy { live[$0.id] != nil })
    }

    func testAcceptPredicateFiltersRows() throws {
        let m = VectorMatrix(dimension: 2)
        for i in 0..<100 { try m.upsert(id: Int64(i), vector: [Float(i), 1]) }
        let r = try m.search([1, 0], k: 5, accept: { $0 % 2 == 0 })
        XCTAssertEqual(r.map(\.id), [98, 96, 94, 92, 90])
    }

    func testBLASRuntimeReportsAKind() {
        BLASRuntime.configureSingleThreaded()
        XCTAssertFalse(BLASRuntime.details.isEmpty)
        XCTAssertTrue([BLASKind.openBLAS, .reference].contains(BLASRuntime.kind))
    }
}

final class TopKTests: XCTestCase {
    func testMatchesFullSort() {
        var rng = TestRNG(state: 9)
        for k in [1, 3, 10, 100] {
            var top = TopK(k: k)
            var all: [ScoredID] = []
            for i in 0..<1000 {
                // Coarse scores force many ties.
                let s = ScoredID(id: Int64(i), score: Float(rng.next() % 50))
                all.append(s)
                top.insert(s)
            }
            XCTAssertEqual(top.sorted(), Array(all.sorted(by: ScoredID.ranksBefore).prefix(k)))
        }
    }
}

final class ParallelScanTests: XCTestCase {
    func testSplitScanMatchesSerialScan() throws {
        var rng = TestRNG(state: 11)
        let m = VectorMatrix(dimension: 32)
        for i in 0..<40_000 { try m.upsert(id: Int64(i), vector: rng.vector(32)) }
        let saved = (VectorMatrix.scanThreads, VectorMatrix.parallelScanThreshold)
        // The split applies to the float scan (the int8 scan runs on one core).
        VectorMatrix.quantizedScan = false
        defer {
            (VectorMatrix.scanThreads, VectorMatrix.parallelScanThreshold) = saved
            VectorMatrix.quantizedScan = true
        }
        for _ in 0..<5 {
            let q = rng.vector(32)
            VectorMatrix.scanThreads = 1
            let serial = try m.search(q, k: 25)
            VectorMatrix.scanThreads = 3
            VectorMatrix.parallelScanThreshold = 1000
            let split = try m.search(q, k: 25)
            XCTAssertEqual(split, serial)
        }
    }
}
