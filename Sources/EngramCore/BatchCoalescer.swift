import Synchronization

/// Answers concurrent calls with shared batches: the calls that arrive while a batch runs
/// wait (suspended, not blocking a thread) and go together into the next one.
///
/// When fewer than `concurrentBatches` batches run, a call starts a batch at once, so an idle
/// service adds no latency; otherwise it joins the next batch. Used where one pass over shared data serves many callers at
/// the cost of one: the MiniLM forward pass (`CoalescingEmbedder`: weights read once per
/// batch) and the vector scan (`MemoryService`: rows read once for up to eight queries).
///
/// If a batch of several callers fails, each caller's inputs are retried alone, so one
/// caller's bad input cannot fail the others.
public final class BatchCoalescer<Input: Sendable, Output: Sendable>: Sendable {
    private struct Waiter {
        let inputs: [Input]
        let continuation: CheckedContinuation<[Output], any Error>
    }
    private struct State {
        var pending: [Waiter] = []
        var running = 0
    }

    /// Most inputs in one batch (a single caller with more still runs whole).
    public let maxBatch: Int
    /// Most batches running at once.
    public let concurrentBatches: Int
    private let run: @Sendable ([Input]) async throws -> [Output]
    private let state = Mutex(State())

    /// - Parameters:
    ///   - maxBatch: most inputs per batch.
    ///   - concurrentBatches: most batches running at once (one per core for CPU-bound work that a
    ///     batch of one would run on one core only).
    ///   - run: computes the outputs of a batch, one per input, in order.
    public init(maxBatch: Int, concurrentBatches: Int = 1, run: @escaping @Sendable ([Input]) async throws -> [Output]) {
        self.maxBatch = max(1, maxBatch)
        self.concurrentBatches = max(1, concurrentBatches)
        self.run = run
    }

    /// The outputs for `inputs`, in order, computed in a batch with other concurrent calls.
    public func submit(_ inputs: [Input]) async throws -> [Output] {
        guard !inputs.isEmpty else { return [] }
        return try await withCheckedThrowingContinuation { continuation in
            let start = state.withLock { s -> Bool in
                s.pending.append(Waiter(inputs: inputs, continuation: continuation))
                if s.running >= concurrentBatches { return false }
                s.running += 1
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
                while let next = s.pending.first, taken.isEmpty || count + next.inputs.count <= maxBatch {
                    taken.append(next)
                    count += next.inputs.count
                    s.pending.removeFirst()
                }
                if taken.isEmpty { s.running -= 1 }
                return taken
            }
            if batch.isEmpty { return }
            do {
                let outputs = try await checkedRun(batch.flatMap(\.inputs))
                var offset = 0
                for w in batch {
                    w.continuation.resume(returning: Array(outputs[offset..<(offset + w.inputs.count)]))
                    offset += w.inputs.count
                }
            } catch {
                guard batch.count > 1 else {
                    batch[0].continuation.resume(throwing: error)
                    continue
                }
                for w in batch {
                    do { w.continuation.resume(returning: try await checkedRun(w.inputs)) } catch { w.continuation.resume(throwing: error) }
                }
            }
        }
    }

    private func checkedRun(_ inputs: [Input]) async throws -> [Output] {
        let outputs = try await run(inputs)
        precondition(outputs.count == inputs.count, "BatchCoalescer: run returned \(outputs.count) outputs for \(inputs.count) inputs")
        return outputs
    }
}
