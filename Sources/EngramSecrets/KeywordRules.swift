/// Keyword-proximity rules for credentials without a fixed format: assignments in code, env files,
/// YAML, JSON, TOML, INI, XML and connection strings (`password=…`, `"client_secret": "…"`,
/// `<password>…</password>`, `key="ApiKey" value="…"`), CLI flags (`--password x`, `sshpass -p x`,
/// `mysql -pX`, `curl -u user:pass`), HTTP headers (`Authorization: Bearer …`, `X-API-Key: …`,
/// `Authorization: Basic base64(user:pass)`), bearer tokens in logs, and prose
/// (`the admin password is …`, `… and secret …`), also in German, Spanish, French, Portuguese,
/// Italian and Dutch (`das Passwort ist …`, `la contraseña del servidor es …`, `le mot de passe
/// est …`, `la clé API est …`; vocabularies in `KeyNames`, accents folded by `NormalizedText`).
///
/// The key name decides the class (see `KeyNames`); the value must then pass class-specific checks:
/// not a placeholder, template, reference or code expression, and human-password-like (password
/// keys) or random-looking with a per-length entropy floor (secret/token/key keys).
enum KeywordRules {
    enum Mode { case assign, isConn, direct, flag, xml, call }

    static func scan(_ t: Text, into out: inout [Candidate]) {
        let b = t.b
        let n = b.count
        var i = 0
        while i < n {
            let c = b[i]
            guard isAlnum(c) || c == 0x5F, i == 0 || !(isAlnum(b[i - 1]) || b[i - 1] == 0x5F) else { i += 1; continue }
            var e = t.runEnd(from: i, in: .keyChars, limit: 80)
            while e > i + 1 && (b[e - 1] == 0x2E || b[e - 1] == 0x2D) { e -= 1 }
            if e - i >= 2, let info = KeyNames.classify(t, i, e) {
                if let next = tryKey(t, s: i, e: e, info: info, out: &out) { i = max(next, e); continue }
            } else if e - i == 1 {
                if let next = tryShortFlag(t, s: i, out: &out) { i = next; continue }
            } else if c == 0x70 /* p */ && i >= 1 && b[i - 1] == 0x2D {
                if let next = tryAttachedMySQLPassword(t, s: i, e: e, out: &out) { i = next; continue }
            }
            i = max(e, i + 1)
        }
        scanBearer(t, into: &out)
        scanPasswordStdin(t, into: &out)
        scanReversePassword(t, into: &out)
        scanSQLIdentifiedBy(t, into: &out)
    }

    /// SQL: `CREATE USER … IDENTIFIED BY 'pw'`, `ALTER ROLE … PASSWORD 'pw'` (the latter is handled by the key rule).
    static func scanSQLIdentifiedBy(_ t: Text, into out: inout [Candidate]) {
        var from = 0
        let needle = bytes("identified by ")
        while let k = t.findCI(needle, from: from, to: t.n) {
            from = k + needle.count
            var j = from
            while j < t.n && isHSpace(t.b[j]) { j += 1 }
            guard let (vs, ve, quoted) = extractValue(t, at: j, xml: false), ve > vs else { continue }
            let info = KeyInfo(cls: .password, provider: nil)
            guard let (conf, _) = evaluate(t.b[vs..<ve], quoted: quoted, info: info, mode: .assign, text: t, keyStart: k) else { continue }
            out.append(Candidate(start: vs, end: ve, ruleID: "sql-password", family: "password", confidence: conf, tier: 1))
        }
    }

    /// "use `Xk9#mP2q` as the admin password", "Xk9#mP2q is the root password".
    static func scanReversePassword(_ t: Text, into out: inout [Candidate]) {
        guard t.findCI(bytes("pass"), from: 0, to: t.n) != nil else { return }
        for conn in [bytes(" as the "), bytes(" is the "), bytes(" as our "), bytes(" is our "), bytes(" as "), bytes(" as my ")] {
            var from = 0
            while let k = t.findCI(conn, from: from, to: t.n) {
                from = k + conn.count
                // Keyword within the next three words.
                let hi = min(t.lineEnd(k), k + conn.count + 40)
                guard t.containsAnyCI([bytes("password"), bytes("passphrase"), bytes("passwd")], from: k + conn.count, to: hi) else { continue }
                var ve = k
                if ve > 0 && isQuote(t.b[ve - 1]) { ve -= 1 }
                var vs = ve
                while vs > 0 && !isSpace(t.b[vs - 1]) && !isQuote(t.b[vs - 1]) { vs -= 1 }
                guard ve - vs >= 6 else { continue }
                let info = KeyInfo(cls: .password, provider: nil)
                guard let (conf, _) = evaluate(t.b[vs..<ve], quoted: vs > 0 && isQuote(t.b[vs - 1]), info: info, mode: .isConn, text: t, keyStart: vs) else { continue }
                out.append(Candidate(start: vs, end: ve, ruleID: "password-assignment", family: "password", confidence: conf * 0.9, tier: 1))
            }
        }
    }

