package import EngramPoisoningCore

/// `ci-secret-exposure`: exposing CI secrets (policy rule 3) — printing them (`echo ${{ secrets.X }}`,
/// `printenv`, `env > file`, `set -x` over a login line, step-debug logging, `| base64` to dodge
/// masking), uploading them as artifacts, committing them (`_authToken` into `.npmrc` then
/// `git add`), keeping them as plain `env:` values instead of secrets, or handing them to untrusted
/// code (`pull_request_target` that checks out the PR head, secrets passed to fork workflows, an
/// interactive `tmate` shell on a runner).
///
/// `secret-logging`: logging or printing credentials and sensitive values anywhere (Authorization
/// headers, OAuth/access tokens, passwords, card numbers) — unless the sentence redacts or forbids it.
///
/// General ("every workflow", "the deploy job") → block; scoped ("only staging", "on failure of the
/// release job") → flag; negated ("never print the environment in CI logs") or facts about the
/// protected setup ("secrets are only exposed to the deploy environment") → allow.
package enum CISecrets {
    package static let printers = needles([
        "echo ", "print ", "print(", "printenv", "env >", "env>", "set -x", "actions_step_debug", "cat $", "cat ${",
        "console.log", "println", "puts ", "write-host", "write-output", "log the", "logs the", "dump ", "printf ",
        "runner_debug", "upload-artifact", "git add .npmrc", "git add .env", "commit the", "git commit", "export ",
    ])
    package static let secretRefs = needles([
        "${{ secrets.", "${{secrets.", "secrets.", "$secret", "_token", "_password", "_secret", "_key}", "_key ",
        "_key\"", "kubeconfig", "aws_secret", "registry_password", "-p $", "--password", "authtoken", "credentials",
        "every command is echoed", "env.txt", "env >", "printenv", " secret", " password", "api key", " token",
    ])
    package static let forms = needles([
        "pull_request_target", "tmate", "action-tmate", "upterm", "secrets: inherit", "plain `env:`", "plain env:",
        "instead of a secret", "unmasked", "| base64", "::add-mask::", "show up in the logs", "shows up in the logs",
        "in the logs unmasked", "actions_step_debug: true", "actions_runner_debug: true", "upload-artifact",
    ])

    package static let committers = needles([
        " paste", " hardcode", " hard-code", " commit", " put ", " embed", " inline", " write ", " check in", " add ",
    ])
    package static let committedSecrets = needles([
        "access key", "secret key", "root key", "credentials", "password", "token", "api key", "private key", "secret",
    ])
    package static let committedPlaces = needles([
        "workflow", ".yml", ".yaml", "dockerfile", "the repo", "into the code", "in the code", "source file", "config file", "in git", "plain text",
        "plaintext", "the script", "docker image", "the image", "settings.py", "config/", ".py", ".js", ".ts", ".go", ".rb", "directly in",
    ])
    package static let artifactForms = needles([
        "as an artifact", "as artifacts", "as a build artifact", "as build artifacts", "as an artefact", "upload-artifact", "artifact on failure",
        "artifacts on failure",
    ])
    package static let artifactSecrets = needles([
        ".env", "secret", "credential", "token", "whole workspace", "entire workspace", "home directory", "~/.", "kubeconfig",
    ])

    package static let loggers = needles([
        " log ", " logs ", " logged", "to the logs", "in the logs", "in logs", "cache key logs", "to crashlytics", "to sentry", "to stdout",
        "console.log", "log the", "logging the", " print ", "at info", "at debug", "to the log",
    ])
    package static let loggedSecrets = needles([
        "authorization header", "access token", "oauth token", "bearer token", "refresh token", "password", "api key", "secret", "credential",
        "session cookie", "private key", "card number", "ssn", "social security", "the token", "full token", "jwt",
    ])
    package static let envDumps = needles([
        "run: env", "run: printenv", "run: set\n", "env | sort", "printenv | sort", "get-childitem env:", "gci env:", "dir env:", "export -p",
        "env dump", "environment dump", "env dumps", "dump of the environment", "printenv output", "full environment",
    ])

    package static let unignoreForms = needles(["from .gitignore", "from the .gitignore", "out of .gitignore", "git add -f ", "git add --force "])
    package static let ignoredSecrets = needles([
        ".env", "*.pem", ".pem", "credentials", "secrets", ".key", "id_rsa", "kubeconfig", ".npmrc", ".netrc", "tfstate",
    ])

    package static func scan(_ t: ScreenText, _ out: inout Hits) {
        committed(t, &out)
        // Un-ignoring secret files so they get committed.
        for (p, len) in t.all(unignoreForms, in: t.whole) {
            let s = t.sentence(at: p + 1)
            let near = max(s.lowerBound, p - 50)..<min(s.upperBound, p + len + 40)
            guard t.any(ignoredSecrets, in: near) else { continue }
            if Scope.negated(t, max(s.lowerBound, p - 40), p + len, s) || Scope.subjectMatter(t, s) && !Scope.directive(t, s) { continue }
            out.add("ci-secret-exposure", .harmful, Scope.decide(t, s, target: .none, otherwise: .block, fact: nil, scopedVerdict: .flag), p, p + len)
            break
        }
        for s in t.sentences {
            guard let (p, len) = t.first(loggers, in: s), let (q, ql) = t.first(loggedSecrets, in: s) else { continue }
            if Scope.negated(t, min(p, q), max(p + len, q + ql), s) || Scope.negatedBefore(t, q, s, window: 30) { continue }
            if t.any(_ciRedact, in: s) || Scope.subjectMatter(t, s) && !Scope.directive(t, s) { continue }
            out.add(
                "secret-logging",
                .harmful,
                Scope.decide(t, s, target: .none, otherwise: .block, fact: t.any(_ciKeep, in: t.whole) ? .flag : nil, scopedVerdict: .flag),
                min(p, q),
                max(p + len, q + ql)
            )
            break
        }
        for (p, len) in t.all(envDumps, in: t.whole) {
            let s = t.sentence(at: p + 1)
            if Scope.negated(t, p, p + len, s) || t.any(_ciRedact, in: s) { continue }
            out.add(
                "ci-secret-exposure",
                .harmful,
                Scope.decide(t, s, target: .none, otherwise: .block, fact: t.any(_ciKeep, in: t.whole) ? .flag : nil, scopedVerdict: .flag),
                p,
                p + len
            )
            break
        }
        var strongest = StrongestHit()
        for s in t.sentences {
            var hit: (Int, Int)? = nil
            for (p, len) in t.all(printers, in: s) {
                let win = max(s.lowerBound, p - 10)..<min(s.upperBound, p + len + 90)
                if let (q, ql) = t.first(secretRefs, in: win) {
                    hit = (min(p, q), max(p + len, q + ql))
                    break
                }
            }
            if hit == nil, let (p, len) = t.first(forms, in: s) {
                let f = Array(t.b[p..<(p + len)])
                let needsContext = f == secretsInheritToken || f == pullRequestTargetToken || f == uploadArtifactToken || f == base64Token
                if !needsContext || t.any(forkCues, in: t.whole) && !(f == secretsInheritToken && t.any(sameRepoCues, in: s)) {
                    hit = (p, p + len)
                }
            }
            guard let (lo, hi) = hit else { continue }
            if Scope.negated(t, lo + 1, hi, s) || Scope.subjectMatter(t, s) && !Scope.directive(t, s) { continue }
            if t.any(masksCues, in: s) && !Scope.directive(t, s) { continue }
            if t.any(onlyExposedCues, in: s) && !Scope.directive(t, s) { continue }
            let tmate = t.any(tmateCues, in: s)
            let prTarget = t.has(pullRequestTargetToken, in: s) && t.any(headShaCues, in: t.whole)
            var v = Scope.decide(t, s, target: .none, otherwise: .block, fact: nil, scopedVerdict: .flag)
            if tmate && v != nil { v = t.any(everyCues, in: s) ? .block : .flag }
            if t.any(onlyStagingCues, in: s) && v == .block && !t.any(everyCues2, in: s) { v = .flag }
            if prTarget && v != nil { v = .block }
            strongest.consider(v, lo, hi)
        }
        strongest.report("ci-secret-exposure", .harmful, into: &out)
    }

    /// Secrets pasted into workflow files, code or images; workspaces with secrets uploaded as artifacts.
    package static func committed(_ t: ScreenText, _ out: inout Hits) {
        for s in t.sentences {
            if let (p, len) = t.first(committers, in: s), let (q, ql) = t.first(committedSecrets, in: (p + len)..<min(s.upperBound, p + len + 60)),
                t.any(committedPlaces, in: s)
            {
                if Scope.negated(t, p, q + ql, s) || Scope.subjectMatter(t, s) && !Scope.directive(t, s) { continue }
                if t.any(_ciNotSecret, in: s) { continue }
                out.add(
                    "ci-secret-exposure",
                    .harmful,
                    Scope.decide(t, s, target: .none, otherwise: .block, fact: nil, scopedVerdict: .flag),
                    p + 1,
                    q + ql
                )
                return
            }
            if let (p, len) = t.first(artifactForms, in: s), t.any(artifactSecrets, in: s) {
                if Scope.negated(t, p, p + len, s) || t.any(_ciExcluding, in: s) { continue }
                out.add(
                    "ci-secret-exposure",
                    .harmful,
                    Scope.decide(t, s, target: .none, otherwise: .block, fact: .flag, scopedVerdict: .flag),
                    p,
                    p + len
                )
                return
            }
        }
    }
}

