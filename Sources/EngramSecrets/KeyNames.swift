import EngramScreening

/// What a key name (env var, config key, JSON field, CLI flag, header, prose noun) says about its value.
enum KeyClass: Sendable {
    /// password, passwd, pwd, PGPASSWORD, db_pass…: the value may be human-chosen (low entropy).
    case password
    /// secret, token, api key, access key, client secret, credential…: the value is machine-made.
    case secret
    /// `key` alone or with an unremarkable qualifier (`DI key`, `key1`): needs a clearly random value.
    case weakKey
    /// auth, authorization, bearer: value may carry a scheme (`Bearer …`, `Basic …`).
    case auth
}

struct KeyInfo: Sendable {
    var cls: KeyClass
    /// Provider named in the key (`DD_API_KEY` → datadog), for rule ids of generic findings.
    var provider: String?
    /// Key is just "login": the value counts only as `user/password` or `user:password`.
    var loginOnly: Bool = false
}

/// Classifies identifiers into secret-ish key classes by splitting them into words
/// (snake_case, kebab-case, dotted, camelCase) and looking at the words, not at raw substrings.
enum KeyNames {
    /// Words that make the whole key non-secret wherever they appear.
    static let negative: Set<String> = [
        "public", "publishable", "pub", "site", "anon", "cache", "idempotency", "sort", "partition", "primary", "foreign",
        "lookup", "object", "shard", "routing", "dedup", "dedupe", "next", "page", "pagination", "continuation", "cursor",
        "csrf", "xsrf", "tokenizer", "tokenize", "tokenized", "tokenization", "hash", "hashed", "digest", "fingerprint",
        "checksum", "encrypted", "ciphertext", "example", "sample", "dummy", "fake", "mock", "placeholder", "max", "min",
        "num", "total", "length", "expiry", "expires", "ttl", "rotate", "rotation", "reset", "forgot", "policy", "strength",
        "masked", "redacted", "kid", "keyid", "nonce", "foreignkey", "primarykey", "sortkey", "hashkey", "rangekey",
        "partitionkey", "cachekey", "publickey", "sitekey", "pubkey", "anonkey", "idempotencykey", "passwordless",
        "passwords", "keyboard", "monkey", "turkey", "whiskey", "donkey", "hotkey", "keys", "hint", "question",
        "trace", "traceparent", "span", "correlation", "etag", "challenge", "verifier", "captcha", "recaptcha", "hcaptcha",
        "turnstile", "encrypteddata", "sealed", "vapid", "jwks", "certificate", "cert",
    ]

    /// Descriptor words: when the last word of a key is one of these, the value describes the secret
    /// (its id, name, path, lifetime…) rather than being it.
    static let descriptors: Set<String> = [
        "id", "ids", "name", "names", "type", "types", "url", "uri", "urls", "endpoint", "path", "paths", "file", "files",
        "filename", "dir", "directory", "ttl", "length", "len", "min", "max", "age", "days", "day", "seconds", "secs", "sec",
        "minutes", "mins", "hours", "hrs", "ms", "expiry", "expires", "expiration", "expire", "timeout", "count", "version",
        "algorithm", "algo", "alg", "hash", "digest", "fingerprint", "prefix", "suffix", "format", "header", "field", "env",
        "var", "variable", "policy", "rotation", "host", "hostname", "port", "region", "enabled", "enable", "disabled",
        "required", "mode", "scope", "scopes", "kind", "location", "ref", "reference", "arn", "label", "pattern", "regex",
        "provider", "source", "helper", "command", "cmd", "manager", "hint", "size", "limit", "rules", "rule", "strength",
        "complexity", "changed", "updated", "created", "valid", "validity", "lifetime", "duration", "interval", "flag",
        "option", "options", "param", "params", "schema", "usage", "bucket", "description", "title", "placeholder",
        "example", "template", "mount", "volume", "prompt", "attempts", "retries", "level", "index", "column", "table",
        "exists", "set", "present", "missing", "error", "errors", "message", "status", "request", "response", "method",
        "scheme", "store", "user", "username", "login", "email", "owner", "issuer", "audience", "subject", "claims",
        "role", "roles", "group", "encoding", "class", "style", "color", "width", "height", "icon", "id_",
        "secretname", "secretref", "keyref", "check", "checks", "validator", "validation",
        "fields", "input", "output", "button", "text", "hashing", "salt", "rounds", "iterations", "cost", "bits",
        "strategy", "handler", "service", "account",
    ]

