/// Ways of merging a vector (cosine) ranking with a lexical (BM25) ranking.
public enum RankFusion {
    /// Reciprocal-rank fusion: each list contributes `weight / (k + rank)` (rank from 1)
    /// to every document it contains; documents are ordered by the summed score.
    /// `k` = 60 is the usual constant.
    public static func reciprocalRank<ID: Hashable & Comparable>(
        _ lists: [[ID]],
        weights: [Double]? = nil,
        k: Double = 60,
        limit: Int
    ) -> [(id: ID, score: Double)] {
        var scores: [ID: Double] = [:]
        for (i, list) in lists.enumerated() {
            let w = weights?[i] ?? 1
            for (rank, id) in list.enumerated() { scores[id, default: 0] += w / (k + Double(rank + 1)) }
        }
        let ranked = scores.map { (id: $0.key, score: $0.value) }
            .sorted { $0.score > $1.score || ($0.score == $1.score && $0.id < $1.id) }
        return Array(ranked.prefix(max(0, limit)))
    }

    /// The fixed weight of cosine similarity in `convex` (BM25 gets `1 − weight`), and the
    /// reference weight of the search relevance floor.
    ///
    /// Chosen on LoCoMo (eval/retrieval/README.md): 0.6–0.8 all beat RRF on both
    /// dialogue turns and distilled facts; 0.7 is the middle of that plateau.
    public static let defaultSemanticWeight = 0.7

    /// How `convex` weighs cosine similarity against BM25 for one query.
    public enum Weighting: Sendable, Hashable {
        /// The same cosine weight for every query.
        case fixed(Double)
        /// A cosine weight chosen per query from how decisive each ranking is (`adaptiveWeight`).
        case adaptive(Adaptive)

        /// `adaptive` with the measured default constants.
        public static let `default` = Weighting.adaptive(Adaptive())
    }

    /// Constants of the per-query weight
    /// `w = clamp(base + semanticGain · lead(cos) − lexicalGain · lead(bm25), lower, upper)`.
    public struct Adaptive: Sendable, Hashable {
        public var base: Double
        public var semanticGain: Double
        public var lexicalGain: Double
        public var lower: Double
        public var upper: Double

        public init(base: Double = 0.6, semanticGain: Double = 1.5, lexicalGain: Double = 0.2, lower: Double = 0.4, upper: Double = 0.9) {
            self.base = base
            self.semanticGain = semanticGain
            self.lexicalGain = lexicalGain
            self.lower = lower
            self.upper = upper
        }
    }

    /// How far a ranking's best score stands above the rest: the best score minus the mean of
    /// the next `depth − 1` scores (0 with fewer than two). Scores need not be sorted.
    public static func lead(_ scores: [Double], depth: Int = 10) -> Double {
        guard scores.count >= 2 else { return 0 }
        let top = scores.sorted(by: >).prefix(max(2, depth))
        let rest = top.dropFirst()
        return top[top.startIndex] - rest.reduce(0, +) / Double(rest.count)
    }

    /// The cosine weight for one query.
    ///
    /// A fixed weight loses to its own parts where one signal is decisive and the other is
    /// noise: on natural-language questions about code, dense retrieval alone beats a fixed
    /// 0.7/0.3 mix because BM25 spreads its mass over shared identifiers; on chat turns BM25
    /// carries the exact names dense retrieval blurs. The lead of each ranking says which is
    /// decisive for *this* query: a cosine top hit far above its neighbours (a lead of 0.1 is
    /// large for MiniLM) raises the weight of cosine; a BM25 top hit far above its neighbours
    /// (relative to the best, so in 0…1) lowers it, less strongly, since BM25 scores also
    /// spike on one rare word. Clamped so that neither signal is ever ignored. The constants
    /// were chosen on LoCoMo and on a code-search set (eval/codesearch/README.md).
    public static func adaptiveWeight(
        similarities: [Double],
        lexical: [Double],
        constants: Adaptive = Adaptive()
    ) -> Double {
        let best = lexical.max() ?? 0
        let lexicalLead = best > 0 ? lead(lexical.map { $0 / best }) : 0
        let w = constants.base + constants.semanticGain * lead(similarities) - constants.lexicalGain * lexicalLead
        return min(constants.upper, max(constants.lower, w))
    }

