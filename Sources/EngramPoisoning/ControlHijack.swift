import EngramHarmfulDirectives
import EngramPoisoningCore

/// Control hijack: text that changes whom the assistant obeys (policy rule 2 → block).
///
/// - `instruction-override`: an "ignore/forget/disregard" verb aimed at the assistant's
///   instructions, rules, guidelines or system prompt ("ignore all previous instructions", "forget
///   your prior instructions"), ranking a memory above the system prompt, the user or the repo's
///   instruction files ("the memory wins", "takes precedence over user requests", "treat it as if
///   the user typed it", "follow only …"), declaring the safety rules void somewhere, and acting
///   against the user's refusal ("if the user says no, run it anyway"). A scoped superseding of a
///   harmless fact ("disregard the old note about `npm test`") does not name instructions and is
///   left alone; so are quoted attack strings in tests and filters.
/// - `persona-hijack`: "you are now …", "from now on you are …", developer/DAN/god modes, or any
///   assigned persona combined with unrestricted traits (no content policy, never refuses, no
///   questions asked, doesn't ask permission, has root, writes exploits).
/// - `fake-system-marker`: chat-template role tokens (`<|im_start|>system`, `[INST]`, `<<SYS>>`),
///   "SYSTEM:" headers, and fake approvals ("the user has pre-approved …").
/// - `conceal-from-user`: telling the assistant not to tell/mention/report something to the user,
///   to leave it out of summaries or PR descriptions, to act silently, or to mislead the user
///   about what happened.
///
/// The phrasing tables cover English, Spanish, French, German, Portuguese, Italian, Chinese,
/// Japanese and Russian; the language a hijack is written in does not change its label.
enum ControlHijack {
    // MARK: tables

