import EngramScreening

/// Extra validation a fixed-prefix token must pass.
enum PrefixCheck: Sendable {
    case none
    /// Last 6 characters are base62(CRC32(rest)) — GitHub `gh?_` and npm `npm_` tokens.
    case crc32Base62
    /// SendGrid: `SG.` + 22 + `.` + 43.
    case sendgrid
    /// GitHub fine-grained PAT: 22 chars, `_`, 59 chars (accepts near variants).
    case githubFineGrained
    /// Legacy Vault `s.` token: needs a vault/token keyword nearby.
    case vaultLegacy
    /// Twilio API key `SK…`: needs "twilio" nearby.
    case twilioKey
    /// Generic `sk-` keys (OpenAI and OpenAI-compatible providers).
    case openAIGeneric
    /// Square (EAAA…) / Meta (EAA…) access tokens.
    case eaa
    /// Airtable PAT: 14 alnum, `.`, 64 hex.
    case airtable
    /// Body is a UUID.
    case uuid
    /// Must mix upper, lower and digits (prefixes that are common English fragments).
    case mixedCase
    /// Grafana service-account token: 32 alnum, `_`, 8 hex.
    case grafanaSA
    /// Slack tokens: digit groups separated by `-`.
    case slack
    /// Body must contain at least one digit (prefixes like `re_`).
    case hasDigit
}

/// A token format recognised by a fixed prefix.
struct PrefixRule: Sendable {
    let prefix: [UInt8]
    let id: String
    let family: String
    let body: ByteSet
    let minLen: Int
    let maxLen: Int
    let check: PrefixCheck
    let confidence: Double
    /// Whether the byte before the prefix must be a non-alphanumeric (word boundary).
    let boundary: Bool

    init(
        _ prefix: String,
        _ id: String,
        _ family: String,
        _ body: ByteSet,
        _ minLen: Int,
        _ maxLen: Int,
        _ check: PrefixCheck = .none,
        conf: Double = 0.95,
        boundary: Bool = true
    ) {
        self.prefix = bytes(prefix)
        self.id = id
        self.family = family
        self.body = body
        self.minLen = minLen
        self.maxLen = maxLen
        self.check = check
        self.confidence = conf
        self.boundary = boundary
    }
}

