/// A rule match in UTF-8 byte offsets of the scanned text, before overlap resolution.
public struct Candidate: Sendable {
    /// First byte of the match.
    public var start: Int
    /// Byte just past the match.
    public var end: Int
    /// The rule that matched (`github-pat`, `base64:github-pat`).
    public var ruleID: String
    /// The rule family (`github`, `private-key`, `generic`).
    public var family: String
    /// 0…1: how sure the rule is.
    public var confidence: Double
    /// Specificity: 3 = fixed-format/checksummed token, 2 = structural (URL, PEM, JWT, header),
    /// 1 = keyword heuristic. Higher wins when candidates overlap.
    public var tier: Int

    /// A match of `ruleID` over `start..<end`.
    @inlinable public init(start: Int, end: Int, ruleID: String, family: String, confidence: Double, tier: Int) {
        self.start = start
        self.end = end
        self.ruleID = ruleID
        self.family = family
        self.confidence = confidence
        self.tier = tier
    }

    /// Drops suppressed and low-confidence candidates; among overlapping ones keeps the most specific.
    public static func resolve(_ cands: [Candidate], suppressed: [Range<Int>], minimum: Double) -> [Candidate] {
        var list = cands.filter { c in
            c.confidence >= minimum && c.end > c.start
                && !suppressed.contains { $0.lowerBound <= c.start && c.end <= $0.upperBound }
        }
        list.sort { a, b in
            if a.tier != b.tier { return a.tier > b.tier }
            if a.confidence != b.confidence { return a.confidence > b.confidence }
            return (a.end - a.start) > (b.end - b.start)
        }
        var kept: [Candidate] = []
        for c in list where !kept.contains(where: { $0.start < c.end && c.start < $0.end }) {
            kept.append(c)
        }
        kept.sort { $0.start < $1.start }
        return kept
    }
}
