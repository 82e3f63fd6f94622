/// A rule match in UTF-8 byte offsets of the scanned text, before overlap resolution.
public struct Candidate: Sendable {
    public var start: Int
    public var end: Int
    public var ruleID: String
    public var family: String
    public var confidence: Double
    /// Specificity: 3 = fixed-format/checksummed token, 2 = structural (URL, PEM, JWT, header),
    /// 1 = keyword heuristic. Higher wins when candidates overlap.
    public var tier: Int

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
