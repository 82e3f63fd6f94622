import EngramScreening

/// The words around a key: the provider named nearby, prose connectors (`… is …`, `… for the
/// staging box is …`) in the supported languages, authorization schemes, digest prose.
extension KeywordRules {
    /// Distinctive provider names near a generic finding, to name the rule (`datadog-api-key`).
    static let contextProviders: [([UInt8], String)] = [
        "datadog", "twilio", "heroku", "sendgrid", "mailgun", "stripe", "slack", "github", "gitlab", "openai", "anthropic",
        "shopify", "sentry", "cloudflare", "algolia", "okta", "auth0", "supabase", "mailchimp", "pagerduty", "newrelic",
        "digitalocean", "huggingface", "pinecone", "bitbucket", "atlassian", "azure", "twitch", "discord", "telegram",
    ].map { (bytes($0), $0) }

    static func contextProvider(_ t: Text, _ s: Int) -> String? {
        let lo = max(0, s - 200)
        let hi = min(t.n, s + 200)
        for (needle, name) in contextProviders where t.findCI(needle, from: lo, to: hi) != nil { return name }
        return nil
    }

    /// `user / password`, `user:password` right after a user-name value.
    static func userSlashPassword(_ t: Text, after e: Int, quotedUser: Bool) -> (Int, Int)? {
        var j = e
        if quotedUser && j < t.n && isQuote(t.b[j]) { j += 1 }
        var sawSep = false
        while j < t.n && (isHSpace(t.b[j]) || t.b[j] == 0x2F) && j - e < 5 {
            if t.b[j] == 0x2F { sawSep = true }
            j += 1
        }
        guard sawSep, j < t.n, let (vs, ve, _) = ValueLexing.extractValue(t, at: j, xml: false), ve - vs >= 6 else { return nil }
        return (vs, ve)
    }

    /// Prose about a digest of a secret ("the sha256 of the token is …", "token hash: …").
    static func proseAboutDigest(_ t: Text, keyStart s: Int, mode: Mode) -> Bool {
        guard mode == .isConn || mode == .direct else { return false }
        let lo = max(t.lineStart(s), s - 40)
        return t.containsAnyCI(digestWords, from: lo, to: s)
    }
    static let digestWords: [[UInt8]] = ["sha1", "sha256", "sha512", "md5", "hash of", "digest of", "fingerprint of", "checksum of", "hmac of"].map(
        bytes
    )

    /// Provider named in the three words before a prose keyword ("the Datadog API key is …").
    static func providerBefore(_ t: Text, _ s: Int) -> String? {
        let lo = max(t.lineStart(s), s - 40)
        let ws = TextShapes.words(t.b[lo..<s])
        for w in ws.suffix(3).reversed() where w.utf8.count > 2 {
            if let p = KeyNames.providerMap[w] { return p }
        }
        return nil
    }

    static let schemes: [[UInt8]] = [
        "bearer", "basic", "token", "digest", "bot", "apikey", "api-key", "oauth", "ssws", "splunk", "genie-key", "key", "sharedaccesssignature",
    ].map(bytes)

    /// `Bearer xyz` → range of `xyz`.
    static func skipScheme(_ t: Text, _ s: Int, _ e: Int) -> (Int, Int)? {
        for sc in schemes where t.matchesCI(sc, at: s) {
            var k = s + sc.count
            guard k < t.n, isHSpace(t.b[k]) else { continue }
            while k < t.n && isHSpace(t.b[k]) { k += 1 }
            guard let (vs, ve, _) = ValueLexing.extractValue(t, at: k, xml: false) else { return nil }
            return (vs, ve)
        }
        return nil
    }
}