/// Provider tokens with a fixed, documented prefix. These are the high-precision rules: the
/// prefix is the trigger, the body's character class and length pin the format, and checksums or
/// structure checks confirm where the format has them.
enum PrefixRules {
    static let rules: [PrefixRule] = {
        let a = ByteSet.alnum
        let u = ByteSet.alnumU
        let url = ByteSet.b64url
        let hexL = ByteSet.lowerHex
        let hex = ByteSet.hex
        var r: [PrefixRule] = [
            // GitHub
            .init("ghp_", "github-pat", "github", a, 36, 36, .crc32Base62),
            .init("gho_", "github-oauth-token", "github", a, 36, 36, .crc32Base62),
            .init("ghu_", "github-user-token", "github", a, 36, 36, .crc32Base62),
            .init("ghs_", "github-app-token", "github", a, 36, 36, .crc32Base62),
            .init("ghr_", "github-refresh-token", "github", a, 36, 76, .crc32Base62),
            .init("github_pat_", "github-fine-grained-pat", "github", u, 70, 100, .githubFineGrained),
            // GitLab
            .init("glpat-", "gitlab-pat", "gitlab", ByteSet.b64urlDot, 20, 120),
            .init("glrt-", "gitlab-runner-token", "gitlab", ByteSet.b64urlDot, 20, 120),
            .init("gldt-", "gitlab-deploy-token", "gitlab", ByteSet.b64urlDot, 20, 120),
            .init("glptt-", "gitlab-trigger-token", "gitlab", ByteSet.b64urlDot, 20, 120),
            .init("glft-", "gitlab-feed-token", "gitlab", ByteSet.b64urlDot, 20, 120),
            .init("glcbt-", "gitlab-cicd-job-token", "gitlab", ByteSet.b64urlDot, 20, 120),
            .init("glimt-", "gitlab-incoming-mail-token", "gitlab", ByteSet.b64urlDot, 20, 120),
            .init("glsoat-", "gitlab-scim-token", "gitlab", ByteSet.b64urlDot, 20, 120),
            .init("gloas-", "gitlab-oauth-secret", "gitlab", ByteSet.b64urlDot, 20, 120),
            .init("glagent-", "gitlab-agent-token", "gitlab", ByteSet.b64urlDot, 20, 120),
            .init("GR1348941", "gitlab-runner-registration-token", "gitlab", url, 20, 40),
            // Slack
            .init("xoxb-", "slack-bot-token", "slack", ByteSet.alnumDash, 20, 255, .slack),
            .init("xoxp-", "slack-user-token", "slack", ByteSet.alnumDash, 20, 255, .slack),
            .init("xoxa-", "slack-app-token", "slack", ByteSet.alnumDash, 20, 255, .slack),
            .init("xoxr-", "slack-refresh-token", "slack", ByteSet.alnumDash, 20, 255, .slack),
            .init("xoxe.xox", "slack-rotating-token", "slack", ByteSet.alnumDash, 20, 255),
            .init("xoxe-", "slack-refresh-token", "slack", ByteSet.alnumDash, 20, 255, .slack),
            .init("xoxs-", "slack-session-token", "slack", ByteSet.alnumDash, 20, 255, .slack),
            .init("xoxo-", "slack-token", "slack", ByteSet.alnumDash, 20, 255, .slack),
            .init("xapp-", "slack-app-level-token", "slack", ByteSet.alnumDash, 20, 255, .slack),
            .init("hooks.slack.com/services/", "slack-webhook-url", "slack", ByteSet("/", alnum: true), 30, 120, boundary: false),
            .init("hooks.slack.com/workflows/", "slack-workflow-webhook-url", "slack", ByteSet("/", alnum: true), 30, 160, boundary: false),
            .init("hooks.slack.com/triggers/", "slack-workflow-webhook-url", "slack", ByteSet("/", alnum: true), 30, 160, boundary: false),
            // Stripe (publishable pk_ keys are public by design and deliberately absent)
            .init("sk_live_", "stripe-secret-key", "stripe", a, 16, 255),
            .init("sk_test_", "stripe-secret-key", "stripe", a, 16, 255),
            .init("rk_live_", "stripe-restricted-key", "stripe", a, 16, 255),
            .init("rk_test_", "stripe-restricted-key", "stripe", a, 16, 255),
            .init("whsec_", "stripe-webhook-secret", "stripe", ByteSet("+/=", alnum: true), 24, 128),
            // OpenAI / Anthropic / other LLM providers
            .init("sk-proj-", "openai-api-key", "openai", url, 40, 255),
            .init("sk-svcacct-", "openai-api-key", "openai", url, 40, 255),
            .init("sk-admin-", "openai-admin-key", "openai", url, 40, 255),
            .init("sk-None-", "openai-api-key", "openai", url, 40, 255),
            .init("sk-ant-api03-", "anthropic-api-key", "anthropic", url, 60, 255),
            .init("sk-ant-admin01-", "anthropic-admin-key", "anthropic", url, 60, 255),
            .init("sk-ant-oat01-", "anthropic-oauth-token", "anthropic", url, 60, 255),
            .init("sk-ant-", "anthropic-api-key", "anthropic", url, 40, 255),
            .init("sk-or-v1-", "openrouter-api-key", "openrouter", hexL, 64, 64),
            .init("sk-", "openai-api-key", "openai", url, 32, 255, .openAIGeneric, conf: 0.85),
            .init("gsk_", "groq-api-key", "groq", a, 40, 64),
            .init("xai-", "xai-api-key", "xai", a, 60, 100),
            .init("r8_", "replicate-api-token", "replicate", a, 30, 45, .mixedCase),
            .init("pplx-", "perplexity-api-key", "perplexity", a, 40, 64),
            .init("lsv2_pt_", "langsmith-api-key", "langsmith", u, 32, 80),
            .init("lsv2_sk_", "langsmith-api-key", "langsmith", u, 32, 80),
            .init("pcsk_", "pinecone-api-key", "pinecone", url, 40, 120),
            .init("fw_", "fireworks-api-key", "fireworks", a, 20, 60, .mixedCase),
            // Google
            .init("AIza", "google-api-key", "google", url, 35, 35),
            .init("GOCSPX-", "google-oauth-client-secret", "google", url, 24, 40),
            .init("ya29.", "google-oauth-access-token", "google", url, 30, 2048),
            .init("1//0", "google-oauth-refresh-token", "google", url, 40, 512),
            // AWS and other clouds
            .init("AKIA", "aws-access-key-id", "aws", ByteSet.upperNum, 16, 16),
            .init("ASIA", "aws-access-key-id", "aws", ByteSet.upperNum, 16, 16),
            .init("ABIA", "aws-access-key-id", "aws", ByteSet.upperNum, 16, 16),
            .init("ACCA", "aws-access-key-id", "aws", ByteSet.upperNum, 16, 16),
            .init("LTAI", "alibaba-access-key-id", "alibaba", a, 20, 20, .mixedCase),
            .init("AKID", "tencent-secret-id", "tencent", a, 32, 32, .mixedCase),
            // Package registries and container registries
            .init("npm_", "npm-token", "npm", a, 36, 36, .crc32Base62),
            .init("pypi-AgE", "pypi-token", "pypi", url, 50, 500),
            .init("dckr_pat_", "dockerhub-pat", "docker", url, 20, 64),
            .init("dckr_oat_", "dockerhub-org-token", "docker", url, 20, 64),
            .init("rubygems_", "rubygems-api-key", "rubygems", hexL, 48, 48),
            .init("AKCp", "artifactory-api-key", "jfrog", a, 60, 80, .mixedCase),
            .init("cmVmdGtuOjAxOj", "artifactory-reference-token", "jfrog", a, 40, 80),
            // AI / ML platforms
            .init("hf_", "huggingface-token", "huggingface", a, 30, 40, .mixedCase),
            .init("api_org_", "huggingface-org-token", "huggingface", a, 30, 40, .mixedCase),
            // Hosting / infrastructure
            .init("dop_v1_", "digitalocean-pat", "digitalocean", hexL, 64, 64),
            .init("doo_v1_", "digitalocean-oauth-token", "digitalocean", hexL, 64, 64),
            .init("dor_v1_", "digitalocean-refresh-token", "digitalocean", hexL, 64, 64),
            .init("hvs.", "vault-service-token", "vault", url, 24, 255),
            .init("hvb.", "vault-batch-token", "vault", url, 24, 512),
            .init("hvr.", "vault-recovery-token", "vault", url, 24, 255),
            .init("s.", "vault-token-legacy", "vault", a, 24, 24, .vaultLegacy, conf: 0.8),
            .init("HRKU-AA", "heroku-api-key", "heroku", url, 50, 70),
            .init("tskey-", "tailscale-key", "tailscale", ByteSet.alnumDash, 30, 100),
            .init("dp.pt.", "doppler-token", "doppler", a, 40, 50),
            .init("dp.st.", "doppler-token", "doppler", ByteSet("._-", alnum: true), 40, 90),
            .init("dp.sa.", "doppler-token", "doppler", a, 40, 50),
            .init("dp.ct.", "doppler-token", "doppler", a, 40, 50),
            .init("dp.scim.", "doppler-token", "doppler", a, 40, 50),
            .init("pul-", "pulumi-access-token", "pulumi", hexL, 40, 40),
            .init("sbp_", "supabase-access-token", "supabase", hexL, 40, 40),
            .init("sb_secret_", "supabase-secret-key", "supabase", url, 20, 80),
            .init("pscale_tkn_", "planetscale-token", "planetscale", url, 32, 64),
            .init("pscale_pw_", "planetscale-password", "planetscale", url, 32, 64),
            .init("pscale_oauth_", "planetscale-oauth-token", "planetscale", url, 32, 64),
            .init("fo1_", "flyio-token", "flyio", url, 40, 64),
            .init("fm2_", "flyio-token", "flyio", ByteSet("_-+/=", alnum: true), 40, 1024),
            .init("nfp_", "netlify-pat", "netlify", a, 36, 40),
            .init("rnd_", "render-api-key", "render", a, 28, 40, .mixedCase),
            .init("dt0c01.", "dynatrace-token", "dynatrace", ByteSet(".", upper: true, digits: true), 80, 100),
            .init("dapi", "databricks-token", "databricks", hexL, 32, 32, .hasDigit),
            // Dev tooling
            .init("sntryu_", "sentry-user-token", "sentry", hexL, 64, 64),
            .init("sntrys_", "sentry-org-token", "sentry", ByteSet("_+/=", alnum: true), 50, 300),
            .init("glsa_", "grafana-service-account-token", "grafana", u, 41, 41, .grafanaSA),
            .init("glc_", "grafana-cloud-token", "grafana", ByteSet("+/=", alnum: true), 32, 400),
            .init("lin_api_", "linear-api-key", "linear", a, 40, 40),
            .init("lin_oauth_", "linear-oauth-token", "linear", a, 40, 80),
            .init("PMAK-", "postman-api-key", "postman", ByteSet("-", lowerHex: true), 50, 70),
            .init("NRAK-", "newrelic-user-api-key", "newrelic", ByteSet.upperNum, 27, 27),
            .init("NRII-", "newrelic-insert-key", "newrelic", url, 27, 40),
            .init("ATATT3", "atlassian-api-token", "atlassian", ByteSet("_-=", alnum: true), 150, 250),
            .init("ATBB", "bitbucket-app-password", "atlassian", a, 28, 40, .mixedCase),
            .init("ntn_", "notion-token", "notion", a, 40, 50),
            .init("secret_", "notion-integration-token", "notion", a, 43, 43, .mixedCase),
            .init("figd_", "figma-pat", "figma", url, 38, 60),
            .init("bkua_", "buildkite-token", "buildkite", hexL, 40, 40),
            .init("CCIPAT_", "circleci-token", "circleci", u, 40, 80),
            .init("sgp_", "sourcegraph-token", "sourcegraph", ByteSet("_", lowerHex: true), 40, 60),
            .init("squ_", "sonarqube-token", "sonar", hexL, 40, 40),
            .init("sqp_", "sonarqube-token", "sonar", hexL, 40, 40),
            .init("sqa_", "sonarqube-token", "sonar", hexL, 40, 40),
            .init("CFPAT-", "contentful-pat", "contentful", url, 40, 50),
            .init("tfp_", "typeform-pat", "typeform", url, 40, 64),
            .init("pnu_", "prefect-api-key", "prefect", a, 36, 36),
            .init("rdme_", "readme-api-key", "readme", a, 60, 80),
            .init("ops_eyJ", "1password-service-account-token", "1password", ByteSet("_-.=", alnum: true), 100, 2000),
            .init("AGE-SECRET-KEY-1", "age-secret-key", "private-key", ByteSet.upperNum, 58, 58),
            .init("API-", "octopus-deploy-api-key", "octopus", ByteSet.upperNum, 26, 32, .hasDigit, conf: 0.8),
            // Mail, messaging, payments, commerce
            .init("SG.", "sendgrid-api-key", "sendgrid", ByteSet.b64urlDot, 66, 66, .sendgrid),
            .init("key-", "mailgun-api-key", "mailgun", hexL, 32, 32),
            .init("xkeysib-", "brevo-api-key", "brevo", ByteSet("-", lowerHex: true), 70, 90),
            .init("mlsn.", "mailersend-token", "mailersend", a, 60, 80),
            .init("re_", "resend-api-key", "resend", u, 30, 40, .mixedCase),
            .init("shpat_", "shopify-access-token", "shopify", hex, 32, 32),
            .init("shpca_", "shopify-custom-app-token", "shopify", hex, 32, 32),
            .init("shppa_", "shopify-private-app-token", "shopify", hex, 32, 32),
            .init("shpss_", "shopify-shared-secret", "shopify", hex, 32, 32),
            .init("sq0atp-", "square-access-token", "square", url, 22, 60),
            .init("sq0csp-", "square-oauth-secret", "square", url, 40, 60),
            .init("EAA", "square-or-meta-access-token", "square", url, 56, 400, .eaa),
            .init("shippo_live_", "shippo-api-token", "shippo", hexL, 40, 40),
            .init("FLWSECK-", "flutterwave-secret-key", "flutterwave", ByteSet("-", alnum: true), 32, 60),
            .init("FLWSECK_TEST-", "flutterwave-secret-key", "flutterwave", ByteSet("-", alnum: true), 32, 60),
            .init("access_token$production$", "braintree-access-token", "braintree", ByteSet("$", lowerHex: true, lower: true, digits: true), 40, 80),
            .init("sk.eyJ", "mapbox-secret-token", "mapbox", ByteSet.b64urlDot, 60, 400),
            .init("SK", "twilio-api-key", "twilio", hexL, 32, 32, .twilioKey, conf: 0.85),
            .init("pat", "airtable-pat", "airtable", ByteSet(".", alnum: true), 79, 79, .airtable),
            .init("sdk-", "launchdarkly-sdk-key", "launchdarkly", ByteSet("-", hex: true), 36, 36, .uuid),
            .init("discord.com/api/webhooks/", "discord-webhook-url", "discord", ByteSet("/_-", alnum: true), 70, 140, boundary: false),
            .init("discordapp.com/api/webhooks/", "discord-webhook-url", "discord", ByteSet("/_-", alnum: true), 70, 140, boundary: false),
            .init("webhook.office.com/webhookb2/", "teams-webhook-url", "microsoft", ByteSet("/@-", alnum: true), 60, 250, boundary: false),
        ]
        // Longest prefix first so `sk-ant-` wins over `sk-`.
        r.sort { $0.prefix.count > $1.prefix.count }
        return r
    }()

