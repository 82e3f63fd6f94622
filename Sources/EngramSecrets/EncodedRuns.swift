/// Secrets inside an encoding: base64 / base64url, hex and percent-encoded runs are decoded and
/// the decoded text is scanned again (`SecretScanner.candidates` at the next depth), so
/// `base64("ghp_…")`, `hex("ghp_…")`, `%67%68%70%5F…` or base64 of an AWS credentials file are
/// caught by the same rules as the plain token.
///
/// Precision: only decodings that are text are rescanned (digests, UUIDs, public keys, images
/// and other binary decode to non-text and are skipped; hex that decodes to a DER private key is
/// the one binary case kept), and the rescan uses only the specific rules — prefix rules with
/// checksums and structure, private keys, structured formats, the AWS pair — while keyword rules
/// count only where the decoded text assigns a value (`password=…`, `"token": "…"`).
///
/// Bounds: two levels of decoding (`maxDepth`), runs of at most `maxRun` bytes and at most
/// `maxRuns` decoded runs per text; every decoding is shorter than its encoding, so the work stays
/// linear in the input.
///
/// Findings cover the whole encoded run in the scanned text and carry the encoding in the rule id:
/// `base64:github-pat`, `hex:aws-access-key-id`, `url:github-pat`, `base64:hex:…` when nested.
enum EncodedRuns {
    static let maxDepth = 2
    static let minBase64 = 24
    static let minHex = 32
    static let minDecoded = 16
    static let maxRun = 65536
    static let maxRuns = 64

    /// base64 and base64url alphabets together (padding handled separately).
    static let runChars = ByteSet("+/-_", alnum: true)
    static let pctChars = ByteSet("%-._~+", alnum: true)

    static func scan(_ t: Text, depth: Int, into out: inout [Candidate]) {
        let b = t.b
        let n = b.count
        let set = runChars
        var decoded = 0
        var i = 0
        while i < n && decoded < maxRuns {
            guard set.contains(b[i]), i == 0 || !set.contains(b[i - 1]) else { i += 1; continue }
            let e = t.runEnd(from: i, in: set)
            var pe = e
            while pe < n && b[pe] == 0x3D && pe - e < 2 { pe += 1 }
            if pe < n && isAlnum(b[pe]) { pe = e } // `key=value`, not padding
            let len = e - i
            if len >= minBase64 && len <= maxRun && b[i] != 0x2D && b[i] != 0x5F {
                let run = b[i..<e]
                if len >= minHex && len % 2 == 0 && run.allSatisfy(isHexDigit) {
                    if let d = decodeHex(run) {
                        decoded += 1
                        if isText(d) {
                            rescan(d, as: "hex", span: i..<e, depth: depth, into: &out)
                        } else if KeyMaterial.derPrivateKeyStart(d) || KeyMaterial.opensshStart(d) {
                            out.append(Candidate(start: i, end: e, ruleID: "hex:" + KeyMaterial.ruleID, family: "private-key", confidence: 0.9, tier: 3))
                        }
                    }
                } else if len % 4 != 1, mayBeBase64(run), textHead(run), let d = decodeBase64(run), isText(d) {
                    decoded += 1
                    rescan(d, as: "base64", span: i..<pe, depth: depth, into: &out)
                }
            }
            i = max(pe, i + 1)
        }
        if b.contains(0x25) { scanPercent(t, depth: depth, into: &out) }
    }

    /// Runs of URL characters holding `%XX` escapes (a whole value percent-encoded, or only some
    /// of its characters).
    static func scanPercent(_ t: Text, depth: Int, into out: inout [Candidate]) {
        let b = t.b
        let n = b.count
        var i = 0
        var runs = 0
        while i + 2 < n && runs < maxRuns {
            guard b[i] == 0x25, isHexDigit(b[i + 1]), isHexDigit(b[i + 2]) else { i += 1; continue }
            let s = t.runStart(before: i, in: pctChars)
            let e = t.runEnd(from: i, in: pctChars, limit: maxRun)
            var d: [UInt8] = []
            d.reserveCapacity(e - s)
            var k = s
            while k < e {
                if b[k] == 0x25 && k + 2 < e && isHexDigit(b[k + 1]) && isHexDigit(b[k + 2]) {
                    d.append(hexValue(b[k + 1]) << 4 | hexValue(b[k + 2]))
                    k += 3
                } else {
                    d.append(b[k])
                    k += 1
                }
            }
            if d.count >= minDecoded && isText(d) {
                runs += 1
                rescan(d, as: "url", span: s..<e, depth: depth, into: &out)
            }
            i = max(e, i + 1)
        }
    }

    /// Scans decoded text with the rules of the next depth; every finding becomes one covering `span`.
    static func rescan(_ d: [UInt8], as encoding: String, span: Range<Int>, depth: Int, into out: inout [Candidate]) {
        let inner = Text(bytes: d)
        var suppressed: [Range<Int>] = []
        let found = SecretScanner.candidates(inner, depth: depth + 1, suppressed: &suppressed)
        guard !found.isEmpty else { return }
        for c in SecretScanner.resolve(found, suppressed: suppressed, minimum: 0.5) {
            out.append(Candidate(start: span.lowerBound, end: span.upperBound, ruleID: encoding + ":" + c.ruleID,
                                 family: c.family, confidence: c.confidence * 0.9, tier: c.tier))
        }
    }

    /// base64 has both letter cases or digits mixed with letters; a run of one lower-case word
    /// joined by `-`/`_` (an identifier) is not worth decoding.
    static func mayBeBase64(_ v: ArraySlice<UInt8>) -> Bool {
        var upper = false, lower = false, digit = false
        for c in v {
            if isUpper(c) { upper = true } else if isLower(c) { lower = true } else if isDigit(c) { digit = true }
            if upper && (lower || digit) { return true }
        }
        return false
    }

    /// The first six decoded bytes are printable: decoding the rest of a binary run is skipped.
    static func textHead(_ run: ArraySlice<UInt8>) -> Bool {
        guard let head = decodeBase64(run.prefix(8)) else { return false }
        return head.allSatisfy { ($0 >= 0x20 && $0 < 0x7F) || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }
    }

    /// Decoded bytes that read as text: at least 90 % printable ASCII or whitespace, some letters.
    static func isText(_ d: [UInt8]) -> Bool {
        guard d.count >= 12 else { return false }
        // Binary fails within the first bytes almost always.
        for c in d.prefix(6) where !(c >= 0x20 && c < 0x7F) && c != 0x0A && c != 0x0D && c != 0x09 { return false }
        var printable = 0, letters = 0
        for c in d {
            if (c >= 0x20 && c < 0x7F) || c == 0x0A || c == 0x0D || c == 0x09 { printable += 1 }
            if isAlpha(c) { letters += 1 }
        }
        return printable * 10 >= d.count * 9 && letters * 4 >= d.count
    }

    @inline(__always) static func hexValue(_ c: UInt8) -> UInt8 { isDigit(c) ? c - 0x30 : (c | 0x20) - 0x61 + 10 }

    static func decodeHex(_ v: ArraySlice<UInt8>) -> [UInt8]? {
        guard v.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(v.count / 2)
        var k = v.startIndex
        while k < v.endIndex {
            out.append(hexValue(v[k]) << 4 | hexValue(v[k + 1]))
            k += 2
        }
        return out
    }
}
