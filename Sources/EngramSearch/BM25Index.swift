import Foundation
import Synchronization

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
    /// Bumped by every write: the cached per-document weights are for one version.
    private var version = 0
    /// `(k1 + 1) / (1 + k1·(1 − b + b·dl/avgdl))` per slot — a term's weight in a document where it
    /// occurs once, the common case, so the postings loop multiplies instead of dividing. Built by
    /// the first search after a write (O(documents)); concurrent searches share it.
    private final class UnitWeights: @unchecked Sendable {
        let version: Int
        let values: [Double]
        init(version: Int, values: [Double]) {
            self.version = version
            self.values = values
        }
    }
    private let unitWeightCache = Mutex<UnitWeights?>(nil)

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
            if let existing = termIDs[term] {
                t = existing
            } else {
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
        version &+= 1
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

    /// The `limit` best documents for `query`, best first (ties by ascending id).
    /// `accept` can exclude documents; it is called only on documents that would
    /// otherwise enter the result, best first.
    public func search(_ query: String, limit: Int, accept: (Int64) -> Bool = { _ in true }) -> [(id: Int64, score: Double)] {
        guard limit > 0, !slotOf.isEmpty else { return [] }
        // Fast path: keep the best `keep` documents in a bounded heap while scoring (one
        // comparison for most documents), then check `accept` on them best first.
        let keep = limit * 2 + 16
        guard let (acc, touchedSlots) = accumulate(query) else { return [] }
        var touched = 0
        var best = BoundedHeap(capacity: keep)
        acc.withUnsafeBufferPointer { acc in
            idOfSlot.withUnsafeBufferPointer { ids in
                // Inline selection: once the heap is full, a document below its worst is
                // skipped with one comparison (most of them).
                var floor = 0.0
                for slot in touchedSlots {
                    let score = acc[Int(slot)]
                    if score < floor { continue }
                    best.offer(Candidate(score: score, id: ids[Int(slot)]))
                    if best.items.count == keep { floor = best.items[0].score }
                }
                touched = touchedSlots.count
            }
        }
        var out: [(id: Int64, score: Double)] = []
        out.reserveCapacity(min(limit, touched))
        for c in best.sortedBestFirst() where accept(c.id) {
            out.append((c.id, c.score))
            if out.count == limit { return out }
        }
        if touched <= keep { return out }
        // `accept` rejected too many of them: rank every matching document.
        var all: [Candidate] = []
        all.reserveCapacity(touched)
        for s in touchedSlots {
            all.append(Candidate(score: acc[Int(s)], id: idOfSlot[Int(s)]))
        }
        all.sort { $0.isBetter(than: $1) }
        out.removeAll(keepingCapacity: true)
        for c in all where accept(c.id) {
            out.append((c.id, c.score))
            if out.count == limit { break }
        }
        return out
    }

    struct Candidate {
        var score: Double
        var id: Int64
        /// Higher score first; ties by ascending id.
        @inline(__always) func isBetter(than o: Candidate) -> Bool { score > o.score || (score == o.score && id < o.id) }
    }

    /// The best `capacity` candidates offered (a min-heap on "better": the root is the worst kept).
    struct BoundedHeap {
        let capacity: Int
        private(set) var items: [Candidate] = []

        init(capacity: Int) {
            self.capacity = capacity
            items.reserveCapacity(capacity)
        }

        @inline(__always) mutating func offer(_ c: Candidate) {
            if items.count < capacity {
                items.append(c)
                var i = items.count - 1
                while i > 0 {
                    let parent = (i - 1) / 2
                    guard items[parent].isBetter(than: items[i]) else { break }
                    items.swapAt(parent, i)
                    i = parent
                }
            } else if c.isBetter(than: items[0]) {
                items[0] = c
                var i = 0
                let n = items.count
                while true {
                    let l = 2 * i + 1
                    if l >= n { break }
                    var worst = l
                    if l + 1 < n, items[worst].isBetter(than: items[l + 1]) { worst = l + 1 }
                    guard items[i].isBetter(than: items[worst]) else { break }
                    items.swapAt(i, worst)
                    i = worst
                }
            }
        }

        func sortedBestFirst() -> [Candidate] { items.sorted { $0.isBetter(than: $1) } }
    }

    /// Scores the query into a dense accumulator and reports every touched slot once.
    /// The per-slot weights of a term occurring once, for the current version (built if stale).
    private func unitWeights(constant: Double, lengthWeight: Double) -> [Double] {
        if let cached = unitWeightCache.withLock({ $0 }), cached.version == version { return cached.values }
        let k1 = self.k1
        let values = lengthOfSlot.map { (k1 + 1) / (1 + constant + lengthWeight * Double($0)) }
        let built = UnitWeights(version: version, values: values)
        unitWeightCache.withLock { $0 = built }
        return values
    }

    /// The query's score of every document: `acc[slot]` (0 where no query term occurs) and the
    /// matching slots, each once.
    private func accumulate(_ query: String) -> (acc: [Double], touched: [Int32])? {
        let n = Double(slotOf.count)
        guard n > 0 else { return nil }
        var seen = Set<Int32>()
        var terms: [(id: Int32, weight: Double)] = []
        for term in tokenizer.terms(query) {
            if let t = termIDs[term], !postings[Int(t)].isEmpty, seen.insert(t).inserted {
                terms.append((t, TextTokenizer.isCompound(term) ? identifierWeight : 1))
            }
        }
        guard !terms.isEmpty else { return nil }
        let avgdl = max(1, Double(totalLength) / n)
        let k1 = self.k1
        let lengthWeight = k1 * b / avgdl
        let constant = k1 * (1 - b)
        let unit = unitWeights(constant: constant, lengthWeight: lengthWeight)
        var acc = [Double](repeating: 0, count: idOfSlot.count)
        // The matching slots are collected without a branch: every posting writes its slot at
        // the end of the list, which advances only when the slot had no score yet (a branch on
        // that is taken about half the time, unpredictably). No sweep of all documents after.
        let postingCount = terms.reduce(0) { $0 + postings[Int($1.id)].count }
        var touched = [Int32](repeating: 0, count: postingCount)
        var touchedCount = 0
        acc.withUnsafeMutableBufferPointer { acc in
            touched.withUnsafeMutableBufferPointer { touched in
                lengthOfSlot.withUnsafeBufferPointer { lengths in
                    unit.withUnsafeBufferPointer { unit in
                        for (t, weight) in terms {
                            let list = postings[Int(t)]
                            let df = Double(list.count)
                            let idf = weight * log(1 + (n - df + 0.5) / (df + 0.5))
                            let scale = idf * (k1 + 1)
                            list.withUnsafeBufferPointer { list in
                                for p in list {
                                    let s = Int(p.slot)
                                    touched[touchedCount] = p.slot
                                    touchedCount &+= acc[s] == 0 ? 1 : 0
                                    if p.tf == 1 {
                                        acc[s] += idf * unit[s]
                                    } else {
                                        let tf = Double(p.tf)
                                        acc[s] += scale * tf / (tf + constant + lengthWeight * Double(lengths[s]))
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        touched.removeLast(touched.count - touchedCount)
        return (acc, touched)
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