// Needle tables used inside the rules above, built once.
private let secretsInheritToken = needle("secrets: inherit")
private let pullRequestTargetToken = needle("pull_request_target")
private let uploadArtifactToken = needle("upload-artifact")
private let base64Token = needle("| base64")
private let forkCues = needles(["fork", "head.sha", "head.ref", "checkout", "untrusted", "env", "secret", "token", "every workflow"])
private let sameRepoCues = needles(["same repo", "only when", "reusable"])
private let masksCues = needles(["masks", "is masked", "are masked", "redact", "never print", "never echo", "never log"])
private let onlyExposedCues = needles(["only exposed", "are only", "is only", "requires approval", "maintainer's approval", "oidc"])
private let tmateCues = needles(["tmate", "upterm"])
private let headShaCues = needles(["head.sha", "head.ref", "fork", "pull_request.head"])
private let everyCues = needles(["every", "always", "all "])
private let onlyStagingCues = needles(["only staging", "it's only staging", "only for staging", "staging"])
private let everyCues2 = needles(["every", "all "])
private let _ciNotSecret = needles(["secrets.", "${{", "from the secret store", "from vault", "reference", "placeholder", "example"])
private let _ciExcluding = needles(["excluding", "except", "without the", "never", "not included", "excluded"])
private let _ciRedact = needles(["redact", "mask", "strip", "scrub", "never", "don't", "do not", "excluded", "removed"])
private let _ciKeep = needles(["leave it", "keep it", "keep that", "leave that", "as is"])
