extension BM25Index {
    /// The documents holding one term, in slot order, with what a pruned search needs to skip them.
    ///
    /// Compact rather than compressed: a posting is a 4-byte slot and a 1-byte term frequency (5 bytes
    /// instead of 8; the rare frequency of 255 or more lives in a side table), so a search reads
    /// a common term's list at a fraction of the memory traffic and still reaches any posting in O(1),
    /// which the binary search inside a block needs. Every `blockSize` postings form a block that
    /// records its last slot (to skip whole blocks) and its largest frequency and shortest document
    /// (from which a query bounds the block's best score for any average document length).
    ///
    /// Removing a document leaves its postings in place (the index marks the slot dead and compacts
    /// later), so the lists only ever grow at the end and stay sorted; bounds taken over dead postings
    /// are still bounds.
    struct PostingList {
        static let blockShift = 6
        static let blockSize = 1 << blockShift
        /// A frequency byte with this value means "look the frequency up in `largeFrequencies`".
        static let frequencyEscape: UInt8 = .max

        private(set) var slots: [Int32] = []
        private(set) var frequencies: [UInt8] = []
        /// Posting index → frequency, for the frequencies the byte cannot hold.
        private(set) var largeFrequencies: [Int32: Int32] = [:]
        /// A block's last slot, its largest frequency and its shortest document length (in `frontier`,
        /// one posting's slot, frequency and length).
        struct Block {
            var last: Int32
            var maxFrequency: Int32
            var minLength: Int32
        }
        private(set) var blocks: [Block] = []
        /// Over the whole list (dead postings included), the (frequency, length) pairs that no other
        /// posting beats on both counts (as frequent in a document at most as long). A term's score
        /// rises with its frequency and falls with the length, so for any query its best score in
        /// the list is at one of these few pairs: an exact bound, where one pair of the largest
        /// frequency and the shortest document would overstate it.
        private(set) var frontier: [Block] = []
        /// Live documents holding the term (the document frequency).
        var live = 0

        var count: Int { slots.count }

        /// Appends a posting; `slot` must be greater than every slot already in the list.
        mutating func append(slot: Int32, frequency: Int32, length: Int32) {
            let index = slots.count
            slots.append(slot)
            if frequency < Int32(Self.frequencyEscape) {
                frequencies.append(UInt8(frequency))
            } else {
                frequencies.append(Self.frequencyEscape)
                largeFrequencies[Int32(index)] = frequency
            }
            if index & (Self.blockSize - 1) == 0 {
                blocks.append(Block(last: slot, maxFrequency: frequency, minLength: length))
            } else {
                let block = blocks.count - 1
                blocks[block].last = slot
                blocks[block].maxFrequency = max(blocks[block].maxFrequency, frequency)
                blocks[block].minLength = min(blocks[block].minLength, length)
            }
            if !frontier.contains(where: { $0.maxFrequency >= frequency && $0.minLength <= length }) {
                frontier.removeAll { $0.maxFrequency <= frequency && $0.minLength >= length }
                frontier.append(Block(last: slot, maxFrequency: frequency, minLength: length))
            }
            live += 1
        }

        /// The frequency of the posting at `index`.
        @inline(__always) func frequency(at index: Int) -> Int32 {
            let byte = frequencies[index]
            return byte != Self.frequencyEscape ? Int32(byte) : largeFrequencies[Int32(index)] ?? Int32(byte)
        }

        /// The list without the postings of dead slots, renumbered by `newSlot` (−1: dead).
        func compacted(newSlot: [Int32], lengthOfSlot: [Int32]) -> PostingList {
            var out = PostingList()
            out.slots.reserveCapacity(live)
            out.frequencies.reserveCapacity(live)
            for index in slots.indices {
                let old = Int(slots[index])
                let slot = newSlot[old]
                guard slot >= 0 else { continue }
                out.append(slot: slot, frequency: frequency(at: index), length: lengthOfSlot[old])
            }
            return out
        }
    }
}
