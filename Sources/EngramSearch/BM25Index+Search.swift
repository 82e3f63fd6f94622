extension BM25Index {
    /// What one `search` did, for the tests that check the pruning happens (and for diagnostics).
    struct SearchStatistics {
        /// Candidates the rarer terms produced.
        var candidates = 0
        /// Candidates scored in full (the rest were dropped once their bound fell below the result).
        var scored = 0
        /// Candidates offered to `accept`.
        var offered = 0
    }

    /// The `limit` best documents for `query` among those `accept` admits, best first (ties by
    /// ascending id); exactly `exhaustiveSearch`'s ranking and scores. `accept` is called only on
    /// documents whose score would enter the result as it stands when they are reached.
    public func search(_ query: String, limit: Int, accept: (Int64) -> Bool = { _ in true }) -> [(id: Int64, score: Double)] {
        var statistics = SearchStatistics()
        return search(query, limit: limit, accept: accept, statistics: &statistics)
    }

    /// A query term's place in a posting list, over the list's storage borrowed for one search
    /// (a plain value: moving a cursor costs no reference counting).
    struct Cursor {
        let slots: UnsafeBufferPointer<Int32>
        let frequencies: UnsafeBufferPointer<UInt8>
        let blocks: UnsafeBufferPointer<PostingList.Block>
        let term: Scoring.Term
        /// The term's position in the query (scores are summed in query order).
        let position: Int
        /// The term's best score in any document of the list.
        let bound: Double
        var index = 0

        /// The slot under the cursor, or `Int32.max` past the end.
        @inline(__always) var slot: Int32 { index < slots.count ? slots[index] : .max }

        /// Moves to the block that holds the first posting at or after `target`, skipping whole
        /// blocks by their last slot; false when the list has none.
        @inline(__always) mutating func seekBlock(_ target: Int32) -> Bool {
            var block = index >> PostingList.blockShift
            let count = blocks.count
            guard block < count else { return false }
            if blocks[block].last < target {
                repeat { block += 1 } while block < count && blocks[block].last < target
                guard block < count else {
                    index = slots.count
                    return false
                }
                index = block << PostingList.blockShift
            }
            return true
        }

        /// The block whose bound `cachedBlockBound` holds (−1: none yet).
        var cachedBlock = -1
        var cachedBlockBound = 0.0

        /// The term's bound in the block under the cursor (computed once per block).
        @inline(__always) mutating func blockBound(_ scoring: Scoring) -> Double {
            let current = index >> PostingList.blockShift
            if current != cachedBlock {
                let block = blocks[current]
                cachedBlock = current
                cachedBlockBound = scoring.bound(term, maxTF: block.maxFrequency, minLength: block.minLength)
            }
            return cachedBlockBound
        }

        /// Moves to the first posting at or after `target` inside the block under the cursor
        /// (after `seekBlock(target)` returned true): a binary search.
        @inline(__always) mutating func seekInBlock(_ target: Int32) {
            var high = min(((index >> PostingList.blockShift) + 1) << PostingList.blockShift, slots.count) - 1
            var low = index
            while low < high {
                let middle = (low + high) >> 1
                if slots[middle] < target { low = middle + 1 } else { high = middle }
            }
            index = low
        }
    }

    /// Queries with more distinct terms than this rank exhaustively (same result): each list's
    /// storage is borrowed by one nested closure, which bounds the stack a search takes.
    static let maxPrunedTerms = 32

    /// Document-at-a-time MaxScore (Turtle and Flood, 1995). The terms are ordered by their best
    /// possible score; while the result is short every list is "essential". Once it holds `limit`
    /// documents, the longest prefix of cheap terms whose summed bounds fall below the worst score
    /// kept becomes non-essential: a document holding only those terms cannot enter, so candidates
    /// come from the essential lists alone, and the non-essential lists are probed only while the
    /// candidate's score so far plus their bounds (tightened to the block that would hold it) can
    /// still enter.
    func search(_ query: String, limit: Int, accept: (Int64) -> Bool, statistics: inout SearchStatistics) -> [(id: Int64, score: Double)] {
        guard limit > 0, let scoring = scoring(query) else { return [] }
        guard scoring.terms.count <= Self.maxPrunedTerms else { return exhaustiveSearch(query, limit: limit, accept: accept) }
        var cursors: [Cursor] = []
        cursors.reserveCapacity(scoring.terms.count)
        return withCursors(scoring, &cursors) { cursors in
            maxScore(scoring, &cursors, limit: limit, accept: accept, statistics: &statistics)
        }
    }

    /// Opens a cursor on the storage of each query term's list, then runs `body` while all of them
    /// are borrowed (one nesting level per term).
    private func withCursors<R>(_ scoring: Scoring, _ cursors: inout [Cursor], _ body: (inout [Cursor]) -> R) -> R {
        let position = cursors.count
        guard position < scoring.terms.count else { return body(&cursors) }
        let term = scoring.terms[position]
        let list = postings[Int(term.id)]
        let bound = list.frontier.reduce(0) { max($0, scoring.bound(term, maxTF: $1.maxFrequency, minLength: $1.minLength)) }
        return list.slots.withUnsafeBufferPointer { slots in
            list.frequencies.withUnsafeBufferPointer { frequencies in
                list.blocks.withUnsafeBufferPointer { blocks in
                    cursors.append(
                        Cursor(slots: slots, frequencies: frequencies, blocks: blocks, term: term, position: position, bound: bound)
                    )
                    return withCursors(scoring, &cursors, body)
                }
            }
        }
    }

    /// The frequency under a cursor (the side table holds those its byte cannot).
    @inline(__always) private func frequency(_ cursor: Cursor) -> Int32 {
        let byte = cursor.frequencies[cursor.index]
        return byte != PostingList.frequencyEscape ? Int32(byte) : postings[Int(cursor.term.id)].frequency(at: cursor.index)
    }

    private func maxScore(
        _ scoring: Scoring,
        _ cursors: inout [Cursor],
        limit: Int,
        accept: (Int64) -> Bool,
        statistics: inout SearchStatistics
    ) -> [(id: Int64, score: Double)] {
        cursors.sort { $0.bound < $1.bound }
        // upTo[k]: the summed bounds of cursors 0...k.
        var upTo: [Double] = []
        var running = 0.0
        for c in cursors {
            running += c.bound
            upTo.append(running)
        }
        // A document whose bound falls below the threshold cannot enter. The margin covers the
        // rounding between a bound's arithmetic and a score's (summed in another order, and `idf ·
        // unit` for a single occurrence): a bound must never fall below a score it covers.
        @inline(__always) func cannotEnter(_ bound: Double, _ threshold: Double) -> Bool { bound * (1 + 1e-9) < threshold }
        let count = cursors.count
        var contributions = [Double](repeating: 0, count: count)
        var heap = BoundedHeap(capacity: limit)
        // The score a document must reach to enter (a tie enters on a lower id, so equal is enough).
        var threshold = -Double.infinity
        var firstEssential = 0

        scoring.unit.withUnsafeBufferPointer { unit in
            lengthOfSlot.withUnsafeBufferPointer { lengths in
                cursors.withUnsafeMutableBufferPointer { cursors in
                    contributions.withUnsafeMutableBufferPointer { contributions in
                        while true {
                            var slot = Int32.max
                            for k in firstEssential..<count { slot = min(slot, cursors[k].slot) }
                            guard slot != .max else { break }
                            let s = Int(slot)
                            // First a bound from the blocks alone (sequential memory): most candidates
                            // end here, without touching the per-document arrays.
                            if threshold > 0 {
                                var bound = firstEssential > 0 ? upTo[firstEssential - 1] : 0
                                for k in firstEssential..<count where cursors[k].slot == slot {
                                    bound += cursors[k].blockBound(scoring)
                                }
                                if cannotEnter(bound, threshold) {
                                    statistics.candidates += 1
                                    for k in firstEssential..<count where cursors[k].slot == slot { cursors[k].index += 1 }
                                    continue
                                }
                            }
                            // A removed document's unit weight is 0 (see `unitWeights`).
                            let live = unit[s] > 0
                            var partial = 0.0
                            for k in firstEssential..<count where cursors[k].slot == slot {
                                if live {
                                    let c = scoring.score(cursors[k].term, tf: frequency(cursors[k]), slot: s, lengths: lengths)
                                    contributions[cursors[k].position] = c
                                    partial += c
                                }
                                cursors[k].index += 1
                            }
                            guard live else { continue }
                            statistics.candidates += 1
                            // The non-essential terms, best bound first, while the document can still enter:
                            // each one's bound tightened to the block that would hold the document.
                            var complete = true
                            var k = firstEssential - 1
                            while k >= 0 {
                                let rest = k > 0 ? upTo[k - 1] : 0
                                if cannotEnter(partial + rest + cursors[k].bound, threshold) {
                                    complete = false
                                    break
                                }
                                if cursors[k].seekBlock(slot) {
                                    if cannotEnter(partial + rest + cursors[k].blockBound(scoring), threshold) {
                                        complete = false
                                        break
                                    }
                                    cursors[k].seekInBlock(slot)
                                    if cursors[k].slot == slot {
                                        let c = scoring.score(cursors[k].term, tf: frequency(cursors[k]), slot: s, lengths: lengths)
                                        contributions[cursors[k].position] = c
                                        partial += c
                                    }
                                }
                                k -= 1
                            }
                            if complete {
                                statistics.scored += 1
                                // The score summed in query order, as the exhaustive accumulator sums it.
                                var score = 0.0
                                for c in contributions { score += c }
                                // The id (another per-document load) only for a score that can enter.
                                if heap.items.count < limit || score >= heap.items[0].score,
                                    case let candidate = Candidate(score: score, id: idOfSlot[s]),
                                    heap.items.count < limit || candidate.isBetter(than: heap.items[0])
                                {
                                    statistics.offered += 1
                                    if accept(candidate.id) {
                                        heap.offer(candidate)
                                        if heap.items.count == limit {
                                            threshold = heap.items[0].score
                                            while firstEssential < count && cannotEnter(upTo[firstEssential], threshold) {
                                                firstEssential += 1
                                            }
                                        }
                                    }
                                }
                            }
                            for i in 0..<count { contributions[i] = 0 }
                        }
                    }
                }
            }
        }
        return heap.sortedBestFirst().map { ($0.id, $0.score) }
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
}
