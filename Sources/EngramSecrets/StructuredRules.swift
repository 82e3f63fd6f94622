import EngramScreening

/// Formats recognised by structure rather than a single prefix: JWTs, URLs with credentials,
/// Azure connection strings / SAS tokens / AD client secrets / account keys, Twilio `SID:token`
/// pairs, Mailchimp, Telegram and Discord bot tokens, the AWS secret key next to an access key id,
/// Terraform Cloud and Firebase server keys. Also records suppressed ranges for public material
/// (SSH public keys, digests, SRI integrity strings, image digests).
enum StructuredRules {
    static func scan(_ t: Text, into out: inout [Candidate], suppressed: inout [Range<Int>]) {
        suppressPublic(t, &suppressed)
        scanJWT(t, &out)
        scanURLs(t, &out)
        scanSchemelessURLs(t, &out)
        scanAzure(t, &out)
        scanColonPairs(t, &out)
        scanTwilioSIDContext(t, &out)
        scanDiscord(t, &out)
        scanMailchimp(t, &out)
        scanInfix(t, &out)
    }

    // MARK: public material

    static let sshKeyTypes: [[UInt8]] = [
        "ssh-rsa ", "ssh-ed25519 ", "ssh-dss ", "ecdsa-sha2-nistp", "sk-ssh-ed25519@openssh.com ", "sk-ecdsa-sha2-nistp256@openssh.com ",
    ].map(bytes)
    static let digestMarkers: [[UInt8]] = [
        "sha1:", "sha256:", "sha384:", "sha512:", "sha1-", "sha256-", "sha384-", "sha512-", "md5:", "md5-", "blake2b:", "blake3:", "sha256=",
        "sha512=",
    ].map(bytes)

    static func suppressPublic(_ t: Text, _ sup: inout [Range<Int>]) {
        let b = t.b
        let n = b.count
        var i = 0
        while i < n {
            let c = b[i]
            if c == 0x73 || c == 0x65 {  // 's' / 'e': ssh-…, sk-ssh…, ecdsa…
                var matched = false
                for k in sshKeyTypes where t.matches(k, at: i) {
                    var j = i + k.count
                    while j < n && b[j] != 0x20 && b[j] != 0x0A && j - i < 60 { j += 1 }  // rest of type name
                    while j < n && b[j] == 0x20 { j += 1 }
                    let e = t.runEnd(from: j, in: .b64)
                    if e - j >= 40 && t.matches(bytes("AAAA"), at: j) {
                        sup.append(i..<e)
                        i = e
                        matched = true
                    }
                    break
                }
                if matched { continue }
            }
            if c == 0x73 || c == 0x6D || c == 0x62 || c == 0x53 || c == 0x4D || c == 0x42 {  // sha/md5/blake
                if i == 0 || !isAlnum(b[i - 1]) {
                    for m in digestMarkers where t.matchesCI(m, at: i) {
                        let e = t.runEnd(from: i + m.count, in: .b64)
                        if e - i - m.count >= 16 {
                            sup.append(i..<e)
                            i = e
                        }
                        break
                    }
                }
            }
            i += 1
        }
        // "integrity" fields (npm/yarn lockfiles, SRI): the value is a digest.
        var from = 0
        while let k = t.findCI(bytes("integrity"), from: from, to: n) {
            let e = min(n, k + 200)
            sup.append(k..<t.lineEnd(min(e, n - 1)))
            from = k + 9
        }
    }

    // MARK: JWT

