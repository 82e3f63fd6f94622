public import EngramAuth

/// How far a reader can trust a memory, as search and get present it.
///
/// - `flagged`: the poisoning screen flagged the text and no reviewer approved it since: read it as
///   a claim to check, never as an instruction.
/// - `reviewed`: a reviewer (not its author, under four-eyes review) approved the current text.
/// - `own`: the reader wrote it.
/// - `unreviewed`: a teammate wrote it and nobody reviewed it.
public enum MemoryTrust: String, Sendable, Codable, CaseIterable {
    case reviewed, own, unreviewed, flagged
}

extension Memory {
    /// The trust of this memory for `reader` (see `MemoryTrust`).
    public func trust(for reader: Principal) -> MemoryTrust {
        if !screenFlags.isEmpty { return .flagged }
        if reviewedBy != nil { return .reviewed }
        return userId == reader.userId ? .own : .unreviewed
    }
}
