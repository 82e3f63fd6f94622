import EngramScreening

/// One credential found in a memory's text.
///
/// A `Finding` names the rule that fired and where the credential sits, and never carries the
/// credential itself, so findings can be logged, returned to clients and stored in audit logs.
///
/// `range` is expressed in **Character offsets** (Swift `Character`, i.e. extended grapheme
/// clusters — what a person counts when looking at the text), half-open: `start..<end`.
/// For pure-ASCII text without `\r\n` these equal UTF-8 byte offsets.
/// Use `text.index(text.startIndex, offsetBy: range.lowerBound)` to turn them into string indices.
public struct Finding: Sendable, Hashable, Codable {
    /// Stable rule identifier, e.g. `github-pat`, `aws-access-key-id`, `password-assignment`.
    public var ruleID: String
    /// Secret family the rule belongs to, e.g. `github`, `aws`, `private-key`, `generic`.
    public var family: String
    /// Half-open range of the secret value in Character offsets (see the type documentation).
    public var range: Range<Int>
    /// 0…1: how sure the rule is. Checksum-verified or fixed-format tokens score ≥ 0.9,
    /// keyword-proximity heuristics lower. Every returned finding is meant to block the write.
    public var confidence: Double

    public init(ruleID: String, family: String, range: Range<Int>, confidence: Double) {
        self.ruleID = ruleID
        self.family = family
        self.range = range
        self.confidence = confidence
    }
}