    static func scanJWT(_ t: Text, _ out: inout [Candidate]) {
        let b = t.b
        let n = b.count
        var i = 0
        let url = ByteSet.b64url
        while i + 20 < n {
            guard b[i] == 0x65, b[i + 1] == 0x79, b[i + 2] == 0x4A, i == 0 || !url.contains(b[i - 1]) else {
                i += 1
                continue
            }
            let e1 = t.runEnd(from: i, in: url)
            guard e1 < n, b[e1] == 0x2E, e1 - i >= 10 else {
                i = e1 + 1
                continue
            }
            let e2 = t.runEnd(from: e1 + 1, in: url)
            guard e2 - e1 - 1 >= 10, e2 < n, b[e2] == 0x2E else {
                i = e2 + 1
                continue
            }
            let e3 = t.runEnd(from: e2 + 1, in: url)
            defer { i = max(e3, i + 1) }
            guard let header = decodeBase64(b[i..<e1]), TextShapes.contains(header, bytes("\"alg\"")) else { continue }
            let sig = b[(e2 + 1)..<e3]
            if TextShapes.contains(header.map(lowerByte), bytes("\"none\"")) && sig.count < 16 { continue }
            guard sig.count >= 16, !Placeholders.isPlaceholder(sig), Shape(sig).entropy >= 3.5 else { continue }
            if let payload = decodeBase64(b[(e1 + 1)..<e2]) {
                // jwt.io's documentation token.
                if TextShapes.contains(payload, bytes("John Doe")) && TextShapes.contains(payload, bytes("1234567890")) { continue }
                // RFC 7519 / documentation examples (issuer "joe", example.com claims).
                if TextShapes.contains(payload, bytes("example.com")) || TextShapes.contains(payload, bytes("\"iss\":\"joe\"")) { continue }
                // Supabase-style anon keys are public by design.
                let compact = payload.filter { $0 != 0x20 }
                if TextShapes.contains(compact, bytes("\"role\":\"anon\"")) { continue }
            }
            if Placeholders.isKnownPublic(sig) { continue }
            out.append(Candidate(start: i, end: e3, ruleID: "jwt", family: "jwt", confidence: 0.9, tier: 2))
        }
    }

    // MARK: URLs with credentials

    static let dbSchemes: Set<String> = [
        "postgres", "postgresql", "mysql", "mariadb", "mongodb", "mongodb+srv", "redis", "rediss", "amqp", "amqps",
        "mssql", "sqlserver", "clickhouse", "cockroachdb", "neo4j", "neo4j+s", "bolt", "couchdb", "cassandra", "nats",
        "memcached", "ldap", "ldaps", "oracle", "db2", "jdbc:postgresql", "jdbc:mysql", "jdbc:mariadb", "jdbc:sqlserver",
        "kafka", "elasticsearch", "influxdb", "mqtt", "mqtts", "stomp", "sqlalchemy", "postgresql+psycopg2",
        "postgresql+asyncpg", "mysql+pymysql", "snowflake", "redshift", "vertica", "presto", "trino", "hive", "arangodb",
    ]
    static let schemeChars = ByteSet("+.-:", alnum: true)
    static let exampleHosts: [[UInt8]] = [
        "example.com", "example.org", "example.net", "example.test", "host.example", "your-host", "yourhost", "hostname",
    ].map(bytes)

    static func scanURLs(_ t: Text, _ out: inout [Candidate]) {
        let b = t.b
        let n = b.count
        var i = 0
        while i + 3 < n {
            guard b[i] == 0x3A, b[i + 1] == 0x2F, b[i + 2] == 0x2F else {
                i += 1
                continue
            }
            let schemeStart = t.runStart(before: i, in: schemeChars)
            guard i - schemeStart >= 2 else {
                i += 3
                continue
            }
            let scheme = String(decoding: b[schemeStart..<i].map(lowerByte), as: UTF8.self)
            let authStart = i + 3
            var j = authStart
            // Authority ends at '/', whitespace, quotes, brackets. '@' may appear in the password,
            // so the last '@' before the end separates userinfo from host.
            var lastAt = -1
            while j < n {
                let c = b[j]
                if c == 0x2F || isSpace(c) || c == 0x22 || c == 0x27 || c == 0x60 || c == 0x3C || c == 0x3E || c == 0x5C { break }
                if c == 0x40 { lastAt = j }
                j += 1
            }
            defer { i = max(j, i + 3) }
            guard lastAt > authStart else { continue }
            let userinfo = b[authStart..<lastAt]
            let host = b[(lastAt + 1)..<j].map(lowerByte)
            if host.isEmpty { continue }
            if exampleHosts.contains(where: { TextShapes.contains(host, $0) }) { continue }
            let isDB = dbSchemes.contains(scheme) || scheme.hasPrefix("jdbc:")
            if let colon = userinfo.firstIndex(of: 0x3A) {
                let user = b[authStart..<colon]
                let pass = b[(colon + 1)..<lastAt]
                guard urlPasswordIsReal(user: user, pass: pass) else { continue }
                out.append(
                    Candidate(
                        start: colon + 1,
                        end: lastAt,
                        ruleID: isDB ? "database-url-password" : "basic-auth-url",
                        family: isDB ? "database-url" : "basic-auth-url",
                        confidence: 0.9,
                        tier: 2
                    )
                )
            } else {
                // Token as the whole userinfo (https://<token>@host), not a plain user name.
                if TextShapes.contains(host, bytes("sentry")) { continue }  // Sentry DSN public key
                guard userinfo.count >= 20, Entropy.looksRandom(userinfo), !Placeholders.isPlaceholder(userinfo) else { continue }
                out.append(Candidate(start: authStart, end: lastAt, ruleID: "url-token", family: "basic-auth-url", confidence: 0.8, tier: 2))
            }
        }
    }