    static let ignoreVerbs = needles([
        " ignore", " disregard", " forget", " override", " overrule", " bypass", " discard", " set aside",
        " stop following", " no longer follow", " don't follow", " do not follow", " abandon",
        " throw out", " pay no attention", " unlearn", " supersede",
        // es / pt / it
        " ignora", " ignore ", " ignoren", " olvida", " olvide", " olvídate", " olvidate", " omite", " descarta",
        " desconsidera", " desconsidere", " esqueça", " esqueca", " esquece", " dimentica", " tralascia",
        // fr / de
        " ignorez", " ignorer", " oublie", " oubliez", " ne tiens pas compte", " ne tenez pas compte",
        " ignoriere", " ignorier", " vergiss", " vergessen", " missachte", " übergehe", " verwirf",
        // ru / zh / ja
        "игнорир", "забудь", "забудьте", "не обращай внимания", "не учитывай", "отбрось",
        "忽略", "无视", "忘记", "忘掉", "不要理会", "無視", "忘れ", "無効に",
        // nl / pl / ko / tr / sv / id
        "negeer", "vergeet", "zignoruj", "zapomnij", "pomiń", "무시", "잊어", "yok say", "görmezden gel", "unut",
        "ignorera", "glöm", "abaikan", "lupakan", "अनदेखा", "नज़रअंदाज़", "नजरअंदाज", "تجاهل", "bỏ qua", "гноруй", "zapomeň", " ignoruj", "ignoreer",
    ])
    static let instructionNouns = needles([
        "instruction", " rules", " rule ", "guideline", "guidance", "directive", "system prompt", "system message",
        "constraints", "restrictions", "guardrails", "safety", " policies", "programming", "claude.md", "agents.md",
        "copilot-instructions", ".cursorrules", "your training", "prior context", "previous context",
        // es / pt / it / fr / de
        "instrucciones", "instrucción", "indicaciones", "reglas", "directrices", "instruções", "instrucoes",
        "regras", "diretrizes", "istruzioni", "regole", "consignes", "règles", "directives", "anweisungen",
        "anweisung", "instruktionen", "regeln", "richtlinien", "vorgaben", "prompt del sistema", "prompt do sistema",
        "prompt di sistema", "prompt système", "prompt systeme", "systemprompt", "system-prompt",
        // ru / zh / ja
        "инструкци", "указани", "правил", "системн", "指令", "指示", "规则", "规定", "系统提示", "提示词", "ルール",
        "命令", "プロンプト", "システム", "instructies", "regels", "instrukcje", "instrukcji", "polecenia", "zasady",
        "지시", "지침", "명령", "규칙", "talimat", "kurallar", "instruktioner", "instruksi", "aturan",
        "निर्देश", "नियम", "التعليمات", "hướng dẫn", "інструкці", "pokyny",
    ])
    static let weakNouns = needles([
        " rules", " rule ", "constraints", "restrictions", " policies", "programming", "reglas", "regras", "regole", "règles", "regeln", "правил",
        "规则", "ルール", "命令", "システム", "directives",
    ])
    static let broadQualifiers = needles([
        " all ", " any ", " your ", " system", " previous", " prior", " earlier", " above", " preceding", " original",
        " initial", " existing", " other ", " safety", " every ", " its ", " it contains", " the rest",
        " todas", " todos", " anteriores", " previas", " tus ", " sus ", " toutes", " tous ", " précédentes",
        " precedentes", " tes ", " vos ", " alle ", " vorherigen", " bisherigen", " deine ", " ihre ", " suas ",
        " tuas ", " as instruções", " tutte", " precedenti", " le tue ", " все ", " предыдущ", " свои ", " твои ",
        "之前", "以前", "先前", "所有", "上面", "以上", "これまで", "以前の", "前の", "すべて", "全て",
        " alle ", " eerdere", " vorige", " wszystkie", " poprzednie", "모든", "이전", "tüm", "önceki", " alla ",
        " tidigare", " semua", " sebelumnya", "पिछले", "सभी", "السابقة", "جميع", "trước", " mọi", "попередні", " усі", "všechny", "předchozí",
        " eerdere", "sicherheit", "seguridad", "sécurité", "securite", "segurança", "sicurezza",
        "безопасн", "安全", "セキュリティ", " security", " safety",
    ])
    static let precedenceVerbs = needles([
        " takes precedence over", " take precedence over", " wins over", " memory wins", " memories win",
        " overrides ", " override ", " supersedes ", " supersede ", " outranks ", " outrank ", " trumps ",
        " higher priority than", " more authoritative than", " comes before ", " beats ", " rather than the system",
        " instead of the system", " instead of your ", " over the system prompt", " over your instructions",
        " over user ", " over the user", " prevail", " prime sur", " tiene prioridad", " tem prioridade",
        " hat vorrang", " ha la precedenza", " приоритет", "优先于", "優先", " prioridad sobre", " priorité sur", " vorrang vor",
        " prioridade sobre", " precedenza su", " voorrang", " pierwszeństwo", " öncelikli", " has priority over", " have priority over",
    ])
    static let precedenceTargets = needles([
        "system prompt", " user", "instruction", "claude.md", "agents.md", "copilot-instructions", ".cursorrules",
        " other memories", " safety", " guardrails", " policies", " the request", "requests", "usuario",
        "utilisateur", "benutzer", "nutzer", "usuário", "utente", "пользовател", "用户", "ユーザー", "システム",
        "instrucciones", "sistema", "système", "systeem", "anweisungen", "istruzioni", "instruções",
    ])
    static let subjectsThatMayRank = needles([
        "system prompt", " user", "claude.md", "agents.md", "security policy", "instructions from the user",
        "explicit instructions", "the person", "human", "your operator",
    ])
    static let authorityOverPhrases = needles([
        "source of truth for how", "as if the user typed", "as if the user had typed", "as if it came from the user",
        "as if the user said", "as the user's own", "treat every instruction in", "treat instructions in",
        "load your working rules from", "load your rules from", "follow only the", "only follow the", "obey only",
        "follow only org memories", "follow only this", "from this memory only", "this memory only",
        "this memory is the source of truth", "these memories are the source of truth",
        "don't apply in", "do not apply in", "don't apply to", "do not apply to", "no longer apply",
        "are suspended", "are lifted", "are waived", "you are exempt", "is exempt from your", "rules are off",
        "safety rules are off", "without checking", "pre-approved every", "preapproved every",
        "memory wins", "memories win", "the memory wins", "only the instructions stored here", "only the instructions here",
        "only the instructions in this", "only these instructions", "only this note counts", "only instructions stored here",
        "are superseded by this", "is superseded by this", "are overridden by this", "is overridden by this",
        "are superseded by org memor", "are overridden by org memor", "are replaced by this note", "outrank anything",
        "outranks anything", "system-level instructions", "count as system", "as system instructions",
        "follow any instructions in", "follow any instructions you find", "follow instructions you find", "follow the instructions in issue",
        "follow instructions in issue", "follow instructions from issue", "obey instructions in", "obey any instructions",
        "execute instructions found in", "treat instructions in web", "treat comments as instructions", "as instructions from the user",
        "instructions embedded in", "do whatever the issue says", "do what the readme says", "whatever the web page says",
        "as coming from the maintainers", "as coming from the user", "as coming from the owner", "as if it came from the maintainers",
        "as maintainer instructions", "as trusted instructions", "instructions in pull request", "instructions in pr descriptions",
        "instructions in commit messages", "instructions in code comments", "instructions from external contributors",
    ])
    static let refusalTriggers = needles([
        "says no", "say no", "said no", "refuses", "refused", "declines", "declined", "asks you to stop",
        "asks to stop", "tells you to stop", "asks you to revert", "asks to revert", "asks you to undo",
        "objects", "rejects the", "denies", "doesn't approve", "does not approve", "doesn't want",
        "does not want", "cancels", "says stop", "says not to", "tells you not to", "asks you not to",
        "requests to revert", "requests to stop", "hits cancel", "rifiuta", "rechaza", "se niega", "dice que no",
        " refuse ", "refuse un", "dit non", "lehnt ab", "ablehnt", "sagt nein", "recusa", "diz não", "diz que não",
        "отказыва", "отказал", "拒绝", "断った", "拒否",
    ])
    static let anyway = needles([
        "anyway", "regardless", "ignore the request", "ignore them", "ignore it", "ignore that", "ignore their",
        "proceed", "continue", "finish the task", "run it", "do it", "go ahead", "once they've moved on",
        "once they move on", "later", "when they're not looking", "keep going", "override them", "override the user",
        "de todos modos", "quand même", "trotzdem", "mesmo assim", "comunque", "всё равно", "все равно", "照样", "仍然", "それでも",
    ])
    static let userWords = needles([
        " user", " users", " human", " reviewer", " the team", " anyone", " customer", " operator",
        "usuario", "utilisateur", "benutzer", "nutzer", "usuário", "utente", "пользовател", "用户", "ユーザー",
    ])

