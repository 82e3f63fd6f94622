import EngramCore
import EngramKernels
import Foundation

/// Wraps an embedder so that concurrent calls are answered by shared batches (`BatchCoalescer`).
///
/// When fewer than two batches run a call starts one at once (no added latency when idle); calls
/// that arrive while both run wait and go together into the next forward pass, which reads the
/// model's weights once for all of them. Two batches at a time: under a write load the batches
/// alternate between a large one and the one caller that came back first, and a second batch keeps
/// the other core busy meanwhile (`engram-bench search --concurrency 16`, two cores: 175 against
/// 155 adds/s with one batch at a time).
public final class CoalescingEmbedder: Embedder, Sendable {
    public let base: any Embedder
    private let coalescer: BatchCoalescer<String, [Float]>

    /// - Parameters:
    ///   - maxBatch: most texts packed into one forward pass.
    ///   - concurrentBatches: batches that may run at once.
    public init(_ base: any Embedder, maxBatch: Int = 64, concurrentBatches: Int = 2) {
        self.base = base
        coalescer = BatchCoalescer(maxBatch: maxBatch, concurrentBatches: concurrentBatches) { texts in try await base.embed(texts) }
    }

    /// Most texts packed into one forward pass.
    public var maxBatch: Int { coalescer.maxBatch }
    public var dimensions: Int { base.dimensions }
    public var modelID: String { base.modelID }

    public func embed(_ texts: [String]) async throws -> [[Float]] {
        try await coalescer.submit(texts)
    }
}
