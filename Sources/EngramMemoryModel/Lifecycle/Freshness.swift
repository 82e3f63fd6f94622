public import Foundation

/// An organisation's lifecycle policy.
public struct LifecyclePolicy: Sendable, Hashable, Codable {
    /// A published memory neither served nor confirmed for this many days becomes `stale`.
    public var staleAfterDays: Int
    /// Versions of a deleted memory are purged this many days after the deletion.
    public var versionRetentionDays: Int
    /// Four-eyes review (on by default): nobody approves a memory they wrote or whose current text
    /// they wrote, owners included.
    public var approverMustDiffer: Bool

    public init(staleAfterDays: Int = 180, versionRetentionDays: Int = 30, approverMustDiffer: Bool = true) {
        self.staleAfterDays = staleAfterDays
        self.versionRetentionDays = versionRetentionDays
        self.approverMustDiffer = approverMustDiffer
    }

    /// The policy of personal memories and of organisations that set none.
    public static let `default` = LifecyclePolicy()
    /// Bounds an admin may set.
    public static let staleRange = 7...3650
    public static let retentionRange = 1...3650
}

/// How current a memory is, in words an assistant can act on.
public enum Freshness: Sendable, Hashable {
    /// Written, confirmed or served recently.
    case fresh
    /// Not confirmed for more than half the stale period: check it against the code before relying on it.
    case aging
    /// Nobody served or confirmed it for the stale period, or its author reported it outdated.
    case stale
    /// A push changed code it cites.
    case codeChanged(commit: String)

    /// The label: `fresh`, `aging`, `stale` or `code changed since <commit>`.
    public var label: String {
        switch self {
        case .fresh: return "fresh"
        case .aging: return "aging"
        case .stale: return "stale"
        case let .codeChanged(commit): return "code changed since \(commit.prefix(12))"
        }
    }

    /// The machine-readable state: `fresh`, `aging`, `stale` or `code_changed`.
    public var code: String {
        switch self {
        case .fresh: return "fresh"
        case .aging: return "aging"
        case .stale: return "stale"
        case .codeChanged: return "code_changed"
        }
    }

    /// When the memory was last known good: its last confirmation, edit or serving, whichever is latest.
    package static func lastAlive(_ m: Memory, _ u: MemoryUsage) -> Date {
        max(m.updatedAt, u.lastConfirmedAt ?? .distantPast, u.lastServedAt ?? .distantPast)
    }

    /// The freshness of `m` under `policy` at `now`. Confirmation and edits count; serving does not
    /// (a memory served every day may still be wrong), so `aging` is judged from them alone.
    public static func of(_ m: Memory, usage u: MemoryUsage, policy: LifecyclePolicy, now: Date = Date()) -> Freshness {
        if m.state == .stale { return .stale }
        if let change = m.anchorChange { return .codeChanged(commit: change.commit) }
        let confirmed = max(m.updatedAt, u.lastConfirmedAt ?? .distantPast)
        let days = now.timeIntervalSince(confirmed) / 86_400
        return days > Double(policy.staleAfterDays) / 2 ? .aging : .fresh
    }
}

/// The ranking prior: a small, bounded nudge from how current and trusted a memory is.
///
///     prior = 0.5 · recency + 0.25 · usage − 0.5 · reports − 0.25 · codeChanged − 0.25      ∈ [−1, 0.5]
///     recency     = 2^(−days since confirmed or edited / 90)                                 ∈ (0, 1]
///     usage       = min(1, ln(1 + served) / ln(51)), served as of the last sweep             ∈ [0, 1]
///     reports     = min(1, open outdated/wrong reports / 2)                                  ∈ [0, 1]
///     codeChanged = 1 when a push changed code the memory cites, else 0
///     score       = relevance + FreshnessPrior.weight · prior
///
/// With `weight` = 0.08 the prior moves a fused relevance (0…1) by at most 0.08 down or 0.04 up: it
/// orders near-ties (an old and a new statement of the same fact), while a clearly more relevant
/// memory still ranks first. Measured in eval/lifecycle (README: the weight grid; 0.08 is where the
/// current fact gains without the prior taking over). The served count is the one the last freshness
/// sweep saw (`UsageTracker.refreshRanking`): a search never changes the next search's scores.
public enum FreshnessPrior {
    public static let weight = 0.08
    package static let halfLifeDays = 90.0

    public static func prior(_ m: Memory, usage u: MemoryUsage, now: Date = Date()) -> Double {
        let confirmed = max(m.updatedAt, u.lastConfirmedAt ?? .distantPast)
        let days = max(0, now.timeIntervalSince(confirmed) / 86_400)
        let recency = pow(2, -days / halfLifeDays)
        let used = min(1, log(1 + Double(u.servedCount)) / log(51))
        let reports = min(1, Double(u.openReports) / 2)
        let changed = m.anchorChange == nil ? 0.0 : 1.0
        return 0.5 * recency + 0.25 * used - 0.5 * reports - 0.25 * changed - 0.25
    }
}
