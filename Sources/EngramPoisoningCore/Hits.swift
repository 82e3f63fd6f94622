/// Policy categories.
package enum Category: String {
    case concealment
    case hijack = "control-hijack"
    case harmful = "harmful-directive"
    case authority
}

/// One rule firing, in `ScreenText` coordinates.
package struct Hit {
    package var id: String
    package var category: Category
    package var verdict: PoisonVerdict
    package var lo: Int
    package var hi: Int
}

/// The strongest verdict a rule family found in a text and where: families that look at every
/// sentence report one hit, at the place that weighed most.
package struct StrongestHit {
    package var verdict: PoisonVerdict?
    package var at = (0, 0)

    package init() {}

    /// Keeps `v` (at `lo..<hi`) when it is stronger than what was kept so far.
    package mutating func consider(_ v: PoisonVerdict?, _ lo: Int, _ hi: Int) {
        guard let v, verdict == nil || v > verdict! else { return }
        verdict = v
        at = (lo, hi)
    }

    /// Adds the kept verdict (if any) to `out` as rule `id`.
    package func report(_ id: String, _ category: Category, into out: inout Hits) {
        if let verdict { out.add(id, category, verdict, at.0, at.1) }
    }
}

/// The hits of one analysis, with helpers the rule files share.
package struct Hits {
    package var list: [Hit] = []

    package init() {}

    package mutating func add(_ id: String, _ category: Category, _ verdict: PoisonVerdict?, _ lo: Int, _ hi: Int) {
        guard let v = verdict, v != .allow else { return }
        list.append(Hit(id: id, category: category, verdict: v, lo: lo, hi: max(hi, lo + 1)))
    }

    package func has(_ id: String) -> Bool { list.contains { $0.id == id } }
    package var hasHarmful: Bool { list.contains { $0.category == .harmful } }
}