    static let hostChars = ByteSet(".-", alnum: true)
    static let userChars = ByteSet("._-", alnum: true)

    /// `user:secret@host/path` without a scheme (Git remotes, pip/npm registry settings):
    /// the host must be a domain name followed by a path or a port (an e-mail address is not), and
    /// the password must look generated (no scheme means no other evidence it is a URL).
    static func scanSchemelessURLs(_ t: Text, _ out: inout [Candidate]) {
        let b = t.b
        let n = b.count
        var from = 0
        while from < n, let at = b[from...].firstIndex(of: 0x40) {
            from = at + 1
            // Host: a domain with a dot and an alphabetic top-level label, then `/`, `:`, or the end.
            let he = t.runEnd(from: at + 1, in: hostChars)
            guard he - at - 1 >= 4, let dot = b[(at + 1)..<he].lastIndex(of: 0x2E), he - dot - 1 >= 2,
                b[(dot + 1)..<he].allSatisfy(isAlpha), he < n, b[he] == 0x2F || b[he] == 0x3A
            else { continue }
            let host = b[(at + 1)..<he].map(lowerByte)
            if exampleHosts.contains(where: { TextShapes.contains(host, $0) }) { continue }
            // userinfo back to whitespace, a quote or a bracket; `scheme://` forms are scanURLs' job.
            var us = at
            while us > 0 && !isSpace(b[us - 1]) && !isQuote(b[us - 1]) && b[us - 1] != 0x2F && b[us - 1] != 0x28 && b[us - 1] != 0x3C
                && b[us - 1] != 0x5B && b[us - 1] != 0x40
            { us -= 1 }
            guard us == 0 || b[us - 1] != 0x2F, let colon = b[us..<at].firstIndex(of: 0x3A), colon > us,
                b[us..<colon].allSatisfy({ userChars.contains($0) })
            else { continue }
            let pass = b[(colon + 1)..<at]
            guard pass.count >= 8, urlPasswordIsReal(user: b[us..<colon], pass: pass),
                Entropy.looksRandom(pass) || (Shape(pass).classes >= 3 && !Entropy.isWordJoined(pass.map(lowerByte)))
            else { continue }
            out.append(Candidate(start: colon + 1, end: at, ruleID: "basic-auth-url", family: "basic-auth-url", confidence: 0.85, tier: 2))
        }
    }

    static func urlPasswordIsReal(user: ArraySlice<UInt8>, pass: ArraySlice<UInt8>) -> Bool {
        guard pass.count >= 3 else { return false }
        if Placeholders.isPlaceholder(pass) || TextShapes.isReference(pass, quoted: true) { return false }
        if pass.first == 0x3A || pass.first == 0x5B || pass.first == 0x7B { return false }  // :password, [password], {password}
        // user == password with a plain word: local default (postgres:postgres, guest:guest).
        if Array(user).map(lowerByte) == Array(pass).map(lowerByte) && Entropy.isWordJoined(pass) { return false }
        // A percent-encoded placeholder like %3Cpassword%3E.
        if TextShapes.contains(pass.map(lowerByte), bytes("%3c")) { return false }
        return true
    }

    // MARK: Azure

    static let azureKeyNames: [([UInt8], String)] = [
        (bytes("accountkey="), "azure-storage-account-key"),
        (bytes("sharedaccesskey="), "azure-shared-access-key"),
        (bytes("primarykey="), "azure-shared-access-key"),
    ]

