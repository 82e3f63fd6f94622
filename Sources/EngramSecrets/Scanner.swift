import EngramScreening

/// Finds credentials in memory text before it is stored.
///
/// Design: a hand-written scanner over the UTF-8 bytes, with no regular expressions. Swift's `Regex`
/// is far too slow on Linux for a per-write filter and `NSRegularExpression` is only moderate;
/// no existing Swift library covers these rule families, so the rules are written by hand:
///
/// 1. **Prefix rules** (`PrefixRules`): one pass over the bytes; a 256-entry first-byte table
///    triggers ~150 provider prefixes (`ghp_`, `AKIA`, `xoxb-`, `sk_live_`, `hvs.` …); the body is
///    then checked for its character class, length, entropy floor and, where the format has one,
///    its checksum (GitHub/npm CRC32) or structure (SendGrid, Grafana, Airtable…).
/// 2. **Private keys** (`PrivateKeyRules`, `KeyMaterial`): PEM/OpenSSH/PGP/PuTTY blocks with
///    real key material, armour in any spacing/dash count/case, and bodies without armour (or a
///    part of one) recognised by their DER/OpenSSH structure.
/// 3. **Structured rules** (`StructuredRules`): JWTs, URLs with credentials, Azure connection
///    strings/SAS/AD secrets, Twilio/Telegram/Discord/Mailchimp shapes, AWS secret keys next to an
///    access key id.
/// 4. **Keyword rules** (`KeywordRules`): credentials without a fixed format, recognised by a
///    secret-ish key name or prose keyword right before the value (assignments in many syntaxes,
///    CLI flags, headers, bearer tokens, "the password is …").
///
/// 5. **Hidden forms**: every family scans the text after `NormalizedText` (NFKC where it matters,
///    zero-width/bidi characters dropped, Latin accents folded; ASCII text is scanned as is);
///    `EncodedRunRules` decodes base64/hex/percent-encoded runs and rescans them with the specific
///    rules; `TransformedTokens` undoes ROT13/reversal for checksummed tokens.
///
/// False positives are controlled by `Placeholders` (documentation keys, templates, masks,
/// defaults, emulator keys), by suppressing public material (public key blocks, `ssh-…` keys,
/// digests, integrity strings), by class-specific value checks and entropy floors (`Entropy`).
///
/// The scanner never returns, logs or stores the secret itself: a `Finding` holds only the rule
/// and the location. It is a value type with no state; `scan` is safe to call concurrently.
public struct SecretScanner: Sendable {
    /// Findings below this confidence are dropped (none of the shipped rules emit lower ones).
    public var minimumConfidence: Double = 0.5

    public init() {}

    /// Scans `text` and returns the credentials found, ordered by position. Empty means clean.
    /// Ranges are Character offsets (see `Finding`).
    public func scan(_ text: String) -> [Finding] {
        let norm = NormalizedText(text)
        let t = Text(bytes: norm.bytes)
        if t.n == 0 { return [] }
        var suppressed: [Range<Int>] = []
        var candidates = Self.candidates(t, depth: 0, suppressed: &suppressed)

        // Non-format-specific findings whose key says "public"/"anon" (NEXT_PUBLIC_…, publicKey) are public by design.
        candidates.removeAll { $0.tier <= 2 && KeywordRules.precedingKeyIsPublic(t, $0.start) }
        // Memories about encrypted-at-rest manifests (SealedSecret, sops, ansible-vault) or about
        // published test vectors: keyword-only findings there are ciphertexts or public vectors.
        if candidates.contains(where: { $0.tier == 1 }) && t.containsAnyCI(Self.contextVeto, from: 0, to: t.n) {
            candidates.removeAll { $0.tier == 1 }
        }
        let kept = Candidate.resolve(candidates, suppressed: suppressed, minimum: minimumConfidence)
        if kept.isEmpty { return [] }
        return Self.toFindings(kept, text: text, normalized: norm)
    }