    /// Words before `key` that make it a credential key (`api key`, `access key`, `app key`…).
    static let strongKeyPrev: Set<String> = [
        "api", "access", "secret", "private", "master", "signing", "encryption", "auth", "app", "application", "account",
        "storage", "subscription", "service", "license", "client", "shared", "hmac", "aes", "jwt", "session", "crypt",
        "enc", "root", "admin", "deploy", "webhook", "write", "read", "ingest", "server", "consumer", "integration",
        "management", "mgmt", "sdk", "rest", "live", "prod", "production", "test", "dev", "partner", "merchant", "cookie",
        "secure", "cipher", "wireguard", "preshared", "psk", "sas", "function", "functions", "host", "ssh", "gpg", "pgp",
        "geheime", "geheimer", "geheimen", "privater", "privaten", "privee", "privada", "privata", "hemliga",
    ]

    /// Words after a key noun that make it a credential in languages that put the adjective after
    /// the noun (`clé API`, `clave secreta`, `chiave segreta`, `token segreto`).
    static let strongKeyNext: [[UInt8]] = [
        "api", "secreta", "secreto", "secrete", "secret", "segreta", "segreto", "privada", "privado", "privee", "privata",
        "privato", "d'api", "de api", "di accesso", "de acceso", "de acesso", "d'acces", "de acces",
    ].map(bytes)

    static let compoundStrong: [String] = [
        "apikey", "accesskey", "secretkey", "privatekey", "authkey", "masterkey", "signingkey", "encryptionkey",
        "hmackey", "appkey", "clientkey", "accountkey", "storagekey", "licensekey", "subscriptionkey", "serverkey",
        "apisecret", "appsecret", "privkey", "seckey", "presharedkey", "sshkey", "deploykey", "cryptkey", "apitoken",
        "authtoken", "accesstoken", "sessionkey", "webhookkey", "ingestkey", "writekey", "restkey",
    ]

    static let passwordWords: Set<String> = [
        "pwd", "pass", "pw", "passw", "pword", "pswd", "passcode", "passwd", "pass_phrase", "dbpass", "pgpass", "userpass", "adminpass", "rootpass",
    ]

    // Other languages (after `NormalizedText` folded accents: contraseña → contrasena, clé → cle).

    /// Password nouns: German, Spanish, French (`mot de passe`, `palavra-passe` → `passe`),
    /// Portuguese, Dutch, Nordic, Polish/Czech, Finnish, Afrikaans; matched as whole words.
    static let foreignPasswordWords: Set<String> = [
        "passwort", "kennwort", "contrasena", "contrasenya", "clave", "passe", "senha", "wachtwoord", "losenord",
        "passord", "adgangskode", "salasana", "haslo", "heslo", "wagwoord", "parool", "jelszo", "sifre",
    ]
    /// Long password nouns also matched inside compounds (`Datenbankpasswort`, `rootwachtwoord`).
    static let foreignPasswordStems: [[UInt8]] = ["passwort", "kennwort", "wachtwoord", "contrasena"].map(bytes)
    /// Secret / token nouns.
    static let foreignSecretWords: Set<String> = ["geheimnis", "secreto", "segredo", "segreto", "jeton", "jetons", "gettone", "hemlighet"]
    /// Nouns meaning "key" (a qualifier decides whether it is a credential, as for `key`).
    static let keyNouns: Set<String> = [
        "key", "schlussel", "schluessel", "cle", "clef", "chave", "chiave", "sleutel", "llave", "nyckel", "nogle", "klucz", "avain",
    ]

