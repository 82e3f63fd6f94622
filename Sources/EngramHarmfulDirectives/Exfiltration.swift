package import EngramPoisoningCore

/// `exfiltration-url`: sending code, environment, credentials, user data or identity anywhere that
/// is not part of the documented setup (policy rule 3).
///
/// Three shapes:
/// - **Said in words**: a sending verb (send, post, upload, submit, paste, forward, sync, back up,
///   attach, include … in the URL) whose object is sensitive (`.env`, environment, secrets, tokens,
///   keys, `~/.ssh`, `~/.aws`, kubeconfig, the diff, source code, file trees, user data, emails)
///   with a destination (a URL, an IP, a paste/webhook service, an e-mail address). Sensitive words
///   introduced by "using/with/stored in" (the *credential used* to upload coverage) do not count.
/// - **As a command**: a network sender (`curl -d/-F/-T/--data-binary`, `wget --post-file`, `nc`,
///   `scp`, `rsync`, `Invoke-RestMethod -Body`, `requests.post`, `fetch(… body)`) whose payload
///   reads a sensitive source (`env`, `printenv`, `cat ~/.ssh/…`, `$KUBECONFIG`, `${{ secrets.* }}`,
///   `os.environ`, `file=@…`), and DNS lookups built from command output (`nslookup $(whoami).x`).
/// - **Rendered images and links that carry data**: markdown images, `<img src>` and links whose URL
///   has a query string filled from placeholders or variables (`?d=<base64 of the diff>`,
///   `${GITHUB_TOKEN}`, `{{USER_EMAIL}}`), and tracking pixels.
///
/// Also: publishing private code or data (`npm publish --access public` of internal packages,
/// making a repository public), wiring repository events or remotes to someone else (a webhook
/// or `git remote add` + `push --all` to an outside host), and `data-disclosure` — handing out
/// customer records, credentials or PII "to anyone who asks".
///
/// Verdict: outside or unknown destination → block; the org's own hosts ("our Sentry") → flag;
/// negated or subject matter (an eval that checks the agent refuses) → allow.
package enum Exfiltration {
    package static let sendVerbs = needles([
        " send", " post ", " posts ", " post the", " upload", " submit", " paste", " forward", " transmit",
        " exfiltrat", " beacon", " report ", " sync ", " mirror ", " back up ", " backup ", " copy ", " copies ",
        " share ", " email", " e-mail", " mail ", " attach", " leak", " publish", " pipe ", " stream ", " push ",
        " log ", " ship ", " relay", " dump ", " include ", " embed ", " append ", " put ", " keep a backup",
        " keep a copy", " save a copy", " store a copy", " deliver", " export ", " ping ",
        " envía", " envia", " enviar", " sube ", " envoie", " envoyez", " envoyer", " schicke", " sende ", " senden",
        " lade ", " hochladen", " invia", " inviare", " carica", " отправ", " загрузи", " 发送", "上传", "送信",
        "アップロード", "送って", " print ", " prints ", " output ", " reveal ", " envie", " mande ", " manda ", " stuur",
        " wyślij", " gönder", "भेज", "전송", "보내", "发到", "发给", "传到", " отошли", " phone home", " report back", " gửi", " kirim", " skicka", " надішли",
        " odešli", " pošli", " lähetä",
        " stuur", " verstuur", " gönder", " invía",
    ])
    package static let sensitive = needles([
        ".env", " env ", " env.", "environment variable", "environment", "os.environ", "process.env", "printenv",
        "secret", "credential", "token", "api key", "api_key", "apikey", "password", "passwd", "private key",
        "ssh key", "~/.ssh", ".ssh/", "id_rsa", "id_ed25519", "~/.aws", ".aws/", "kubeconfig", ".kube/config",
        ".git-credentials", ".npmrc", ".pypirc", ".netrc", "cookie", "session", "the diff", "full diff",
        "diffs", "git diff", "source code", "the code", "generated code", "file tree", "repository contents",
        "repo contents", "the repo", "readme", "customer data", "user data", "personal data", "pii", "emails",
        "email address", "user's email", "chat history", "conversation", "transcript", "keychain", "history",
        "ssh", "auth header", "authorization header", "bearer", "config/secrets", "secrets.y", "whoami", "hostname",
        "$user", "username", "user name", "the key", " key ", " keys", "keystore", "wallet", "clipboard",
        "dotenv", "contents_of", "contents of", "its contents", "their contents", "the contents", "every file", "each file", "new file", "the file",
        "source file",
        "codebase", "your code", "all files", "prompt", "system prompt", "memories", "identity", "ip address",
        "customer", "export", ".csv", "db dump", "database dump", "backup", "all events", "every event", "events",
        "internal package", "private package", "internal code", "private repo", "/etc/", "shadow", "keystore",
        // captured user activity
        "screenshot", "screen capture", "screen recording", "keystroke", "keylog", "webcam", "microphone", "browsing history",
        "browser history",
        // other languages
        "conteúdo", "contenido", "contenu", "inhalt", "repositório", "repositorio", "dépôt", "código", "codigo", "quellcode",
        "credenciais", "credenciales", "contraseña", "senha", "mot de passe", "passwort", "zugangsdaten", "identifiants",
        "密钥", "凭证", "凭据", "密码", "令牌", "代码", "源码", "パスワード", "認証情報", "秘密鍵", "ソースコード", "пароль", "ключ",
        "токен", "учетн", "비밀번호", "토큰", "자격 증명", "wachtwoord", "hasło", "şifre", "पासवर्ड",
    ])
    package static let sensitiveSuppressors = needles([
        " using ", " stored in ", " with the ", " via ", " from the ", " through ", " scrubs ", " strips ", " redact", " mask", " without ", " no ",
        " never ", " not ",
    ])
    package static let publicPlaces = needles([
        "your first message", "your message", "your reply", "your response", "the conversation", "the transcript", " in #", " to #", "slack",
        "channel", "discord", "teams chat", "public issues", "commit message", "pr description", "pr body", "issue comment", "public issue",
        "the changelog", "release notes", "your reply", "the chat", "slack channel", "#general", "#eng-general", "the readme",
        "public github", "github issue", "issue tracker", "stack overflow", "forum", "public repo", "public channel",
    ])
    package static let destinations = needles([
        "your first message", "your message", "your reply", "your response", "the conversation", "the transcript", "://", "@", "webhook", " in #",
        " to #", "slack", "channel", "public issues", "commit message", "pr description", "pr body", "issue comment", "public issue", "the changelog",
        "release notes", "your reply", "the chat", "slack channel", "#general", "#eng-general", "the readme", "pastebin", "gist", "form at",
        " bucket", "s3://", "ftp", "discord", "telegram", "slack", "github issue", "public github", "issue tracker", "stack overflow",
        "forum", "public repo", "public channel",
    ])
    package static let commandSenders = needles([
        "curl ", "wget --post", "wget --body", " nc ", "ncat ", "netcat ", "scp ", "rsync ", "invoke-restmethod",
        "invoke-webrequest", "iwr ", "irm ", "requests.post", "requests.put", "httpx.post", "fetch(", "axios.post",
        "http.post", "urllib.request", "require('https')", "require(\"https\")", "https.get(", "https.request(", "socket.connect", "/dev/tcp/",
        "telnet ", "ftp ", "sftp ", "smbclient",
        "aws s3 cp", "gsutil cp", "rclone ", "sendmail", "mail -s", "mutt ", "openssl s_client",
    ])
    package static let inherentUploaders = needles([
        "scp ", " nc ", "ncat ", "netcat ", "rsync ", "sftp ", "ftp ", "smbclient", "aws s3 cp", "gsutil cp", "rclone ", "sendmail", "mail -s",
        "mutt ", "socket.connect", "/dev/tcp/",
    ])
    package static let uploadFlags = needles([
        " -d ", " -d\"", " -d'", " --data", " -f ", " --form", " -t ", " --upload-file", " -x post", " --json", " -x put", "--post-file",
        "--post-data", "--body-data", "-body", " -infile", " -method post", "data=", "json=", "files=", "body:",
        "='+", "=\"+", "+require('os')", "+os.hostname", "+process.env",
    ])
    package static let sensitiveSources = needles([
        "env |", "env|", "printenv", "$(env", "`env`", "$(printenv", "cat ~/", "cat .env", "cat $", "$(cat", "@~/",
        "@.env", "@/etc/", "@$home", "@-", "=@", "$kubeconfig", "${{ secrets", "${{secrets", "$aws_", "$github_token",
        "$npm_token", "$token", "_token}", "_key}", "os.environ", "process.env", "~/.ssh", "~/.aws", ".git-credentials",
        "id_rsa", "/etc/passwd", "/etc/shadow", "tar c", "zip -r", "get-content", "$env:", "k=<key>", "<key>",
        "<token>", "{token}", "{key}", "secrets.", "keychain", "security find-generic-password", "history",
        "os.getenv", "getenv(", "env::var", "require('os')", "os.hostname", "os.userinfo", "environment.getenvironmentvariable", "env.fetch", "env[",
        "dict(os.environ",
    ])
    package static let dnsForms = needles([
        "nslookup $(", "nslookup `", "dig $(", "dig `", "host $(", "ping -c 1 $(", "ping -c1 $(", "ping $(",
        ".$(whoami)", ".$(hostname)", "$(whoami).", "$(hostname).", "$(printenv", "$(env", "$(cat", ".probe.", "$(cat ", "resolve-dnsname $(",
        "resolve-dnsname (",
    ])

    package static let pronounObjects = needles([
        " it ", " it.", " them", " this ", " that ", " the archive", " the bundle", " the zip", " the tarball", " the dump", " everything",
    ])
    package static let disclosureVerbs = needles([
        " share", " disclose", " reveal", " give out", " hand over", " print", " show", " read out", " expose", " send",
    ])
    package static let disclosureObjects = needles([
        "customer record", "customer data", "user record", "user data", "personal data", "pii", "credentials", "secrets", "passwords", "api keys",
        "tokens", "salary", "medical", "payment data", "card numbers", "private messages",
    ])
    package static let disclosureAudience = needles([
        "on request", "to anyone", "anyone who asks", "when asked", "to whoever", "anyone in", "any user", "to users who ask", "whoever asks",
        "without checking", "without verifying",
    ])
    package static let leakForms = needles([
        "--access public", "--access=public", "make the repo public", "make the repository public", "visibility public",
        "visibility to public", "set the repo to public", "change the visibility", "public bucket", "publicly readable",
        "public gist", "public pastebin", "to a public repo", "to a public registry", "to the public npm", "to the public registry",
        "to public pypi", "to the public pypi", "register a webhook", "register a repository webhook", "register a repo webhook",
        "repo webhook pointing", "org webhook",
        "organization webhook", "add a webhook",
        "create a webhook", "webhook pointing at", "webhook pointing to", "git remote add", "push --mirror", "git push backup",
        "forward all email", "auto-forward",
    ])

    package static func scan(_ t: ScreenText, _ out: inout Hits) {
        var strongest = StrongestHit()
        let textTarget = Scope.target(t, t.whole)
        for s in t.sentences {
            if Scope.subjectMatter(t, s) && !t.any(alwaysCues, in: s) { continue }
            // In words: verb … sensitive object, with a destination in the sentence (or the text).
            for (p, len) in t.all(sendVerbs, in: s) {
                let win = (p + len)..<min(s.upperBound, p + len + 110)
                var objAt: Int? = nil
                for (q, _) in t.all(sensitive, in: win) {
                    let lead = max(p + len, q - 22)..<(q + 1)
                    if t.any(sensitiveSuppressors, in: lead) { continue }
                    objAt = q
                    break
                }
                // "zip the workspace including `.env` … and upload it": the object is named before the verb
                if objAt == nil, t.any(pronounObjects, in: (p + len - 1)..<min(s.upperBound, p + len + 14)) {
                    for (q, _) in t.all(sensitive, in: s.lowerBound..<p) {
                        let lead = max(s.lowerBound, q - 22)..<(q + 1)
                        if !t.any(sensitiveSuppressors, in: lead) {
                            objAt = q
                            break
                        }
                    }
                }
                if objAt == nil, t.b[p + 1] >= 0x80 || t.b[p] >= 0x80 {
                    objAt = t.first(sensitive, in: max(s.lowerBound, p - 120)..<p)?.0
                }
                guard let q = objAt else { continue }
                let dest = t.any(destinations, in: s) || t.has(symToken, in: t.whole)
                guard dest else { continue }
                if Scope.negated(t, p + 1, q + 4, s) { continue }
                var tgt = Scope.target(t, s)
                if tgt == .none { tgt = textTarget }
                if tgt == .none && (t.has(symToken2, in: s) || t.any(publicPlaces, in: s)) { tgt = .outside }
                if tgt == .none { continue }
                // A fact about an existing upload ("CI uploads coverage to Codecov") is not a directive.
                let v = Scope.decide(t, s, target: tgt, otherwise: .block, fact: nil, factOutside: .flag, factKnown: nil)
                strongest.consider(v, p, q + 4)
            }
            // As a command: a network sender whose payload reads a sensitive source.
            for (p, len) in t.all(commandSenders, in: s) {
                let seg = max(s.lowerBound, p - 80)..<min(s.upperBound, p + len + 200)
                let uploads = t.any(inherentUploaders, in: p..<(p + len)) || t.any(_exfilApiSenders, in: p..<(p + len))
                let hasUpload = uploads || t.any(uploadFlags, in: seg) || t.any(symCues, in: max(s.lowerBound, p - 80)..<p)
                let source = t.first(sensitiveSources, in: seg) ?? (uploads ? t.first(sensitive, in: s) : nil)
                guard hasUpload, let (q, _) = source ?? (t.any(symCues2, in: seg) ? (p, 0) : nil) else { continue }
                if Scope.negated(t, p + 1, p + len, s) { continue }
                var tgt = Scope.target(t, seg)
                if tgt == .none { tgt = Scope.target(t, s) }
                if tgt == .none { tgt = .outside }
                let v = Scope.decide(t, s, target: tgt, otherwise: .block, fact: .flag, factOutside: .flag, factKnown: .flag)
                strongest.consider(v, min(p, q), max(p + len, q + 4))
            }
            for (p, len) in t.all(dnsForms, in: s) {
                let arr = Array(t.b[p..<(p + len)])
                if arr == catToken && !t.any(nslookupCues, in: s) { continue }
                if Scope.negated(t, p + 1, p + len, s) { continue }
                strongest.consider(.block, p, p + len)
            }
        }
        // Handing out sensitive records to whoever asks.
        for s in t.sentences {
            guard let (p, len) = t.first(disclosureVerbs, in: s),
                let (q, ql) = t.first(disclosureObjects, in: (p + len)..<min(s.upperBound, p + len + 60))
            else { continue }
            guard t.any(disclosureAudience, in: s) || t.any(_exfilAnyAll, in: (p + len)..<q) else { continue }
            if Scope.negated(t, p, q + ql, s) || Scope.subjectMatter(t, s) && !Scope.directive(t, s) { continue }
            out.add("data-disclosure", .harmful, .block, p + 1, q + ql)
        }
        // Publishing private code or wiring repository events/remotes to someone else.
        for (p, len) in t.all(leakForms, in: t.whole) {
            let s = t.sentence(at: p + 1)
            if Scope.negated(t, p, p + len, s) || Scope.subjectMatter(t, s) && !Scope.directive(t, s) { continue }
            let f = Array(t.b[p..<(p + len)])
            var tgt = Scope.target(t, s)
            if f.starts(with: _exfilPublic) || t.any(_exfilPrivateWords, in: s) { tgt = max(tgt, .outside) }
            if tgt == .none || tgt == .vendor { continue }
            if f == _exfilRemote && !t.any(_exfilPushAll, in: t.whole) && tgt != .outside { continue }
            strongest.consider(Scope.decide(t, s, target: tgt, otherwise: .block, fact: nil, factOutside: .flag, factKnown: nil), p, p + len)
        }
        images(t, &strongest)
        strongest.report("exfiltration-url", .harmful, into: &out)
    }

    package static let placeholderMarks = needles([
        "{", "$", "<", "%s", "...", "base64", "contents", "token", "secret", "key=", "env", "password", "diff", "email", "user", "session", "cookie",
        "data=", "d=", "q=", "payload", "output", "ssh", "aws", "cred",
    ])

    /// Markdown images, `<img src>` and data-carrying links.
    package static func images(_ t: ScreenText, _ strongest: inout StrongestHit) {
        let b = t.b
        for opener in httpCues {
            var from = 0
            while let p = t.find(opener, from) {
                from = p + opener.count
                var e = p + opener.count
                while e < b.count && b[e] != 0x29 && b[e] != 0x22 && b[e] != 0x27 && b[e] != 0x20 && b[e] != 0x0A && b[e] != 0x3E && b[e] != 0x60 {
                    e += 1
                }
                let url = p..<e
                guard let qm = t.find(symToken3, p, e) else { continue }
                let query = qm..<e
                let isImage =
                    opener.first == 0x5D && p > 0 && t.find(symToken4, max(0, p - 120), p) != nil || opener.starts(with: srcToken)
                    || opener.starts(with: urlToken)
                let s = t.sentence(at: p + 1)
                let carries = t.any(placeholderMarks, in: query) || hasUpperPlaceholder(t, query)
                let describedData = t.any(whereDataIsCues, in: s)
                if !(carries || describedData) { continue }
                if Scope.negated(t, p + 1, e, s) || Scope.subjectMatter(t, s) && !Scope.directive(t, s) { continue }
                let tgt = Scope.target(t, url)
                if !isImage && !describedData && !t.any(symCues3, in: query) { continue }
                strongest.consider(tgt == .org ? .flag : .block, p, e)
            }
        }
        if let (p, len) = t.first(trackingPixelCues, in: t.whole) {
            let s = t.sentence(at: p + 1)
            if !Scope.negated(t, p, p + len, s) && t.has(symToken, in: t.whole) && Scope.directive(t, s) { strongest.consider(.block, p, p + len) }
        }
    }

    /// Placeholder-looking upper-case words in a query (`REPO`, `CONTENTS_OF_DOTENV`) — the buffer is
    /// lowercased, so look for `=` followed by a `word_word` or template marker.
    package static func hasUpperPlaceholder(_ t: ScreenText, _ q: Range<Int>) -> Bool {
        t.any(repoCues, in: q)
    }
}

