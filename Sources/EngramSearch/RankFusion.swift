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

    /// Weight of cosine similarity in `convex` (BM25 gets `1 − weight`).
    ///
    /// Chosen on LoCoMo (eval/retrieval/README.md): 0.6–0.8 all beat RRF on both
    /// dialogue turns and distilled facts; 0.7 is the middle of that plateau.
    public static let defaultSemanticWeight = 0.7

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