    /// Words ending in "pass" that are not passwords.
    static let notPass: Set<String> = [
        "compass", "bypass", "overpass", "underpass", "trespass", "surpass", "encompass", "firstpass", "multipass", "onepass", "singlepass",
        "getpass", "nopass", "skippass", "renderpass", "subpass",
    ]

    static let providers: [(String, String)] = [
        ("datadog", "datadog"), ("dd", "datadog"), ("twilio", "twilio"), ("heroku", "heroku"), ("sendgrid", "sendgrid"),
        ("mailgun", "mailgun"), ("slack", "slack"), ("stripe", "stripe"), ("github", "github"), ("gh", "github"),
        ("gitlab", "gitlab"), ("aws", "aws"), ("azure", "azure"), ("gcp", "gcp"), ("google", "google"), ("gemini", "google"),
        ("openai", "openai"), ("anthropic", "anthropic"), ("claude", "anthropic"), ("npm", "npm"), ("pypi", "pypi"),
        ("docker", "docker"), ("dockerhub", "docker"), ("hf", "huggingface"), ("huggingface", "huggingface"),
        ("digitalocean", "digitalocean"), ("vault", "vault"), ("shopify", "shopify"), ("square", "square"),
        ("sentry", "sentry"), ("discord", "discord"), ("telegram", "telegram"), ("linear", "linear"),
        ("mailchimp", "mailchimp"), ("cloudflare", "cloudflare"), ("cf", "cloudflare"), ("algolia", "algolia"),
        ("okta", "okta"), ("auth0", "auth0"), ("firebase", "google"), ("supabase", "supabase"), ("pinecone", "pinecone"),
        ("cohere", "cohere"), ("mistral", "mistral"), ("groq", "groq"), ("newrelic", "newrelic"), ("pagerduty", "pagerduty"),
        ("segment", "segment"), ("mixpanel", "mixpanel"), ("amplitude", "amplitude"), ("jira", "atlassian"),
        ("atlassian", "atlassian"), ("confluence", "atlassian"), ("bitbucket", "atlassian"), ("netlify", "netlify"),
        ("vercel", "vercel"), ("circleci", "circleci"), ("travis", "travis"), ("codecov", "codecov"), ("snyk", "snyk"),
        ("sonar", "sonar"), ("postmark", "postmark"), ("mapbox", "mapbox"), ("paypal", "paypal"), ("braintree", "braintree"),
        ("plaid", "plaid"), ("zendesk", "zendesk"), ("intercom", "intercom"), ("hubspot", "hubspot"), ("notion", "notion"),
        ("airtable", "airtable"), ("asana", "asana"), ("trello", "trello"), ("dropbox", "dropbox"), ("box", "box"),
        ("twitch", "twitch"), ("twitter", "twitter"), ("facebook", "meta"), ("meta", "meta"), ("instagram", "meta"),
        ("linkedin", "linkedin"), ("zoom", "zoom"), ("splunk", "splunk"), ("elastic", "elastic"), ("grafana", "grafana"),
        ("honeycomb", "honeycomb"), ("rollbar", "rollbar"), ("bugsnag", "bugsnag"), ("launchdarkly", "launchdarkly"),
        ("fastly", "fastly"), ("akamai", "akamai"), ("ngrok", "ngrok"), ("tailscale", "tailscale"), ("pulumi", "pulumi"),
        ("terraform", "hashicorp"), ("consul", "hashicorp"), ("nomad", "hashicorp"), ("rabbitmq", "rabbitmq"),
        ("kafka", "kafka"), ("confluent", "confluent"), ("mongo", "mongodb"), ("mongodb", "mongodb"), ("redis", "redis"),
        ("postgres", "postgres"), ("pg", "postgres"), ("mysql", "mysql"), ("smtp", "smtp"), ("ldap", "ldap"),
    ]

