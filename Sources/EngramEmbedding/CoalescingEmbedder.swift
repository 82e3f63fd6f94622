import Foundation
import Synchronization

/// Wraps an embedder so that concurrent calls are answered by shared batches.
///
/// When no batch is running a call starts one at once (no added latency when idle); calls that
/// arrive while a batch runs wait and go together into the next forward pass, which costs far
/// less per text than separate passes (`engram bench embed`: a batch of 32 short texts ≈ 2× the
/// throughput of 32 single calls). One batch runs at a time, leaving the other cores to the
/// vector scans and request handling.
public final class CoalescingEmbedder: Embedder, Sendable {
    private struct Waiter {
        let texts: [String]
        let continuation: CheckedContinuation<[[Float]], any Error>
    }
    private struct State {
        var pending: [Waiter] = []
        var running = false
    }

    public let base: any Embedder
    /// Most texts packed into one forward pass.
    public let maxBatch: Int
    private let state = Mutex(State())

    public init(_ base: any Embedder, maxBatch: Int = 64) {
        self.base = base
        self.maxBatch = maxBatch
    }

    public var dimensions: Int { base.dimensions }
    public var modelID: String { base.modelID }

    public func embed(_ texts: [String]) async throws -> [[Float]] {
        guard !texts.isEmpty else { return [] }
        return try await withCheckedThrowingContinuation { continuation in
            let start = state.withLock { s -> Bool in
                s.pending.append(Waiter(texts: texts, continuation: continuation))
                if s.running { return false }
                s.running = true
                return true
            }
            if start { Task { await self.drain() } }
        }
    }

    private func drain() async {
        while true {
            let batch = state.withLock { s -> [Waiter] in
                var taken: [Waiter] = []
                var count = 0
                while let next = s.pending.first, taken.isEmpty || count + next.texts.count <= maxBatch {
                    taken.append(next)
                    count += next.texts.count
                    s.pending.removeFirst()
                }
                if taken.isEmpty { s.running = false }
                return taken
            }
            if batch.isEmpty { return }
            do {
                let vectors = try await base.embed(batch.flatMap(\.texts))
                var offset = 0
                for w in batch {
                    w.continuation.resume(returning: Array(vectors[offset..<(offset + w.texts.count)]))
                    offset += w.texts.count
                }
            } catch {
                for w in batch { w.continuation.resume(throwing: error) }
            }
        }
    }
}
