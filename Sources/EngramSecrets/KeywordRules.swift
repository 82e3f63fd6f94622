import EngramScreening

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
            guard isAlnum(c) || c == 0x5F, i == 0 || !(isAlnum(b[i - 1]) || b[i - 1] == 0x5F) else {
                i += 1
                continue
            }
            var e = t.runEnd(from: i, in: .keyChars, limit: 80)
            while e > i + 1 && (b[e - 1] == 0x2E || b[e - 1] == 0x2D) { e -= 1 }
            if e - i >= 2, let info = KeyNames.classify(t, i, e) {
                if let next = tryKey(t, s: i, e: e, info: info, out: &out) {
                    i = max(next, e)
                    continue
                }
            } else if e - i == 1 {
                if let next = tryShortFlag(t, s: i, out: &out) {
                    i = next
                    continue
                }
            } else if c == 0x70 && i >= 1 && b[i - 1] == 0x2D {  // `-p`
                if let next = tryAttachedMySQLPassword(t, s: i, e: e, out: &out) {
                    i = next
                    continue
                }
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
            guard let (vs, ve, quoted) = ValueLexing.extractValue(t, at: j, xml: false), ve > vs else { continue }
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
                guard let (conf, _) = evaluate(t.b[vs..<ve], quoted: vs > 0 && isQuote(t.b[vs - 1]), info: info, mode: .isConn, text: t, keyStart: vs)
                else { continue }
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
                    if let p = t.findCI(w, from: ls, to: pipe) {
                        e = p + w.count
                        break
                    }
                }
                guard e >= 0 else { continue }
                while e < pipe && (isHSpace(t.b[e]) || (t.b[e] == 0x2D && t.at(e + 1) != 0x2D && isAlpha(t.at(e + 1)) && isHSpace(t.at(e + 2)))) {
                    if t.b[e] == 0x2D { e += 2 } else { e += 1 }  // skip `-n`
                }
                guard let (vs, ve, quoted) = ValueLexing.extractValue(t, at: e, xml: false), ve > vs, ve <= pipe else { continue }
                let info = KeyInfo(cls: .password, provider: nil)
                guard let (conf, _) = evaluate(t.b[vs..<ve], quoted: quoted, info: info, mode: .assign, text: t, keyStart: e) else { continue }
                let docker = t.findCI(bytes("docker"), from: ls, to: t.lineEnd(k)) != nil
                out.append(
                    Candidate(
                        start: vs,
                        end: ve,
                        ruleID: docker ? "docker-login-password" : "cli-password-stdin",
                        family: docker ? "docker" : "password",
                        confidence: conf,
                        tier: 1
                    )
                )
            }
        }
    }

    /// The value starting at `valueStart` is assigned (`key=value`, `key: value`, `"key": "value"`)
    /// rather than named in prose. Used for keyword findings in decoded text.
    static func isAssigned(_ t: Text, valueStart: Int) -> Bool {
        var k = valueStart - 1
        var steps = 0
        while k >= 0 && steps < 4 && (isHSpace(t.b[k]) || isQuote(t.b[k])) {
            k -= 1
            steps += 1
        }
        guard k >= 0 else { return false }
        return t.b[k] == 0x3D || (t.b[k] == 0x3A && t.at(k + 1) != 0x2F)
    }

    /// The key right before a value (`NEXT_PUBLIC_X=`, `"publicKey": `) names it public.
    static func precedingKeyIsPublic(_ t: Text, _ start: Int) -> Bool {
        var k = start - 1
        let ls = t.lineStart(start)
        var steps = 0
        while k >= ls && steps < 6 && (isHSpace(t.b[k]) || isQuote(t.b[k]) || t.b[k] == 0x3D || t.b[k] == 0x3A) {
            k -= 1
            steps += 1
        }
        guard k >= ls, steps > 0 else { return false }
        let ks = t.runStart(before: k + 1, in: .keyChars)
        guard ks <= k else { return false }
        let ws = TextShapes.words(t.b[ks...k])
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
        if let pw = ValueLexing.previousWord(t, before: s) {
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
        if j < n && b[j] == 0x5D { j += 1 }  // env["KEY"]
        var spaces = 0
        while j < n && isHSpace(b[j]) {
            j += 1
            spaces += 1
        }
        guard j < n else { return nil }
        var mode: Mode
        let c = b[j]
        if c == 0x3D {  // =, ==, =>
            mode = .assign
            j += 1
            if j < n && (b[j] == 0x3D || b[j] == 0x3E) { j += 1 }
        } else if c == 0x3A {  // :, :=
            if j + 2 < n && b[j + 1] == 0x2F && b[j + 2] == 0x2F { return nil }  // scheme://
            mode = .assign
            j += 1
            if j < n && b[j] == 0x3D { j += 1 }
        } else if c == 0x3E && prevByte == 0x3C {  // <password>value</password>
            mode = .xml
            j += 1
        } else if c == 0x28 && j + 1 < n && isQuote(b[j + 1]) {  // setPassword("…")
            mode = .call
            j += 1
        } else if keyQuoted, let v = ValueLexing.matchValueAttr(t, at: j) {  // key="ApiKey" value="…"
            mode = .assign
            j = v
        } else if spaces > 0, let k = ValueLexing.matchIsWord(t, at: j) {
            mode = .isConn
            j = k
        } else if spaces > 0, info.cls == .password, let k = ValueLexing.matchWord(t, at: j, ["to", "as"]) {
            mode = .isConn
            j = k
        } else if spaces > 0 && isFlag {
            mode = .flag
        } else if spaces > 0 {
            mode = .direct
            // "password for the admin account is X" — up to 5 words then "is".
            if info.cls != .weakKey, let k = ValueLexing.matchForIs(t, at: j) {
                mode = .isConn
                j = k
            }
        } else {
            return nil
        }
        while j < n && isHSpace(b[j]) { j += 1 }
        guard j < n else { return nil }
        // YAML block scalars / nested maps: value on the next lines — not handled.
        guard let (vs, ve, quoted) = ValueLexing.extractValue(t, at: j, xml: mode == .xml) else { return nil }
        var vStart = vs
        var vEnd = ve
        var bearer = false
        // Authorization schemes inside the value.
        if info.cls == .auth || info.cls == .secret {
            if let (s2, e2) = skipScheme(t, vs, ve) {
                if t.matchesCI(bytes("bearer"), at: vs) {
                    info.cls = .auth
                    bearer = true
                }
                vStart = s2
                vEnd = e2
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
}
