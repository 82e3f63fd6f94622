import XCTest

@testable import EngramSearch

final class RankFusionTests: XCTestCase {
    func testReciprocalRankFusion() {
        let fused = RankFusion.reciprocalRank([["a", "b", "c"], ["c", "a", "d"]], k: 60, limit: 10)
        // a: 1/61 + 1/62, c: 1/63 + 1/61, b: 1/62, d: 1/63
        XCTAssertEqual(fused.map(\.id), ["a", "c", "b", "d"])
        XCTAssertEqual(fused[0].score, 1.0 / 61 + 1.0 / 62, accuracy: 1e-12)
        XCTAssertEqual(RankFusion.reciprocalRank([["a"], ["b"]], weights: [1, 2], k: 60, limit: 1).map(\.id), ["b"])
        XCTAssertEqual(RankFusion.reciprocalRank([[String]](), k: 60, limit: 5).count, 0)
    }
}