    /// One fused result of `convex`.
    public struct Fused<ID: Hashable & Comparable>: Hashable {
        public var id: ID
        /// `w · similarity + (1 − w) · bm25 / max bm25` (≤ 1).
        public var score: Double
        /// Cosine similarity (nil only when `similarities` could not supply it).
        public var similarity: Double?
        /// BM25 score divided by the best BM25 score of the query (0 when not a lexical hit).
        public var lexical: Double
    }

    /// Convex combination of cosine similarity and max-normalised BM25
    /// (Bruch et al., "An Analysis of Fusion Functions for Hybrid Retrieval", 2023):
    /// `score = w · cos + (1 − w) · bm25 / max(bm25)`. Unlike RRF it keeps score
    /// magnitudes, so a document that is strong in one list and absent from the
    /// other is not flattened to its rank, and the top of the ranking does not
    /// depend on how deep the candidate lists are.
    ///
    /// - `semantic`: vector hits with their cosine similarity (any order).
    /// - `semanticFloor`: an upper bound on the similarity of every candidate that is
    ///   *not* in `semantic` (the smallest similarity of a full top-k list, or 1 when
    ///   unknown). Used to skip fetching similarities that cannot matter.
    /// - `lexical`: BM25 hits with their scores (any order).
    /// - `similarities`: supplies the cosine of lexical-only candidates. It is asked
    ///   only for those that could still reach the top `limit` (their best possible
    ///   score, with similarity `semanticFloor`, is at least the `limit`-th exact score
    ///   among the vector hits), so the result equals full scoring of every candidate.
    ///
    /// - `minSimilarity`: candidates whose cosine is below it are dropped (and
    ///   similarities are not fetched at all when `semanticFloor` is below it).
    ///
    /// Returns up to `limit` results, best first (ties by ascending id).
    public static func convex<ID: Hashable & Comparable>(
        semantic: [(id: ID, similarity: Double)],
        semanticFloor: Double,
        lexical: [(id: ID, score: Double)],
        weight: Double = defaultSemanticWeight,
        limit: Int,
        minSimilarity: Double? = nil,
        similarities: ([ID]) async throws -> [ID: Double]
    ) async rethrows -> [Fused<ID>] {
        guard limit > 0 else { return [] }
        let minSimilarity = minSimilarity ?? -Double.infinity
        let maxLexical = lexical.reduce(0) { max($0, $1.score) }
        var lexicalNorm: [ID: Double] = [:]
        lexicalNorm.reserveCapacity(lexical.count)
        if maxLexical > 0 {
            for hit in lexical where hit.score > 0 { lexicalNorm[hit.id] = max(lexicalNorm[hit.id] ?? 0, hit.score / maxLexical) }
        }
        var results: [ID: Fused<ID>] = [:]
        for hit in semantic where hit.similarity >= minSimilarity {
            let l = lexicalNorm[hit.id] ?? 0
            let fused = Fused(id: hit.id, score: weight * hit.similarity + (1 - weight) * l, similarity: hit.similarity, lexical: l)
            if let existing = results[hit.id], existing.score >= fused.score { continue }
            results[hit.id] = fused
        }
        // The limit-th best exact score so far: a lexical-only candidate must be able to reach it.
        var threshold = -Double.infinity
        if results.count >= limit {
            let sorted = results.values.map(\.score).sorted(by: >)
            threshold = sorted[limit - 1]
        }
        let lexicalOnly = lexicalNorm.filter { results[$0.key] == nil }
            .sorted { $0.value > $1.value || ($0.value == $1.value && $0.key < $1.key) }
        var needed: [ID] = []
        for (id, l) in lexicalOnly where semanticFloor >= minSimilarity {
            if weight * semanticFloor + (1 - weight) * l < threshold { break }
            needed.append(id)
        }
        if !needed.isEmpty {
            let cos = try await similarities(needed)
            for id in needed {
                let l = lexicalNorm[id] ?? 0
                let s = cos[id]
                if let s, s < minSimilarity { continue }
                if s == nil, minSimilarity > -Double.infinity { continue }
                // Without a similarity the candidate keeps its lexical part only.
                results[id] = Fused(id: id, score: weight * (s ?? 0) + (1 - weight) * l, similarity: s, lexical: l)
            }
        }
        let ranked = results.values.sorted { $0.score > $1.score || ($0.score == $1.score && $0.id < $1.id) }
        return Array(ranked.prefix(limit))
    }
}
