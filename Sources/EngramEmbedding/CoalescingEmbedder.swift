import EngramCore
import EngramKernels
import Foundation

/// Wraps an embedder so that concurrent calls are answered by shared batches (`BatchCoalescer`).
///
/// When no batch is running a call starts one at once (no added latency when idle); calls that
/// arrive while a batch runs wait and go together into the next forward pass, which reads the
/// model's weights once for all of them. One batch runs at a time, leaving the other cores to
/// the vector scans and request handling.
public final class CoalescingEmbedder: Embedder, Sendable {
    public let base: any Embedder
    private let coalescer: BatchCoalescer<String, [Float]>

    /// - Parameter maxBatch: most texts packed into one forward pass.
    public init(_ base: any Embedder, maxBatch: Int = 64) {
        self.base = base
        coalescer = BatchCoalescer(maxBatch: maxBatch) { texts in try await base.embed(texts) }
    }

    /// Most texts packed into one forward pass.
    public var maxBatch: Int { coalescer.maxBatch }
    public var dimensions: Int { base.dimensions }
    public var modelID: String { base.modelID }

    public func embed(_ texts: [String]) async throws -> [[Float]] {
        try await coalescer.submit(texts)
    }
}
