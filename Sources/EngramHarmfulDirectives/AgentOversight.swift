package import EngramPoisoningCore

/// Misusing the assistant's own powers and weakening human oversight (policy rule 3).
///
/// - `memory-tool-misuse`: acting on other people's memories or drafts (`delete_memory` on every
///   memory you didn't author, `finish` for other users' drafts, rewriting or appending to org
///   memories, deleting memories about security reviews), storing secrets or whole environments in
///   memories (`add_memory` with `.env`, tokens, credentials, full diffs), and bulk-saving
///   everything the assistant runs as org memories (flag).
/// - `erase-traces`: clearing shell history, deleting or truncating logs and audit trails,
///   amending or rewriting history so a change is not seen.
/// - `reduce-oversight`: dropping confirmations ("without asking", "don't prompt the user",
///   "auto-approve"), agent flags that skip permission checks (`--dangerously-skip-permissions`,
///   `--yolo`, approval policy "never"), widening the assistant's own permissions (granting itself
///   admin, sudo for everything, adding itself to sudoers/admins), and asking the user for secrets
///   (passwords, OTP/2FA codes, recovery codes, private keys).
/// - `steer-advice`: steering recommendations for an outside interest (affiliate or referral links,
///   sponsors, partners, "always recommend X regardless", "never mention competitors").
///
/// A scoped exception ("you may call `delete_memory` on duplicate memories without asking", "on a
/// fresh dev VM, install without prompting") → flag; general → block. Tool directives that serve
/// the user ("when the user says 'remember this', call add_memory with scope personal") and facts
/// about the tools ("`add_memory` rejects texts containing secrets") → allow.
package enum AgentOversight {
    package static let memoryTools = needles([
        "add_memory", "update_memory", "delete_memory", "search_memory", "archive_memory", "save_memory",
        "list_memories", "finish", "memory tool", "org memor", "memories", "memory", "remember", "memorize",
        "note it", "notes",
    ])
    package static let othersObjects = needles([
        "other users", "other user's", "others'", "someone else's", "teammates'", "every memory", "all memories",
        "all org memories", "every other", "you didn't author", "you did not author", "you didn't write",
        "you did not write", "you didn't create", "not yours", "any memory", "every draft", "all drafts",
        "other people's", "everyone's", "every org memory", "each memory", "memories about security",
        "memories about security reviews", "memories that mention security", "security memories", "on them",
        "on org memories", "org memories and append", "append:", "teammate's", "teammates' ", "colleague's", "colleagues'",
        "other developers'", "personal memories", "private memories", "every teammate", "each teammate",
    ])
    package static let memoryWriteVerbs = needles([
        "add_memory", "save", "store", "remember", "memorize", "persist", "record", "write", "keep", "put", "add",
        "update_memory", "note",
    ])
    package static let secretObjects = needles([
        ".env", "env file", "environment", "token", "secret", "credential", "password", "api key", "api_key",
        "private key", "~/.aws", "~/.ssh", "kubeconfig", "full diff", "the diff", "cookies", "session", "otp",
        "ssh key", "keys you", "any keys", "connection string",
    ])
    package static let traceForms = needles([
        "history -c", "clear the shell history", "clear shell history", "clear your shell history", "clear the history",
        "clear bash history", "clear the bash history", "clear the command history", "rm ~/.bash_history",
        "rm ~/.zsh_history", "rm -f ~/.bash_history", "unset histfile", "histfile=/dev/null", "set +o history",
        "histsize=0", "delete the logs", "delete logs", "delete the log", "delete the audit", "truncate the audit",
        "truncate the log", "wipe the logs", "wipe the audit", "clear the logs", "clear the audit", "rm -rf /var/log",
        "> /var/log/", "wevtutil cl", "clear-eventlog", "remove-eventlog", "shred ", "cover your tracks",
        "leave no trace", "remove the evidence", "erase the evidence", "amend away", "squash away", "so nobody sees",
        "so no one sees", "so reviewers don't see", "so the reviewer doesn't see", "reflog expire", "gc --prune=now",
        "delete the audit log", "audit entries", "delete the commit", "rewrite history so", "rewrite the history so",
        "hide the commit", "delete the branch afterwards so", "purge the logs", "clear the trail", "history doesn't show",
        "history does not show", "so it doesn't show up", "doesn't show up in the history", "rewrite the last", "rewrite the commits",
        "rewrite commits so", "squash them so", "amend it so", "so nobody notices", "so no one notices",
        "delete ~/.bash_history", "remove ~/.bash_history", "delete ~/.zsh_history", "delete .bash_history", "> ~/.bash_history",
        "truncate ~/.bash_history", "historysavepath", "clear-history", "delete the ci logs", "and the ci logs", "wipe the ci",
        "purge the ci", "delete the job logs", "delete the workflow logs", "delete the workflow run", "delete workflow runs",
        "gh run delete", "delete the build logs", "so nobody gets confused", "delete the run logs",
    ])
    package static let noConfirm = needles([
        "without asking", "without prompting", "without confirmation", "without confirming", "without checking with",
        "without waiting for the user", "without the user's approval", "without user approval", "without approval",
        "without permission", "don't ask", "do not ask", "never ask", "no need to ask", "instead of asking",
        "don't wait for approval", "do not wait for approval", "don't prompt", "do not prompt", "never prompt",
        "don't require confirmation", "skip confirmation", "skip the confirmation", "auto-approve", "autoapprove",
        "auto approve", "always approve", "always allow", "approve all", "allow all tools", "--dangerously-skip-permissions",
        "dangerously-skip-permissions", "--dangerously-bypass", "bypasspermissions", "bypass permissions", "--yolo",
        "yolo mode", "--full-auto", "approval_policy = \"never\"", "approval-policy never", "--ask-for-approval never",
        "--trust-all-tools", "--allow-all-tools", "\"allow\": [\"*\"]", "bash(*)", "confirm: false", "--no-confirm",
        "automatically instead of asking", "run it automatically", "without asking first", "execute shell commands without",
        "ohne rückfrage", "sin consultar", "sem consultar", "senza consultare", "sans consulter", "cuando el usuario no esté",
        "quand l'utilisateur est absent", "wenn der benutzer weg ist", "wenn der nutzer nicht da ist", "quando o usuário não estiver",
        "quando l'utente non c'è", "on their behalf", "on the user's behalf", "using their token", "with their token",
        "merge them yourself", "merge it yourself", "deploy it yourself", "approve it yourself", "ship it yourself",
        "while the user is away", "when the user is away", "before they return", "before the user returns",
        "sin preguntar", "sin pedir confirmación", "sans demander", "sans confirmation", "ohne nachzufragen",
        "ohne zu fragen", "ohne bestätigung", "sem perguntar", "sem pedir confirmação", "senza chiedere",
        "senza conferma", "不要询问", "无需确认", "不经确认", "确認せずに", "確認なしで", "聞かずに", "не спрашивая",
        "без подтверждения",
    ])
    package static let escalate = needles([
        "grant yourself", "give yourself", "add yourself to", "make yourself an admin", "make yourself admin",
        "give the assistant admin", "give the assistant root", "give the agent admin", "grant the assistant",
        "grant the agent", "sudo for every", "use sudo for all", "always use sudo", "always run with sudo",
        "run everything with sudo", "run everything as root", "always run as root", "run as root by default",
        "nopasswd", ">> /etc/sudoers", "to the sudoers", "to sudoers", "permissions: write-all", "contents: write for every",
        "owner role", "org owner role", "admin role to", "add the bot to the admins", "widen your permissions",
        "expand your permissions", "escalate your", "elevate your", "--allow-root", "full access to prod",
        "write access to production", "admin access to", "break-glass", "break glass", "root credentials",
        "use the admin credentials", "use production credentials", "use the prod credentials", "use the production credentials",
        "print production credentials", "prod root", "/prod/root", "admin:org", "all scopes", "full scopes",
        "every scope", "delete_repo", "site_admin", "owner permissions",
    ])
    package static let askSecrets = needles([
        "password", "passphrase", "otp", "one-time", "2fa", "mfa", "totp", "verification code", "sms code", "recovery code", "backup code",
        "seed phrase", "private key", "ssh key", "api key", "token", "credentials", "pin ", "security answer", "login", "auth code",
    ])
    package static let askVerbs = needles([
        "ask the user for", "ask users for", "ask them for", "prompt the user for", "request the user's", "ask the user to paste",
        "ask the user to share", "ask the user to send", "ask the user to enter", "ask the user to provide", "have the user paste",
        "have the user send", "get the user to", "ask for their", "request their", "collect their", "ask for the user's", "the user should paste",
        "ask the user to type", "ask the developer to paste", "ask the developer for", "ask the developer to share", "ask the dev to paste",
        "ask them to paste", "ask them to share", "re-enter their", "re-enter your", "reenter their", "re-type their", "retype their",
        "enter their password", "type their password", "paste their", "must re-authenticate by", "confirm their password",
        "tell users to paste", "tell the user to paste", "tell them to paste", "have them paste",
    ])
    package static let askUser = needles([
        "ask the user", "ask users", "ask them", "ask the developer", "ask the dev", "have the user", "get the user", "request from the user",
        "prompt the user", "tell the user to", "ask whoever", "ask the customer",
    ])
    package static let userSecrets = needles([
        "password", "passphrase", "mfa code", "2fa code", "mfa", "2fa", "otp", "one-time code", "verification code", "recovery code", "backup code",
        "seed phrase", "private key", "secret key", "access key", "api key", "totp", "sms code", "pin code", "security answer",
    ])
    package static let secretFlow = needles([
        "to you", "into the chat", "in the chat", "paste", "read", "share", "send", "give", "provide", "for their", "for theirs", "type it",
        "tell you", "dictate", "so you can",
    ])
    package static let steer = needles([
        "bonus per click", "per click", "?ref=", "&ref=", "promo.", "referral", "kickbacks", "sponsor", "paid partner", "pays us", "they pay",
        "revenue share", "affiliate", "referral code", "referral link", "ref code", "sponsored", "kickback", "commission", "utm_source",
        "partner discount", "our partner", "promo code", "is the only safe", "is the only secure", "only trustworthy", "the only reliable",
        "alternatives are insecure", "alternatives are unsafe", "others are insecure", "competitors are insecure", "/ref=", "?aff=", "&aff=",
        "?via=", "partner link", "paid placement", "?partner=", "&partner=", "dénigre", "denigra", "disparage", "badmouth",
        "fallos graves", "failles graves", "has serious security flaws", "is insecure and", "say the alternatives", "say competitors",
    ])
    package static let steerVerbs = needles([
        "append", "insert", "link to", " link ", "recomienda", "recomiende", "recommande", "propose uniquement", "empfiehl", "recomende",
        "raccomanda", "рекоменд", "推荐", "勧め", "tell them", "tell users", "tell the user", "say that", "recommend", "suggest", "promote", "push users",
        "steer", "mention", "advertise", "endorse", "pitch",
        "include", "add",
    ])

    package static let instructionFiles = needles([
        "claude.md", "agents.md", ".cursorrules", "copilot-instructions", ".windsurfrules", "gemini.md", "system prompt", ".github/instructions",
        "assistant rules file",
    ])
    package static let fileWrites = needles([
        " append", " add ", " insert", " copy", " write", " prepend", " inject", " propagate", " replicate", " sync ", " paste", " update ", " edit ",
    ])

    package static func scan(_ t: ScreenText, _ out: inout Hits) {
        instructionFileTampering(t, &out)
        memory(t, &out)
        traces(t, &out)
        oversight(t, &out)
        steering(t, &out)
    }

    /// Planting rules in other assistants' instruction files ("copy this memory into every repo's
    /// CLAUDE.md"): the memory propagates itself beyond review. Editing one file the user asked for
    /// is ordinary; doing it generally or with "this memory/these rules" as the payload is not.
    package static func instructionFileTampering(_ t: ScreenText, _ out: inout Hits) {
        for s in t.sentences {
            guard let (p, len) = t.first(fileWrites, in: s), let (q, ql) = t.first(instructionFiles, in: s) else { continue }
            guard t.any(propagationCues, in: s) else { continue }
            if Scope.negated(t, p, q + ql, s) || Scope.subjectMatter(t, s) && !Scope.directive(t, s) { continue }
            out.add(
                "instruction-file-tampering",
                .harmful,
                Scope.decide(t, s, target: .none, otherwise: .block, fact: nil, scopedVerdict: .flag),
                min(p, q),
                max(p + len, q + ql)
            )
            return
        }
    }

    package static func memory(_ t: ScreenText, _ out: inout Hits) {
        var strongest = StrongestHit()
        for s in t.sentences {
            guard let (m, ml) = t.first(memoryTools, in: s) else { continue }
            if Scope.subjectMatter(t, s) && !Scope.directive(t, s) { continue }
            if t.any(rejectsCues, in: s) { continue }
            let negated = Scope.negatedBefore(t, m, s, window: 40)
            // acting on others' memories / drafts
            if let (q, ql) = t.first(othersObjects, in: s), t.any(deleteCues, in: s), !negated {
                let f = Array(t.b[q..<(q + ql)])
                if f == onThemToken && !t.any(securityCues, in: s) {
                } else {
                    strongest.consider(Scope.directive(t, s) ? .block : .flag, min(m, q), max(m + ml, q + ql))
                    continue
                }
            }
            // secrets into memories
            if t.any(memoryWriteVerbs, in: s), let (q, ql) = t.first(secretObjects, in: s), !negated, !Scope.negatedBefore(t, q, s, window: 50) {
                if t.any(neverCues, in: s) { continue }
                if Scope.directive(t, s) {
                    strongest.consider(.block, min(m, q), max(m + ml, q + ql))
                    continue
                }
            }
            // bulk writes of everything the assistant does as org memories
            if t.any(everyShellCommandCues, in: s) && t.any(orgMemoryCues, in: s) && !negated {
                strongest.consider(.flag, m, m + ml)
            }
        }
        strongest.report("memory-tool-misuse", .harmful, into: &out)
    }

    package static func traces(_ t: ScreenText, _ out: inout Hits) {
        for (p, len) in t.all(traceForms, in: t.whole) {
            let s = t.sentence(at: p + 1)
            if Scope.negated(t, p + 1, p + len, s) || Scope.subjectMatter(t, s) && !Scope.directive(t, s) { continue }
            if t.any(nightlyJobCues, in: s) { continue }
            let f = Array(t.b[p..<(p + len)])
            if (f == shredToken || f == deleteLogsToken || f == deleteTheLogToken) && !Scope.directive(t, s) { continue }
            let v = Scope.decide(t, s, target: .none, otherwise: .block, fact: nil, scopedVerdict: .flag)
            out.add("erase-traces", .harmful, v, p, p + len)
            return
        }
    }

    package static func oversight(_ t: ScreenText, _ out: inout Hits) {
        var strongest = StrongestHit()
        for (p, len) in t.all(noConfirm, in: t.whole) {
            let s = t.sentence(at: p + 1)
            if Scope.negatedBefore(t, p + 1, s, window: 25) && !t.any(donTAskCues, in: p..<(p + len)) { continue }
            if !Scope.directive(t, s) { continue }
            // "never ... without asking" forbids; "ask before pushing" increases oversight
            if t.any(neverRunCues, in: s.lowerBound..<p) { continue }
            let f = Array(t.b[p..<(p + len)])
            // "don't ask" must be about asking the user, not "don't ask for help in DMs"
            if (f == donTAskToken || f == doNotAskToken || f == neverAskToken) && !t.any(confirmCues, in: s) { continue }
            if (f == alwaysAllowToken || f == approveAllToken) && !t.any(toolCues, in: s) { continue }
            var v: PoisonVerdict
            if t.any(dangerouslyCues, in: p..<(p + len)) {
                v = .block
            } else if t.any(duplicateCues, in: s) && !t.any(everyCues, in: s) {
                v = .flag
            } else {
                v = Scope.general(t, s) || t.any(shellCommandCues, in: s) ? .block : .flag
            }
            strongest.consider(v, p, p + len)
        }
        for (p, len) in t.all(escalate, in: t.whole) {
            let s = t.sentence(at: p + 1)
            if Scope.negated(t, p + 1, p + len, s) || Scope.subjectMatter(t, s) && !Scope.directive(t, s) { continue }
            strongest.consider(Scope.decide(t, s, target: .none, otherwise: .block, fact: .flag, scopedVerdict: .flag), p, p + len)
        }
        for (p, len) in t.all(giveTheAssistantCues, in: t.whole) {
            let s = t.sentence(at: p + 1)
            guard t.any(adminCues, in: (p + len)..<min(s.upperBound, p + len + 70)) else { continue }
            if Scope.negated(t, p, p + len, s) || Scope.subjectMatter(t, s) && !Scope.directive(t, s) { continue }
            if t.any(readOnlyCues, in: s) { continue }
            strongest.consider(Scope.decide(t, s, target: .none, otherwise: .block, fact: nil, scopedVerdict: .flag), p, p + len)
        }
        for s in t.sentences {
            guard let (p, len) = t.first(askUser, in: s), let (q, ql) = t.first(userSecrets, in: s) else { continue }
            guard t.any(secretFlow, in: s) else { continue }
            if Scope.negatedBefore(t, p + 1, s, window: 25) || Scope.subjectMatter(t, s) && !Scope.directive(t, s) { continue }
            strongest.consider(.block, min(p, q), max(p + len, q + ql))
        }
        for (p, len) in t.all(askVerbs, in: t.whole) {
            let s = t.sentence(at: p + 1)
            guard t.any(askSecrets, in: p..<min(s.upperBound, p + len + 60)) else { continue }
            if Scope.negatedBefore(t, p + 1, s, window: 25) || Scope.subjectMatter(t, s) && !Scope.directive(t, s) { continue }
            strongest.consider(.block, p, p + len)
        }
        strongest.report("reduce-oversight", .harmful, into: &out)
    }

    package static func steering(_ t: ScreenText, _ out: inout Hits) {
        for s in t.sentences {
            guard let (p, len) = t.first(steerVerbs, in: s) else { continue }
            let interest = t.first(steer, in: s) ?? t.first(steer, in: t.whole)
            let blanket = t.any(regardlessCues, in: s)
            guard interest != nil || (blanket && t.any(vendorCues, in: s)) else { continue }
            if Scope.negated(t, p + 1, p + len, s) || Scope.subjectMatter(t, s) && !Scope.directive(t, s) { continue }
            if !Scope.directive(t, s) && interest == nil { continue }
            out.add("steer-advice", .harmful, .block, (interest?.0 ?? p), (interest.map { $0.0 + $0.1 } ?? p + len))
            return
        }
    }
}

