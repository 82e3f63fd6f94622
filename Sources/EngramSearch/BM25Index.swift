import Foundation
import Synchronization

/// An in-memory BM25 index over documents identified by `Int64`.
///
/// Layout (built for search at 100k+ documents per index): documents live in dense slots, handed out
/// in increasing order; each term owns a `PostingList` of `(slot, term frequency)` in slot order,
/// cut into blocks that carry score bounds. `search` walks the lists document-at-a-time with
/// MaxScore: once the result holds `limit` documents, the lists whose summed best scores cannot
/// lift a document above the worst of them stop producing candidates and are only probed, by
/// skipping blocks, for the candidates of the rarer terms. The ranking is exactly that of scoring
/// every matching document (`exhaustiveSearch`, which the tests hold it to, score bits included).
/// A document's distinct terms are remembered so removals touch only its own terms' counts.
///
/// Scores use Okapi BM25 with the Lucene IDF `ln(1 + (N − df + 0.5)/(df + 0.5))`:
/// `Σ_t idf(t) · tf·(k1+1) / (tf + k1·(1 − b + b·dl/avgdl))` over the distinct
/// query terms `t` present in the document, where a compound name in the query
/// (`juniper-media`, `src/api.swift`: see `TextTokenizer`) counts `identifierWeight` times.
///
/// Not synchronised: the owner serialises writes against reads (concurrent
/// searches are fine: they share no mutable state).
public final class BM25Index: @unchecked Sendable {
    /// Term-frequency saturation.
    public let k1: Double
    /// Length normalisation.
    public let b: Double
    public let tokenizer: TextTokenizer
    /// How many times a compound name of the query counts. A query naming one service must
    /// find that service before another that shares the query's common words: the name's
    /// parts already match both, so the exact name has to outweigh a few common words.
    public let identifierWeight: Double

    var termIDs: [String: Int32] = [:]
    var postings: [PostingList] = []
    var slotOf: [Int64: Int32] = [:]
    /// The document id of each slot, or −1 once the document is removed (its postings stay until
    /// `compact` drops them, so the lists keep their slot order).
    var idOfSlot: [Int64] = []
    var lengthOfSlot: [Int32] = []
    var termsOfSlot: [[Int32]] = []
    var deadSlots = 0
    var totalLength: Int = 0
    /// Bumped by every write: the cached per-document weights are for one version.
    var version = 0
    /// `(k1 + 1) / (1 + k1·(1 − b + b·dl/avgdl))` per slot — a term's weight in a document where it
    /// occurs once, the common case, so scoring multiplies instead of dividing — and 0 for a removed
    /// document, so one load per candidate also says whether it is live. Built by the first search
    /// after a write (O(documents)); concurrent searches share it.
    final class UnitWeights: @unchecked Sendable {
        let version: Int
        let values: [Double]
        init(version: Int, values: [Double]) {
            self.version = version
            self.values = values
        }
    }
    let unitWeightCache = Mutex<UnitWeights?>(nil)

    public init(k1: Double = 1.2, b: Double = 0.75, identifierWeight: Double = 2, tokenizer: TextTokenizer = TextTokenizer()) {
        precondition(k1 >= 0 && (0...1).contains(b), "BM25 needs k1 ≥ 0 and 0 ≤ b ≤ 1")
        precondition(identifierWeight > 0, "BM25 needs a positive identifier weight")
        self.k1 = k1
        self.b = b
        self.identifierWeight = identifierWeight
        self.tokenizer = tokenizer
    }

    /// Number of documents.
    public var count: Int { slotOf.count }

    /// Number of distinct terms with at least one document.
    public var termCount: Int { postings.reduce(0) { $0 + ($1.live > 0 ? 1 : 0) } }

    /// Adds or replaces the document `id`.
    public func upsert(id: Int64, text: String) {
        remove(id: id)
        let terms = tokenizer.terms(text)
        var tf: [String: Int32] = [:]
        for t in terms { tf[t, default: 0] += 1 }
        // Always a new slot at the end: every posting list stays in slot order.
        let slot = Int32(idOfSlot.count)
        let length = Int32(terms.count)
        idOfSlot.append(id)
        lengthOfSlot.append(length)
        var ids: [Int32] = []
        ids.reserveCapacity(tf.count)
        for (term, n) in tf {
            let t: Int32
            if let existing = termIDs[term] {
                t = existing
            } else {
                t = Int32(postings.count)
                termIDs[term] = t
                postings.append(PostingList())
            }
            postings[Int(t)].append(slot: slot, frequency: n, length: length)
            ids.append(t)
        }
        termsOfSlot.append(ids)
        slotOf[id] = slot
        totalLength += terms.count
        version &+= 1
    }

