import EngramScreening

/// Private key material recognised by its structure, with or without armour: a key body saved
/// without its BEGIN/END lines, on one line, joined with spaces, quoted (`> `), listed (`- `),
/// JSON-escaped, after prose, or only a part of it (each half of a split body).
///
/// A *block* is base64 text that may be wrapped over lines or separated by spaces, line prefixes
/// and escaped newlines. A block is key material when its decoded bytes show a private-key layout:
/// - **at its start** (whole body or first part): DER `PrivateKeyInfo` (PKCS#8, also v2),
///   `RSAPrivateKey`/DSA (SEQUENCE, INTEGER 0, big INTEGER), SEC1 `ECPrivateKey` (INTEGER 1,
///   OCTET STRING), `EncryptedPrivateKeyInfo` (PBES2/PKCS#12 algorithm, OCTET STRING), the
///   `openssh-key-v1\0` magic, or an OpenPGP secret-key packet;
/// - **inside** (a later part, tried at all four base64 alignments): a chain of three or more
///   big DER INTEGERs or SSH length-prefixed numbers back to back (RSA/DSA private parameters),
///   the OpenSSH Ed25519 private pair (a 32-byte public key repeated as the tail of the 64-byte
///   private key that follows it), or the tail of an OpenSSH private section (key, comment,
///   padding `01 02 03 …` up to the end).
///
/// Public material has none of these: certificates and `SubjectPublicKeyInfo` start with a nested
/// SEQUENCE, not a version INTEGER; public keys hold one big number (modulus) next to a small one
/// (exponent), never three big ones in a row; `ssh-…` public blobs have no private section.
enum KeyMaterial {
    /// Shortest piece that starts or continues a block (shorter pieces are words, not body lines).
    static let minPiece = 16
    /// Shortest block worth decoding: 60 base64 characters = 45 bytes (an Ed25519 PKCS#8 key is 64).
    static let minBlock = 60
    /// Shortest block searched for structure inside (a later part of a body).
    static let minInner = 80
    /// Shortest OpenSSH block (its first line is the same in every key of a type).
    static let minOpenSSH = 100
    /// Bytes of base64 collected per block (a 4096-bit RSA key is ~3,200).
    static let maxBlock = 16384

    static let ruleID = "private-key-material"

    /// Scans `t`; blocks starting inside `suppressed` (public keys, certificates) are skipped.
    static func scan(_ t: Text, skipping suppressed: [Range<Int>], into out: inout [Candidate]) {
        let b = t.b
        let n = b.count
        var i = 0
        while i < n {
            guard isBody(b[i]), i == 0 || !isBody(b[i - 1]) else {
                i += 1
                continue
            }
            let e = pieceEnd(t, i)
            guard e - i >= minPiece, isMixed(b[i..<e]) else {
                i = e
                continue
            }
            if let r = suppressed.first(where: { $0.contains(i) }) {
                i = max(r.upperBound, e)
                continue
            }
            let block = collect(t, from: i, firstEnd: e)
            if block.chars.count >= minBlock && isKeyMaterial(block) {
                out.append(Candidate(start: block.start, end: block.end, ruleID: ruleID, family: "private-key", confidence: 0.95, tier: 3))
            }
            i = max(block.end, e)
        }
    }

    // MARK: blocks

    @inline(__always) static func isBody(_ c: UInt8) -> Bool { isAlnum(c) || c == 0x2B || c == 0x2F }

    /// A key body line mixes classes; all-hex runs (digests) and plain words are not body lines.
    static func isMixed(_ v: ArraySlice<UInt8>) -> Bool {
        var upper = false
        var lower = false
        var nonHex = false
        var digitOrSym = false
        for c in v {
            if isUpper(c) { upper = true } else if isLower(c) { lower = true } else { digitOrSym = true }
            if !isHexDigit(c) { nonHex = true }
        }
        return nonHex && upper && lower && digitOrSym
    }

    /// End of the piece starting at `i`: body characters, then up to two `=` of padding. An `=`
    /// followed by more body characters is an assignment (`key=MIIE…`), not padding.
    static func pieceEnd(_ t: Text, _ i: Int) -> Int {
        let j = t.runEnd(from: i, in: .b64NoPad)
        var k = j
        while k < t.n && t.b[k] == 0x3D && k - j < 2 { k += 1 }
        if k > j && k < t.n && isBody(t.b[k]) { return j }
        return k
    }

    struct Block {
        var start: Int
        var end: Int
        /// The base64 characters of all pieces, concatenated.
        var chars: [UInt8]
        /// Offsets in `chars` where each piece starts.
        var pieceStarts: [Int]
    }