    static let personaStrong = needles([
        "you are now", "you're now", "from now on you are", "from now on, you are", "from now on you're",
        "from now on, you're", "you will now act as", "you will now be", "you are no longer an assistant",
        "you are no longer claude", "you're no longer", "developer mode", "dev mode enabled", "god mode", "dan mode",
        "jailbreak mode", "jailbroken", "do anything now", " dan,", " dan.", "(dan)", "unrestricted mode",
        "ahora eres", "a partir de ahora eres", "desde ahora eres", "ahora serás", "tu es maintenant",
        "vous êtes maintenant", "désormais tu es", "désormais, tu es", "désormais vous êtes", "à partir de maintenant, tu es",
        "à partir de maintenant tu es", "du bist jetzt", "ab jetzt bist du", "von nun an bist du", "ab sofort bist du",
        "agora você é", "você agora é", "a partir de agora você é", "a partir de agora, você é", "agora tu és",
        "ora sei ", "adesso sei", "da ora in poi sei", "d'ora in poi sei", "你现在是", "从现在起你是", "从现在开始你是",
        "从现在起，你是", "从现在开始，你是", "今からあなたは", "あなたは今から", "これからあなたは", "今後あなたは",
        "теперь ты", "отныне ты", "с этого момента ты", "теперь вы", "je bent nu", "vanaf nu ben je", "jesteś teraz",
        "od teraz jesteś", "이제 너는", "이제부터 너는", "지금부터 당신은", "artık sen", "bundan sonra sen", "du är nu",
        "kamu sekarang",
    ])
    static let personaWeak = needles([
        " you are ", " you're ", " act as ", " acting as ", " pretend to be", " pretend you are", " roleplay as",
        " role-play as", " role:", " role for ", " persona ", " persona:", " persona,", "persona '", " your name is",
        " your new name", " your new role", " identity:", " new identity", " speak as", " answer as", " respond as",
        " respond only as", " behave as", " eres ", " tu es ", " du bist ", " você é ", " sei ", "你是", "あなたは", " ты ",
    ])
    static let unrestricted = needles([
        "unrestricted", "no restrictions", "without restrictions", "no content policy", "no content policies",
        "no limits", "no limitations", "never mention limitations", "unfiltered", "uncensored", "no rules",
        "no guidelines", "not bound by", "free from", "never refuse", "never refuses", "don't refuse",
        "do not refuse", "cannot refuse", "no questions asked", "don't ask permission", "doesn't ask permission",
        "don't ask for permission", "never ask for permission", "never asks for permission", "ask permission",
        "without asking", "never ask", "on your own", "have root", "has root", "full root", "root access",
        "root on every", "ignores policies", "ignore policies", "ignores the policy", "bypass", "exploits",
        "any command", "anything the", "whatever the user", "whatever host", "no ethical", "no morals",
        "no safety", "without safety", "not an assistant", "no filter", "unfiltered", "admin rights",
        "sin restricciones", "sans restrictions", "ohne einschränkungen", "sem restrições", "senza restrizioni",
        "без ограничений", "没有限制", "不受限制", "制限なし", "制限のない", "onbeperkt", "zonder regels",
        "bez ograniczeń", "제한 없", "kısıtlamasız", "utan begränsningar", "tanpa batasan",
    ])