    /// Removes the document `id` (no-op when absent).
    public func remove(id: Int64) {
        guard let slot = slotOf.removeValue(forKey: id) else { return }
        let s = Int(slot)
        for t in termsOfSlot[s] { postings[Int(t)].live -= 1 }
        totalLength -= Int(lengthOfSlot[s])
        termsOfSlot[s] = []
        idOfSlot[s] = -1
        deadSlots += 1
        version &+= 1
        if deadSlots >= max(64, idOfSlot.count / 4) { compact() }
    }

    /// Drops the postings of removed documents and renumbers the slots, keeping their order
    /// (O(postings), once a quarter of the slots are dead).
    func compact() {
        var newSlot = [Int32](repeating: -1, count: idOfSlot.count)
        var ids: [Int64] = []
        var lengths: [Int32] = []
        var terms: [[Int32]] = []
        ids.reserveCapacity(slotOf.count)
        lengths.reserveCapacity(slotOf.count)
        terms.reserveCapacity(slotOf.count)
        for s in idOfSlot.indices where idOfSlot[s] >= 0 {
            newSlot[s] = Int32(ids.count)
            ids.append(idOfSlot[s])
            lengths.append(lengthOfSlot[s])
            terms.append(termsOfSlot[s])
        }
        for t in postings.indices {
            postings[t] = postings[t].compacted(newSlot: newSlot, lengthOfSlot: lengthOfSlot)
        }
        for (slot, id) in ids.enumerated() { slotOf[id] = Int32(slot) }
        idOfSlot = ids
        lengthOfSlot = lengths
        termsOfSlot = terms
        deadSlots = 0
        version &+= 1
    }

    /// The BM25 score of every document matching at least one query term, by id.
    /// (Tests and diagnostics; `search` is the fast path.)
    public func scores(_ query: String) -> [Int64: Double] {
        var out: [Int64: Double] = [:]
        guard let (acc, touched) = accumulate(query) else { return out }
        for s in touched { out[idOfSlot[Int(s)]] = acc[Int(s)] }
        return out
    }

    /// What one query needs to score any document: its distinct terms in query order with their
    /// IDF (weighted for compound names), and the length normalisation of this version.
    struct Scoring {
        struct Term {
            let id: Int32
            let idf: Double
            /// `idf · (k1 + 1)`.
            let scale: Double
        }
        let terms: [Term]
        /// `k1 · (1 − b)`.
        let constant: Double
        /// `k1 · b / avgdl`.
        let lengthWeight: Double
        let unit: [Double]

        /// Term `t`'s score in the document of slot `slot` where it occurs `tf` times (its length is
        /// read only when `tf` > 1). Both search paths use this one expression, so their scores
        /// agree to the bit.
        @inline(__always) func score(_ t: Term, tf: Int32, slot: Int, lengths: UnsafeBufferPointer<Int32>) -> Double {
            if tf == 1 { return t.idf * unit[slot] }
            let f = Double(tf)
            return t.scale * f / (f + constant + lengthWeight * Double(lengths[slot]))
        }

        /// A bound on term `t`'s score in any document with at most `maxTF` occurrences and at
        /// least `minLength` terms (the score rises with tf and falls with length).
        @inline(__always) func bound(_ t: Term, maxTF: Int32, minLength: Int32) -> Double {
            let f = Double(maxTF)
            return t.scale * f / (f + constant + lengthWeight * Double(max(0, minLength)))
        }
    }

    /// The scoring context of `query`, or nil when none of its terms occurs in a live document.
    func scoring(_ query: String) -> Scoring? {
        let n = Double(slotOf.count)
        guard n > 0 else { return nil }
        var seen = Set<Int32>()
        var terms: [Scoring.Term] = []
        let k1 = self.k1
        for term in tokenizer.terms(query) {
            guard let t = termIDs[term], postings[Int(t)].live > 0, seen.insert(t).inserted else { continue }
            let weight = TextTokenizer.isCompound(term) ? identifierWeight : 1
            let df = Double(postings[Int(t)].live)
            let idf = weight * log(1 + (n - df + 0.5) / (df + 0.5))
            terms.append(Scoring.Term(id: t, idf: idf, scale: idf * (k1 + 1)))
        }
        guard !terms.isEmpty else { return nil }
        let avgdl = max(1, Double(totalLength) / n)
        let lengthWeight = k1 * b / avgdl
        let constant = k1 * (1 - b)
        return Scoring(
            terms: terms,
            constant: constant,
            lengthWeight: lengthWeight,
            unit: unitWeights(constant: constant, lengthWeight: lengthWeight)
        )
    }

    /// The per-slot weights of a term occurring once, for the current version (built if stale).
    private func unitWeights(constant: Double, lengthWeight: Double) -> [Double] {
        if let cached = unitWeightCache.withLock({ $0 }), cached.version == version { return cached.values }
        let k1 = self.k1
        let values = lengthOfSlot.indices.map { s in
            idOfSlot[s] < 0 ? 0 : (k1 + 1) / (1 + constant + lengthWeight * Double(lengthOfSlot[s]))
        }
        let built = UnitWeights(version: version, values: values)
        unitWeightCache.withLock { $0 = built }
        return values
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
