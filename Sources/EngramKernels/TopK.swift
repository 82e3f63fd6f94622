/// A scored row: `id` is the caller's stable identifier, `score` the similarity.
public struct ScoredID: Sendable, Hashable {
    /// Stable identifier of the row (not its current position).
    public var id: Int64
    /// Similarity (higher is better).
    public var score: Float

    public init(id: Int64, score: Float) {
        self.id = id
        self.score = score
    }

    /// Result order: higher score first; equal scores by ascending id, so results are deterministic.
    @inline(__always)
    public static func ranksBefore(_ a: ScoredID, _ b: ScoredID) -> Bool {
        a.score > b.score || (a.score == b.score && a.id < b.id)
    }
}

/// Bounded selection of the `k` best `ScoredID`s without sorting everything.
///
/// A binary min-heap keyed on result order: the root is the worst kept element,
/// so a candidate is compared against it once and most are rejected in O(1).
public struct TopK: Sendable {
    /// Capacity (the `k` of top-k).
    public let k: Int
    private var heap: [ScoredID] = []

    public init(k: Int) {
        self.k = max(0, k)
        heap.reserveCapacity(min(self.k, 1 << 16))
    }

    /// The number of elements currently kept.
    public var count: Int { heap.count }

    /// The worst kept score once full (a threshold candidates must beat), else `-infinity`.
    @inline(__always)
    public var threshold: Float { heap.count < k ? -.infinity : heap[0].score }

    /// Offer a candidate.
    @inline(__always)
    public mutating func insert(_ item: ScoredID) {
        if heap.count < k {
            heap.append(item)
            siftUp(heap.count - 1)
        } else if k > 0, ScoredID.ranksBefore(item, heap[0]) {
            heap[0] = item
            siftDown(0)
        }
    }

    /// The kept elements, best first.
    public func sorted() -> [ScoredID] {
        heap.sorted(by: ScoredID.ranksBefore)
    }

    // The heap root is the element that ranks last.
    @inline(__always)
    private func worse(_ a: ScoredID, _ b: ScoredID) -> Bool { ScoredID.ranksBefore(b, a) }

    private mutating func siftUp(_ index: Int) {
        var i = index
        while i > 0 {
            let parent = (i - 1) / 2
            if worse(heap[i], heap[parent]) {
                heap.swapAt(i, parent)
                i = parent
            } else {
                return
            }
        }
    }

    private mutating func siftDown(_ index: Int) {
        var i = index
        let n = heap.count
        while true {
            let l = 2 * i + 1
            let r = l + 1
            var m = i
            if l < n, worse(heap[l], heap[m]) { m = l }
            if r < n, worse(heap[r], heap[m]) { m = r }
            if m == i { return }
            heap.swapAt(i, m)
            i = m
        }
    }
}