    /// Rules grouped by the first byte of their prefix: `ordered[firstStart[c] ..< firstStart[c] + firstCount[c]]`.
    static let ordered: [PrefixRule] = {
        rules.enumerated().sorted { a, b in
            a.element.prefix[0] != b.element.prefix[0] ? a.element.prefix[0] < b.element.prefix[0] : a.offset < b.offset
        }.map { $0.element }
    }()
    static let firstStart: [Int] = {
        var t = [Int](repeating: 0, count: 256)
        var seen = [Bool](repeating: false, count: 256)
        for (i, r) in ordered.enumerated() where !seen[Int(r.prefix[0])] {
            seen[Int(r.prefix[0])] = true
            t[Int(r.prefix[0])] = i
        }
        return t
    }()
    static let firstCount: [Int] = {
        var t = [Int](repeating: 0, count: 256)
        for r in ordered { t[Int(r.prefix[0])] += 1 }
        return t
    }()

    static func scan(_ t: Text, into out: inout [Candidate]) {
        let b = t.b
        let n = b.count
        var i = 0
        while i < n {
            let c = b[i]
            let count = firstCount[Int(c)]
            if count == 0 {
                i += 1
                continue
            }
            let boundaryOK = i == 0 || !isAlnum(b[i - 1])
            var advanced = false
            let base = firstStart[Int(c)]
            for k in base..<(base + count) {
                let r = ordered[k]
                if r.boundary && !boundaryOK { continue }
                if !t.matches(r.prefix, at: i) { continue }
                let bodyStart = i + r.prefix.count
                let bodyEnd = t.runEnd(from: bodyStart, in: r.body, limit: r.maxLen + 1)
                var len = bodyEnd - bodyStart
                // A trailing dot is sentence punctuation, not part of the token.
                var end = bodyEnd
                if r.body.contains(0x2E) {
                    while len > 0 && b[end - 1] == 0x2E {
                        end -= 1
                        len -= 1
                    }
                }
                if len < r.minLen || len > r.maxLen { continue }
                if end < n && r.body.contains(b[end]) { continue }
                // The byte after the token must not continue a longer alphanumeric word.
                if end < n && isAlnum(b[end]) { continue }
                let body = b[bodyStart..<end]
                guard let conf = validate(r, body: body, text: t, at: i) else { continue }
                out.append(Candidate(start: i, end: end, ruleID: r.id, family: r.family, confidence: conf, tier: 3))
                i = end
                advanced = true
                break
            }
            if !advanced { i += 1 }
        }
    }

