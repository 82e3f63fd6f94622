extension BM25Index {
    /// The `limit` best documents for `query` by scoring every document that holds a query term:
    /// the ranking `search` must return (ties by ascending id), kept as the reference for tests and
    /// as the baseline `engram-bench eval search-breakdown` measures `search` against.
    public func exhaustiveSearch(_ query: String, limit: Int, accept: (Int64) -> Bool = { _ in true }) -> [(id: Int64, score: Double)] {
        guard limit > 0, let (acc, touchedSlots) = accumulate(query) else { return [] }
        // Keep the best `keep` documents in a bounded heap while scoring (one comparison for most
        // documents), then check `accept` on them best first.
        let keep = limit * 2 + 16
        var best = BoundedHeap(capacity: keep)
        acc.withUnsafeBufferPointer { acc in
            idOfSlot.withUnsafeBufferPointer { ids in
                var floor = 0.0
                for slot in touchedSlots {
                    let score = acc[Int(slot)]
                    if score < floor { continue }
                    best.offer(Candidate(score: score, id: ids[Int(slot)]))
                    if best.items.count == keep { floor = best.items[0].score }
                }
            }
        }
        var out: [(id: Int64, score: Double)] = []
        out.reserveCapacity(min(limit, touchedSlots.count))
        for c in best.sortedBestFirst() where accept(c.id) {
            out.append((c.id, c.score))
            if out.count == limit { return out }
        }
        if touchedSlots.count <= keep { return out }
        // `accept` rejected too many of them: rank every matching document.
        var all = touchedSlots.map { Candidate(score: acc[Int($0)], id: idOfSlot[Int($0)]) }
        all.sort { $0.isBetter(than: $1) }
        out.removeAll(keepingCapacity: true)
        for c in all where accept(c.id) {
            out.append((c.id, c.score))
            if out.count == limit { break }
        }
        return out
    }

    /// The query's score of every live document: `acc[slot]` (0 where no query term occurs) and the
    /// matching slots, each once.
    func accumulate(_ query: String) -> (acc: [Double], touched: [Int32])? {
        guard let scoring = scoring(query) else { return nil }
        var acc = [Double](repeating: 0, count: idOfSlot.count)
        // The matching slots are collected without a branch: every posting writes its slot at
        // the end of the list, which advances only when the slot had no score yet (a branch on
        // that is taken about half the time, unpredictably). No sweep of all documents after.
        let postingCount = scoring.terms.reduce(0) { $0 + postings[Int($1.id)].count }
        var touched = [Int32](repeating: 0, count: postingCount)
        var touchedCount = 0
        acc.withUnsafeMutableBufferPointer { acc in
            touched.withUnsafeMutableBufferPointer { touched in
                scoring.unit.withUnsafeBufferPointer { unit in
                    lengthOfSlot.withUnsafeBufferPointer { lengths in
                        for term in scoring.terms {
                            let list = postings[Int(term.id)]
                            for index in 0..<list.count {
                                let s = Int(list.slots[index])
                                if unit[s] == 0 { continue }  // removed, not yet compacted away
                                touched[touchedCount] = list.slots[index]
                                touchedCount &+= acc[s] == 0 ? 1 : 0
                                acc[s] += scoring.score(term, tf: list.frequency(at: index), slot: s, lengths: lengths)
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
