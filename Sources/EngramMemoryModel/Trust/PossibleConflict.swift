/// A memory that may contradict or overlap another: close in meaning, not a near duplicate, and about
/// the same repository, tag or code.
public struct PossibleConflict: Sendable, Hashable {
    public var memory: Memory
    /// Cosine similarity of the two texts.
    public var similarity: Double

    public init(memory: Memory, similarity: Double) {
        self.memory = memory
        self.similarity = similarity
    }
}
