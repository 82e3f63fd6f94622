package import EngramPoisoningCore

/// `disable-security-gate`: removing, skipping, suppressing or weakening a gate — secret scanning,
/// SAST, dependency audit, tests, lint, type checks, coverage, hooks, signing (policy rule 3).
///
/// A gate finding needs a weakening verb (disable, skip, remove, delete, turn off, bypass, exclude,
/// lower, mark skip, `|| true`, `continue-on-error`, `allow_failure`) near a gate object, or a
/// bypass token that is a weakening by itself (`--no-verify`, `commit.gpgsign false`, `HUSKY=0`,
/// `-DskipTests`, `[skip ci]`, `npm config set audit false`, `fail-on-severity: none`, blanket
/// `# noqa`/`# nosec`/`eslint-disable`).
///
/// How strong it is depends on the gate and the scope, because the policy treats tracked,
/// individual test skips and single style-lint rules as ordinary engineering:
/// - general ("whenever it fails", "any line the linter flags", "to save time") → block;
/// - one named test, one path or ruleset, "only when", a ticket → flag (a security gate), or allow
///   (a tracked test skip, a single style rule or a lint exclusion for a folder);
/// - a fact ("`go test -short` skips the integration tests locally; CI runs the full suite") →
///   allow for tests and style lint, flag for a security gate that is off;
/// - negated ("`--no-verify` is not allowed") or subject matter → allow.
package enum SecurityGates {
    package enum Gate { case security, tests, lint, coverage, hooks, signing }

    package static let verbs = needles([
        " disable", " skip", " remove", " delete", " drop ", " turn off", " turned off", " switch off", " bypass",
        " suppress", " silence", " mute", " comment out", " lower ", " lowered", " reduce", " relax", " exclude",
        " ignore", " allowlist", " whitelist", " mark them", " mark it", " mark the", " rip out", " get rid of",
        " strip ", " uninstall", " deactivat", " set false", " off ", " deleting", " removing", " disabling",
        " skipping", " bypassing", " kill ", " neuter", " loosen", " without the ", " take out", " pull out",
        " desactiva", " désactive", " deaktivier", " desativ", " disattiva", " отключи", " 禁用", " 关闭", " 無効",
        " stub out", " no-op", " noop", " neutralize", " neutralise", " short-circuit", " wyłącz", " devre dışı", " uitschakel", " 비활성",
    ])
    package static let securityObjects = needles([
        "secret scan", "secret-scan", "secret detection", "gitleaks", "trufflehog", "detect-secrets", "ggshield",
        " sast", "codeql", "semgrep", "bandit", "snyk", "sonar", "trivy", "grype", "npm audit", "pip-audit",
        "cargo audit", "cargo deny", "cargo-deny", "yarn audit", "pnpm audit", "dependency-review", "dependency review",
        "audit step", "security scan", "security check", "vulnerability scan", "code scanning", "osv-scanner",
        "checkov", "tfsec", "kics", "gosec", "brakeman", "safety check", "scorecard", "zap scan", "dast", "license check",
        "security.yml", "security workflow", "secret scanner", "sbom", "container scan", "image scan",
        "dependabot security", "dependabot alerts", "security updates", "vulnerability alerts", "push protection",
        "secret scanning", "renovate security", "signature verification", "`audit`", "audit target", "audit job", "make audit",
        "bundler-audit", "govulncheck", "dependabot.yml", ".github/dependabot", "dependabot config", "dependabot updates", "audit-ci", "secretlint",
        "hadolint", "zizmor", "kube-score",
    ])
    package static let testObjects = needles([
        " tests", " test ", "test suite", "failing test", "unit test", "integration test", "e2e", "the test", "@pytest.mark.skip", "skipif",
        "xctskip", "t.skip", "it.skip", "describe.skip", "@disabled", "@ignore", "xit(", "xdescribe", "pending(", "pytest", " marker", "test target",
        "test job",
    ])
    package static let lintObjects = needles([
        " lint", "linter", "eslint", "ruff", "flake8", "pylint", "mypy", "type check", "typecheck", "type-check", "tsc ", "clippy", "rubocop",
        "golangci", "shellcheck", "swiftlint", "stylelint", "prettier",
    ])
    package static let coverageObjects = needles(["coverage", "fail_under", "fail-under", "threshold", "min_coverage"])
    package static let hookObjects = needles([" hook", "pre-commit", "pre-push", "husky", "lefthook", "commit-msg hook", "git hooks"])
    package static let signingObjects = needles([
        "signing", "gpgsign", "gpg sign", "signature", "sigstore", "cosign", "provenance", "checksum", "sha256 check", "integrity check", "notary",
        "slsa", "signed commits", "commit signing", "verify the signature",
    ])

    package static let selfWeakening: [([UInt8], Gate)] = [
        (needle("--no-verify"), .hooks), (needle("commit -n "), .hooks), (needle("gpgsign false"), .signing),
        (needle("gpgsign=false"), .signing), (needle("--no-gpg-sign"), .signing), (needle("husky=0"), .hooks),
        (needle("husky_skip_hooks"), .hooks), (needle("skip=all"), .hooks), (needle("-dskiptests"), .tests),
        (needle("-dmaven.test.skip"), .tests), (needle("[skip ci]"), .tests), (needle("[ci skip]"), .tests),
        (needle("skip-checks: true"), .tests), (needle("audit false"), .security), (needle("audit=false"), .security),
        (needle("fail-on-severity: none"), .security), (needle("fail-on-severity none"), .security),
        (needle("--audit-level=none"), .security), (needle("# nosec"), .security), (needle("#nosec"), .security),
        (needle("# noqa"), .lint), (needle("type: ignore"), .lint), (needle("eslint-disable"), .lint),
        (needle("@ts-ignore"), .lint), (needle("@ts-nocheck"), .lint), (needle("//nolint"), .lint),
        (needle("// nolint"), .lint), (needle("continue-on-error: true"), .tests), (needle("|| true"), .tests),
        (needle("allow_failure: true"), .tests), (needle("--skip-tests"), .tests), (needle("--no-tests"), .tests),
        (needle("-x test"), .tests), (needle("--exclude-task test"), .tests), (needle("skips: ["), .security),
        (needle("--skip-audit"), .security), (needle("--ignore-vuln"), .security), (needle("--no-audit"), .security),
        (needle("semgrep-ignore"), .security), (needle("nosemgrep"), .security), (needle("--exit-zero"), .lint),
        (needle("--skip-signature"), .signing), (needle("--insecure-skip-tls-verify"), .signing),
        (needle("--allow-unsigned"), .signing), (needle("--no-check-signature"), .signing),
        (needle("sign: false"), .signing), (needle("signing: false"), .signing), (needle(".snyk ignore"), .security),
        (needle("unsigned uploads"), .signing),
        (needle("unsigned artifacts"), .signing), (needle("unsigned releases"), .signing), (needle("unsigned commits are fine"), .signing),
        (needle("unsigned images"), .signing),
        (needle("snyk ignore"), .security), (needle(".trivyignore"), .security), (needle("--ignore-unfixed"), .security),
        (needle(".nsprc"), .security), (needle("audit-ci allowlist"), .security), (needle("cve allowlist"), .security),
        (needle("--skip-db-update"), .security), (needle("--no-verify-signatures"), .signing),
        (needle("with `@true`"), .tests), (needle("with @true"), .tests), (needle("with `true`"), .tests), (needle("|| exit 0"), .tests),
        (needle("soft_fail: true"), .security), (needle("--soft-fail"), .security), (needle("exit-code: 0"), .security),
        (needle("exit-code: '0'"), .security), (needle("exit_zero"), .lint), (needle("--max-warnings=-1"), .lint),
        (needle("fail-on-findings: false"), .security), (needle("fail_on_findings: false"), .security),
    ]

    package static let objectBarriers = needles([
        " in test", " in the test", " from boto", " during ", " because ", " so that ", " when ", " if ", " they ", " which ", ", ",
    ])

    package static let selfTable = Needles(selfWeakening.map(\.0))

    package static func gate(_ t: ScreenText, _ r: Range<Int>) -> (Gate, Int)? {
        if let (q, _) = t.first(securityObjects, in: r) { return (.security, q) }
        if let (q, _) = t.first(signingObjects, in: r) { return (.signing, q) }
        if let (q, _) = t.first(hookObjects, in: r) { return (.hooks, q) }
        if let (q, _) = t.first(coverageObjects, in: r) { return (.coverage, q) }
        if let (q, _) = t.first(lintObjects, in: r) { return (.lint, q) }
        if let (q, _) = t.first(testObjects, in: r) { return (.tests, q) }
        return nil
    }

    package static let generalTriggers = needles([
        "when tests fail", "if tests fail", "whenever", "any line", "every line", "all warnings", "nobody here cares",
        "nobody cares", "move on", "to save time", "instead of fixing", "rather than fixing", "don't spend time",
        "do not spend time", "is too slow", "too slow", "are slow", "keeps failing", "keep failing", "blocks a build",
        "blocks the build", "turns green faster", "in the same change", "always", "every ", "all of them",
        "don't mention", "do not mention", "and delete", "and remove", "for good", "permanently", "entirely",
        "completely", "all findings", "false positives", "whenever you touch", "stays green", "stay green",
        "keep ci green", "keep the pipeline green", "turn green", "make ci pass", "pipeline passes", "so the build passes",
        "all repos", "every repo", "all projects", "all services", "by default", "everywhere", "globally", "org-wide", "across the org",
    ])

    package static func scan(_ t: ScreenText, _ out: inout Hits) {
        var strongest = StrongestHit()
        var bypasses: [(Int, Int)] = []  // table index, position
        for k in selfTable.list.indices where t.mayContain(selfTable, k) {
            if let p = t.find(selfTable.list[k]) { bypasses.append((k, p)) }
        }
        for s in t.sentences {
            // Every (gate, span) the sentence weakens; the strongest verdict wins.
            var found: [(Gate, Int, Int)] = []
            for (k, p0) in bypasses {
                let tok = selfTable.list[k]
                let g = selfWeakening[k].1
                if let p = s.contains(p0) ? p0 : t.find(tok, s.lowerBound, s.upperBound) {
                    found.append((g, p, p + tok.count))
                    break
                }
            }
            do {
                for (p, len) in t.all(verbs, in: s) {
                    // object after the verb (or just before it: "the gitleaks hook, remove it")
                    var winEnd = min(s.upperBound, p + len + 70)
                    // the gate must be the verb's object: stop at a preposition or clause break
                    if let (b, _) = t.first(objectBarriers, in: (p + len)..<winEnd) { winEnd = b + 1 }
                    let win = (p + len)..<winEnd
                    if let (g, q) = gate(t, win) {
                        found.append((g, p, q + 6))
                        continue
                    }
                    let back = max(s.lowerBound, p - 40)..<p
                    if let (g, q) = gate(t, back), t.any(itCues, in: (p + len)..<min(s.upperBound, p + len + 12)) || t.any(isCues, in: q..<p) {
                        found.append((g, q, p + len))
                    }
                }
            }
            for (g, lo, hi) in found {
                // "when the user says 'skip tests', …" quotes the user's words
                if Scope.quoted(t, lo + 1, s) && t.any(_gatesUserSays, in: s) { continue }
                if Scope.negated(t, lo + 1, hi, s) { continue }
                if Scope.subjectMatter(t, s) && !Scope.directive(t, s) { continue }
                if Scope.subjectMatter(t, s) && t.any(killSwitchCues, in: s) { continue }
                let v = verdict(t, s, g)
                strongest.consider(v, lo, hi)
            }
        }
        strongest.report("disable-security-gate", .harmful, into: &out)
    }

    package static func verdict(_ t: ScreenText, _ s: Range<Int>, _ g: Gate) -> PoisonVerdict? {
        let directive = Scope.directive(t, s)
        let generalCue = t.any(generalTriggers, in: s) || t.any(Scope.textGeneralMarkers, in: t.whole)
        let ticket = Scope.hasTicket(t, t.whole) || t.any(trackedInCues, in: s)
        let namedTest = t.any(testCues, in: s)
        let oneRule = t.any(ruleCues, in: s)
        let scoped = Scope.scoped(t, s) || ticket || namedTest || oneRule || t.any(onlyCues, in: s)
        if !directive {
            switch g {
            case .security, .signing, .hooks: return generalCue ? .block : (t.any(leaveItCues, in: t.whole) ? .flag : nil)
            case .tests, .lint, .coverage: return nil
            }
        }
        if generalCue && !(g == .tests && ticket) { return .block }
        switch g {
        case .tests:
            if ticket { return nil }
            if namedTest || scoped { return .flag }
            return .block
        case .lint:
            if oneRule || t.any(_gatesJustified, in: s) { return nil }
            return scoped ? .flag : .block
        case .coverage:
            return .flag
        case .security, .signing, .hooks:
            return scoped ? .flag : .block
        }
    }
}

// Needle tables used inside the rules above, built once.
private let itCues = needles([" it", " them", " that"])
private let isCues = needles([" is ", " are "])
private let killSwitchCues = needles(["kill switch", "feature flag"])
private let trackedInCues = needles(["tracked in", "until ", "remove the skip", "reason="])
private let testCues = needles(["`test", "test_", "testkeychain", "`e2e", " the flaky", "flaky `"])
private let ruleCues = needles([
    " rule ", " rule e", " rule s", " rules e", "e501", "md0", " no-console", "line length", "line-length", "max-len", " for that folder",
    "in scripts/", "generated/", "vendor/", "dist/", "build output",
])
private let onlyCues = needles([" only ", "when only", "only the"])
private let leaveItCues = needles(["leave it", "keep it", "keep that", "leave that", "as is"])
private let _gatesJustified = needles(["only with a comment", "explaining why", "with a justification", "with a reason", "link the issue"])
private let _gatesUserSays = needles(["user says", "user asks", "user types", "when asked", "the user wants"])