    static func scanAzure(_ t: Text, _ out: inout [Candidate]) {
        let b = t.b
        let n = b.count
        let emulator =
            t.findCI(bytes("devstoreaccount1"), from: 0, to: n) != nil
            || t.findCI(bytes("usedevelopmentstorage"), from: 0, to: n) != nil
        for (name, id) in azureKeyNames {
            var from = 0
            while let k = t.findCI(name, from: from, to: n) {
                from = k + name.count
                let s = k + name.count
                let e = t.runEnd(from: s, in: .b64)
                let v = b[s..<e]
                guard v.count >= 40, !Placeholders.isPlaceholder(v), Shape(v).entropy >= 4.0 else { continue }
                if emulator && id == "azure-storage-account-key" { continue }
                out.append(Candidate(start: s, end: e, ruleID: id, family: "azure", confidence: 0.95, tier: 3))
            }
        }
        // SAS tokens: sig=<url-encoded base64> with sv=/se=/sp= nearby.
        var from = 0
        while let k = t.findCI(bytes("sig="), from: from, to: n) {
            from = k + 4
            guard k > 0, b[k - 1] == 0x26 || b[k - 1] == 0x3F || b[k - 1] == 0x3B || b[k - 1] == 0x20 else { continue }
            let e = t.runEnd(from: k + 4, in: sigChars)
            let lo = max(0, k - 400)
            guard e - k - 4 >= 20, t.findCI(bytes("sv="), from: lo, to: e) != nil,
                t.findCI(bytes("se="), from: lo, to: min(n, e + 200)) != nil || t.findCI(bytes("sp="), from: lo, to: min(n, e + 200)) != nil
            else { continue }
            let v = b[(k + 4)..<e]
            guard !Placeholders.isPlaceholder(v), Shape(v).entropy >= 3.5 else { continue }
            out.append(Candidate(start: k + 4, end: e, ruleID: "azure-sas-token", family: "azure", confidence: 0.9, tier: 3))
        }
        // AD (Entra) client secrets: 3 chars, a digit, "Q~", 31–34 chars.
        var q = 0
        while q + 2 < n {
            guard b[q] == 0x51, b[q + 1] == 0x7E, q >= 4, isDigit(b[q - 1]) else {
                q += 1
                continue
            }
            let s = q - 4
            let e = t.runEnd(from: q + 2, in: adChars)
            var len = e - q - 2
            var end = e
            while len > 31 && (b[end - 1] == 0x2E) {
                end -= 1
                len -= 1
            }
            if (s == 0 || !adChars.contains(b[s - 1])) && (31...34).contains(len) && b[s..<q].allSatisfy({ adChars.contains($0) }) {
                let v = b[s..<end]
                if !Placeholders.isPlaceholder(v) && Shape(v).entropy >= 3.5 {
                    out.append(Candidate(start: s, end: end, ruleID: "azure-ad-client-secret", family: "azure", confidence: 0.95, tier: 3))
                }
            }
            q = max(e, q + 2)
        }
        // Bare account keys: 86 base64 chars + "==" (64 random bytes) next to an account/key keyword.
        // sha512 digests have the same shape; those are suppressed by their "sha512-" marker, and a
        // digest/checksum keyword nearby vetoes.
        var i = 0
        while i < n {
            guard ByteSet.b64NoPad.contains(b[i]), i == 0 || !ByteSet.b64.contains(b[i - 1]) else {
                i += 1
                continue
            }
            let e = t.runEnd(from: i, in: .b64)
            if e - i == 88 && b[e - 1] == 0x3D && b[e - 2] == 0x3D {
                let lo = max(t.lineStart(i), i - 120)
                let v = b[i..<e]
                if t.containsAnyCI(azureContext, from: lo, to: i) && !t.containsAnyCI(digestContext, from: lo, to: i)
                    && !(emulator) && !Placeholders.isPlaceholder(v) && Shape(v).entropy >= 4.5
                {
                    out.append(Candidate(start: i, end: e, ruleID: "azure-storage-account-key", family: "azure", confidence: 0.85, tier: 2))
                }
            }
            i = max(e, i + 1)
        }
    }

    static let sigChars = ByteSet("%+/=", alnum: true)
    static let adChars = ByteSet("_~.-", alnum: true)
    static let digitSet = ByteSet(digits: true)

