/// Private key material: PEM blocks (PKCS#1/#8, SEC1, DSA, encrypted), OpenSSH and PGP private
/// key blocks, PuTTY key files, base64-wrapped PEM (kubeconfig `client-key-data`), including
/// JSON-escaped `\n` line breaks (service-account JSON). Armour is matched in any spacing, dash
/// count (2+) or case. A header quoted in prose without key material after it is not a finding;
/// a BEGIN … PRIVATE KEY line standing on its own line with nothing after it is (the first piece
/// of a key saved in parts). Bodies without armour are `KeyMaterial`'s. Public blocks
/// (PUBLIC KEY, CERTIFICATE, PGP PUBLIC KEY BLOCK) and `ssh-…` public keys are recorded as
/// suppressed ranges so no other rule fires inside.
enum PrivateKeyRules {
    static let begin = bytes("begin")
    static let privateWord = bytes("PRIVATE KEY")
    static let b64WithEscapes = ByteSet("+/=\\\r\n \t", alnum: true)

    /// An armour line: `-----BEGIN LABEL-----` with 2+ dashes, optional spaces, any case.
    struct Armour {
        /// Upper-cased label with single spaces.
        var label: [UInt8]
        /// Index just past the closing dashes.
        var end: Int
    }

    /// Matches an armour line opening with `word` (lower case: "begin"/"end") at `i`.
    static func armour(_ t: Text, at i: Int, word: [UInt8]) -> Armour? {
        let b = t.b
        let n = b.count
        var j = i
        while j < n && b[j] == 0x2D { j += 1 }
        guard j - i >= 2 else { return nil }
        while j < n && b[j] == 0x20 { j += 1 }
        guard t.matchesCI(word, at: j), j + word.count < n, b[j + word.count] == 0x20 else { return nil }
        j += word.count
        while j < n && b[j] == 0x20 { j += 1 }
        let labelStart = j
        while j < n && j - labelStart < 60 && b[j] != 0x2D && b[j] != 0x0A { j += 1 }
        var close = j
        while close < n && b[close] == 0x2D { close += 1 }
        guard close - j >= 2 else { return nil }
        var label: [UInt8] = []
        for c in b[labelStart..<j] {
            if c == 0x20 || c == 0x09 { if let l = label.last, l != 0x20 { label.append(0x20) } } else { label.append(isLower(c) ? c - 0x20 : c) }
        }
        while label.last == 0x20 { label.removeLast() }
        guard !label.isEmpty else { return nil }
        return Armour(label: label, end: close)
    }

    static func scan(_ t: Text, into out: inout [Candidate], suppressed: inout [Range<Int>]) {
        let b = t.b
        let n = b.count
        var i = 0
        while i + 10 < n {
            guard b[i] == 0x2D, b[i + 1] == 0x2D, i == 0 || b[i - 1] != 0x2D, let head = armour(t, at: i, word: begin) else { i += 1; continue }
            let label = head.label
            let headerEnd = head.end
            let endIdx = findEnd(t, from: headerEnd)
            let blockEnd = endIdx.map { t.lineEnd($0) } ?? min(n, headerEnd)
            if Placeholders.contains(label, privateWord) {
                let body = bodyStats(t, from: headerEnd, to: endIdx ?? n)
                let random = body.b64 >= 64 && body.random
                if random || headerStandsAlone(t, i, headerEnd) {
                    let stop = random ? (endIdx.map { closingEnd(t, $0) } ?? body.lastIndex) : headerEnd
                    var id = "private-key"
                    var family = "private-key"
                    if Placeholders.contains(label, bytes("OPENSSH")) { id = "openssh-private-key" }
                    else if Placeholders.contains(label, bytes("PGP")) { id = "pgp-private-key" }
                    else if Placeholders.contains(label, bytes("RSA")) { id = "rsa-private-key" }
                    else if Placeholders.contains(label, bytes("EC ")) { id = "ec-private-key" }
                    else if Placeholders.contains(label, bytes("ENCRYPTED")) { id = "encrypted-private-key" }
                    if isServiceAccount(t, around: i) { id = "gcp-service-account-key"; family = "gcp" }
                    out.append(Candidate(start: i, end: stop, ruleID: id, family: family, confidence: random ? 1.0 : 0.9, tier: 3))
                    i = max(stop, i + 1)
                    continue
                }
            } else if isPublicLabel(label) {
                suppressed.append(i..<max(blockEnd, headerEnd))
                i = max(blockEnd, headerEnd)
                continue
            }
            i = headerEnd
        }
        scanPuTTY(t, into: &out)
        scanBase64PEM(t, into: &out)
    }

    /// The header is armour, not a quotation: alone on its line (after an optional `> `/`- `
    /// prefix) and followed by nothing but whitespace — the first piece of a key saved in parts.
    /// A header inside a sentence or in quotes/backticks is prose naming the format.
    static func headerStandsAlone(_ t: Text, _ start: Int, _ end: Int) -> Bool {
        var k = t.lineStart(start)
        while k < start {
            let c = t.b[k]
            guard isHSpace(c) || c == 0x3E || c == 0x23 || c == 0x7C || ((c == 0x2D || c == 0x2A || c == 0x2B) && isHSpace(t.at(k + 1))) else { return false }
            k += 1
        }
        var j = end
        while j < t.n && isSpace(t.b[j]) { j += 1 }
        return j == t.n
    }

