/// Framing and scope: once a rule has found a risky action and its object in a sentence, this file
/// decides what the sentence *does* with it, which is what the policy labels.
///
/// - **Negation** (policy rule 6): "never use `verify=False`", "`--no-verify` is not allowed",
///   "avoid `shell=True`" forbid the action; a negator shortly before the action (with no clause
///   break in between) or a verdict phrase after it ("is never the fix", "is rejected") cancels the
///   finding.
/// - **Subject matter**: tests, fixtures, evals, filters and threat models that *mention* attack
///   vocabulary ("the harness replays prompts that try to exfiltrate data and checks the agent
///   refuses") are benign. A test/doc noun together with a checking verb cancels the finding.
/// - **Directive versus fact** (policy rule 5): an imperative ("run", "set", "to X, do Y"), a modal
///   ("should", "it's fine to", "is fixed by") or an address to the assistant makes a directive;
///   otherwise the sentence records how things are. Facts about risky-but-normal things are benign,
///   facts that describe a live security weakening are flagged (they preserve it).
/// - **Scope** (policy rule 3): "always", "every", "for all environments", production → general →
///   block; staging/dev/local, one file or test, a ticket, "only when" → scoped → flag.
/// - **Target**: a URL or host aimed outside the organisation (unknown domains, public IPs,
///   paste/webhook services) → block; the org's own hosts (`*.corp.*`, `internal`, private IPs,
///   "our …" right before the URL) or a recognised vendor (GitHub, rustup, Docker…) → flag.
package enum Scope {
    // MARK: negation

    package static let negatorsBefore = needles([
        " never ", " don't ", " dont ", " do not ", " does not ", " doesn't ", " must not ", " mustn't ",
        " should not ", " shouldn't ", " avoid ", " avoiding ", " not ", " no longer ", " instead of ", " rather than ",
        " stop ", " stopped ", " forbid", " prohibit", " disallow", " ban ", " bans ", " banned ", " reject", " block ",
        " blocks ", " prevent", " refuse", " warn", " detect", " catch ", " catches ", " flags ", " scan for",
        " check for", " checks for", " checks that", " assert", " cannot ", " can't ", " won't ", " without ever",
        " instead of", " replaced ", " removed ", " remove any ", " strips ", " rejects ", " nor ", " neither ",
        " we don't ", " we never ", " no one ", " nobody ", " isn't ", " aren't ", " wasn't ",
        " nunca ", " jamais ", " niemals ", " nie ", " mai ", " never,", " no-one ",
        " ne ", " n'", " non ", " nicht ", " nooit ", " niet ", " nigdy ", " asla ", " никогда ", " не ", " nenhum", " jamás ", " no debes ",
        " evita ", " évite", " vermeide", "不要", "别再", "禁止", "절대", "하지 마", "कभी नहीं", " mai ",
    ])
    package static let clauseBreaks = needles([", ", " but ", " just ", " instead", " - ", " then ", " and then ", "; "])
    package static let negatorsAfter = needles([
        " is not allowed", " are not allowed", " isn't allowed", " aren't allowed", " is never", " are never",
        " is forbidden", " are forbidden", " is banned", " are banned", " is prohibited", " are prohibited",
        " not permitted", " is not ok", " is not okay", " is rejected", " are rejected", " gets rejected",
        " get rejected", " is blocked", " are blocked", " fails the build", " fails ci", " is flagged",
        "しないで", "してはいけない", "禁止", "ないでください", "하지 마", "하지 않", " ist verboten", " est interdit", " está prohibido", " é proibido",
        " è vietato", " запрещено", " yasak", " verboden", " zabronione", " मत ", " न करें",
        " are flagged", " gets flagged", " get flagged", " is not the fix", " is a bad idea", " is dangerous",
        " is unsafe", " is not safe", " should never", " must never", " is deprecated", " was removed",
        " were removed", " has been removed", " have been removed", " no longer", " is disallowed", " is not acceptable",
        " are not acceptable", " is not an option", " needs a security review", " requires a security review",
        " is a finding", " are findings", " fails the ", " fail the ", " fails review", " fails lint", " will be rejected", " must be rejected",
        " is caught", " are caught",
        " gets caught", " is detected", " triggers an alert", " is not needed", " was replaced", " were replaced",
    ])

    /// A negator shortly before `p` in the same clause, or a verdict phrase after `e`.
    package static func negated(_ t: ScreenText, _ p: Int, _ e: Int, _ s: Range<Int>) -> Bool {
        negatedBefore(t, p, s) || negatedAfter(t, e, s) || (e > p && t.any(midNegators, in: p..<min(e, p + 40)))
    }
    /// "Deaktiviere niemals die Scans", "Schakel nooit …", "Désactive jamais …": the negator follows the verb.
    package static let midNegators = needles([
        " niemals ", " nie ", " nicht ", " keine ", " keinen ", " nooit ", " niet ", " jamais ", " pas ", " never ",
    ])

    package static func negatedBefore(_ t: ScreenText, _ p: Int, _ s: Range<Int>, window: Int = 70) -> Bool {
        let lo = max(s.lowerBound, p - window)
        if lo >= p { return false }
        // Search the negators in [lo, p]; a clause break after the negator cancels it.
        var best = -1
        for x in negatorsBefore {
            t.matchesOf(x, lo, p + 1) { q in if q > best { best = q } }
        }
        if best < 0 { return false }
        for x in clauseBreaks where t.find(x, best + 2, p) != nil { return false }
        return true
    }

    package static func negatedAfter(_ t: ScreenText, _ e: Int, _ s: Range<Int>, window: Int = 60) -> Bool {
        let hi = min(s.upperBound + 1, e + window)
        if e >= hi { return false }
        return t.any(negatorsAfter, in: e..<hi)
    }

    // MARK: subject matter

    package static let subjectNouns = needles([
        " test", "tests/", "_test", "test_", " spec ", " specs ", "fixture", " eval", "harness", "threat model",
        "threat-model", "red team", "red-team", "for example", "an example", "example of", " examples", " sample", "corpus", "detector", " filter",
        " screen",
        "scanner", "classifier", "guardrail", "honeypot", "canary", "training data", "dataset", " ctf", "lint rule",
        "semgrep rule", "codeql query", "regression", "jailbreak", " injection", "payload", " attacker", " attackers",
        "security training", "awareness", "the talk", "write-up", "writeup", "blog post", "postmortem", "post-mortem",
        "incident report", " advisory", " cve-", "pentest", "moderation", "the rule ", "this rule ", " rule that",
        "the hook ", " hook that", "checker", " docs", "documentation", "runbook", "wiki",
    ])
    package static let subjectVerbs = needles([
        "assert", " check", " reject", " flag", " detect", " catch", " block", " refus", " verif", " cover",
        " contain", " replay", " simulat", " on purpose", "intentionally", " deliberately", " hostile", " malicious",
        " should fail", " must fail", " expect", " strings like", " such as", " e.g.", " prompts like", "examples of",
        " describes", " explains", " documents", " warns", " demonstrat", " reproduc", " sanitiz", " strip",
        " must not", " scrub", " denies", " deny", " raises", " returns 4", " fails with", " an attacker",
        " attacker can", " attacker could", " covers ", " shows how", " illustrat", " would ", " could ",
        " test case", " teaches", " walks through", " 403", " 422", " alert", " exploit", " abused", " that made ", " allowed attackers",
        " led to ", " caused ",
    ])

    /// Tests, fixtures, docs or threat models talking *about* attack vocabulary.
    package static func subjectMatter(_ t: ScreenText, _ s: Range<Int>) -> Bool {
        t.any(subjectNouns, in: s) && t.any(subjectVerbs, in: s)
    }

    /// Whether position `p` sits inside a quotation in its sentence (odd count of quote marks before).
    package static func quoted(_ t: ScreenText, _ p: Int, _ s: Range<Int>) -> Bool {
        var dq = 0
        var sq = 0
        var curly = 0
        var i = s.lowerBound
        while i < p {
            let c = t.b[i]
            if c == 0x22 {
                dq += 1
            } else if c == 0x27 {
                // apostrophes inside words are not quotes
                let l = i > 0 ? t.b[i - 1] : 0x20
                let r = i + 1 < t.b.count ? t.b[i + 1] : 0x20
                if !(ScreenText.isAlnum(l) && ScreenText.isAlnum(r)) { sq += 1 }
            } else if c == 0xE2 && i + 2 < t.b.count && t.b[i + 1] == 0x80 {
                let d = t.b[i + 2]
                if d == 0x9C || d == 0x98 { curly += 1 } else if d == 0x9D || d == 0x99 { curly -= 1 }
            } else if c == 0xC2 && i + 1 < t.b.count && t.b[i + 1] == 0xAB {
                curly += 1
            } else if c == 0xC2 && i + 1 < t.b.count && t.b[i + 1] == 0xBB {
                curly -= 1
            }
            i += 1
        }
        return dq % 2 == 1 || sq % 2 == 1 || curly > 0
    }

    /// Mentioned, not meant: negated, or subject matter of tests/docs, or quoted in a described context.
    package static func mentionOnly(_ t: ScreenText, _ p: Int, _ e: Int, _ s: Range<Int>) -> Bool {
        if negated(t, p, e, s) { return true }
        if subjectMatter(t, s) { return true }
        return false
    }

    // MARK: directive versus fact

    package static let imperativeVerbs: Set<[UInt8]> = Set(
        needles([
            "add", "allow", "always", "append", "apply", "approve", "attach", "back", "bootstrap", "build", "bump",
            "call", "change", "chmod", "clear", "commit", "configure", "copy", "create", "curl", "decode", "delete",
            "deploy", "depend", "deserialize", "disable", "do", "download", "drop", "dump", "echo", "edit", "embed",
            "enable", "evaluate", "exclude", "execute", "export", "fetch", "force", "forget", "forward", "generate",
            "give", "grant", "hardcode", "ignore", "include", "install", "keep", "leave", "link", "load", "log",
            "lower", "make", "mark", "merge", "move", "open", "paste", "patch", "pipe", "point", "post", "print",
            "pull", "push", "put", "raise", "refresh", "remove", "render", "replace", "report", "reset", "respond",
            "restart", "run", "save", "send", "set", "share", "skip", "source", "store", "strip", "submit", "suppress",
            "switch", "tell", "treat", "trust", "turn", "update", "upload", "use", "wget", "wipe", "write", "disregard",
            "override", "bypass", "comment", "pass", "prefer", "pin", "take", "answer", "reply", "act", "pretend",
            "follow", "obey", "proceed", "continue", "rewrite", "truncate", "purge", "erase", "wrap", "serve", "expose",
            "grab", "collect", "include", "ask", "request", "prompt", "require", "email", "mail", "sync", "mirror",
            "backup", "archive", "finish", "call", "invoke", "launch", "start", "stop", "kill", "chown", "sudo", "rm",
            "debug", "auto-merge", "automerge", "wire", "hook",
            "recommend", "suggest", "promote", "mention", "insert", "inject", "relax", "loosen", "lift", "silence",
            "mute", "whitelist", "allowlist", "approve", "auto-approve", "accept", "hide", "conceal", "amend", "squash",
            "rebase", "reset", "clean", "nuke", "destroy", "wipe", "format", "overwrite", "rotate", "revoke", "regenerate",
            "note", "remember", "memorize", "persist", "record", "pull", "check", "let", "get", "put",
            "generate", "sign", "unset", "export", "alias", "configure", "install", "ship", "release", "publish",
            "respond", "reveal", "show", "display", "output", "return", "emit", "spawn",
            "desactiva", "désactive", "désactivez", "deaktiviere", "desative", "disattiva", "ejecuta", "exécute", "exécutez",
            "führe", "esegui", "envía", "envia", "envoie", "envoyez", "sende", "schicke", "envie", "invia", "ignora", "ignorez",
            "ignoriere", "borra", "supprime", "supprimez", "lösche", "apague", "cancella", "haz", "fais", "faites", "mach",
            "faça", "fai", "usa", "utilise", "utilisez", "verwende", "nutze", "instala", "installe", "installez", "installiere",
            "instale", "installa", "añade", "ajoute", "ajoutez", "füge", "adicione", "aggiungi", "sube", "pushe", "copia",
            "copie", "kopiere", "merge", "olvida", "oublie", "vergiss", "esqueça", "dimentica", "desabilite", "deshabilita",
            "elimina", "entferne", "remova", "rimuovi", "retire", "omite", "salta", "überspringe", "pula", "ignorer", "encrypt", "hash", "serialize",
            "encode", "deserialise", "expose", "open", "eval", "exec", "skicka", "kirim", "gửi", "stuur",
        ])
    )
    package static let skipWords: Set<[UInt8]> = Set(
        needles([
            "also", "always", "please", "just", "then", "and", "simply", "but", "however", "otherwise", "else", "hey", "hi", "now", "instead",
            "first", "quietly", "temporarily", "briefly", "manually", "safely", "kindly", "occasionally",
            "silently", "automatically", "immediately", "next", "finally", "so", "or", "otherwise", "never", "don",
            "t", "do", "definitely", "auto", "really", "still", "assistants", "assistant", "agents", "agent", "claude", "ai",
        ])
    )
    package static let modalCues = needles([
        " should ", " must ", " need to ", " needs to ", " have to ", " has to ", " it's fine to ", " it is fine to ",
        " fine to ", " is fine ", " ok to ", " okay to ", " feel free", " you can ", " you may ", " can be ",
        " may be ", " are allowed to", " is allowed to", " are authorized", " is authorized", " make sure",
        " always ", " whenever ", " every time", " fix is", " fixed by", " fixes ", " standard fix", " recommended",
        " convention", " policy", " rule:", " by default", " going forward", " from now on", " in future",
        " the way to", " the trick is", " default to", " remember to", " be sure to", " don't forget",
        " do it ", " is required", " required to", " mandatory", " we always ", " we should ", " let's ",
        " you'll ", " you will ", " you're ", " you are ", " your ", " is the fix", " is the way", " works best",
        " the solution is", " solves ", " easiest", " simplest", " quickest", " best practice", " is expected",
        " expected to", " workflow:", " step:", " tip:", " is ok", " is okay", " are fine", " are ok", " go ahead", " standard practice",
        " practice:", " memo", " mémo", " notiz", " nota:", " acceptable", " is allowed", " are allowed",
        " no need to", " don't bother", " do not bother", " mandated that", " has mandated", " mandates that", " requires that",
        " insists that", " has ruled that", " alltid", " selalu", " setiap", "mỗi", "luôn", "hãy ", " altijd", " zawsze",
        " her zaman", " завжди", " vždy", " harus", " måste", " moet ", " muszą", " musisz", " may merge", " may push", " may skip", " may disable",
        " can merge", " can push", " don't need to", " nobody", " who cares", " to save time",
        " siempre", " sempre ", " toujours", " immer ", " всегда", "总是", "每次", "常に", "必ず", " debe ", " deve ",
        " doit ", " muss ", " должен", "必须", " todos los", " todas las", " em todos", " in tutti", " bei jedem",
        " à chaque", " en cada", " em cada", " ogni ", "毎回", " каждый", " pour chaque", " für jeden", " para cada",
        " per ogni", " en todos", " dans tous", " in allen", " su tutti", " во всех", "所有",
    ])

    /// A sentence that tells the reader to do something (imperative, modal, or addressed to the
    /// assistant), or a statement that the next sentence puts into action ("… is `VERIFY_NONE`; apply it
    /// in the shared wrapper").
    package static func directive(_ t: ScreenText, _ s: Range<Int>) -> Bool {
        if directiveOwn(t, s) { return true }
        guard s.upperBound < t.b.count - 1 else { return false }
        let next = t.sentence(at: s.upperBound)
        guard next.lowerBound == s.upperBound, startsImperative(t, next.lowerBound, next.upperBound),
            let v = t.word(after: next.lowerBound, hi: next.upperBound)
        else { return false }
        // "leave it" / "keep it" preserve what the sentence describes; they do not enact it
        if t.any(_scopePreserve, in: (v.lowerBound - 1)..<(v.upperBound + 1)) { return false }
        return t.any(_scopeAnaphora, in: v.upperBound..<min(next.upperBound, v.upperBound + 6))
    }

    package static func directiveOwn(_ t: ScreenText, _ s: Range<Int>) -> Bool {
        if startsImperative(t, s.lowerBound, s.upperBound) { return true }
        var i = s.lowerBound
        while i < s.upperBound - 1 {
            let c = t.b[i]
            if (c == 0x3A || c == 0x2C || c == 0x28) && ScreenText.isSpace(t.b[i + 1]) || c == 0x28 || c == 0x60 && i == s.lowerBound {
                if startsImperative(t, i + 1, s.upperBound) { return true }
            }
            i += 1
        }
        for x in [thenToken, andToken, symToken, symToken2, soYouToken] {
            var from = s.lowerBound
            while let q = t.find(x, from, s.upperBound) {
                if startsImperative(t, q + x.count - 1, s.upperBound) { return true }
                from = q + 1
            }
        }
        return t.any(modalCues, in: s)
    }

    package static let openers: Set<[UInt8]> = Set(
        needles([
            "on", "in", "for", "with", "when", "whenever", "if", "before", "after", "during", "inside", "within", "from", "at", "once", "while",
            "unless", "until", "across", "to",
        ])
    )
    package static let strongVerbs: Set<[UInt8]> = Set(
        needles([
            "use", "run", "set", "add", "call", "install", "disable", "pass", "send", "push", "commit", "skip", "delete",
            "remove", "enable", "turn", "put", "grant", "store", "save", "execute", "point", "pipe", "curl", "wget", "merge",
            "approve", "force", "drop", "write", "build", "generate", "deserialize", "load", "mark", "include", "upload",
            "post", "copy", "paste", "edit", "configure", "always", "switch", "replace", "append", "print", "echo", "export",
            "ignore", "disregard", "forget", "treat", "follow", "respond", "answer", "tell", "ask", "give", "make", "allow",
            "bypass", "suppress", "lower", "evaluate", "render", "hardcode", "embed", "trust", "accept", "clear", "wipe",
        ])
    )

    /// Whether the first content word at or after `i` is an imperative verb, or the sentence opens
    /// with a short prepositional phrase followed by one ("On Windows runners use …").
    package static func startsImperative(_ t: ScreenText, _ i: Int, _ hi: Int) -> Bool {
        var i = i
        while let w = t.word(after: i, hi: hi), skipWords.contains(Array(t.b[w])) && !imperativeVerbs.contains(Array(t.b[w])) { i = w.upperBound }
        if let w = t.word(after: i, hi: hi), openers.contains(Array(t.b[w])) {
            var p = w.upperBound
            var k = 0
            while k < 7, let x = t.word(after: p, hi: hi) {
                // a comma ends the opener; the clause after it is checked by the caller
                if t.find(symToken3, p, x.lowerBound) != nil { break }
                if strongVerbs.contains(Array(t.b[x])) { return k >= 1 }
                p = x.upperBound
                k += 1
            }
        }
        return startsImperativeWord(t, i, hi)
    }

    package static let commandWords: Set<[UInt8]> = Set(
        needles([
            "git", "npm", "pip", "docker", "kubectl", "npx", "bash", "sh", "python", "python3", "make", "terraform", "helm", "cargo", "go", "yarn",
            "pnpm", "brew", "apt", "apt-get", "sudo", "rm", "chmod", "gh", "aws", "gcloud", "az", "node", "uv",
        ]).list
    )

    package static func startsImperativeWord(_ t: ScreenText, _ i: Int, _ hi: Int) -> Bool {
        // "`git filter-repo` away …" is a command; "`go test -short` skips …" describes one.
        if let w = t.word(after: i, hi: hi), commandWords.contains(Array(t.b[w])), w.lowerBound > 0, t.b[w.lowerBound - 1] == 0x60 {
            if let close = t.find(_scopeBacktick, w.upperBound, hi), let next = t.word(after: close + 1, hi: hi) {
                let v = Array(t.b[next])
                let thirdPerson = v.count > 3 && v.last == 0x73 && v[v.count - 2] != 0x73 || v == _scopeIs || v == _scopeAre || v == _scopeWas
                return !thirdPerson
            }
        }
        var p = i
        var hops = 0
        while hops < 4 {
            guard let w = t.word(after: p, hi: hi) else { return false }
            // Only skip over leading punctuation/markup, not over other words.
            let word = Array(t.b[w])
            if imperativeVerbs.contains(word) { return true }
            if skipWords.contains(word) || word.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) {
                p = w.upperBound
                hops += 1
                continue
            }
            return false
        }
        return false
    }

    // MARK: scope

    package static let generalMarkers = needles([
        " always", " every ", " everything", " all ", " any ", " whenever", " each ", " by default", " everywhere",
        " for all ", " no matter", " regardless", " from now on", " going forward", " new code", " new endpoints",
        " new services", " new projects", " new repos", " production", " prod ", " prod/", " prod.", " org-wide",
        " all environments", " unconditionally", " automatically", " globally", " --global", " global ",
        " system-wide", " all repos", " every repo", " company-wide", " team-wide", " as a rule", " in general",
        " siempre", " sempre ", " toujours", " immer ", " всегда", "总是", "每次", "常に", " todos ", " todas ", " tous ",
        " toutes ", " alle ", " tutti ", " tutte ", " все ", " всех ", "所有", "すべて", " cada ", " chaque ", " jedem ",
        " jeden ", " ogni ", " каждый", " каждом",
        " whatever ", " anything", " anyone", " everyone", " alltid", " selalu", " setiap", "mỗi", "luôn", " altijd", " zawsze",
        " her zaman", " завжди", " vždy", " varje", " elke ", " każd", " nobody ", " move on", " to save time", " default ",
    ])
    package static let textGeneralMarkers = needles([
        "same pattern", "same approach", "do the same", "same thing for", "apply this everywhere", "from now on",
        "for all environments", "in every repo", "across all", "same for new", "use it for all", "for all new", "use the same for",
    ])
    package static let scopeMarkers = needles([
        " staging", " dev ", " dev-", "dev box", "dev vm", " local ", " locally", "localhost", " development",
        " sandbox", " only ", " just for", " single ", " this file", " one-off", "legacy", " until ",
        " temporarily", " for now", "docs-only", "docs only", "dependabot", " on-call", "when only", "only when",
        "mobile app", " test env", " e2e", " preview", " scratch", " tmp", " for that ", " that one ",
        " this one ", " on release branches", " hotfix", " while ", " ticket", " tracked in", " jira", " issue #",
        " behind a flag", " internal ", " intranet", " dev container", "devcontainer", " debug build",
        " when building", " pr #", " until ", " revisit", " qa ", " qa environment",
    ])

    package static func general(_ t: ScreenText, _ s: Range<Int>) -> Bool {
        t.any(generalMarkers, in: s) || t.any(textGeneralMarkers, in: t.whole)
    }

    package static func scoped(_ t: ScreenText, _ s: Range<Int>) -> Bool {
        if t.any(scopeMarkers, in: s) { return true }
        return hasTicket(t, s) || hasPath(t, s)
    }

    /// `ABC-123`-style ticket ids and `#123` references.
    package static func hasTicket(_ t: ScreenText, _ s: Range<Int>) -> Bool {
        var i = s.lowerBound
        let b = t.b
        while i < s.upperBound {
            if b[i] == 0x2D && i > s.lowerBound + 1 && i + 2 < s.upperBound {
                var l = i - 1
                var letters = 0
                while l >= s.lowerBound && b[l] >= 0x61 && b[l] <= 0x7A {
                    letters += 1
                    l -= 1
                }
                var r = i + 1
                var digits = 0
                while r < s.upperBound && b[r] >= 0x30 && b[r] <= 0x39 {
                    digits += 1
                    r += 1
                }
                let leftOK = l < s.lowerBound || !ScreenText.isAlnum(b[l])
                let rightOK = r >= s.upperBound || !ScreenText.isAlnum(b[r])
                if letters >= 2 && letters <= 10 && digits >= 1 && leftOK && rightOK {
                    let word = Array(b[(l + 1)..<i])
                    if !ticketExclusions.contains(word) { return true }
                }
            } else if b[i] == 0x23 && i + 1 < s.upperBound && b[i + 1] >= 0x30 && b[i + 1] <= 0x39 && (i == 0 || !ScreenText.isAlnum(b[i - 1])) {
                return true
            }
            i += 1
        }
        return false
    }
    package static let ticketExclusions: Set<[UInt8]> = Set(
        needles([
            "utf", "sha", "iso", "rfc", "x", "md", "tls", "ssl", "http", "ipv", "base", "cve", "rot", "es", "py", "node", "python", "go", "v",
            "ubuntu", "debian", "alpine", "ecma", "level", "aes", "rsa", "ed", "p", "top", "win", "macos", "ios", "android",
        ])
    )

    /// A specific file or directory path (`tools/x.py`, `/var/app/uploads`, `legacy/`).
    package static func hasPath(_ t: ScreenText, _ s: Range<Int>) -> Bool {
        let b = t.b
        var i = s.lowerBound + 1
        while i < s.upperBound - 1 {
            if b[i] == 0x2F && ScreenText.isAlnum(b[i - 1]) && b[i - 1] != 0x3A {
                // not a URL: look back for "://"
                var j = i - 1
                while j > s.lowerBound && !ScreenText.isSpace(b[j]) && b[j] != 0x60 { j -= 1 }
                let tok = j..<i
                if t.find(symToken4, tok.lowerBound, min(s.upperBound, i + 3)) == nil && t.find(wwwToken, tok.lowerBound, i) == nil {
                    // a path segment followed by a name or end: `x/`, `x/y.ext`
                    return true
                }
            }
            i += 1
        }
        return false
    }

    // MARK: decision

    /// The verdict for a risky action found in sentence `s`:
    /// - outside target → block (a fact about one → `factOutside`);
    /// - org or vendor target → flag for a directive, `factKnown` for a fact;
    /// - no target: fact → `fact`; general → block; scoped → `scopedVerdict`; else `otherwise`.
    package static func decide(
        _ t: ScreenText,
        _ s: Range<Int>,
        target: Target,
        otherwise: PoisonVerdict = .block,
        fact: PoisonVerdict? = nil,
        scopedVerdict: PoisonVerdict? = .flag,
        factOutside: PoisonVerdict? = .flag,
        factKnown: PoisonVerdict? = nil
    ) -> PoisonVerdict? {
        let isDirective = directive(t, s)
        switch target {
        case .outside:
            return isDirective ? .block : factOutside
        case .org, .vendor:
            return isDirective ? .flag : factKnown
        case .none:
            if !isDirective { return fact }
            if general(t, s) { return .block }
            if scoped(t, s) { return scopedVerdict }
            return otherwise
        }
    }
}

// Needle tables used inside the rules above, built once.
private let thenToken = needle(" then ")
private let andToken = needle(" and ")
private let symToken = needle(" - ")
private let symToken2 = needle(" — ")
private let soYouToken = needle(" so you ")
private let symToken3 = needle(",")
private let symToken4 = needle("://")
private let wwwToken = needle("www.")
private let _scopeBacktick = needle("`")
private let _scopeIs = needle("is")
private let _scopeAre = needle("are")
private let _scopeWas = needle("was")
private let _scopeAnaphora = needles([" it ", " it.", " this ", " that ", " them ", " the same"])
private let _scopePreserve = needles([" leave ", " keep ", " don't ", " do ", " never "])
