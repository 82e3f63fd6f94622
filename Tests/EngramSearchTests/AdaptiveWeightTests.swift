import Testing

@testable import EngramSearch

@Suite("Per-query fusion weight")
struct AdaptiveWeightTests {
    @Test("lead is the best score above the mean of the next nine")
    func lead() {
        #expect(RankFusion.lead([]) == 0)
        #expect(RankFusion.lead([0.9]) == 0)
        #expect(abs(RankFusion.lead([0.5, 0.9, 0.7]) - (0.9 - 0.6)) < 1e-12)
        // Only the top ten count.
        let scores = [1.0] + Array(repeating: 0.5, count: 9) + Array(repeating: 0.0, count: 50)
        #expect(abs(RankFusion.lead(scores) - 0.5) < 1e-12)
    }

    @Test("a decisive cosine ranking raises the cosine weight, a decisive BM25 ranking lowers it")
    func direction() {
        let flatCosine = [0.50, 0.49, 0.49, 0.48, 0.48]
        let sharpCosine = [0.70, 0.45, 0.44, 0.43, 0.42]
        let flatLexical = [10.0, 9.5, 9.4, 9.0]
        let sharpLexical = [10.0, 2.0, 1.5, 1.0]
        let base = RankFusion.adaptiveWeight(similarities: flatCosine, lexical: flatLexical)
        #expect(RankFusion.adaptiveWeight(similarities: sharpCosine, lexical: flatLexical) > base)
        #expect(RankFusion.adaptiveWeight(similarities: flatCosine, lexical: sharpLexical) < base)
    }

    @Test("the weight stays within its bounds, and neither signal is ever ignored")
    func bounds() {
        let constants = RankFusion.Adaptive()
        for cosineTop in stride(from: -1.0, through: 1.0, by: 0.25) {
            for lexicalTop in [0.0, 1.0, 100.0] {
                let w = RankFusion.adaptiveWeight(
                    similarities: [cosineTop, -1, -1],
                    lexical: [lexicalTop, 0, 0],
                    constants: constants
                )
                #expect(w >= constants.lower && w <= constants.upper)
                #expect(w > 0 && w < 1)
            }
        }
        // No lexical hits: the lexical lead is zero, not NaN.
        #expect(RankFusion.adaptiveWeight(similarities: [0.5, 0.4], lexical: []).isFinite)
    }
}
