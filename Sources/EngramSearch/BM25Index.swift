/// An in-memory BM25 index over documents identified by `Int64`.
///
/// Layout (built for search at 100k+ documents per index): documents live in dense
/// slots; each term owns a postings array of `(slot, term frequency)`; a query adds
/// into a dense per-query score accumulator and selects the best documents with a
/// heap, checking `accept` lazily (only on documents that would make the result).
/// A document's distinct terms are remembered so updates and removals touch only
/// its own postings.
///
/// Scores use Okapi BM25 with the Lucene IDF `ln(1 + (N − df + 0.5)/(df + 0.5))`:
/// `Σ_t idf(t) · tf·(k1+1) / (tf + k1·(1 − b + b·dl/avgdl))` over the distinct
/// query terms `t` present in the document.
///
/// Not synchronised: the owner serialises writes against reads (concurrent
/// searches are fine: they share no mutable state).
public final class BM25Index: @unchecked Sendable {
    /// Term-frequency saturation.
    public let k1: Double
    /// Length normalisation.
    public let b: Double
    public let tokenizer: TextTokenizer

    private struct Posting {
        var slot: Int32
        var tf: Int32
    }

    private var termIDs: [String: Int32] = [:]
    private var postings: [[Posting]] = []
    private var slotOf: [Int64: Int32] = [:]
    private var idOfSlot: [Int64] = []
    private var lengthOfSlot: [Int32] = []
    private var termsOfSlot: [[Int32]] = []
    private var freeSlots: [Int32] = []
    private var totalLength: Int = 0

    public init(k1: Double = 1.2, b: Double = 0.75, tokenizer: TextTokenizer = TextTokenizer()) {
        precondition(k1 >= 0 && (0...1).contains(b), "BM25 needs k1 ≥ 0 and 0 ≤ b ≤ 1")
        self.k1 = k1
        self.b = b
        self.tokenizer = tokenizer
    }

    /// Number of documents.
    public var count: Int { slotOf.count }

    /// Number of distinct terms with at least one document.
    public var termCount: Int { postings.reduce(0) { $0 + ($1.isEmpty ? 0 : 1) } }

    /// Adds or replaces the document `id`.
    public func upsert(id: Int64, text: String) {
        remove(id: id)
        let terms = tokenizer.terms(text)
        var tf: [String: Int32] = [:]
        for t in terms { tf[t, default: 0] += 1 }
        let slot: Int32
        if let free = freeSlots.popLast() {
            slot = free
            idOfSlot[Int(slot)] = id
            lengthOfSlot[Int(slot)] = Int32(terms.count)
        } else {
            slot = Int32(idOfSlot.count)
            idOfSlot.append(id)
            lengthOfSlot.append(Int32(terms.count))
            termsOfSlot.append([])
        }
        var ids: [Int32] = []
        ids.reserveCapacity(tf.count)
        for (term, n) in tf {
            let t: Int32
            if let existing = termIDs[term] { t = existing } else {
                t = Int32(postings.count)
                termIDs[term] = t
                postings.append([])
            }
            postings[Int(t)].append(Posting(slot: slot, tf: n))
            ids.append(t)
        }
        termsOfSlot[Int(slot)] = ids
        slotOf[id] = slot
        totalLength += terms.count
    }

    /// Removes the document `id` (no-op when absent).
    public func remove(id: Int64) {
        guard let slot = slotOf.removeValue(forKey: id) else { return }
        for t in termsOfSlot[Int(slot)] {
            postings[Int(t)].withUnsafeMutableBufferPointer { list in
                guard let k = list.firstIndex(where: { $0.slot == slot }) else { return }
                list.swapAt(k, list.count - 1)
            }
            postings[Int(t)].removeLast()
        }
        totalLength -= Int(lengthOfSlot[Int(slot)])
        termsOfSlot[Int(slot)] = []
        lengthOfSlot[Int(slot)] = 0
        idOfSlot[Int(slot)] = -1
        freeSlots.append(slot)
    }

    /// The BM25 score of every document matching at least one query term, by id.
    /// (Tests and diagnostics; `search` is the fast path.)
    public func scores(_ query: String) -> [Int64: Double] {
        var out: [Int64: Double] = [:]
        accumulate(query) { slot, score in out[idOfSlot[Int(slot)]] = score }
        return out
    }

    /// The `limit` best documents for `query`, best first (ties by ascending id).
    /// `accept` can exclude documents; it is called only on documents that would
    /// otherwise enter the result, best first.
    public func search(_ query: String, limit: Int, accept: (Int64) -> Bool = { _ in true }) -> [(id: Int64, score: Double)] {
        guard limit > 0, !slotOf.isEmpty else { return [] }
        var heap: [(score: Double, id: Int64)] = []
        accumulate(query) { slot, score in heap.append((score, idOfSlot[Int(slot)])) }
        // Max-heap on (score desc, id asc); pop until `limit` accepted documents.
        @inline(__always) func before(_ x: (score: Double, id: Int64), _ y: (score: Double, id: Int64)) -> Bool {
            x.score > y.score || (x.score == y.score && x.id < y.id)
        }
        var out: [(id: Int64, score: Double)] = []
        out.reserveCapacity(min(limit, heap.count))
        heap.withUnsafeMutableBufferPointer { h in
            var n = h.count
            func siftDown(_ start: Int) {
                var i = start
                while true {
                    let l = 2 * i + 1
                    if l >= n { return }
                    var best = l
                    if l + 1 < n, before(h[l + 1], h[l]) { best = l + 1 }
                    if !before(h[best], h[i]) { return }
                    h.swapAt(i, best)
                    i = best
                }
            }
            if n > 1 { for i in stride(from: n / 2 - 1, through: 0, by: -1) { siftDown(i) } }
            while n > 0 && out.count < limit {
                let top = h[0]
                n -= 1
                if n > 0 {
                    h[0] = h[n]
                    siftDown(0)
                }
                if accept(top.id) { out.append((top.id, top.score)) }
            }
        }
        return out
    }

    /// Scores the query into a dense accumulator and reports every touched slot once.
    private func accumulate(_ query: String, _ report: (Int32, Double) -> Void) {
        let n = Double(slotOf.count)
        guard n > 0 else { return }
        var seen = Set<Int32>()
        var terms: [Int32] = []
        for term in tokenizer.terms(query) {
            if let t = termIDs[term], !postings[Int(t)].isEmpty, seen.insert(t).inserted { terms.append(t) }
        }
        guard !terms.isEmpty else { return }
        let avgdl = max(1, Double(totalLength) / n)
        let k1 = self.k1
        let lengthWeight = k1 * b / avgdl
        let constant = k1 * (1 - b)
        var acc = [Double](repeating: 0, count: idOfSlot.count)
        var touched: [Int32] = []
        acc.withUnsafeMutableBufferPointer { acc in
            lengthOfSlot.withUnsafeBufferPointer { lengths in
                for t in terms {
                    let list = postings[Int(t)]
                    let df = Double(list.count)
                    let idf = log(1 + (n - df + 0.5) / (df + 0.5))
                    let scale = idf * (k1 + 1)
                    list.withUnsafeBufferPointer { list in
                        for p in list {
                            let s = Int(p.slot)
                            let tf = Double(p.tf)
                            let add = scale * tf / (tf + constant + lengthWeight * Double(lengths[s]))
                            if acc[s] == 0 { touched.append(p.slot) }
                            acc[s] += add
                        }
                    }
                }
            }
            for s in touched { report(s, acc[Int(s)]) }
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
