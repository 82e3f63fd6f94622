import EngramCore
import EngramEmbedding
package import Foundation
import Synchronization

/// New memories between their decision and their durable writes: what lets concurrent adds share
/// their commits (group commit) while each still decides as if the adds ran one after another.
///
/// An add decides under the service's write lock (duplicate, near duplicate or new) and, when new,
/// registers here and leaves the lock; its version and store writes then commit together with
/// other adds' (`GroupCommitter`), and it ends here once its memory is in the index. A later add
/// whose decision could depend on an add still in flight (the same text, or a near duplicate in
/// the same tenant) waits for it and decides again, and every other writer waits until no add is
/// in flight (`MemoryService.exclusively`), so no decision ever reads around an unfinished add.
package final class InFlightAdds: Sendable {
    private struct Entry {
        let memory: Memory
        let vector: [Float]
    }
    private struct State {
        var entries: [UUID: Entry] = [:]
        /// Callers waiting for one add (by its memory id), or for all (`nil`).
        var waiters: [(id: UUID?, continuation: CheckedContinuation<Void, Never>)] = []
    }
    private let state = Mutex(State())

    package init() {}

    /// Registers a new memory whose writes are about to start.
    package func begin(_ memory: Memory, vector: [Float]) {
        state.withLock { $0.entries[memory.id] = Entry(memory: memory, vector: vector) }
    }

    /// Ends an add (written, or failed), resuming whoever waits for it.
    package func end(_ id: UUID) {
        let ready = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            s.entries[id] = nil
            var ready: [CheckedContinuation<Void, Never>] = []
            s.waiters.removeAll { waiter in
                let done = waiter.id == id || (waiter.id == nil && s.entries.isEmpty)
                if done { ready.append(waiter.continuation) }
                return done
            }
            return ready
        }
        for c in ready { c.resume() }
    }

    /// An add in flight that a new add with this text and vector must wait for: the same content
    /// hash in the tenant, or a memory of the same author in the tenant at least `threshold` similar.
    package func blocking(tenant: String, userId: String, hash: String, vector: [Float]?, threshold: Float) -> UUID? {
        state.withLock { s in
            for (id, entry) in s.entries where entry.memory.tenant == tenant {
                if entry.memory.contentHash == hash { return id }
                if let vector, entry.memory.userId == userId, VectorMath.cosine(vector, entry.vector) >= Double(threshold) { return id }
            }
            return nil
        }
    }

    /// Returns once the add of `id` has ended (at once when it is not in flight).
    package func wait(for id: UUID) async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let now = state.withLock { s -> Bool in
                guard s.entries[id] != nil else { return true }
                s.waiters.append((id, c))
                return false
            }
            if now { c.resume() }
        }
    }

    /// Returns once no add is in flight.
    package func waitForAll() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let now = state.withLock { s -> Bool in
                guard !s.entries.isEmpty else { return true }
                s.waiters.append((nil, c))
                return false
            }
            if now { c.resume() }
        }
    }
}