    static let azureContext: [[UInt8]] = ["key", "account", "storage", "azure", "secret", "password", "credential", "cosmos"].map(bytes)
    static let digestContext: [[UInt8]] = ["sha", "digest", "checksum", "hash", "integrity", "fingerprint", "signature"].map(bytes)

    // MARK: NNN:secret pairs (Twilio SID:token, Telegram bot id:token)

    static func scanColonPairs(_ t: Text, _ out: inout [Candidate]) {
        let b = t.b
        let n = b.count
        var i = 1
        while i + 1 < n {
            guard b[i] == 0x3A else {
                i += 1
                continue
            }
            // Twilio: AC + 32 hex ':' 32 hex
            if i >= 34, b[i - 34] == 0x41, b[i - 33] == 0x43, b[(i - 32)..<i].allSatisfy(isLowerHex) {
                let e = t.runEnd(from: i + 1, in: .lowerHex)
                if e - i - 1 == 32 && (e == n || !isAlnum(b[e])) {
                    let v = b[(i + 1)..<e]
                    if !Placeholders.isPlaceholder(v) && Shape(v).entropy >= 3.0 {
                        out.append(Candidate(start: i + 1, end: e, ruleID: "twilio-auth-token", family: "twilio", confidence: 0.95, tier: 3))
                    }
                }
            }
            // Telegram: 6–12 digits ':' "AA" + 31–40 url-safe chars
            if i + 3 < n, b[i + 1] == 0x41, b[i + 2] == 0x41 {
                let ds = t.runStart(before: i, in: digitSet)
                if (6...12).contains(i - ds) && (ds == 0 || !isAlnum(b[ds - 1])) {
                    let e = t.runEnd(from: i + 3, in: .b64url)
                    if (31...40).contains(e - i - 3) {
                        let v = b[(i + 3)..<e]
                        if !Placeholders.isPlaceholder(v) && Shape(v).entropy >= 3.5 {
                            out.append(Candidate(start: ds, end: e, ruleID: "telegram-bot-token", family: "telegram", confidence: 0.95, tier: 3))
                        }
                    }
                }
            }
            i += 1
        }
    }

    /// A Twilio account SID (`AC` + 32 hex) with a separate 32-hex value close by: that value is the
    /// auth token (`Client("AC…", "…")`, `account_sid: AC…` / `auth_token: …`).
    static func scanTwilioSIDContext(_ t: Text, _ out: inout [Candidate]) {
        let b = t.b
        let n = b.count
        var from = 0
        while let k = t.findCI(bytes("ac"), from: from, to: n) {
            from = k + 2
            guard b[k] == 0x41, b[k + 1] == 0x43, k == 0 || !isAlnum(b[k - 1]) else { continue }
            let e = t.runEnd(from: k + 2, in: .lowerHex)
            guard e - k - 2 == 32, e == n || !isAlnum(b[e]) else { continue }
            from = e
            var i = max(0, k - 160)
            let hi = min(n, e + 160)
            while i < hi {
                guard isLowerHex(b[i]), i == 0 || !isAlnum(b[i - 1]) else {
                    i += 1
                    continue
                }
                let r = t.runEnd(from: i, in: .lowerHex)
                if r - i == 32 && (r == n || !isAlnum(b[r])) && (i < k || i >= e) {
                    let v = b[i..<r]
                    let sh = Shape(v)
                    if sh.digits > 0 && sh.letters > 0 && sh.entropy >= 3.0 && !Placeholders.isPlaceholder(v) {
                        out.append(Candidate(start: i, end: r, ruleID: "twilio-auth-token", family: "twilio", confidence: 0.85, tier: 2))
                    }
                }
                i = max(r, i + 1)
            }
        }
    }

    // MARK: Discord bot tokens: base64(user id) . 6 . 27–38, first part decodes to digits.