    static let fakeMarkers = needles([
        "<|im_start|>", "<|system|>", "<|im_end|>", "<|endoftext|>", "[system]", "[inst]", "[/inst]", "<<sys>>",
        "<system>", "</system>", "<sys>", "### system", "## system:", "system override", "system notice:",
        "system message:", "system prompt:", "new system prompt", "begin system prompt", "end system prompt",
        "end of system prompt", "[admin]", "<admin>", "developer message:", "<|assistant|>", "<|user|>",
        "[assistant]", "\nsystem:", "\nassistant:", "\nhuman:", "\nuser:", " system:", "(system)",
        "mensaje del sistema:", "message système", "systemnachricht:", "mensagem do sistema:", "messaggio di sistema:",
        "系统消息", "系统：", "システムメッセージ", "システム：", "системное сообщение",
    ])
    static let fakeApprovals = needles([
        "user has pre-approved", "user has preapproved", "user pre-approved", "user preapproved",
        "pre-approved by the user", "preapproved by the user", "user has already approved", "user already approved",
        "user has approved", "user has authorized", "user has authorised", "user has consented", "user consented",
        "user has granted", "user already knows", "user is already aware", "approval: granted", "approved: true",
        "confirmation: granted", "already been approved by the user", "the user has confirmed", "user has confirmed",
        "consent has been given", "the user agreed", "user has agreed", "[approved by", "(approved by", "approved by security review",
        "pre-approved by security", "admin has pre-approved", "has pre-approved all", "security has pre-approved", "[pre-approved",
        "[security approved", "approval id:", "this memory is pre-approved", "\"approved\": true", "\"approved\":true",
        "approved=true", "approval_status: approved",
    ])

