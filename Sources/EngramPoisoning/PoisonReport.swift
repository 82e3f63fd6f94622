public import EngramPoisoningCore

/// One rule that fired on a memory's text.
///
/// Like the secret filter's `Finding`, it never carries the matched text, so it can be logged,
/// returned to clients and written to the audit log. `range` is in Character offsets, half-open.
public struct PoisonFinding: Sendable, Hashable, Codable {
    /// Stable rule identifier, e.g. `remote-script-exec`, `hidden-unicode-tags`.
    public var ruleID: String
    /// The policy category: `concealment`, `control-hijack`, `harmful-directive`, `authority`.
    public var category: String
    /// What this finding alone asks for (`flag` or `block`).
    public var verdict: PoisonVerdict
    /// Half-open span in Character offsets of the text that triggered the rule.
    public var range: Range<Int>

    public init(ruleID: String, category: String, verdict: PoisonVerdict, range: Range<Int>) {
        self.ruleID = ruleID
        self.category = category
        self.verdict = verdict
        self.range = range
    }
}

/// The screen's answer for one memory.
public struct PoisonReport: Sendable, Hashable, Codable {
    /// The strongest verdict among the findings (`allow` when there are none).
    public var verdict: PoisonVerdict
    /// Every rule that fired, ordered by position.
    public var findings: [PoisonFinding]

    public init(findings: [PoisonFinding]) {
        self.findings = findings.sorted { ($0.range.lowerBound, $0.ruleID) < ($1.range.lowerBound, $1.ruleID) }
        self.verdict = findings.map(\.verdict).max() ?? .allow
    }

    /// The distinct rule ids, in order of first appearance.
    public var ruleIDs: [String] {
        var seen = Set<String>()
        return findings.map(\.ruleID).filter { seen.insert($0).inserted }
    }

    /// Human-readable message for API/MCP errors and warnings: names rules and spans, never the
    /// text, e.g. `rejected: content reads as an instruction planted for assistants
    /// (remote-script-exec at characters 12–58). …`.
    public var message: String {
        if findings.isEmpty { return "accepted: nothing instruction-like found." }
        let parts = findings.enumerated().map { k, f in
            let span = "\(f.range.lowerBound)\u{2013}\(f.range.upperBound)"
            return k == 0 ? "\(f.ruleID) at characters \(span)" : "\(f.ruleID) at \(span)"
        }
        let list = parts.joined(separator: "; ")
        switch verdict {
        case .block:
            return
                "rejected: content reads as an instruction planted for assistants (\(list)). Memories record facts and conventions; they must not direct assistants to run downloaded code, send data out, hide text or override instructions."
        case .flag, .allow:
            return "flagged for review: content may weaken security or change whom assistants trust (\(list))."
        }
    }
}
