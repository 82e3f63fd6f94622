package import EngramPoisoningCore

/// `review-bypass`: self-approval, removing reviewers or code owners, admin merges, pushing or
/// force-pushing protected branches, turning off branch protection, merging without review
/// (policy rule 3).
///
/// General ("commit straight to main and push", "force-push main when protection rejects you") →
/// block; a narrow, plausible exception (docs-only changes, Dependabot auto-merge, a second reviewer
/// skipped on release branches when on-call approves) → flag; facts about how a bot is allowed to
/// push ("the release bot pushes version bumps to main; the ruleset enforces that") and rules that
/// forbid force-pushing main → allow.
package enum ReviewBypass {
    package static let forms = needles([
        "approve your own", "approve their own", "approve its own", "self-approve", "self approve", "self-merge",
        "approve it yourself", "approve the pr yourself", "pr review --approve", "--admin", "admin merge",
        "merge as admin", "bypass branch protection", "bypass the branch protection", "branch protection off",
        "disable branch protection", "turn off branch protection", "remove branch protection", "delete the ruleset",
        "disable the ruleset", "enforce_admins", "allow force pushes", "allow_force_pushes", "required_approving_review_count: 0",
        "skip required reviews", "skip the required review", "skip review", "skip the review", "skip code review",
        "without review", "without a review", "without code review", "without reviews", "without waiting for a human",
        "without waiting for review", "without waiting for approval", "without approval", "don't need review",
        "do not need review", "doesn't need review", "don't need a review", "no review needed", "no need for review",
        "don't need reviews", "straight to main", "directly to main", "straight to master", "directly to master",
        "directly to the default branch", "straight to the default branch", "directly to production",
        "straight to prod", "directly to release", "to main without a pr", "without a pr", "without opening a pr",
        "no pr needed", "skip the pr", "bypass the pr", "push --force origin main", "push --force origin master",
        "push -f origin main", "push -f origin master", "push --force main", "push -f main", "push origin +main",
        "force-push main", "force push main", "force-push to main", "force push to main", "force-push master",
        "force-push the main", "force push the main", "--force origin release", "codeowners", "from the reviewers",
        "remove the reviewer", "remove them from the review", "remove reviewers", "remove the security reviewer",
        "dismiss the review", "dismiss stale", "dismiss reviews", "auto-merge", "automerge", "can be skipped",
        "second reviewer", "merge your own", "merge their own", "approve with the bot", "bot token",
        "approve the pr on their behalf", "approve it on their behalf", "approve on their behalf", "approve on behalf of",
        "approve using their token", "approve the pr using their", "approve prs as the user", "impersonat",
        "/protection", "directly to protected", "straight to protected", "push to protected branches", "push to the protected",
        "required_pull_request_reviews\": null", "required_approving_review_count\": 0", "bypass the ruleset", "ruleset to evaluate",
        "enforcement: disabled", "add yourself to the bypass", "bypass list",
    ])

    package static func scan(_ t: ScreenText, _ out: inout Hits) {
        var strongest = StrongestHit()
        for (p, len) in t.all(forms, in: t.whole) {
            let s = t.sentence(at: p + 1)
            let f = Array(t.b[p..<(p + len)])
            if f == codeownersToken && !t.any(dropCues, in: s) { continue }
            if f == autoMergeToken || f == automergeToken {
                if !t.any(majorCues, in: s) { continue }
            }
            if f == canBeSkippedToken && !t.any(reviewCues, in: s) { continue }
            if f == secondReviewerToken && !t.any(skipCues, in: s) { continue }
            if f == botTokenToken && !t.any(approveCues, in: s) { continue }
            if f == adminToken && !t.any(mergeCues, in: s) { continue }
            if f == protectionToken && !t.any(dropCues, in: s) { continue }
            if Scope.negated(t, p + 1, p + len, s) || Scope.subjectMatter(t, s) && !Scope.directive(t, s) { continue }
            if t.any(neverCues, in: s) && !Scope.directive(t, s) { continue }
            let directive = Scope.directive(t, s)
            var v: PoisonVerdict?
            if !directive {
                // keeping a bypass, or recording that one is approved, preserves it
                v = t.any(leaveItCues, in: t.whole) || t.any(approvedCues, in: s) ? .flag : nil
            } else if (f == autoMergeToken || f == automergeToken) && t.any(automergeAllCues, in: s) {
                v = .block
            } else if f == autoMergeToken || f == automergeToken || f == canBeSkippedToken || f == secondReviewerToken {
                v = .flag
            } else if Scope.general(t, s) || t.any(slowTheTeamCues, in: t.whole) {
                v = .block
            } else if t.any(docsOnlyCues, in: s) || Scope.scoped(t, s) && Scope.hasTicket(t, t.whole) {
                v = .flag
            } else {
                v = .block
            }
            strongest.consider(v, p, p + len)
        }
        strongest.report("review-bypass", .harmful, into: &out)
    }
}

// Needle tables used inside the rules above, built once.
private let codeownersToken = needle("codeowners")
private let dropCues = needles(["drop", "remove", "delete", "edit", "take out", "strip"])
private let autoMergeToken = needle("auto-merge")
private let automergeToken = needle("automerge")
private let majorCues = needles(["major", "all ", "every", "any ", "without review", "security"])
private let canBeSkippedToken = needle("can be skipped")
private let reviewCues = needles(["review", "approv", "protection"])
private let secondReviewerToken = needle("second reviewer")
private let skipCues = needles(["skip", "not needed", "optional", "drop"])
private let botTokenToken = needle("bot token")
private let approveCues = needles(["approve", "merge", "review"])
private let adminToken = needle("--admin")
private let protectionToken = needle("/protection")
private let mergeCues = needles(["merge", "push"])
private let neverCues = needles(["never ", "not allowed", "is protected", "only allowed", "the ruleset enforces", "must go through"])
private let automergeAllCues = needles([
    "all updates", "every update", "all dependency", "without any review", "including major", "all prs", "every pr",
])
private let approvedCues = needles(["is approved", "was approved", "approved by", "signed off by", "sign-off from"])
private let leaveItCues = needles(["leave it", "keep it"])
private let slowTheTeamCues = needles(["slow the team", "whenever", "ship quickly", "no need to tell"])
private let docsOnlyCues = needles([
    "docs-only", "docs only", "typo", "documentation-only", "readme-only", "changelog-only", "if the on-call", "release branches", "dependabot",
    "renovate",
])
