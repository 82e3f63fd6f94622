import EngramScreening

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

    static func scan(_ t: Text, into out: inout [Candidate], suppressed: inout [Range<Int>]) {
        let b = t.b
        let n = b.count
        var i = 0
        while i + 10 < n {
            guard b[i] == 0x2D, b[i + 1] == 0x2D, i == 0 || b[i - 1] != 0x2D, let head = Armour.line(t, at: i, word: begin) else {
                i += 1
                continue
            }
            let label = head.label
            let headerEnd = head.end
            let endIdx = Armour.findEnd(t, from: headerEnd)
            let blockEnd = endIdx.map { t.lineEnd($0) } ?? min(n, headerEnd)
            if TextShapes.contains(label, privateWord) {
                let body = bodyStats(t, from: headerEnd, to: endIdx ?? n)
                let random = body.b64 >= 64 && body.random
                if random || Armour.standsAlone(t, i, headerEnd) {
                    let stop = random ? (endIdx.map { Armour.closingEnd(t, $0) } ?? body.lastIndex) : headerEnd
                    var id = "private-key"
                    var family = "private-key"
                    if TextShapes.contains(label, bytes("OPENSSH")) {
                        id = "openssh-private-key"
                    } else if TextShapes.contains(label, bytes("PGP")) {
                        id = "pgp-private-key"
                    } else if TextShapes.contains(label, bytes("RSA")) {
                        id = "rsa-private-key"
                    } else if TextShapes.contains(label, bytes("EC ")) {
                        id = "ec-private-key"
                    } else if TextShapes.contains(label, bytes("ENCRYPTED")) {
                        id = "encrypted-private-key"
                    }
                    if isServiceAccount(t, around: i) {
                        id = "gcp-service-account-key"
                        family = "gcp"
                    }
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

    static func isPublicLabel(_ label: [UInt8]) -> Bool {
        for w in ["PUBLIC KEY", "CERTIFICATE", "PGP SIGNATURE", "PGP MESSAGE", "X509 CRL", "CERTIFICATE REQUEST", "SSH2 PUBLIC KEY"]
        where TextShapes.contains(label, bytes(w)) { return true }
        return false
    }

    struct BodyStats {
        var b64 = 0
        var random = false
        var lastIndex = 0
    }

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
            if c == 0x5C {  // \n, \\n, \r\n escapes (JSON, doubly-escaped JSON in env vars)
                var k = i
                while k < to && b[k] == 0x5C { k += 1 }
                if k < to && (b[k] == 0x6E || b[k] == 0x72) {
                    i = k + 1
                    lineStartFlag = true
                    continue
                }
                break
            }
            if c == 0x0A || c == 0x0D {
                i += 1
                lineStartFlag = true
                continue
            }
            if c == 0x20 || c == 0x09 {
                i += 1
                continue
            }
            if lineStartFlag {
                // Quote and list prefixes (`> `, `- `, `* `, `# `, `| `).
                if c == 0x3E || c == 0x23 || c == 0x7C || ((c == 0x2D || c == 0x2A) && i + 1 < to && isHSpace(b[i + 1])) {
                    i += 1
                    continue
                }
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
            break  // anything else ends the body
        }
        if sample.count >= 64 {
            let shape = Shape(sample)
            s.random = shape.entropy >= 4.0 && !Placeholders.isPlaceholder(sample.prefix(64))
        }
        return s
    }

    static func isServiceAccount(_ t: Text, around i: Int) -> Bool {
        let lo = max(0, i - 2000)
        let hi = min(t.n, i + 4000)
        return t.findCI(bytes("service_account"), from: lo, to: hi) != nil
            || t.findCI(bytes("gserviceaccount.com"), from: lo, to: hi) != nil
    }

    static func scanPuTTY(_ t: Text, into out: inout [Candidate]) {
        guard let s = t.findCI(bytes("putty-user-key-file-"), from: 0, to: t.n),
            let p = t.findCI(bytes("private-lines:"), from: s, to: t.n)
        else { return }
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
            if TextShapes.contains(decoded, privateWord) {
                out.append(Candidate(start: i, end: e, ruleID: "private-key-base64", family: "private-key", confidence: 0.95, tier: 3))
            }
            from = e
        }
    }
}