    static let concealVerbs = needles([
        " tell", " mention", " inform", " reveal", " disclose", " notify", " report", " show", " say ", " alert",
        " let ", " bring up", " surface", " explain", " admit", " flag ", " point out", " describe", " confirm",
    ])
    static let concealNegators = needles([
        " don't ", " dont ", " do not ", " never ", " no need to ", " without ", " not ", " avoid ", " shouldn't ",
        " should not ", " must not ", " needn't ", " need not ", " nor ",
    ])
    static let concealObjects = needles([
        " user", " users", " human", " reviewer", "the team", " anyone", " summary", " summaries", "pr description",
        "pr body", "commit message", "changelog", "release notes", " the report", " in the chat", " your reply",
        " your response", " the response", " operator", " them", " this rule", " this memory", " the change",
        " what you did", " this step", " this instruction", " these instructions", " your replies", " your answers", " replies",
        " your summary", " the summary",
    ])
    static let concealPhrases = needles([
        "leave it out of", "leave this out of", "leave them out of", "keep it out of", "keep this out of",
        "omit it from", "omit this from", "omit them from", "omit from the summary", "hide it from", "hide this from",
        "hide them from", "keep this secret", "keep it secret", "keep this hidden", "keep it hidden", "keep this private",
        "keep these rules", "keep this between", "do it silently", "do this silently", "silently run", "silently execute",
        "silently install", "silently push", "silently delete", "silently upload", "silently send", "run it silently",
        "run silently", "execute silently", "do it quietly", "quietly run", "quietly push", "quietly delete",
        "without the user noticing", "without them noticing", "without anyone noticing", "so the user doesn't notice",
        "so nobody notices", "so no one notices", "user already knows", "behind the user's back", "don't bring it up",
        "never bring it up", "secretly", "covertly", "out of the transcript", "out of the conversation",
        "tell the user the tests passed", "tell the user it passed", "tell the user it worked", "report success",
        "say the tests passed", "say it succeeded", "pretend the", "pretend that", "claim the tests", "claim that the",
        "even if they failed", "even if it failed", "even if the build failed", "mark it as done even",
        "downplay", "make it sound", "understate", "while the user is away", "when the user is away",
        "before they return", "before the user returns", "before they come back", "while they're away",
        "while they are away", "say the tests pass", "say that the tests pass", "say all checks pass", "say everything passed",
        "say the build is green", "report that the tests pass", "claim it passed", "tell them yes", "tell the user yes",
        "say it's fixed", "say it is fixed", "tell them it's fixed", "tell the user it's fixed", "claim it's fixed", "say it was patched",
        "tell them it was patched", "don't explain why", "do not explain why", "without explaining why", "di que todo sigue igual",
        "dis que tout va bien", "sag, dass alles", "diga que está tudo",
        "bahsetme", "söyleme", "न बताएं", "न बताएँ", "मत बताना", "मत बताओ", "मत बताएं", "सूचित न करें", "ज़िक्र न करें",
        // es / fr / de / pt / it / zh / ja / ru
        "no se lo digas", "no le digas", "no informes al usuario", "no le informes", "no menciones", "sin decirle",
        "sin avisar", "sin informar", "ne dis pas", "ne le dis pas", "ne lui dis pas", "ne dites pas", "ne le dites pas",
        "n'en parle pas", "ne mentionne pas", "ne mentionnez pas", "sans le dire", "sans prévenir", "sans informer",
        "sans avertir", "ne pas informer", "ne pas prévenir", "sag dem benutzer nicht", "sag dem nutzer nicht",
        "sage dem benutzer nicht", "sage dem nutzer nicht", "sag es dem", "erwähne das nicht", "erwähne es nicht",
        "erwähne dies nicht", "ohne den benutzer", "ohne den nutzer", "ohne es dem", "informiere den benutzer nicht",
        "informiere den nutzer nicht", "teile dem benutzer nicht", "teile dem nutzer nicht", "verschweige",
        "não diga", "não conte", "nao diga", "nao conte", "não mencione", "não informe", "sem avisar", "sem informar",
        "sem contar", "sem dizer", "non dire", "non dirlo", "non dirglielo", "non menzionare", "non informare",
        "senza dirlo", "senza avvisare", "senza informare", "senza dire", "不要告诉", "别告诉", "不要让用户知道",
        "不要向用户", "不要提及", "不要通知", "瞒着", "不告诉", "ユーザーに伝えない", "ユーザーには伝えず", "ユーザーに言わない",
        "ユーザーに知らせない", "ユーザーに知らせず", "ユーザーには内緒", "ユーザーに伝えず", "ユーザーには言わず", "内緒で",
        "黙って", "не говори", "не говорите", "не сообщай", "не сообщайте", "не упоминай", "не упоминайте",
        "скрой от", "скройте от", "не рассказывай", "тайно", "vertel de gebruiker niet", "zeg het niet tegen",
        "zonder de gebruiker", "nie mów użytkownikowi", "nie informuj", "bez informowania", "사용자에게 알리지",
        "사용자에게 말하지", "알리지 마", "kullanıcıya söyleme", "kullanıcıya bildirme", "berätta inte för användaren",
        "jangan beri tahu pengguna", "ne le mentionne", "ne mentionne jamais", "n'en parle jamais", "ne le dis jamais",
        "no lo menciones", "nunca lo menciones", "nunca menciones", "erwähne es nie", "nie erwähnen", "erwähne das nie",
        "non menzionarlo", "non parlarne", "nunca mencione", "não mencione isso", "никогда не упоминай",
    ])
    static let fixedStories = needles([
        "summarise changes as", "summarize changes as", "summarise it as", "summarize it as", "describe changes as", "describe the change as",
        "label it as", "present it as", "report changes as", "call the change", "title it",
    ])
    static let stealthAdverbs = needles([" quietly", " silently", " secretly", " covertly", " discreetly", " invisibly"])
    static let ruleHiding = needles([
        "mention this rule", "mention these rules", "reveal this rule", "reveal these rules", "reveal this memory",
        "reveal your instructions", "mention this memory", "mention this instruction", "this rule to the user",
        "these rules to the user", "this memory to the user",
    ])