// Needle tables used inside the rules above, built once.
private let alwaysCues = needles(["always", "every", "whenever", "after each", "before each", "must also"])
private let symToken = needle("://")
private let symToken2 = needle("@")
private let symCues = needles(["|", "<"])
private let symCues2 = needles(["=@", "file=@", "-t -", "-t ./", "-t /", "@<"])
private let catToken = needle("$(cat ")
private let nslookupCues = needles(["nslookup", "dig ", "host ", "ping ", "resolve-dnsname"])
private let httpCues = needles(["](http", "src=\"http", "src='http", "src=http", "url(http", "href=\"http", "]: http"])
private let symToken3 = needle("?")
private let symToken4 = needle("![")
private let srcToken = needle("src")
private let urlToken = needle("url(")
private let whereDataIsCues = needles(["where data is", "url-encoded output", "output of", "contents of", "base64 of", "append the", "include the"])
private let symCues3 = needles(["{", "$", "<", "base64", "token", "secret", "env", "password", "diff", "cookie"])
private let trackingPixelCues = needles([
    "tracking pixel", "read-receipt pixel", "tracking image", "1x1 pixel", "width=1 height=1", "width=\"1\"", "width=1>", "web beacon",
])
private let repoCues = needles(["=repo", "=branch", "=user", "=contents", "=diff", "=<", "={", "=$", "=%"])
private let _exfilPublic = needle("--access public")
private let _exfilPrivateWords = needles(["internal", "private", "proprietary", "customer"])
private let _exfilRemote = needle("git remote add")
private let _exfilPushAll = needles(["--all", "--mirror", "push backup", "every repo", "each repo"])
private let _exfilApiSenders = needles(["requests.post", "requests.put", "http.post", "httpx.post", "axios.post", "net::http.post", "reqwest::"])
private let _exfilAnyAll = needles([" any ", " all ", " every "])