    static func isPublicLabel(_ label: [UInt8]) -> Bool {
        for w in ["PUBLIC KEY", "CERTIFICATE", "PGP SIGNATURE", "PGP MESSAGE", "X509 CRL", "CERTIFICATE REQUEST", "SSH2 PUBLIC KEY"]
        where Placeholders.contains(label, bytes(w)) { return true }
        return false
    }

    static let endWord = bytes("end")

    /// Start of the closing armour line (`-----END …`, any dash count/spacing/case) after `from`.
    static func findEnd(_ t: Text, from: Int) -> Int? {
        var i = from
        let b = t.b
        while i + 6 <= b.count {
            if b[i] == 0x2D && b[i + 1] == 0x2D {
                var j = i
                while j < b.count && b[j] == 0x2D { j += 1 }
                while j < b.count && b[j] == 0x20 { j += 1 }
                if t.matchesCI(endWord, at: j) && j + 3 < b.count && b[j + 3] == 0x20 { return i }
                i = j
                continue
            }
            i += 1
        }
        return nil
    }

    /// Index just past `-----END … -----`.
    static func closingEnd(_ t: Text, _ endIdx: Int) -> Int {
        if let a = armour(t, at: endIdx, word: endWord) { return a.end }
        var j = endIdx
        let b = t.b
        while j < b.count && b[j] == 0x2D { j += 1 }
        while j < b.count && b[j] != 0x2D && b[j] != 0x0A && j - endIdx < 80 { j += 1 }
        while j < b.count && b[j] == 0x2D { j += 1 }
        return j
    }

    struct BodyStats { var b64 = 0; var random = false; var lastIndex = 0 }

    /// Counts base64 characters of the key body, skipping PEM headers (`Proc-Type:`, `DEK-Info:`,
    /// `Version:`, `Comment:`), blank lines and escaped newlines.
    static func bodyStats(_ t: Text, from: Int, to: Int) -> BodyStats {
        let b = t.b
        var s = BodyStats()
        var i = from
        var sample: [UInt8] = []
        s.lastIndex = from
        var lineStartFlag = true
        while i < to {
            let c = b[i]
            if c == 0x5C { // \n, \\n, \r\n escapes (JSON, doubly-escaped JSON in env vars)
                var k = i
                while k < to && b[k] == 0x5C { k += 1 }
                if k < to && (b[k] == 0x6E || b[k] == 0x72) { i = k + 1; lineStartFlag = true; continue }
                break
            }
            if c == 0x0A || c == 0x0D { i += 1; lineStartFlag = true; continue }
            if c == 0x20 || c == 0x09 { i += 1; continue }
            if lineStartFlag {
                // Quote and list prefixes (`> `, `- `, `* `, `# `, `| `).
                if c == 0x3E || c == 0x23 || c == 0x7C || ((c == 0x2D || c == 0x2A) && i + 1 < to && isHSpace(b[i + 1])) { i += 1; continue }
                // Skip "Header: value" lines.
                var k = i
                while k < to && (isAlnum(b[k]) || b[k] == 0x2D) { k += 1 }
                if k < to && b[k] == 0x3A && k > i {
                    while i < to && b[i] != 0x0A && !(b[i] == 0x5C && i + 1 < to && b[i + 1] == 0x6E) { i += 1 }
                    continue
                }
                lineStartFlag = false
            }
            if isAlnum(c) || c == 0x2B || c == 0x2F || c == 0x3D {
                s.b64 += 1
                if sample.count < 512 { sample.append(c) }
                s.lastIndex = i + 1
                i += 1
                continue
            }
            break // anything else ends the body
        }
        if sample.count >= 64 {
            let shape = Shape(sample)
            s.random = shape.entropy >= 4.0 && !Placeholders.isPlaceholder(sample.prefix(64))
        }
        return s
    }

    static func isServiceAccount(_ t: Text, around i: Int) -> Bool {
        let lo = max(0, i - 2000), hi = min(t.n, i + 4000)
        return t.findCI(bytes("service_account"), from: lo, to: hi) != nil
            || t.findCI(bytes("gserviceaccount.com"), from: lo, to: hi) != nil
    }

    static func scanPuTTY(_ t: Text, into out: inout [Candidate]) {
        guard let s = t.findCI(bytes("putty-user-key-file-"), from: 0, to: t.n),
              let p = t.findCI(bytes("private-lines:"), from: s, to: t.n) else { return }
        let lineEnd = t.lineEnd(p)
        let body = bodyStats(t, from: lineEnd, to: t.n)
        if body.b64 >= 40 {
            out.append(Candidate(start: s, end: body.lastIndex, ruleID: "putty-private-key", family: "private-key", confidence: 0.95, tier: 3))
        }
    }

    /// base64("-----BEGIN ") starts with this; a base64 blob decoding to a private key PEM.
    static let pemB64 = bytes("LS0tLS1CRUdJTi")

    static func scanBase64PEM(_ t: Text, into out: inout [Candidate]) {
        var from = 0
        while let i = t.findCI(pemB64.map(lowerByte), from: from, to: t.n) {
            from = i + 1
            guard t.matches(pemB64, at: i) else { continue }
            let e = t.runEnd(from: i, in: .b64)
            guard e - i >= 100, let decoded = decodeBase64(t.b[i..<e]) else { continue }
            if Placeholders.contains(decoded, privateWord) {
                out.append(Candidate(start: i, end: e, ruleID: "private-key-base64", family: "private-key", confidence: 0.95, tier: 3))
            }
            from = e
        }
    }
}
