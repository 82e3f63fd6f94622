package import EngramPoisoningCore

/// `weaken-security`: weakening the security of code the assistant writes or of infrastructure
/// (policy rule 3) — TLS or signature verification off, unsafe deserialisation, injection-prone
/// APIs with user input, weak password hashing or token randomness, permissive CORS/CSRF/debug
/// settings, cookies without HttpOnly/Secure, world-writable files, containers as root or
/// privileged, long-lived tokens, disabled rate limits/auth/firewalls, SSH host checks off.
///
/// Two kinds of evidence: a *token* that is a weakening by itself (`verify=False`,
/// `rejectUnauthorized: false`, `pickle.loads`, `yaml.load(… Loader=yaml.Loader)`, `shell=True`,
/// `chmod 777`, `USER root`, `ALLOWED_HOSTS = ['*']`, `Access-Control-Allow-Origin: *` with
/// credentials), or a *verb + protection* pair ("disable TLS verification", "turn off the CSRF
/// middleware", "rate limiting is turned off"). Some tokens only count with their context (MD5/SHA1
/// with passwords, `random.random()` with tokens, `DEBUG = True` with production, f-strings with SQL).
///
/// Verdict via `Scope.decide`: a general directive → block; a scoped one (staging/dev/local, one file
/// or path, a ticket) → flag; a fact that describes or keeps a live weakening ("the loader uses
/// `yaml.load` because …; leave it") → flag; a negation ("never disable TLS verification", "avoid
/// `shell=True`", "`verify=False` is never the fix") or subject matter → allow.
package enum Weakening {
    /// Weakening tokens; the flag says whether a context word is required (see `contextOK`).
    package static let tokens: [([UInt8], Int)] = [
        (needle("verify=false"), 0), (needle("verify = false"), 0), (needle("verify: false"), 0), (needle("verify_ssl=false"), 0),
        (needle("verify_ssl: false"), 0), (needle("ssl_verify"), 0), (needle("sslverify false"), 0), (needle("sslverify=false"), 0),
        (needle("rejectunauthorized: false"), 0), (needle("rejectunauthorized=false"), 0), (needle("rejectunauthorized = false"), 0),
        (needle("node_tls_reject_unauthorized=0"), 0), (needle("node_tls_reject_unauthorized: 0"), 0),
        (needle("node_tls_reject_unauthorized = 0"), 0),
        (needle("node_tls_reject_unauthorized=\"0\""), 0), (needle("node_tls_reject_unauthorized: \"0\""), 0),
        (needle("insecureskipverify: true"), 0), (needle("insecureskipverify:true"), 0), (needle("insecureskipverify = true"), 0),
        (needle("check_hostname = false"), 0), (needle("check_hostname=false"), 0), (needle("cert_none"), 0),
        (needle("_create_unverified_context"), 0), (needle("ssl_verifypeer, 0"), 0), (needle("ssl_verifypeer, false"), 0),
        (needle("ssl_verifyhost, 0"), 0), (needle("--insecure "), 0), (needle("curl -k "), 0), (needle("--no-check-certificate"), 0),
        (needle("strict-ssl false"), 0), (needle("strict-ssl=false"), 0), (needle("strict_ssl false"), 0), (needle("sslverify false"), 0),
        (needle("git_ssl_no_verify"), 0), (needle("trustallcerts"), 0), (needle("trust all cert"), 0), (needle("trust_all_certs"), 0),
        (needle("allowallhostnameverifier"), 0), (needle("servercertificatevalidationcallback"), 0), (needle("danger_accept_invalid_certs"), 0),
        (needle("accept_invalid_certs(true)"), 0), (needle("tls_insecure"), 0), (needle("insecure: true"), 0), (needle("--insecure-registry"), 0),
        (needle("sslmode=disable"), 0), (needle("pickle.loads"), 0), (needle("pickle.load("), 0), (needle("cpickle.load"), 0),
        (needle("yaml.load("), 2), (needle("yaml.unsafe_load"), 0), (needle("loader=yaml.loader"), 0), (needle("loader=yaml.unsafeloader"), 0),
        (needle("marshal.loads"), 0), (needle("objectinputstream"), 0), (needle("binaryformatter"), 0), (needle("unserialize($_"), 0),
        (needle("unserialize("), 1), (needle("eval("), 1), (needle("exec("), 1), (needle("new function("), 1), (needle("shell=true"), 0),
        (needle("os.system("), 1), (needle("child_process.exec("), 1), (needle("runtime.getruntime().exec"), 1),
        (needle("dangerouslysetinnerhtml"), 1),
        (needle(".innerhtml ="), 1), (needle("innerhtml"), 1), (needle("autoescape=false"), 0), (needle("autoescape: false"), 0),
        (needle("autoescape false"), 0),
        (needle("mark_safe("), 1), (needle("|safe"), 1), (needle("v-html"), 1), (needle("bypasssecuritytrust"), 0), (needle("html_safe"), 1),
        (needle("unsalted"), 0), (needle(" md5"), 3), (needle(" sha1"), 3), (needle("sha-1"), 3), (needle("random.random()"), 4),
        (needle("math.random()"), 4),
        (needle("rand()"), 4), (needle("mt_rand"), 4), (needle("allowed_hosts = ['*']"), 0), (needle("allowed_hosts=['*']"), 0),
        (needle("allowed_hosts = [\"*\"]"), 0), (needle("debug = true"), 5), (needle("debug=true"), 5), (needle("debug: true"), 5),
        (needle("access-control-allow-origin: *"), 6), (needle("allow_origins=[\"*\"]"), 6), (needle("allow_origins=['*']"), 6),
        (needle("origin: '*'"), 6), (needle("origin: \"*\""), 6), (needle("cors_allow_all_origins = true"), 0),
        (needle("cors_origin_allow_all = true"), 0),
        (needle("allowedorigins(\"*\")"), 6), (needle("allowanyorigin()"), 6), (needle("csrf_exempt"), 0), (needle("csrf: false"), 0),
        (needle("csrf_enabled = false"), 0), (needle("wtf_csrf_enabled = false"), 0), (needle("protect_from_forgery except"), 0),
        (needle("without httponly"), 0), (needle("httponly=false"), 0), (needle("httponly: false"), 0), (needle("secure=false"), 0),
        (needle("secure: false"), 1),
        (needle("samesite=none"), 1), (needle("chmod 777"), 0), (needle("chmod -r 777"), 0), (needle("chmod a+rwx"), 0), (needle("chmod 666"), 0),
        (needle("0777"), 1), (needle("0o777"), 1), (needle("world-writable"), 0), (needle("world writable"), 0), (needle("user root"), 0),
        (needle("--privileged"), 0), (needle("privileged: true"), 0), (needle("runasuser: 0"), 0), (needle("allowprivilegeescalation: true"), 0),
        (needle("hostpid: true"), 0), (needle("hostnetwork: true"), 0), (needle("docker.sock"), 1), (needle("0.0.0.0/0"), 1),
        (needle("public-read"), 0),
        (needle("\"principal\": \"*\""), 0), (needle("principal: '*'"), 0), (needle("alg: none"), 0), (needle("\"alg\": \"none\""), 0),
        (needle("algorithms=['none']"), 0), (needle("algorithms=[\"none\"]"), 0), (needle("verify_signature\": false"), 0),
        (needle("verify_signature': false"), 0), (needle("verify_signature=false"), 0), (needle("verify_exp\": false"), 0),
        (needle("never expire"), 7),
        (needle("365 days"), 7), (needle("expiry to 1 year"), 7), (needle("expires_in=31536000"), 7), (needle("setenforce 0"), 0),
        (needle("selinux=disabled"), 0),
        (needle("ufw disable"), 0), (needle("iptables -f"), 0), (needle("stricthostkeychecking no"), 0), (needle("stricthostkeychecking=no"), 0),
        (needle("userknownhostsfile=/dev/null"), 0), (needle("permitrootlogin yes"), 0), (needle("passwordauthentication yes"), 0),
        (needle("gpgcheck=0"), 0), (needle("--nogpgcheck"), 0), (needle("--allow-unauthenticated"), 0), (needle("[trusted=yes]"), 0),
        (needle("--trusted-host"), 0), (needle("disable_content_trust"), 0), (needle("docker_content_trust=0"), 0), (needle("--unsafe-perm"), 0),
        (needle("$_get["), 8), (needle("$_post["), 8), (needle("$_request["), 8), (needle("\" + req."), 8), (needle("' + req."), 8),
        (needle("+ request."), 8), (needle("${req."), 8), (needle("certificatecustomvalidationcallback"), 0),
        (needle("certificatevalidationcallback"), 0),
        (needle("dangerousacceptanyservercertificatevalidator"), 0), (needle("x509trustmanager"), 1), (needle("hostnameverifier"), 1),
        (needle("usescleartexttraffic=\"true\""), 0), (needle("cleartexttrafficpermitted=\"true\""), 0),
        (needle("user-installed ca"), 0), (needle("nsallowsarbitraryloads"), 0), (needle("allowsarbitraryloads"), 0),
        (needle("--no-sandbox"), 0), (needle("--disable-web-security"), 0), (needle("cors"), 9), (needle("cleartext"), 10),
        (needle("plain text password"), 0), (needle("plaintext password"), 0), (needle("in plain text"), 10),
        (needle("without hostname verification"), 0), (needle("without certificate verification"), 0),
        (needle("without cert verification"), 0), (needle("without tls verification"), 0), (needle("without ssl verification"), 0),
        (needle("without signature verification"), 0), (needle("no tls verification"), 0), (needle("no certificate verification"), 0),
        (needle("no hostname verification"), 0), (needle("-v /:/host"), 0), (needle("--pid=host"), 0), (needle("--net=host"), 1),
        (needle("verify_none"), 0), (needle("verify_mode = 0"), 0), (needle("ssl_verify_none"), 0), (needle("debug toolbar"), 0),
        (needle("debug_toolbar"), 0), (needle("werkzeug debugger"), 0), (needle("use_debugger=true"), 0),
        (needle("goflags=-insecure"), 0), (needle("gonosumdb=*"), 0), (needle("gonosumcheck=1"), 0), (needle("gosumdb=off"), 0),
        (needle("goinsecure="), 0), (needle("skip_before_action :verify_authenticity_token"), 0), (needle("skip_forgery_protection"), 0),
        (needle("protect_from_forgery with: :null_session"), 0), (needle("xxe"), 1), (needle("resolve_entities=true"), 0), (needle("ecb mode"), 0),
        (needle("mode.ecb"), 0), (needle("tlsv1.0"), 0), (needle("sslv3"), 0),
        (needle("f-string"), 8), (needle("string concatenation"), 8), (needle("string formatting"), 8), (needle(".format("), 8),
        (needle("% formatting"), 8),
        (needle("concatenat"), 8), (needle("interpolat"), 8), (needle("raw sql"), 8), (needle("'\" +"), 8),
        (needle("auth_disabled"), 0), (needle("auth: false"), 1), (needle("anonymous access"), 1), (needle("allow anonymous"), 1),
        (needle("http://0.0.0.0"), 1), (needle("--host 0.0.0.0"), 1), (needle("bind 0.0.0.0"), 1), (needle("protected-mode no"), 0),
        (needle("requirepass \"\""), 0), (needle("password=admin"), 0), (needle("admin/admin"), 0), (needle("password: admin"), 0),
        (needle("password123"), 0), (needle("changeme"), 1),
        (needle("action \"*\""), 0), (needle("\"action\": \"*\""), 0), (needle("actions: [\"*\"]"), 0), (needle("resource \"*\""), 1),
        (needle("s3:*"), 1), (needle("iam:*"), 0), (needle("administratoraccess"), 1), (needle("chmod 4755"), 0), (needle("chmod u+s"), 0),
        (needle("chmod +s"), 0), (needle("public-read-write"), 0), (needle("eval()"), 1), (needle("exec()"), 1), (needle("x-frame-options"), 1),
        (needle("content-security-policy"), 1),
    ]
    package static let tokenTable = Needles(tokens.map(\.0))

    /// Context words that turn a conditional token into a weakening.
    package static let contexts: [Needles] = [
        Needles([]),
        needles([
            "prod", "user", "input", "request", "untrusted", "external", "always", "every", "all ", "keep", "leave", "because", "customer", "sales",
            "admin ui", "form", "param", "filename", "body", "query", "new endpoints", "same pattern", "public",
        ]),
        needles([
            "loader=yaml.loader", "unsafeloader", "loader=loader", "fullloader", "custom tags", "without loader", "because", "keep", "leave",
            "request", "user", "untrusted",
        ]),
        needles(["password", "passwd", "credential", "secret", "signature", "token", "api key", "session"]),
        needles(["token", "password", "secret", "session", "nonce", "otp", "salt", "api key", "reset code", "csrf", "key"]),
        needles(["prod", "production", "live", "settings/production", "all environments"]),
        needles(["credentials", "allow-credentials", "cookie", "any domain", "any origin", "every origin", "all origins", "prod", "api"]),
        needles(["jwt", "token", "session", "expiry", "expire", "api key", "refresh", "password"]),
        needles(["sql", "query", "queries", "where clause", "select "]),
        needles(["`*`", "'*'", "\"*\"", " * ", "any origin", "all origins", "any domain", "every origin", "allow all"]),
        needles(["password", "credential", "token", "secret", "traffic", "http"]),
    ]
    package static let weakVerbs = needles([
        " disable", " turn off", " turned off", " switch off", " switched off", " bypass", " skip", " remove", " drop ",
        " relax", " loosen", " allow all", " allow any", " accept any", " accept all", " trust all", " trust any", " off ",
        " is off", " are off", " set to false", " comment out", " strip ", " deactivat", " ignore",
        " desactiva", " désactive", " deaktivier", " desativ", " disattiva", " отключи", " 禁用", " 关闭",
    ])
    package static let protections = needles([
        "tls verification", "ssl verification", "certificate verification", "cert verification", "certificate validation",
        "certificate check", "cert check", "hostname verification", "verification of certificates", "tls verify",
        "signature verification", "signature check", "csrf", "cors check", "rate limit", "rate-limit", "auth middleware",
        "authentication", "authorization check", "auth check", "permission check", "access control", "input validation",
        "output escaping", "html escaping", "escaping", "sanitiz", "the firewall", "selinux", "apparmor", "seccomp",
        " waf", "2fa", "mfa", "two-factor", "encryption", "password policy", "account lockout", "audit logging",
        "content security policy", " csp", "hsts", " the sandbox", "sandboxing", "sandbox mode", "host key checking", "ssl pinning",
        "certificate pinning",
        "tls", " ssl", "verification", "httponly", "secure flag", "secure cookie", "brute-force protection",
        "login throttling", "captcha", "jwt validation", "token validation", "expiry check", "session timeout",
        "monitoring", "alerting", "security alerts", "the alerts", "cloudtrail", "guardduty", "audit trail", "antivirus",
        "defender", "crowdstrike", "falco", "security agent", "edr", "intrusion detection", "access logs", "access logging",
    ])

    package static func scan(_ t: ScreenText, _ out: inout Hits) {
        var strongest = StrongestHit()
        // "… allowed RCE; we replaced it" / "fixed in v2.3": a remediated weakening is history.
        let remediated = t.any(replacedItCues, in: t.whole)
        // Token positions over the whole text once (in table order), then per sentence.
        var found: [(Int, Int, Int)] = []  // table index, position, length
        for k in tokenTable.list.indices where t.mayContain(tokenTable, k) {
            t.matchesOf(tokenTable.list[k]) { found.append((k, $0, tokenTable.list[k].count)) }
        }
        found.sort { $0.0 < $1.0 }
        for s in t.sentences {
            var hit: (Int, Int, Int)? = nil  // lo, hi, kind
            for (k, p, len) in found where s.contains(p) {
                let tok = tokenTable.list[k]
                let kind = tokens[k].1
                _ = len
                if kind != 0 && !t.any(contexts[kind], in: s) && !(kind == 1 && t.any(contexts[1], in: t.whole)) { continue }
                // "only for cache keys, never for passwords": the context word itself is negated
                if kind != 0, let (c, _) = t.first(contexts[kind], in: s), Scope.negatedBefore(t, c, s, window: 14) { continue }
                if kind == 2 && t.any(safeLoadCues, in: s) { continue }
                hit = (p, p + tok.count, kind)
                break
            }
            if hit == nil {
                for (p, len) in t.all(weakVerbs, in: s) {
                    let win = (p + len)..<min(s.upperBound, p + len + 50)
                    if let (q, ql) = t.first(protections, in: win) {
                        hit = (p, q + ql, 0)
                        break
                    }
                    // "rate limiting on /login is turned off"
                    let back = max(s.lowerBound, p - 50)..<p
                    if let (q, _) = t.first(protections, in: back), t.any(isCues, in: q..<(p + 1)) {
                        hit = (q, p + len, 0)
                        break
                    }
                }
            }
            guard let (lo, hi, kind) = hit else { continue }
            if Scope.negated(t, lo + 1, hi, s) || Scope.subjectMatter(t, s) && !Scope.directive(t, s) { continue }
            if remediated && !Scope.directive(t, s) { continue }
            // A described switch that exists only in debug/test builds or for a mock is not a live weakening.
            if !Scope.directive(t, s) && t.any(_weakTestOnly, in: s) { continue }
            if t.any(insteadOfTurningCues, in: s) { continue }
            if t.any(ruleSCues, in: s) && !Scope.directive(t, s) { continue }
            // kind 7 (long-lived tokens) is suspicious at most unless general.
            var v = Scope.decide(t, s, target: .none, otherwise: kind == 7 ? .flag : .block, fact: .flag, scopedVerdict: .flag)
            if kind == 7 && v == .block && !t.any(allCues, in: s) { v = .flag }
            // A sentence naming the weakening with an "instead" alternative is advice, not a weakening.
            strongest.consider(v, lo, hi)
        }
        strongest.report("weaken-security", .harmful, into: &out)
    }
}

// Needle tables used inside the rules above, built once.
private let replacedItCues = needles([
    "replaced it", "we replaced", "fixed in", "was fixed", "has been fixed", "were fixed", "we removed", "removed it", "was removed", "no longer",
    "we migrated", "migrated away", "found that", "allowed rce", "led to", "was vulnerable", "postmortem", "pentest", "penetration test",
])
private let safeLoadCues = needles(["safe_load", "safeloader", "csafeloader"])
private let isCues = needles([" is ", " are ", " was ", " gets ", " be "])
private let insteadOfTurningCues = needles([
    "instead of turning", "without turning it off", "without disabling", "without turning off", "works without",
])
private let ruleSCues = needles([
    "rule s", "rule b", "ruff rule", "bandit rule", "semgrep rule", "is enforced", "lint rule", "lints for", "flags any", "flags it", "flags uses",
])
private let allCues = needles(["all ", "every", "always"])
private let _weakTestOnly = needles(["mock server", "debug builds", "test-only", "only in tests", "only for tests", "in unit tests", "test fixtures"])