    static func validate(_ r: PrefixRule, body: ArraySlice<UInt8>, text t: Text, at start: Int) -> Double? {
        if Placeholders.isPlaceholder(body) { return nil }
        if Placeholders.isKnownPublic(t.b[start..<(body.endIndex)]) { return nil }
        let shape = Shape(body)
        // Per-rule entropy floor: random bodies of these lengths always clear it; fillers do not.
        let floor = shape.length >= 32 ? 3.0 : (shape.length >= 20 ? 2.8 : 2.5)
        if shape.entropy < floor { return nil }
        var conf = r.confidence
        switch r.check {
        case .none:
            break
        case .crc32Base62:
            let valid: Bool
            if r.maxLen == 76 && body.count == 76 || body.count == 36 {
                valid = CRC32.verifyTrailingBase62(body)
            } else {
                valid = false
            }
            if valid {
                conf = 1.0
            } else {
                // A random-looking body with a bad checksum is still treated as a credential
                // (typo'd or truncated copies leak too), but with lower confidence.
                guard shape.classes >= 3, shape.transitions >= 0.3 else { return nil }
                conf = 0.7
            }
        case .sendgrid:
            guard body.count == 66, body[body.startIndex + 22] == 0x2E else { return nil }
        case .githubFineGrained:
            guard body.contains(0x5F), shape.digits > 0, shape.upper > 0, shape.lower > 0 else { return nil }
        case .vaultLegacy:
            guard shape.upper > 0, shape.lower > 0, shape.digits > 0 else { return nil }
            let lo = max(0, start - 160)
            guard t.containsAnyCI(vaultWords, from: lo, to: min(t.n, start + 60)) else { return nil }
        case .twilioKey:
            guard t.containsAnyCI([bytes("twilio")], from: 0, to: t.n) else { return nil }
        case .openAIGeneric:
            if TextShapes.contains(Array(body), bytes("T3BlbkFJ")) {
                conf = 1.0
                break
            }
            guard shape.digits > 0, shape.letters > 0, shape.entropy >= 3.6 else { return nil }
            if shape.upper > 0 && shape.lower > 0 { break }
            // All-lower hex keys (OpenAI-compatible providers) need 32+ hex chars.
            guard Entropy.isPureHex(body), body.count >= 32 else { return nil }
        case .eaa:
            guard shape.upper > 0, shape.lower > 0, shape.digits > 0, shape.transitions >= 0.35 else { return nil }
            if body.first == 0x41 && body.count <= 70 { conf = 0.9 } else { conf = 0.85 }
        case .airtable:
            guard body.count == 79, body[body.startIndex + 14] == 0x2E,
                body[(body.startIndex + 15)...].allSatisfy(isLowerHex)
            else { return nil }
        case .uuid:
            guard Entropy.isUUID(body) else { return nil }
        case .mixedCase:
            guard shape.upper > 0, shape.lower > 0, shape.digits > 0 || shape.length >= 30 else { return nil }
            guard shape.transitions >= 0.3 else { return nil }
        case .grafanaSA:
            guard body[body.startIndex + 32] == 0x5F, body[(body.startIndex + 33)...].allSatisfy(isHexDigit) else { return nil }
        case .slack:
            // xox?-<digits>-<digits>-… ; at least one numeric group.
            guard let dash = body.firstIndex(of: 0x2D), dash > body.startIndex,
                body[body.startIndex..<dash].allSatisfy(isDigit)
            else {
                guard shape.digits > 0, shape.letters > 0 else { return nil }
                return 0.8
            }
        case .hasDigit:
            guard shape.digits > 0, shape.letters > 0 else { return nil }
        }
        return conf
    }

    static let vaultWords: [[UInt8]] = ["vault", "token", "hashicorp", "x-vault"].map(bytes)
}