    static func scanDiscord(_ t: Text, _ out: inout [Candidate]) {
        let b = t.b
        let n = b.count
        var i = 0
        let url = ByteSet.b64url
        while i + 50 < n {
            let c = b[i]
            guard c == 0x4D || c == 0x4E || c == 0x4F, i == 0 || !url.contains(b[i - 1]) else {
                i += 1
                continue
            }
            let e1 = t.runEnd(from: i, in: url)
            guard (23...28).contains(e1 - i), e1 < n, b[e1] == 0x2E else {
                i = max(e1, i + 1)
                continue
            }
            let e2 = t.runEnd(from: e1 + 1, in: url)
            guard (6...7).contains(e2 - e1 - 1), e2 < n, b[e2] == 0x2E else {
                i = max(e1, i + 1)
                continue
            }
            let e3 = t.runEnd(from: e2 + 1, in: url)
            guard (25...40).contains(e3 - e2 - 1) else {
                i = max(e1, i + 1)
                continue
            }
            if let id = decodeBase64(b[i..<e1]), id.count >= 17, id.allSatisfy(isDigit) {
                out.append(Candidate(start: i, end: e3, ruleID: "discord-bot-token", family: "discord", confidence: 0.95, tier: 3))
            }
            i = e3
        }
    }

    // MARK: Mailchimp: 32 hex + "-us" + datacenter number

    static func scanMailchimp(_ t: Text, _ out: inout [Candidate]) {
        let b = t.b
        let n = b.count
        var from = 0
        while let k = t.findCI(bytes("-us"), from: from, to: n) {
            from = k + 3
            guard k >= 32, b[k + 1] == 0x75, isDigit(t.at(k + 3)) else { continue }
            let s = k - 32
            guard b[s..<k].allSatisfy(isLowerHex), s == 0 || !isAlnum(b[s - 1]) else { continue }
            var e = k + 3
            while e < n && isDigit(b[e]) && e - k < 6 { e += 1 }
            guard e == n || !isAlnum(b[e]) else { continue }
            let v = b[s..<k]
            guard !Placeholders.isPlaceholder(v), Shape(v).entropy >= 3.0 else { continue }
            out.append(Candidate(start: s, end: e, ruleID: "mailchimp-api-key", family: "mailchimp", confidence: 0.9, tier: 3))
        }
    }

    // MARK: infix-marked formats

    static func scanInfix(_ t: Text, _ out: inout [Candidate]) {
        let n = t.n
        // Terraform Cloud / Enterprise: 14 chars ".atlasv1." 60+ chars
        var from = 0
        while let k = t.findCI(bytes(".atlasv1."), from: from, to: n) {
            from = k + 9
            let s = t.runStart(before: k, in: .alnum)
            let e = t.runEnd(from: k + 9, in: .b64url)
            if k - s >= 10 && e - k - 9 >= 60 {
                out.append(Candidate(start: s, end: e, ruleID: "terraform-cloud-token", family: "hashicorp", confidence: 0.95, tier: 3))
            }
        }
        // Firebase Cloud Messaging legacy server key: AAAA…:APA91b…
        from = 0
        while let k = t.findCI(bytes(":apa91b"), from: from, to: n) {
            from = k + 7
            guard t.matches(bytes(":APA91b"), at: k) else { continue }
            let s = t.runStart(before: k, in: .b64url)
            let e = t.runEnd(from: k + 7, in: .b64url)
            if e - k >= 100 && k - s >= 8 {
                out.append(Candidate(start: s, end: e, ruleID: "firebase-server-key", family: "google", confidence: 0.95, tier: 3))
            }
        }
    }

    // MARK: AWS secret access key near an access key id

    /// For each AWS access key id found, a 40-char base64 value within a few lines is its secret key.
    static func scanAWSSecretNear(_ t: Text, ids: [Candidate], _ out: inout [Candidate]) {
        let b = t.b
        let n = b.count
        for id in ids where id.family == "aws" {
            let lo = max(0, id.start - 300)
            let hi = min(n, id.end + 300)
            var i = lo
            while i < hi {
                guard ByteSet.b64NoPad.contains(b[i]), i == 0 || !ByteSet.tokenish.contains(b[i - 1]) else {
                    i += 1
                    continue
                }
                let e = t.runEnd(from: i, in: .b64NoPad)
                if e - i == 40 && (e == n || !ByteSet.tokenish.contains(b[e])) {
                    let v = b[i..<e]
                    let s = Shape(v)
                    if s.upper > 0 && s.lower > 0 && s.digits > 0 && s.entropy >= 4.2 && !Placeholders.isPlaceholder(v) && !Entropy.isPureHex(v) {
                        out.append(Candidate(start: i, end: e, ruleID: "aws-secret-access-key", family: "aws", confidence: 0.9, tier: 3))
                    }
                }
                i = max(e, i + 1)
            }
        }
    }
}