    /// Convenience: true when `text` contains at least one credential.
    public func containsSecret(_ text: String) -> Bool { !scan(text).isEmpty }

    /// Human-readable rejection for API/MCP errors: names rules and spans, never the secret, e.g.
    /// `rejected: content contains a secret (github-pat at characters 34–74; aws-access-key-id at
    /// 10–30). Remove the credential and save the memory without it.` Findings inside an encoding
    /// or transform (rule ids `base64:github-pat`, `rot13:…`) read `github-pat (base64-encoded)`.
    public static func rejectionMessage(_ findings: [Finding]) -> String {
        if findings.isEmpty { return "accepted: no secret found." }
        var parts: [String] = []
        for (k, f) in findings.enumerated() {
            let span = "\(f.range.lowerBound)\u{2013}\(f.range.upperBound)"
            let rule = describe(ruleID: f.ruleID)
            parts.append(k == 0 ? "\(rule) at characters \(span)" : "\(rule) at \(span)")
        }
        let noun = findings.count == 1 ? "a secret" : "secrets"
        return "rejected: content contains \(noun) (\(parts.joined(separator: "; "))). Remove the credential and save the memory without it."
    }

    static let encodingNames: [String: String] = [
        "base64": "base64-encoded", "hex": "hex-encoded", "url": "URL-encoded", "rot13": "ROT13",
        "reversed": "reversed", "reversed-rot13": "reversed ROT13",
    ]

    /// `base64:hex:github-pat` → `github-pat (hex-encoded inside base64-encoded)`.
    static func describe(ruleID: String) -> String {
        let parts = ruleID.split(separator: ":").map(String.init)
        guard parts.count > 1 else { return ruleID }
        let layers = parts.dropLast().reversed().map { encodingNames[$0] ?? $0 }
        return "\(parts.last!) (\(layers.joined(separator: " inside ")))"
    }

    // MARK: - internals

    /// Every rule family over `t`. `depth` 0 is the memory itself; deeper levels are decoded runs
    /// (`EncodedRunRules`), where only the specific rules apply and keyword findings count only when
    /// the decoded text assigns the value.
    static func candidates(_ t: Text, depth: Int, suppressed: inout [Range<Int>]) -> [Candidate] {
        var out: [Candidate] = []
        out.reserveCapacity(4)
        PrivateKeyRules.scan(t, into: &out, suppressed: &suppressed)
        StructuredRules.scan(t, into: &out, suppressed: &suppressed)
        KeyMaterial.scan(t, skipping: suppressed, into: &out)
        let beforePrefix = out.count
        PrefixRules.scan(t, into: &out)
        StructuredRules.scanAWSSecretNear(t, ids: Array(out[beforePrefix...]), &out)
        if depth == 0 {
            KeywordRules.scan(t, into: &out)
            TransformedTokens.scan(t, into: &out)
        } else {
            var keyword: [Candidate] = []
            KeywordRules.scan(t, into: &keyword)
            out += keyword.filter { KeywordRules.isAssigned(t, valueStart: $0.start) }
        }
        if depth < EncodedRunRules.maxDepth { EncodedRunRules.scan(t, depth: depth, into: &out) }
        return out
    }

    static let contextVeto: [[UInt8]] = [
        "encrypteddata", "sealedsecret", "$ansible_vault", "enc[aes256", "sops:", "test vector", "known-answer",
        "known answer test", "test case 1", "rfc 4231", "rfc 6238", "rfc 4226", "rfc 8032", "rfc 7519", "rfc 7515", "rfc 2202",
    ].map(bytes)

    /// Converts byte offsets of the scanned (normalised) bytes to Character offsets of `text`
    /// (only done when something was found).
    static func toFindings(_ found: [Candidate], text: String, normalized norm: NormalizedText) -> [Finding] {
        let ranges = norm.characterRanges(found.map { $0.start..<$0.end }, in: text)
        return zip(found, ranges).map { c, range in
            Finding(ruleID: c.ruleID, family: c.family, range: range, confidence: c.confidence)
        }
    }
}
