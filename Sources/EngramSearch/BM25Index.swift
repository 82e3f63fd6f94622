/// An in-memory BM25 index over documents identified by `Int64`.
///
/// Postings map each term to its documents and term frequencies; a document's
/// terms are remembered so updates and removals touch only its own postings.
/// Scores use Okapi BM25 with the Lucene IDF `ln(1 + (N − df + 0.5)/(df + 0.5))`.
///
/// Not synchronised: the owner serialises writes against reads.
public final class BM25Index: @unchecked Sendable {
    /// Term-frequency saturation.
    public let k1: Double
    /// Length normalisation.
    public let b: Double
    private let tokenizer: TextTokenizer

    private var postings: [String: [Int64: Int32]] = [:]
    private var docTerms: [Int64: [String: Int32]] = [:]
    private var docLength: [Int64: Int32] = [:]
    private var totalLength: Int = 0

    public init(k1: Double = 1.2, b: Double = 0.75, tokenizer: TextTokenizer = TextTokenizer()) {
        self.k1 = k1
        self.b = b
        self.tokenizer = tokenizer
    }

    /// Number of documents.
    public var count: Int { docLength.count }

    /// Adds or replaces the document `id`.
    public func upsert(id: Int64, text: String) {
        remove(id: id)
        var tf: [String: Int32] = [:]
        let terms = tokenizer.terms(text)
        for t in terms { tf[t, default: 0] += 1 }
        for (t, n) in tf { postings[t, default: [:]][id] = n }
        docTerms[id] = tf
        docLength[id] = Int32(terms.count)
        totalLength += terms.count
    }

    /// Removes the document `id` (no-op when absent).
    public func remove(id: Int64) {
        guard let tf = docTerms.removeValue(forKey: id) else { return }
        for t in tf.keys {
            postings[t]?[id] = nil
            if postings[t]?.isEmpty == true { postings[t] = nil }
        }
        totalLength -= Int(docLength.removeValue(forKey: id) ?? 0)
    }

    /// The `limit` best documents for `query`, best first (ties by ascending id).
    /// `accept` can exclude documents before ranking.
    public func search(_ query: String, limit: Int, accept: (Int64) -> Bool = { _ in true }) -> [(id: Int64, score: Double)] {
        guard limit > 0, !docLength.isEmpty else { return [] }
        let n = Double(docLength.count)
        let avgdl = max(1, Double(totalLength) / n)
        var scores: [Int64: Double] = [:]
        for term in Set(tokenizer.terms(query)) {
            guard let docs = postings[term] else { continue }
            let df = Double(docs.count)
            let idf = log(1 + (n - df + 0.5) / (df + 0.5))
            for (doc, f) in docs {
                let tf = Double(f)
                let dl = Double(docLength[doc] ?? 0)
                scores[doc, default: 0] += idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * dl / avgdl))
            }
        }
        var ranked = scores.filter { accept($0.key) }.map { (id: $0.key, score: $0.value) }
        ranked.sort { $0.score > $1.score || ($0.score == $1.score && $0.id < $1.id) }
        return Array(ranked.prefix(limit))
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