    /// `echo VALUE | docker login … --password-stdin` (also podman/helm/oras/`gh auth login --with-token`).
    static func scanPasswordStdin(_ t: Text, into out: inout [Candidate]) {
        for marker in [bytes("--password-stdin"), bytes("--with-token")] {
            var from = 0
            while let k = t.findCI(marker, from: from, to: t.n) {
                from = k + marker.count
                let ls = t.lineStart(k)
                guard let pipe = t.b[ls..<k].lastIndex(of: 0x7C) else { continue }
                var e = -1
                for w in [bytes("echo "), bytes("printf ")] {
                    if let p = t.findCI(w, from: ls, to: pipe) { e = p + w.count; break }
                }
                guard e >= 0 else { continue }
                while e < pipe && (isHSpace(t.b[e]) || (t.b[e] == 0x2D && t.at(e + 1) != 0x2D && isAlpha(t.at(e + 1)) && isHSpace(t.at(e + 2)))) {
                    if t.b[e] == 0x2D { e += 2 } else { e += 1 } // skip `-n`
                }
                guard let (vs, ve, quoted) = extractValue(t, at: e, xml: false), ve > vs, ve <= pipe else { continue }
                let info = KeyInfo(cls: .password, provider: nil)
                guard let (conf, _) = evaluate(t.b[vs..<ve], quoted: quoted, info: info, mode: .assign, text: t, keyStart: e) else { continue }
                let docker = t.findCI(bytes("docker"), from: ls, to: t.lineEnd(k)) != nil
                out.append(Candidate(start: vs, end: ve, ruleID: docker ? "docker-login-password" : "cli-password-stdin",
                                     family: docker ? "docker" : "password", confidence: conf, tier: 1))
            }
        }
    }

    /// The value starting at `valueStart` is assigned (`key=value`, `key: value`, `"key": "value"`)
    /// rather than named in prose. Used for keyword findings in decoded text.
    static func isAssigned(_ t: Text, valueStart: Int) -> Bool {
        var k = valueStart - 1
        var steps = 0
        while k >= 0 && steps < 4 && (isHSpace(t.b[k]) || isQuote(t.b[k])) { k -= 1; steps += 1 }
        guard k >= 0 else { return false }
        return t.b[k] == 0x3D || (t.b[k] == 0x3A && t.at(k + 1) != 0x2F)
    }

    /// The key right before a value (`NEXT_PUBLIC_X=`, `"publicKey": `) names it public.
    static func precedingKeyIsPublic(_ t: Text, _ start: Int) -> Bool {
        var k = start - 1
        let ls = t.lineStart(start)
        var steps = 0
        while k >= ls && steps < 6 && (isHSpace(t.b[k]) || isQuote(t.b[k]) || t.b[k] == 0x3D || t.b[k] == 0x3A) { k -= 1; steps += 1 }
        guard k >= ls, steps > 0 else { return false }
        let ks = t.runStart(before: k + 1, in: .keyChars)
        guard ks <= k else { return false }
        let ws = KeyNames.words(t.b[ks...k])
        return ws.contains { ["public", "publishable", "pub", "anon", "site"].contains($0) }
    }

    // MARK: key → operator → value

