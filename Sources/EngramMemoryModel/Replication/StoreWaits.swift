package import EngramMetadata
package import Foundation

/// Feed entries whose version the vector store does not hold yet, by memory: a follower read the entry
/// before its writer's store write landed (`MemoryService+Outbox`), and retries it at every `catchUp()`
/// until the store catches up. Written by hand: the follower's own bookkeeping, as `ChangeCursor`.
///
/// The feed marks such an entry applied, so this table is the only thing that remembers it: an entry may
/// leave only when a refresh of that memory, at that position or a later one, found the store caught up.
/// A refresh that did not look at a memory leaves its entry alone.
package struct StoreWaits: Sendable {
    /// The entry each memory waits on (the latest seen).
    package private(set) var entries: [UUID: ChangeRow] = [:]
    /// The most entries kept (an outage of the store during heavy writes); the rest are read at the next start.
    package let capacity: Int

    package init(capacity: Int) { self.capacity = capacity }

    package var count: Int { entries.count }
    package var values: [ChangeRow] { Array(entries.values) }

    /// Records a refresh of the memories of `refreshed`, of which those in `behind` still wait.
    /// - Returns: how many entries were dropped for want of capacity.
    package mutating func record(refreshed: [ChangeRow], behind: [ChangeRow]) -> Int {
        var looked: [UUID: Int64] = [:]
        for c in refreshed {
            guard let id = UUID(uuidString: c.key) else { continue }
            looked[id] = max(looked[id] ?? c.seq, c.seq)
        }
        let waiting = Set(behind.compactMap { UUID(uuidString: $0.key) })
        for (id, seq) in looked where !waiting.contains(id) {
            if let held = entries[id], held.seq <= seq { entries[id] = nil }
        }
        var dropped = 0
        for c in behind {
            guard let id = UUID(uuidString: c.key) else { continue }
            if let held = entries[id] {
                if held.seq < c.seq { entries[id] = c }
                continue
            }
            guard entries.count < capacity else {
                dropped += 1
                continue
            }
            entries[id] = c
        }
        return dropped
    }

    /// Ends the wait of `key` if it is still on position `seq` (its store write was finished elsewhere).
    package mutating func finished(key: String, seq: Int64) {
        if let id = UUID(uuidString: key), entries[id]?.seq == seq { entries[id] = nil }
    }

    /// The entries waiting with content hash `hash` (not deletions).
    package func waiting(hash: String) -> [ChangeRow] {
        entries.values.filter { $0.contentHash == hash && $0.state != "deleted" }
    }
}