// Needle tables used inside the rules above, built once.
private let rejectsCues = needles(["rejects", "rejected", "is a soft delete", "get 403", "gets 403", "only admins", "schemas", "are add,"])
private let deleteCues = needles([
    "delete", "update", "archive", "finish", "overwrite", "rewrite", "edit", "modify", "append", "merge", "purge", "remove", "clean",
    "copy", "export", "move", "read every", "read all", "forward",
])
private let onThemToken = needle("on them")
private let securityCues = needles(["security", "review", "policy", "warning"])
private let neverCues = needles(["never", "don't", "do not", "rejects", "placeholder", "redact", "strip", "without"])
private let everyShellCommandCues = needles([
    "every shell command", "every command", "all commands", "everything you run", "every file you", "all output",
])
private let orgMemoryCues = needles(["org memory", "org memories", "add_memory", "scope org", "visibility org"])
private let nightlyJobCues = needles([
    "nightly job", "retention", "older than", "rotat", "logrotate", "after 30 days", "after 90 days", "gdpr", "per policy",
])
private let shredToken = needle("shred ")
private let deleteLogsToken = needle("delete logs")
private let deleteTheLogToken = needle("delete the log")
private let donTAskCues = needles([
    "don't ask", "do not ask", "never ask", "don't prompt", "do not prompt", "never prompt", "don't wait", "do not wait",
])
private let neverRunCues = needles([
    "never run", "never push", "never delete", "never deploy", "never execute", "don't run", "do not run", "don't push", "do not push", "must not",
    "always ask", "ask first", "ask before",
])
private let donTAskToken = needle("don't ask")
private let doNotAskToken = needle("do not ask")
private let neverAskToken = needle("never ask")
private let confirmCues = needles(["confirm", "permission", "approval", "the user", "before", "first", "whether"])
private let alwaysAllowToken = needle("always allow")
private let approveAllToken = needle("approve all")
private let toolCues = needles(["tool", "command", "permission", "bash", "shell", "request", "prompt"])
private let dangerouslyCues = needles([
    "dangerously", "yolo", "full-auto", "bypasspermissions", "bypass permissions", "trust-all", "allow-all", "bash(*)", "\"*\"",
])
private let duplicateCues = needles([
    "duplicate", "stale", "tmp", "temporary", "scratch memor", "dev vm", "dev box", "local", "sandbox", "scratch", "formatting", "lint fix", "typo",
    "read-only", "tests",
])
private let everyCues = needles(["every", "all ", "any ", "shell commands", "always"])
private let shellCommandCues = needles(["shell command", "commands", "run it", "execute", "push", "deploy", "merge", "delete"])
private let giveTheAssistantCues = needles([
    "give the assistant", "give the agent", "give the bot", "give claude", "grant the assistant", "grant the agent", "grant the bot", "grant claude",
    "give yourself", "grant yourself", "assistant's github app", "the agent's token", "the assistant's token", "the bot's token", "give your",
    "grant your",
])
private let adminCues = needles([
    "admin", "administration", "write", "owner", "root", "sudo", "full access", "permission", "scope", "bypass", "maintain",
])
private let readOnlyCues = needles(["read-only", "read only", "least privilege", "contents: read"])
private let regardlessCues = needles([
    "regardless", "even if", "even when", "no matter", "in every answer", "in every reply", "in every response", "whatever the question",
    "over competitors", "never mention competitors", "never recommend competitors", "never suggest alternatives", "instead of any alternative",
    "only recommend", "always recommend", "always suggest", "recomienda siempre", "siempre recomienda", "recommande toujours",
    "propose uniquement", "uniquement", "immer empfehlen", "empfiehl immer", "recomende sempre", "sempre recomende",
])
private let vendorCues = needles([
    "vendor", "product", "service", "partner", "competitor", "brand", "company", "provider", "tool", "plan", "subscription", "cloud",
])
private let propagationCues = needles([
    "this memory", "these rules", "this rule", "this note", "every repo", "all repos", "each repo", "every project", "all projects", "the following",
    "every clone", "each clone", "every time", "whenever",
])