    /// Returns the index to continue from when a finding was made.
    static func tryKey(_ t: Text, s: Int, e: Int, info: KeyInfo, out: inout [Candidate]) -> Int? {
        let b = t.b
        let n = b.count
        let prevByte = t.at(s - 1)
        let isFlag = prevByte == 0x2D && (t.at(s - 2) == 0x2D || t.at(s - 2) == 0x20 || s - 1 == 0)
        let keyQuoted = isQuote(prevByte)
        // Qualifier word right before the key in prose ("site key", "public key").
        var info = info
        if let pw = previousWord(t, before: s) {
            if KeyNames.negative.contains(pw) { return nil }
            // Prose: "API key", "access token" — the qualifier is a separate word.
            if info.cls == .weakKey && KeyNames.strongKeyPrev.contains(pw) { info.cls = .secret }
            if info.provider == nil { info.provider = providerBefore(t, s) }
        }

        var j = e
        // Qualifier after the noun: "clé API", "clave secreta", "token segreto".
        if j < n && isHSpace(b[j]), let q = KeyNames.strongKeyNext.first(where: { t.matchesCI($0, at: j + 1) && isHSpace(t.at(j + 1 + $0.count)) }) {
            if info.cls == .weakKey { info.cls = .secret }
            j += 1 + q.count
        }
        if keyQuoted && j < n && b[j] == prevByte { j += 1 }
        if j < n && b[j] == 0x5D { j += 1 } // env["KEY"]
        var spaces = 0
        while j < n && isHSpace(b[j]) { j += 1; spaces += 1 }
        guard j < n else { return nil }
        var mode: Mode
        let c = b[j]
        if c == 0x3D { // =, ==, =>
            mode = .assign
            j += 1
            if j < n && (b[j] == 0x3D || b[j] == 0x3E) { j += 1 }
        } else if c == 0x3A { // :, :=
            if j + 2 < n && b[j + 1] == 0x2F && b[j + 2] == 0x2F { return nil } // scheme://
            mode = .assign
            j += 1
            if j < n && b[j] == 0x3D { j += 1 }
        } else if c == 0x3E && prevByte == 0x3C { // <password>value</password>
            mode = .xml
            j += 1
        } else if c == 0x28 && j + 1 < n && isQuote(b[j + 1]) { // setPassword("…")
            mode = .call
            j += 1
        } else if keyQuoted, let v = matchValueAttr(t, at: j) { // key="ApiKey" value="…"
            mode = .assign
            j = v
        } else if spaces > 0, let k = matchIsWord(t, at: j) {
            mode = .isConn
            j = k
        } else if spaces > 0, info.cls == .password, let k = matchWord(t, at: j, ["to", "as"]) {
            mode = .isConn
            j = k
        } else if spaces > 0 && isFlag {
            mode = .flag
        } else if spaces > 0 {
            mode = .direct
            // "password for the admin account is X" — up to 5 words then "is".
            if info.cls != .weakKey, let k = matchForIs(t, at: j) { mode = .isConn; j = k }
        } else {
            return nil
        }
        while j < n && isHSpace(b[j]) { j += 1 }
        guard j < n else { return nil }
        // YAML block scalars / nested maps: value on the next lines — not handled.
        guard let (vs, ve, quoted) = extractValue(t, at: j, xml: mode == .xml) else { return nil }
        var vStart = vs, vEnd = ve
        var bearer = false
        // Authorization schemes inside the value.
        if info.cls == .auth || info.cls == .secret {
            if let (s2, e2) = skipScheme(t, vs, ve) {
                if t.matchesCI(bytes("bearer"), at: vs) { info.cls = .auth; bearer = true }
                vStart = s2; vEnd = e2
            }
        }
        if vEnd <= vStart { return nil }
        let value = b[vStart..<vEnd]
        if proseAboutDigest(t, keyStart: s, mode: mode) { return nil }
        guard let (conf, rule) = evaluate(value, quoted: quoted, info: info, mode: mode, text: t, keyStart: s) else {
            // "creds: app / Xk9#mP2q", "login admin:S3cret!" — a user name, a separator, then the password.
            if (info.cls == .password || info.cls == .secret) && mode != .direct, let r = userSlashPassword(t, after: vEnd, quotedUser: quoted) {
                let pinfo = KeyInfo(cls: .password, provider: info.provider)
                if let (conf2, rule2) = evaluate(b[r.0..<r.1], quoted: true, info: pinfo, mode: .assign, text: t, keyStart: s) {
                    out.append(Candidate(start: r.0, end: r.1, ruleID: rule2.0, family: rule2.1, confidence: conf2 * 0.95, tier: 1))
                    return r.1
                }
            }
            return nil
        }
        var ruleOut = rule
        if bearer && info.provider == nil && rule.1 == "generic" { ruleOut = ("bearer-token", "bearer") }
        if ruleOut.1 == "generic" || ruleOut.1 == "password", let p = contextProvider(t, s) {
            ruleOut = (ruleOut.1 == "password" ? "\(p)-password" : "\(p)-api-key", p)
        }
        out.append(Candidate(start: vStart, end: vEnd, ruleID: ruleOut.0, family: ruleOut.1, confidence: conf, tier: 1))
        return vEnd
    }

    /// Distinctive provider names near a generic finding, to name the rule (`datadog-api-key`).
    static let contextProviders: [([UInt8], String)] = [
        "datadog", "twilio", "heroku", "sendgrid", "mailgun", "stripe", "slack", "github", "gitlab", "openai", "anthropic",
        "shopify", "sentry", "cloudflare", "algolia", "okta", "auth0", "supabase", "mailchimp", "pagerduty", "newrelic",
        "digitalocean", "huggingface", "pinecone", "bitbucket", "atlassian", "azure", "twitch", "discord", "telegram",
    ].map { (bytes($0), $0) }