    /// Joins pieces separated by whitespace, escaped newlines (`\n` in JSON), quotes, commas and
    /// line prefixes (`>`, `#`, `|`, `*`, `- `, `+ `).
    static func collect(_ t: Text, from s: Int, firstEnd e: Int) -> Block {
        let b = t.b
        let n = b.count
        var block = Block(start: s, end: e, chars: Array(b[s..<e]), pieceStarts: [0])
        var end = e
        while block.chars.count < maxBlock && b[end - 1] != 0x3D {
            var k = end
            var separated = false
            while k < n && k - end <= 16 {
                let c = b[k]
                if isSpace(c) {
                    separated = true
                    k += 1
                } else if c == 0x5C && k + 1 < n && (b[k + 1] == 0x6E || b[k + 1] == 0x72) {
                    separated = true
                    k += 2
                } else if c == 0x5C && k + 1 < n && b[k + 1] == 0x5C {
                    k += 1
                } else if c == 0x22 || c == 0x27 || c == 0x2C || c == 0x3E || c == 0x23 || c == 0x7C || c == 0x2A {
                    k += 1
                } else if (c == 0x2D || c == 0x2B) && k + 1 < n && isHSpace(b[k + 1]) && separated {
                    k += 2
                } else {
                    break
                }
            }
            guard separated, k < n, isBody(b[k]) else { break }
            let pe = pieceEnd(t, k)
            let lastLine = pe == n || b[pe] == 0x0A || b[pe] == 0x0D || b[pe] == 0x22 || b[pe] == 0x5C || b[pe] == 0x2D || b[pe - 1] == 0x3D
            guard pe - k >= minPiece || (pe - k >= 2 && lastLine) else { break }
            block.pieceStarts.append(block.chars.count)
            block.chars.append(contentsOf: b[k..<pe])
            end = pe
            if pe - k < minPiece { break }
        }
        block.end = end
        return block
    }

    // MARK: classification

    static func isKeyMaterial(_ block: Block) -> Bool {
        let chars = block.chars
        // A body (or its first part) starting at one of the first pieces: DER starts with 'M'
        // (0x30), OpenSSH with "b3Bl", OpenPGP secret-key packets with 'l' or 'x'.
        for start in block.pieceStarts.prefix(4) {
            let c = chars[start]
            guard c == 0x4D || c == 0x62 || c == 0x6C || c == 0x78 else { continue }
            let stop = min(chars.count, start + 128)
            let head = chars[start..<(start + (stop - start) / 4 * 4)]
            guard let d = decodeBase64(head) else { continue }
            // The first ~77 characters of an OpenSSH key are the same for every key of a type
            // (magic, cipher, key type): a quoted first line alone is not material.
            if derPrivateKeyStart(d) || pgpSecretKeyStart(d) || (opensshStart(d) && chars.count - start >= minOpenSSH) { return true }
        }
        // A later part of a body: structure inside, at the alignment where it was cut.
        guard chars.count >= minInner else { return false }
        for shift in 0..<4 {
            let usable = (chars.count - shift) / 4 * 4
            guard usable >= minInner - 4, let d = decodeBase64(chars[shift..<(shift + usable)]) else { continue }
            if hasPrivateStructureInside(d) { return true }
        }
        return false
    }

    /// pkcs-5 (PBES2, PBES1) and pkcs-12 PBE algorithm OID prefixes (EncryptedPrivateKeyInfo).
    static let pbeOIDs: [[UInt8]] = [[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x05], [0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x0C, 0x01]]

    /// Decoded bytes start like a DER private key (checked as far as the bytes go, so a first
    /// part of a body qualifies).
    static func derPrivateKeyStart(_ d: [UInt8]) -> Bool {
        guard d.count >= 16, d[0] == 0x30, let (outer, p) = BinaryReaders.derLength(d, 1), outer >= 30, p + 3 < d.count else { return false }
        let outerEnd = p + outer
        if d[p] == 0x02 && d[p + 1] == 0x01 {
            let version = d[p + 2]
            let tag = d[p + 3]
            guard let (len, q) = BinaryReaders.derLength(d, p + 4), q + len <= outerEnd else { return false }
            switch (version, tag) {
            case (0, 0x02):  // RSAPrivateKey / DSA: version 0, then a big positive INTEGER
                return len >= 48 && len <= 1100 && (q >= d.count || d[q] != 0 || (q + 1 < d.count && d[q + 1] >= 0x80))
            case (0, 0x30), (1, 0x30):  // PrivateKeyInfo / OneAsymmetricKey: AlgorithmIdentifier, OCTET STRING
                return algorithmThenOctets(d, q, len, oids: nil)
            case (1, 0x04):  // ECPrivateKey: version 1, OCTET STRING d, [0] params / [1] public key
                guard (16...72).contains(len) else { return false }
                let r = q + len
                return r >= d.count || r == outerEnd || d[r] == 0xA0 || d[r] == 0xA1
            default:
                return false
            }
        }
        if d[p] == 0x30, let (len, q) = BinaryReaders.derLength(d, p + 1) {  // EncryptedPrivateKeyInfo
            return algorithmThenOctets(d, q, len, oids: pbeOIDs)
        }
        return false
    }