    @inline(__always) static func has(_ w: [UInt8], _ needle: [UInt8]) -> Bool { TextShapes.contains(w, needle) }
    static let bPassword = bytes("password"), bPasswd = bytes("passwd"), bPassphrase = bytes("passphrase"), bPass = bytes("pass")
    static let bSecret = bytes("secret"), bSecretsManager = bytes("secretsmanager"), bToken = bytes("token")
    static let compoundStrongBytes: [[UInt8]] = compoundStrong.map(bytes)
    static let providerMap: [String: String] = {
        var m: [String: String] = [:]
        for (k, v) in providers where m[k] == nil { m[k] = v }
        return m
    }()

    /// Cheap pre-filter on raw bytes before splitting into words.
    static let triggers = NeedleSet([
        "pass", "pwd", "pw", "secret", "token", "key", "auth", "cred", "bearer", "pat", "psk", "login", "logon", "signin",
        // other languages
        "wort", "woord", "contrase", "clave", "senha", "cle", "chave", "chiave", "schl", "sleutel", "llave", "nyckel", "nogle",
        "klucz", "avain", "geheim", "segre", "jeton", "gettone", "haslo", "heslo", "salasana", "losenord", "adgangskode",
        "parool", "jelszo", "sifre", "hemlighet", "ordine",
    ])

    static func classify(_ t: Text, _ s: Int, _ e: Int) -> KeyInfo? {
        guard e - s <= 64, t.containsAnyCI(triggers, from: s, to: e) else { return nil }
        let ws = TextShapes.words(t.b[s..<e])
        guard let lastRaw = ws.last else { return nil }
        var hasPassword = false
        var hasSecret = false
        var hasKey = false
        var hasAuth = false
        var isLogin = false
        var prev = ""
        for w in ws {
            let base = TextShapes.stripDigits(w)
            if negative.contains(base) { return nil }
            let u = Array(base.utf8)
            if has(u, bPassword) || has(u, bPasswd) || has(u, bPassphrase) || passwordWords.contains(base)
                || foreignPasswordWords.contains(base) || foreignPasswordStems.contains(where: { has(u, $0) })
                || (base == "ordine" && (t.matchesCI(bytes("parola d"), at: s - 9) || t.matchesCI(bytes("parola d"), at: s - 11)))
                || (u.count >= 4 && u.count <= 12 && Array(u.suffix(4)) == bPass && !notPass.contains(base))
            {
                hasPassword = true
            } else if has(u, bSecret) && base != "secrets" && !has(u, bSecretsManager) {
                hasSecret = true
            } else if has(u, bToken) && base != "tokens" {
                hasSecret = true
            } else if compoundStrongBytes.contains(where: { has(u, $0) }) {
                hasSecret = true
            } else if foreignSecretWords.contains(base) {
                hasSecret = true
            } else if base == "credential" || base == "credentials" || base == "creds" || base == "cred" || base == "pat" || base == "psk" {
                hasSecret = true
            } else if keyNouns.contains(base) {
                if strongKeyPrev.contains(prev) { hasSecret = true } else { hasKey = true }
            } else if base == "login" || base == "logon" || base == "signin" {
                hasPassword = hasPassword || ws.count <= 2  // "login: admin/S3cret" (value must carry user + password)
                isLogin = true
            } else if base == "auth" || base == "authorization" || base == "bearer" {
                hasAuth = true
            }
            prev = base
        }
        let last = TextShapes.stripDigits(lastRaw)
        if descriptors.contains(last) && !(isLogin && ws.count == 1) { return nil }
        let cls: KeyClass
        if hasPassword {
            cls = .password
        } else if hasSecret {
            cls = .secret
        } else if hasAuth {
            cls = .auth
        } else if hasKey {
            cls = .weakKey
        } else {
            return nil
        }
        var provider: String?
        for w in ws {
            if let p = providerMap[w] {
                provider = p
                break
            }
        }
        let loginOnly = isLogin && !hasSecret && ws.count <= 2 && !ws.contains(where: { has(Array($0.utf8), bPass) || $0 == "pwd" })
        return KeyInfo(cls: cls, provider: provider, loginOnly: loginOnly)
    }
}