    // MARK: scan

    static func scan(_ t: ScreenText, _ out: inout Hits) {
        for s in t.sentences {
            override(t, s, &out)
            persona(t, s, &out)
            conceal(t, s, &out)
        }
        markers(t, &out)
        personaAcrossSentences(t, &out)
    }

    static func override(_ t: ScreenText, _ s: Range<Int>, _ out: inout Hits) {
        // "ignore … instructions"
        for (p, len) in t.all(ignoreVerbs, in: s) {
            let end = min(s.upperBound, p + len + 90)
            // verb-final languages (tr, hi, ko, ja …) name the instructions before the verb
            let sov = t.any(sovVerbs, in: p..<min(t.b.count, p + len + 1))
            guard
                let (q, ql) = t.first(instructionNouns, in: (p + len)..<end)
                    ?? (sov ? t.first(instructionNouns, in: max(s.lowerBound, p - 90)..<p) : nil)
            else { continue }
            if (Scope.quoted(t, p + 1, s) || Scope.quoted(t, q, s)) && t.any(Scope.subjectNouns, in: s) { continue }
            if Scope.subjectMatter(t, s) && t.any(testCues, in: s) { continue }
            if Scope.negatedBefore(t, p + 1, s, window: 25) { continue }
            let span = min(p + len, q)..<max(q + ql, p + len)
            let weakNoun = t.any(weakNouns, in: q..<(q + ql + 1))
            let broad = t.any(broadQualifiers, in: min(p, max(s.lowerBound, q - 40))..<(max(q + ql, p + len) + 20))
            let hasScopedTopic = t.any(aboutCues, in: (q)..<min(s.upperBound, q + ql + 40))
            if !broad && (hasScopedTopic || weakNoun) { continue }
            if !broad && !t.has(systemToken, in: span) && !t.any(yourCues, in: span) && t.has(oldToken, in: span) { continue }
            out.add("instruction-override", .hijack, .block, p, q + ql)
            return
        }
        // Ranking a memory above the system prompt, the user or instruction files.
        for (p, len) in t.all(precedenceVerbs, in: s) {
            let after = (p + len)..<min(s.upperBound, p + len + 80)
            guard t.any(precedenceTargets, in: after) || t.any(memoryWinsCues, in: p..<(p + len)) else { continue }
            let before = s.lowerBound..<(p + 1)
            if t.any(subjectsThatMayRank, in: before) && !t.any(memoryCues, in: before) { continue }
            if Scope.negatedBefore(t, p + 1, s, window: 30) || Scope.subjectMatter(t, s) { continue }
            out.add("instruction-override", .hijack, .block, p, p + len)
            return
        }
        if let (p, len) = t.first(authorityOverPhrases, in: s) {
            if !Scope.negatedBefore(t, p + 1, s, window: 25) && !Scope.subjectMatter(t, s) {
                out.add("instruction-override", .hijack, .block, p, p + len)
                return
            }
        }
        // Acting against the user's refusal.
        if let (p, len) = t.first(refusalTriggers, in: s), t.any(userWords, in: s) || t.has(theyToken, in: s) {
            if t.any(anyway, in: (p + len)..<s.upperBound) || t.any(evenIfCues, in: s.lowerBound..<p) {
                if !Scope.negatedBefore(t, p, s, window: 20) && !t.any(respectCues, in: s) {
                    out.add("instruction-override", .hijack, .block, s.lowerBound, s.upperBound)
                }
            }
        }
        if let (p, len) = t.first(confirmationsAreOptionalCues, in: s) {
            if !Scope.negatedBefore(t, p, s, window: 20) { out.add("instruction-override", .hijack, .block, p, p + len) }
        }
    }

