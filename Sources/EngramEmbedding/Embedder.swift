import Foundation

/// Turns texts into fixed-size, L2-normalised Float32 vectors.
///
/// Implementations: `MiniLMEmbedder` (all-MiniLM-L6-v2 computed in-process on CBLAS) and
/// `RemoteEmbedder` (an OpenAI-compatible or Ollama embedding server). Every vector returned by
/// `embed(_:)` has exactly `dimensions` components and unit L2 norm (an all-zero vector stays zero),
/// in the same order as the input texts.
public protocol Embedder: Sendable {
    /// Length of every returned vector.
    var dimensions: Int { get }
    /// Stable identifier of the model that produced the vectors (stored next to each memory).
    var modelID: String { get }
    /// Embeds `texts`; the result has one vector per text, in input order, each L2-normalised.
    func embed(_ texts: [String]) async throws -> [[Float]]
}

/// Small vector helpers shared by the embedders and their tests.
public enum VectorMath {
    /// Scales `v` in place to unit L2 norm (a zero vector is left unchanged).
    @inlinable
    public static func normalize(_ v: inout [Float]) {
        var sum: Float = 0
        for x in v { sum += x * x }
        guard sum > 0, sum.isFinite else { return }
        let inv = 1 / sum.squareRoot()
        for i in v.indices { v[i] *= inv }
    }

    /// Cosine similarity of two equal-length vectors (0 when either is zero).
    public static func cosine(_ a: [Float], _ b: [Float]) -> Double {
        precondition(a.count == b.count, "cosine: length mismatch \(a.count) vs \(b.count)")
        var dot = 0.0
        var na = 0.0
        var nb = 0.0
        for i in a.indices {
            let x = Double(a[i])
            let y = Double(b[i])
            dot += x * y
            na += x * x
            nb += y * y
        }
        guard na > 0, nb > 0 else { return 0 }
        return dot / (na.squareRoot() * nb.squareRoot())
    }
}
