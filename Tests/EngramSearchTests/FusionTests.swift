import XCTest

@testable import EngramSearch

final class ConvexFusionTests: XCTestCase {
    func testCombinesSimilarityAndNormalisedBM25() async {
        // BM25 max is 4: a → 1.0, b → 0.5. w = 0.7.
        let fused = await RankFusion.convex(
            semantic: [(id: "a", similarity: 0.2), (id: "c", similarity: 0.6)],
            semanticFloor: -1,
            lexical: [(id: "a", score: 4), (id: "b", score: 2)],
            weight: 0.7,
            limit: 10
        ) { ids in Dictionary(uniqueKeysWithValues: ids.map { ($0, 0.1) }) }
        XCTAssertEqual(fused.map(\.id), ["a", "c", "b"])
        XCTAssertEqual(fused[0].score, 0.7 * 0.2 + 0.3 * 1.0, accuracy: 1e-12)  // 0.44
        XCTAssertEqual(fused[1].score, 0.7 * 0.6, accuracy: 1e-12)  // 0.42
        XCTAssertEqual(fused[2].score, 0.7 * 0.1 + 0.3 * 0.5, accuracy: 1e-12)  // 0.22, similarity fetched
        XCTAssertEqual(fused[2].similarity ?? 0, 0.1, accuracy: 1e-12)
        XCTAssertEqual(fused[2].lexical, 0.5, accuracy: 1e-12)
    }

    func testWeightMovesTheBalance() async {
        let semantic = [(id: "v", similarity: 0.8)]
        let lexical = [(id: "l", score: 10.0)]
        let fetch: ([String]) -> [String: Double] = { ids in Dictionary(uniqueKeysWithValues: ids.map { ($0, 0.3) }) }
        let heavy = await RankFusion.convex(semantic: semantic, semanticFloor: 1, lexical: lexical, weight: 0.9, limit: 1, similarities: fetch)
        let light = await RankFusion.convex(semantic: semantic, semanticFloor: 1, lexical: lexical, weight: 0.2, limit: 1, similarities: fetch)
        XCTAssertEqual(heavy.map(\.id), ["v"])
        XCTAssertEqual(light.map(\.id), ["l"])
    }

    func testMinSimilarityDropsCandidates() async {
        let fused = await RankFusion.convex(
            semantic: [(id: "a", similarity: 0.5), (id: "b", similarity: 0.1)],
            semanticFloor: 0.1,
            lexical: [(id: "b", score: 3), (id: "c", score: 5)],
            limit: 10,
            minSimilarity: 0.3
        ) { _ in
            XCTFail("nothing below the floor can pass min similarity")
            return [:]
        }
        XCTAssertEqual(fused.map(\.id), ["a"])
    }

    /// Skipping similarities that cannot matter gives the same result as fetching all of them,
    /// and fetches fewer.
    func testPruningIsExact() async {
        var rng = SplitMix(seed: 11)
        func unit() -> Double { Double(rng.next() % 1_000_000) / 1_000_000 }
        for round in 0..<200 {
            let n = 300
            let cos = (0..<n).map { _ in unit() * 1.2 - 0.2 }
            let bm = (0..<n).map { _ in unit() < 0.4 ? unit() * 12 : 0 }
            let depth = 20 + round % 30
            let limit = 1 + round % 25
            let semanticIDs = (0..<n).sorted { cos[$0] > cos[$1] }.prefix(depth)
            let floor = cos[semanticIDs.last!]
            let semantic = semanticIDs.map { (id: $0, similarity: cos[$0]) }
            let lexical = (0..<n).filter { bm[$0] > 0 }.sorted { bm[$0] > bm[$1] }.prefix(60).map { (id: $0, score: bm[$0]) }
            var fetchedPruned = 0
            var fetchedAll = 0
            let pruned = await RankFusion.convex(semantic: semantic, semanticFloor: floor, lexical: Array(lexical), limit: limit) { ids in
                fetchedPruned += ids.count
                return Dictionary(uniqueKeysWithValues: ids.map { ($0, cos[$0]) })
            }
            let full = await RankFusion.convex(semantic: semantic, semanticFloor: 1, lexical: Array(lexical), limit: limit) { ids in
                fetchedAll += ids.count
                return Dictionary(uniqueKeysWithValues: ids.map { ($0, cos[$0]) })
            }
            XCTAssertEqual(pruned.map(\.id), full.map(\.id), "round \(round)")
            XCTAssertLessThanOrEqual(fetchedPruned, fetchedAll)
        }
    }

    func testEmptyInputs() async {
        let none = await RankFusion.convex(
            semantic: [(id: String, similarity: Double)](),
            semanticFloor: -1,
            lexical: [],
            limit: 5
        ) { _ in [:] }
        XCTAssertTrue(none.isEmpty)
        let zero = await RankFusion.convex(semantic: [(id: "a", similarity: 0.4)], semanticFloor: -1, lexical: [], limit: 0) { _ in [:] }
        XCTAssertTrue(zero.isEmpty)
    }
}