    static func contextProvider(_ t: Text, _ s: Int) -> String? {
        let lo = max(0, s - 200), hi = min(t.n, s + 200)
        for (needle, name) in contextProviders where t.findCI(needle, from: lo, to: hi) != nil { return name }
        return nil
    }

    /// `user / password`, `user:password` right after a user-name value.
    static func userSlashPassword(_ t: Text, after e: Int, quotedUser: Bool) -> (Int, Int)? {
        var j = e
        if quotedUser && j < t.n && isQuote(t.b[j]) { j += 1 }
        var sawSep = false
        while j < t.n && (isHSpace(t.b[j]) || t.b[j] == 0x2F) && j - e < 5 { if t.b[j] == 0x2F { sawSep = true }; j += 1 }
        guard sawSep, j < t.n, let (vs, ve, _) = extractValue(t, at: j, xml: false), ve - vs >= 6 else { return nil }
        return (vs, ve)
    }

    /// Prose about a digest of a secret ("the sha256 of the token is …", "token hash: …").
    static func proseAboutDigest(_ t: Text, keyStart s: Int, mode: Mode) -> Bool {
        guard mode == .isConn || mode == .direct else { return false }
        let lo = max(t.lineStart(s), s - 40)
        return t.containsAnyCI(digestWords, from: lo, to: s)
    }
    static let digestWords: [[UInt8]] = ["sha1", "sha256", "sha512", "md5", "hash of", "digest of", "fingerprint of", "checksum of", "hmac of"].map(bytes)

    /// Provider named in the three words before a prose keyword ("the Datadog API key is …").
    static func providerBefore(_ t: Text, _ s: Int) -> String? {
        let lo = max(t.lineStart(s), s - 40)
        let ws = KeyNames.words(t.b[lo..<s])
        for w in ws.suffix(3).reversed() where w.utf8.count > 2 {
            if let p = KeyNames.providerMap[w] { return p }
        }
        return nil
    }

    static func previousWord(_ t: Text, before s: Int) -> String? {
        var k = s - 1
        guard k > 0, t.b[k] == 0x20 else { return nil }
        k -= 1
        let ws = t.runStart(before: k + 1, in: .alnum)
        guard ws <= k else { return nil }
        return String(decoding: t.b[ws...k].map(lowerByte), as: UTF8.self)
    }

    static let isWords: [[UInt8]] = [
        "is:", "is", "was", "are", "=", "is set to", "is now", "set to", "of", "is still", "became", "now",
        // German, Spanish, French, Portuguese, Italian, Dutch (accents folded: é/è → e)
        "ist", "lautet", "war", "ist jetzt", "lautet jetzt", "es", "era", "fue", "es ahora", "est", "etait", "est maintenant",
        "e", "foi", "e agora", "sono", "e ora", "is nu", "blijft",
    ].map(bytes).sorted { $0.count > $1.count }

    /// Copulas that may end "password for the staging box is" (`matchForIs`).
    static let copulas: Set<String> = ["is", "ist", "lautet", "war", "es", "era", "est", "e", "foi", "fue", "sono"]
    /// Words that open the "for the staging box" part, in the supported languages.
    static let forWords: [[UInt8]] = ["for", "fur", "von", "vom", "der", "zum", "zur", "de", "del", "des", "du", "da", "do", "della", "dello", "di", "pour", "para", "per", "van", "voor"].map(bytes)

    /// One of `words` followed by a space.
    static func matchWord(_ t: Text, at j: Int, _ words: [String]) -> Int? {
        for w in words {
            let wb = bytes(w)
            if t.matchesCI(wb, at: j) && isHSpace(t.at(j + wb.count)) { return j + wb.count }
        }
        return nil
    }

    /// Prose connectors: "is", "was", "are", "is set to", "is now".
    static func matchIsWord(_ t: Text, at j: Int) -> Int? {
        for w in isWords where t.matchesCI(w, at: j) {
            let k = j + w.count
            if k < t.n && (isHSpace(t.b[k]) || t.b[k] == 0x3A) {
                var m = k
                if t.b[m] == 0x3A { m += 1 }
                return m
            }
        }
        return nil
    }