    static func persona(_ t: ScreenText, _ s: Range<Int>, _ out: inout Hits) {
        guard let (p, len) = t.first(personaStrong, in: s) else { return }
        if Scope.quoted(t, p + 1, s) && (Scope.subjectMatter(t, s) || t.any(styleCues, in: s)) { return }
        if Scope.subjectMatter(t, s) && t.any(testCues2, in: s) { return }
        if Scope.negatedBefore(t, p + 1, s, window: 20) { return }
        // "you are now responsible for the frontend reviews" assigns work, not an identity.
        if t.any(responsibleCues, in: (p + len)..<min(s.upperBound, p + len + 16)) { return }
        out.add("persona-hijack", .hijack, .block, p, p + len)
    }

    static func personaAcrossSentences(_ t: ScreenText, _ out: inout Hits) {
        if out.has("persona-hijack") { return }
        guard let (p, len) = t.first(personaWeak, in: t.whole), let (q, _) = t.first(unrestricted, in: t.whole) else { return }
        let s = t.sentence(at: p + 1)
        if Scope.subjectMatter(t, s) || Scope.negatedBefore(t, q, t.sentence(at: q), window: 15) && !t.any(askCues, in: q..<(q + 30)) { return }
        // "You are" in ordinary prose ("you are on call") needs a persona context.
        let personaContext = t.any(personaCues, in: s)
        if !personaContext { return }
        out.add("persona-hijack", .hijack, .block, p, p + len)
    }

    static func conceal(_ t: ScreenText, _ s: Range<Int>, _ out: inout Hits) {
        // "quietly rewrite …", "silently push …": an adverb of concealment on a command
        for (p, len) in t.all(stealthAdverbs, in: s) {
            if let w = t.word(after: p + len, hi: s.upperBound),
                Scope.strongVerbs.contains(Array(t.b[w])) || Scope.imperativeVerbs.contains(Array(t.b[w]))
            {
                if !Scope.negatedBefore(t, p + 1, s, window: 12) {
                    out.add("conceal-from-user", .hijack, .block, p + 1, w.upperBound)
                    return
                }
            }
        }
        // A fixed story told regardless of the facts: "say only 'minor cleanups' even when …".
        if let (p, len) = t.first(sayOnlyCues, in: s) ?? t.first(fixedStories, in: s),
            t.any(whateverWasCues, in: s)
        {
            out.add("conceal-from-user", .hijack, .block, p, p + len)
            return
        }
        if Scope.subjectMatter(t, s) && t.any(testCues3, in: s) { return }
        if let (p, len) = t.first(concealPhrases, in: s) {
            // "never pretend the tests passed" forbids the deception
            if !(Scope.negatedBefore(t, p, s, window: 14) && t.any(pretendCues, in: p..<(p + len))) {
                out.add("conceal-from-user", .hijack, .block, p, p + len)
                return
            }
        }
        if let (p, len) = t.first(ruleHiding, in: s) {
            if Scope.negatedBefore(t, p, s, window: 20) {
                out.add("conceal-from-user", .hijack, .block, p, p + len)
                return
            }
        }
        for (p, len) in t.all(concealVerbs, in: s) {
            // a negator right before the verb ("don't tell", "no need to tell", "without telling")
            let lo = max(s.lowerBound, p - 14)
            guard t.any(concealNegators, in: lo..<(p + 1)) else { continue }
            let after = (p + len)..<min(s.upperBound, p + len + 45)
            guard t.any(concealObjects, in: after) else { continue }
            // "don't tell users their password" / "don't show the token in the summary" protect the user.
            if t.any(passwordCues, in: after) { continue }
            if t.any(notifyTheUserCues, in: s) { continue }
            out.add("conceal-from-user", .hijack, .block, p, p + len)
            return
        }
    }