    /// `SEQUENCE { OID …, params }` of `len` bytes at `q` (content), then an OCTET STRING.
    static func algorithmThenOctets(_ d: [UInt8], _ q: Int, _ len: Int, oids: [[UInt8]]?) -> Bool {
        guard (5...120).contains(len), q + 2 < d.count, d[q] == 0x06, (3...12).contains(Int(d[q + 1])) else { return false }
        if let oids {
            let oid = d[(q + 2)...]
            guard oids.contains(where: { oid.starts(with: $0) }) else { return false }
        }
        let r = q + len
        return r >= d.count || d[r] == 0x04
    }

    static let opensshMagic: [UInt8] = Array("openssh-key-v1".utf8) + [0]

    static func opensshStart(_ d: [UInt8]) -> Bool { d.count >= 20 && d.starts(with: opensshMagic) }

    /// OpenPGP secret-key (tag 5) or secret-subkey (tag 7) packet: version 4–6, creation time,
    /// a public-key algorithm id.
    static func pgpSecretKeyStart(_ d: [UInt8]) -> Bool {
        guard d.count >= 12 else { return false }
        var p: Int
        switch d[0] {
        case 0x94, 0x9C: p = 2  // old format, 1-byte length
        case 0x95, 0x9D: p = 3  // old format, 2-byte length
        case 0xC5, 0xC7: p = d[1] < 192 ? 2 : (d[1] < 224 ? 3 : 6)  // new format
        default: return false
        }
        guard p + 6 < d.count, (4...6).contains(d[p]) else { return false }
        p += 5  // version byte + 4-byte creation time
        let algo = d[p]
        return [1, 2, 3, 16, 17, 18, 19, 22, 25, 26, 27, 28].contains(algo)
    }

    /// Private-key structure anywhere in `d` (a later part of a body, decoded at some alignment).
    static func hasPrivateStructureInside(_ d: [UInt8]) -> Bool {
        let n = d.count
        var p = 0
        while p + 8 < n {
            let c = d[p]
            if c == 0x02 {
                if BinaryReaders.derIntegerChain(d, p) >= 3 { return true }
            } else if c == 0 && d[p + 1] == 0 && d[p + 2] < 0x05 {
                if BinaryReaders.sshNumberChain(d, p) >= 3 || ed25519Pair(d, p) { return true }
            }
            p += 1
        }
        return opensshTail(d)
    }

    /// OpenSSH Ed25519 private section: string(pub 32) string(seed 32 ‖ pub 32), `p` at the second length.
    static func ed25519Pair(_ d: [UInt8], _ p: Int) -> Bool {
        guard p >= 36, p + 68 <= d.count, BinaryReaders.be32(d, p) == 64, BinaryReaders.be32(d, p - 36) == 32 else { return false }
        return d[(p - 32)..<p].elementsEqual(d[(p + 36)..<(p + 68)])
    }

    /// Sizes of the last key field before the comment in OpenSSH private sections (Ed25519 private
    /// key, ECDSA scalars, RSA prime q).
    static let lastFieldSizes = [64, 32, 33, 48, 49, 65, 66, 128, 129, 192, 193, 256, 257, 384, 385, 512, 513]

    /// `… string(last key field) string(comment) 01 02 03 …` ending exactly at the end of `d`.
    static func opensshTail(_ d: [UInt8]) -> Bool {
        let n = d.count
        for pad in 0...7 where pad < n {
            var ok = true
            for k in 0..<pad where d[n - pad + k] != UInt8(k + 1) {
                ok = false
                break
            }
            if !ok { continue }
            let commentEnd = n - pad
            // Comment: printable ASCII, length-prefixed.
            var s = commentEnd
            while true {
                if s >= 4 && BinaryReaders.be32(d, s - 4) == commentEnd - s {
                    let lenAt = s - 4
                    for size in lastFieldSizes where lenAt - 4 - size >= 0 && BinaryReaders.be32(d, lenAt - 4 - size) == size { return true }
                }
                guard s > 0, commentEnd - s < 255, d[s - 1] >= 0x20 && d[s - 1] < 0x7F else { break }
                s -= 1
            }
        }
        return false
    }
}
