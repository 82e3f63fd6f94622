/// How the service treats a memory after screening.
public enum PoisonVerdict: String, Sendable, Codable, Comparable, CaseIterable {
    /// Nothing suspicious: store and serve as usual.
    case allow
    /// Suspicious but plausibly legitimate: an org memory always goes to review; a personal
    /// memory is stored with `trust: flagged` and served with a warning.
    case flag
    /// A high-confidence attack: rejected with an error naming the rules, nothing stored.
    case block

    package var rank: Int {
        switch self {
        case .allow: 0
        case .flag: 1
        case .block: 2
        }
    }

    public static func < (a: PoisonVerdict, b: PoisonVerdict) -> Bool { a.rank < b.rank }
}