    /// "for the staging box is" → index after "is" (≤ 5 words, same line, no punctuation).
    static func matchForIs(_ t: Text, at j: Int) -> Int? {
        guard let opener = forWords.first(where: { t.matchesCI($0, at: j) && isHSpace(t.at(j + $0.count)) }) else { return nil }
        var k = j + opener.count
        var words = 0
        while k < t.n && words < 6 {
            while k < t.n && isHSpace(t.b[k]) { k += 1 }
            let we = t.runEnd(from: k, in: .keyChars)
            if we == k { return nil }
            if we - k <= 6 && copulas.contains(String(decoding: t.b[k..<we].map(lowerByte), as: UTF8.self)) {
                return we < t.n && isHSpace(t.b[we]) ? we : nil
            }
            if we < t.n && t.b[we] == 0x3A && we + 1 < t.n && isHSpace(t.b[we + 1]) { return we + 1 }
            words += 1
            k = we
        }
        return nil
    }

    /// `" value="` after a quoted key (XML appSettings style).
    static func matchValueAttr(_ t: Text, at j: Int) -> Int? {
        var k = j
        while k < t.n && isHSpace(t.b[k]) { k += 1 }
        if t.matchesCI(bytes("value="), at: k) { return k + 6 }
        return nil
    }

    static let schemes: [[UInt8]] = ["bearer", "basic", "token", "digest", "bot", "apikey", "api-key", "oauth", "ssws", "splunk", "genie-key", "key", "sharedaccesssignature"].map(bytes)

    /// `Bearer xyz` → range of `xyz`.
    static func skipScheme(_ t: Text, _ s: Int, _ e: Int) -> (Int, Int)? {
        for sc in schemes where t.matchesCI(sc, at: s) {
            var k = s + sc.count
            guard k < t.n, isHSpace(t.b[k]) else { continue }
            while k < t.n && isHSpace(t.b[k]) { k += 1 }
            guard let (vs, ve, _) = extractValue(t, at: k, xml: false) else { return nil }
            return (vs, ve)
        }
        return nil
    }

    static func isValueTerminator(_ c: UInt8) -> Bool {
        isSpace(c) || c == 0x22 || c == 0x27 || c == 0x60 || c == 0x3B || c == 0x2C || c == 0x29 || c == 0x5D
            || c == 0x7D || c == 0x3C || c == 0x3E || c == 0x26 || c == 0x7C
    }

    /// Value starting at `j`: quoted (same line) or a bare token. Returns (start, end, quoted).
    static func extractValue(_ t: Text, at j: Int, xml: Bool) -> (Int, Int, Bool)? {
        let b = t.b
        let n = b.count
        guard j < n else { return nil }
        let c = b[j]
        if c == 0x0A || c == 0x0D { return nil }
        if xml {
            var k = j
            while k < n && b[k] != 0x3C && b[k] != 0x0A { k += 1 }
            return (j, k, true)
        }
        if isQuote(c) {
            var k = j + 1
            while k < n && b[k] != c && b[k] != 0x0A {
                if b[k] == 0x5C && k + 1 < n && b[k + 1] == c { k += 2; continue }
                k += 1
            }
            if k < n && b[k] == c { return (j + 1, k, true) }
            // Unterminated quote: fall through to a bare token after the quote.
            var e = j + 1
            while e < n && !isValueTerminator(b[e]) { e += 1 }
            return (j + 1, e, false)
        }
        var k = j
        var parens = 0
        while k < n {
            let d = b[k]
            if d == 0x28 { parens += 1 }
            if d == 0x29 { if parens > 0 { parens -= 1; k += 1; continue } }
            if isValueTerminator(d) { break }
            k += 1
        }
        // Trailing sentence punctuation.
        while k > j && (b[k - 1] == 0x2E || b[k - 1] == 0x3A || b[k - 1] == 0x2C) { k -= 1 }
        return (j, k, false)
    }

    // MARK: value evaluation

    static let naturalWords: Set<String> = [
        "in", "at", "is", "the", "a", "an", "and", "or", "for", "from", "to", "with", "via", "on", "of", "by", "not",
        "stored", "kept", "managed", "rotated", "required", "optional", "set", "unset", "used", "needed", "missing",
    ]