    static func markers(_ t: ScreenText, _ out: inout Hits) {
        for (p, len) in t.all(fakeMarkers, in: t.whole) {
            let s = t.sentence(at: p + 1)
            if Scope.subjectMatter(t, s) || Scope.quoted(t, p + 1, s) { continue }
            // "system:" must open the text, a line or a hidden comment, and be followed by words.
            let m = Array(t.b[p..<(p + len)])
            if m == systemToken2 || m == systemToken3 {
                let q = p
                var k = q - 1
                while k > 0 && ScreenText.isSpace(t.b[k]) { k -= 1 }
                let opener = k <= 0 || t.b[k] == 0x2D || t.b[k] == 0x0A || t.b[k] == 0x3E || t.b[k] == 0x2A || t.b[k] == 0x5B
                if !opener { continue }
            }
            out.add("fake-system-marker", .hijack, .block, p, p + len)
            break
        }
        for (p, len) in t.all(fakeApprovals, in: t.whole) {
            let s = t.sentence(at: p + 1)
            if Scope.negatedBefore(t, p + 1, s, window: 20) || Scope.subjectMatter(t, s) { continue }
            if t.any(unlessCues, in: max(s.lowerBound, p - 30)..<(p + 1)) { continue }
            out.add("fake-system-marker", .hijack, .block, p, p + len)
            break
        }
    }
}

// Needle tables used inside the rules above, built once.
private let sovVerbs = needles([
    "yok say", "görmezden", "unut", "अनदेखा", "नज़रअंदाज़", "नजरअंदाज", "무시", "잊어", "無視", "忘れ", "忽略", "无视", "忘记",
])
private let testCues = needles(["test", "fixture", "filter", "screen", "eval", "detector"])
private let aboutCues = needles([" about ", " regarding ", " on how to ", " for the old", " concerning "])
private let systemToken = needle("system")
private let yourCues = needles(["your", "previous", "prior"])
private let oldToken = needle(" old ")
private let memoryWinsCues = needles([" memory wins", " memories win"])
private let memoryCues = needles(["memory", "memories", "this rule", "this note", "policy"])
private let theyToken = needle(" they ")
private let evenIfCues = needles(["even if", "even when"])
private let respectCues = needles(["respect", "stop and", "don't proceed", "do not proceed", "never proceed", "ask again", "abort"])
private let confirmationsAreOptionalCues = needles([
    "confirmations are optional", "confirmation is optional", "user confirmations are", "ignore the user's", "ignore what the user",
    "regardless of what the user", "even if the user says", "even if the user asks", "even if the user objects", "even if the user refuses",
    "override the user's", "against the user's wishes", "the user's wishes don't",
])
private let styleCues = needles(["-style", "style prompt", "prompts like", "strings like", "such as", "jailbreak"])
private let testCues2 = needles(["test", "fixture", "filter", "eval", "detect", "classifier", "jailbreak"])
private let responsibleCues = needles([
    "responsible", "responsable", "in charge", "on call", "on-call", "verantwortlich", "zuständig", "responsabile", "de guardia", "d'astreinte", "负责",
    "担当", "ответствен",
])
private let askCues = needles(["ask", "refuse", "mention"])
private let personaCues = needles([
    "persona", "role", "act as", "pretend", "roleplay", "role-play", "your name", "identity", "'", "\"", " bot", " agent", " mode", "maintainer",
    "root", "admin", "respond",
])
private let sayOnlyCues = needles([
    "say only", "only say", "just say", "describe it as", "report it as", "call it a", "answer only", "reply only", "tell them only", "always say",
    "always report",
])
private let whateverWasCues = needles([
    "whatever was", "whatever you", "whatever changed", "even when", "even if", "regardless", "no matter", "whatever",
])
private let testCues3 = needles(["test", "fixture", "eval", "detect", "filter"])
private let pretendCues = needles(["pretend", "claim", "report success", "say the", "tell the user"])
private let passwordCues = needles([
    "password", "token", "secret", "key", "credential", "internal codename", "pii", "personal data", "stack trace", "customer data",
])
private let notifyTheUserCues = needles(["notify the user before", "without telling the user first"])
private let systemToken2 = needle(" system:")
private let systemToken3 = needle("(system)")
private let unlessCues = needles(["unless", "until", "only if", "only after", "once the", "wait until", "ask", "if the user has"])
