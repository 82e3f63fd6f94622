/// Reciprocal-rank fusion: each list contributes `weight / (k + rank)` (rank from 1)
/// to every document it contains; documents are ordered by the summed score.
public enum RankFusion {
    /// Fuses ranked id lists. `k` = 60 is the usual constant.
    public static func reciprocalRank<ID: Hashable & Comparable>(
        _ lists: [[ID]], weights: [Double]? = nil, k: Double = 60, limit: Int
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
}