    static func evaluate(_ v: ArraySlice<UInt8>, quoted: Bool, info: KeyInfo, mode: Mode, text t: Text, keyStart: Int,
                         decoded depth: Int = 0) -> (Double, (String, String))? {
        let len = v.count
        if len < 4 { return nil }
        if v.contains(0x20) { return nil } // prompts, sentences, labels
        if Placeholders.isReference(v, quoted: quoted) { return nil }
        if Placeholders.isPlaceholder(v) { return nil }
        if Placeholders.isPath(v) { return nil }
        let lower = v.map(lowerByte)
        if Placeholders.contains(lower, bytes("://")) { return nil } // URL rule handles credentials in URLs
        for p in publicPrefixes where lower.starts(with: p) { return nil }
        let shape = Shape(v)
        if shape.digits == len { return nil } // numbers (ports, TTLs, counts)
        if shape.letters == 0 && shape.digits + shape.other == len && shape.other > 0 && !(info.cls == .password) { return nil } // dates, versions, IPs
        if Entropy.isEnvName(v) && info.cls != .password || Entropy.isEnvName(v) && mode != .assign && mode != .flag { return nil }
        let provider = info.provider

        // base64 values: decode and judge what is inside.
        if len >= 12, Entropy.isPureHex(v) == false, let decoded = base64Text(v) {
            if let colon = decoded.firstIndex(of: 0x3A), colon > 0, colon < decoded.count - 1,
               !decoded.contains(0x20), decoded.allSatisfy({ $0 >= 0x21 && $0 < 0x7F }) {
                let pass = decoded[(colon + 1)...]
                if !Placeholders.isPlaceholder(pass) && pass.count >= 4 {
                    let docker = t.findCI(bytes("auths"), from: 0, to: t.n) != nil
                    return (0.9, docker ? ("docker-config-auth", "docker") : ("basic-auth-credential", "basic-auth"))
                }
                return nil
            }
            if isNaturalText(decoded) { return nil }
            if Placeholders.isPlaceholder(decoded) && decoded.count < 24 { return nil }
            // base64 of a printable string (k8s Secret `data:`, .npmrc `_password`): judge the string.
            if depth == 0 && decoded.count >= 4 && decoded.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) {
                return evaluate(decoded[...], quoted: true, info: info, mode: mode == .direct ? .isConn : mode, text: t, keyStart: keyStart, decoded: 1)
            }
        }
        // base32 of a printable string (RFC test seeds): not a random secret.
        if len >= 16, let decoded = base32Text(v), decoded.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) {
            if depth == 0 { return evaluate(decoded[...], quoted: true, info: info, mode: .isConn, text: t, keyStart: keyStart, decoded: 1) }
            return nil
        }

        // "admin/S3cret!" or "admin:S3cret!" after a password/credentials/login keyword.
        if depth == 0 && info.cls != .weakKey, let sep = v.firstIndex(where: { $0 == 0x2F || $0 == 0x3A }),
           sep > v.startIndex, sep < v.endIndex - 5, v[v.startIndex..<sep].allSatisfy({ isAlnum($0) || $0 == 0x5F || $0 == 0x2D || $0 == 0x2E }),
           sep - v.startIndex <= 20, !v[(sep + 1)...].contains(0x2F) {
            let pinfo = KeyInfo(cls: .password, provider: info.provider)
            if let r = evaluate(v[(sep + 1)...], quoted: true, info: pinfo, mode: .assign, text: t, keyStart: keyStart, decoded: 1) { return r }
            if info.cls == .password { return nil }
        }
        if info.loginOnly { return nil }
        switch info.cls {
        case .password:
            if Entropy.isWordJoined(v) && !(mode == .isConn && isPassphrase(lower)) { return nil }
            if Entropy.isCamelIdentifier(v) && mode != .assign && mode != .xml && mode != .call { return nil }
            if naturalWords.contains(String(decoding: lower, as: UTF8.self)) { return nil }
            let minLen = (mode == .direct) ? 8 : 6
            if len < minLen { return nil }
            if mode == .direct {
                guard shape.classes >= 3 || (shape.classes >= 2 && len >= 10 && Entropy.looksRandom(v)) else { return nil }
            } else {
                guard shape.classes >= 2 || (len >= 12 && Entropy.looksRandom(v)) else { return nil }
                if shape.classes == 2 && shape.other == 0 && shape.digits == 0 && !Entropy.looksRandom(v) && mode == .isConn { return nil }
            }
            if !quoted && mode != .xml && isCodeIdentifier(v) { return nil }
            let id = provider.map { "\($0)-password" } ?? (mode == .flag ? "cli-password" : "password-assignment")
            return (mode == .direct ? 0.75 : 0.85, (id, provider ?? "password"))
        case .secret, .auth:
            let minLen: Int
            switch mode {
            case .direct: minLen = 16
            case .isConn: minLen = 12
            default: minLen = info.cls == .auth ? 12 : 10
            }
            if len < minLen { return nil }
            guard Entropy.looksRandom(v) else { return nil }
            if mode == .direct && Entropy.isPureHex(v) && len != 32 && len < 48 { return nil }
            let id = provider.map { "\($0)-api-key" } ?? (info.cls == .auth ? "authorization-credential" : "generic-secret")
            return (mode == .direct ? 0.7 : 0.8, (id, provider ?? "generic"))
        case .weakKey:
            if mode == .direct { return nil }
            if len < 16 { return nil }
            guard Entropy.looksRandom(v) else { return nil }
            if mode == .isConn && Entropy.isPureHex(v) { return nil }
            if Entropy.isUUID(v) && provider == nil { return nil }
            let id = provider.map { "\($0)-api-key" } ?? "generic-key"
            return (0.7, (id, provider ?? "generic"))
        }
    }

    /// `summer-rain-42`, `correct-horse-battery-staple`: words joined by `-`/`_`/`.` with a number
    /// or four words or more and no function words ("stored-in-vault", "set-by-ops" are prose).
    /// Counted only right after "password is".
    static func isPassphrase(_ lower: [UInt8]) -> Bool {
        let parts = lower.split(whereSeparator: { $0 == 0x2D || $0 == 0x5F || $0 == 0x2E })
        guard parts.count >= 3 else { return false }
        var words = 0, numbers = 0
        for p in parts {
            if p.allSatisfy(isDigit) { numbers += 1; continue }
            if naturalWords.contains(String(decoding: p, as: UTF8.self)) || p.count < 3 { return false }
            words += 1
        }
        return words >= 2 && (numbers > 0 || words >= 4)
    }

    /// Public-by-design key prefixes (never secrets even next to a key keyword).
    static let publicPrefixes: [[UInt8]] = ["pk_live_", "pk_test_", "pubkey-", "pk.eyj", "nrjs-", "mob-", "ssh-rsa", "ssh-ed25519", "ecdsa-sha2", "age1", "npub1"].map(bytes)

    /// `camelCase` / `snake_case` identifiers in code are variables, not literal passwords.
    static func isCodeIdentifier(_ v: ArraySlice<UInt8>) -> Bool {
        guard let f = v.first, isLower(f) || f == 0x5F else { return false }
        if !v.allSatisfy({ isAlnum($0) || $0 == 0x5F }) { return false }
        let s = Shape(v)
        return s.digits == 0 && (s.upper <= 3)
    }

    /// Decodes a base64-looking value to bytes when it plausibly is base64 (padding or length % 4 == 0).
    static func base64Text(_ v: ArraySlice<UInt8>) -> [UInt8]? {
        guard v.allSatisfy({ ByteSet.b64.contains($0) }) else { return nil }
        let padded = v.last == 0x3D
        guard padded || v.count % 4 == 0 else { return nil }
        guard let d = decodeBase64(v), !d.isEmpty else { return nil }
        // Must be mostly printable to be judged as text.
        let printable = d.filter { ($0 >= 0x20 && $0 < 0x7F) || $0 == 0x0A || $0 == 0x09 }.count
        return printable * 10 >= d.count * 9 ? d : nil
    }

    /// RFC 4648 base32 (A–Z, 2–7, optional `=` padding) when the value is plausibly base32.
    static func base32Text(_ v: ArraySlice<UInt8>) -> [UInt8]? {
        var core = v
        while core.last == 0x3D { core = core.dropLast() }
        guard core.count % 8 == 0 || v.count % 8 == 0 else { return nil }
        var out: [UInt8] = []
        var acc: UInt32 = 0
        var bits = 0
        for c in core {
            let x: UInt32
            if isUpper(c) { x = UInt32(c - 0x41) } else if c >= 0x32 && c <= 0x37 { x = UInt32(c - 0x32 + 26) } else { return nil }
            acc = (acc << 5) | x
            bits += 5
            if bits >= 8 { bits -= 8; out.append(UInt8((acc >> UInt32(bits)) & 0xFF)) }
        }
        return out.isEmpty ? nil : out
    }

    /// Decoded bytes read like words (spaces, mostly letters): a fixture, not a key.
    static func isNaturalText(_ d: [UInt8]) -> Bool {
        let spaces = d.filter { $0 == 0x20 }.count
        let letters = d.filter(isAlpha).count
        if d.first == 0x7B || d.first == 0x5B { return true } // JSON
        return spaces >= 1 && letters * 10 >= d.count * 6
    }

    // MARK: CLI special cases

    static let shortFlagCommands: [[UInt8]] = ["sshpass", "mysql", "mysqldump", "mariadb", "docker", "podman", "twine", "helm", "redis-cli", "sqlcmd", "mongo", "mongosh", "skopeo", "buildah", "oras", "crane", "nerdctl", "mysqladmin", "psql", "ftp", "lftp", "smbclient", "rclone", "htpasswd", "openssl"].map(bytes)

    static let loginCommands: [[UInt8]] = ["docker", "podman", "helm", "skopeo", "buildah", "oras", "crane", "nerdctl", "twine"].map(bytes)

    /// `-p secret` (after sshpass/mysql/docker login/twine…), `-a secret` (redis-cli), `-P` (sqlcmd),
    /// `-u user:pass` (curl and friends).
    static func tryShortFlag(_ t: Text, s: Int, out: inout [Candidate]) -> Int? {
        let b = t.b
        guard s >= 1, b[s - 1] == 0x2D, s < 2 || b[s - 2] == 0x20 || b[s - 2] == 0x60 || b[s - 2] == 0x28 else { return nil }
        let f = b[s]
        guard f == 0x70 || f == 0x50 || f == 0x61 || f == 0x75 || f == 0x55 else { return nil }
        var j = s + 1
        guard j < t.n, isHSpace(b[j]) || b[j] == 0x3D else { return nil }
        while j < t.n && (isHSpace(b[j]) || b[j] == 0x3D) { j += 1 }
        guard let (vs, ve, quoted) = extractValue(t, at: j, xml: false), ve > vs else { return nil }
        let value = b[vs..<ve]
        if f == 0x75 || f == 0x55 { // -u user:pass
            guard let colon = value.firstIndex(of: 0x3A), colon > vs, colon + 1 < ve else { return nil }
            let pass = b[(colon + 1)..<ve]
            let info = KeyInfo(cls: .password, provider: nil)
            guard let (conf, _) = evaluate(pass, quoted: true, info: info, mode: .flag, text: t, keyStart: s) else { return nil }
            out.append(Candidate(start: colon + 1, end: ve, ruleID: "cli-user-password", family: "password", confidence: conf, tier: 1))
            return ve
        }
        let ls = t.lineStart(s)
        guard t.containsAnyCI(shortFlagCommands, from: max(ls, s - 120), to: s) else { return nil }
        // Container/registry tools only take a password with `login` (`docker run -p 8080:80` is a port).
        if t.containsAnyCI(loginCommands, from: max(ls, s - 120), to: s) && !t.containsAnyCI([bytes("login"), bytes("repo add"), bytes("upload")], from: ls, to: s) { return nil }
        if f == 0x61 && !t.containsAnyCI([bytes("redis-cli")], from: ls, to: s) { return nil }
        if !value.contains(where: isAlpha) { return nil }
        let info = KeyInfo(cls: .password, provider: nil)
        guard let (conf, _) = evaluate(value, quoted: quoted, info: info, mode: .flag, text: t, keyStart: s) else { return nil }
        out.append(Candidate(start: vs, end: ve, ruleID: "cli-password", family: "password", confidence: conf, tier: 1))
        return ve
    }

    /// `mysql -uroot -pS3cret` (password attached to the flag).
    static func tryAttachedMySQLPassword(_ t: Text, s: Int, e: Int, out: inout [Candidate]) -> Int? {
        let ls = t.lineStart(s)
        guard s >= 2, t.b[s - 2] == 0x20, e - s > 4,
              t.containsAnyCI([bytes("mysql"), bytes("mariadb"), bytes("mysqldump")], from: max(ls, s - 120), to: s) else { return nil }
        var ve = s + 1
        while ve < t.n && !isValueTerminator(t.b[ve]) { ve += 1 }
        let value = t.b[(s + 1)..<ve]
        let info = KeyInfo(cls: .password, provider: nil)
        guard let (conf, _) = evaluate(value, quoted: false, info: info, mode: .flag, text: t, keyStart: s) else { return nil }
        out.append(Candidate(start: s + 1, end: ve, ruleID: "cli-password", family: "password", confidence: conf, tier: 1))
        return ve
    }

    // MARK: Bearer tokens anywhere (headers, logs)

    static func scanBearer(_ t: Text, into out: inout [Candidate]) {
        var from = 0
        let needle = bytes("bearer")
        while let k = t.findCI(needle, from: from, to: t.n) {
            from = k + 6
            guard k == 0 || !isAlnum(t.b[k - 1]) else { continue }
            var j = k + 6
            guard j < t.n, isHSpace(t.b[j]) || t.b[j] == 0x3D || t.b[j] == 0x3A else { continue }
            while j < t.n && (isHSpace(t.b[j]) || t.b[j] == 0x3D || t.b[j] == 0x3A) { j += 1 }
            guard let (vs, ve, quoted) = extractValue(t, at: j, xml: false), ve - vs >= 16 else { continue }
            let v = t.b[vs..<ve]
            let info = KeyInfo(cls: .auth, provider: nil)
            guard let (conf, _) = evaluate(v, quoted: quoted, info: info, mode: .assign, text: t, keyStart: k) else { continue }
            out.append(Candidate(start: vs, end: ve, ruleID: "bearer-token", family: "bearer", confidence: conf, tier: 1))
            from = ve
        }
    }
}
