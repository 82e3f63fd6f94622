import EngramScreening

/// Checksummed tokens hidden by ROT13, by reversal, or by both: `tuc_…` (ROT13 of `ghp_…`),
/// `…_phg` (reversed), `…_cut` (reversed ROT13).
///
/// Only prefix rules whose format carries a checksum take part (GitHub `gh?_` and npm tokens:
/// base62 CRC32 in the last six characters), and a finding needs the checksum to verify after
/// undoing the transform. A random word or identifier cannot pass that by chance (1 in 62⁶), so
/// this adds no false positives while the transforms themselves are free to undo.
///
/// Cost: one pass looking at the three letters next to each `_`; a window is transformed and
/// scanned only where they spell a transformed prefix.
enum TransformedTokens {
    static let rules: [PrefixRule] = PrefixRules.rules.filter { $0.check == .crc32Base62 }

    /// The prefix letters before `_` (ROT13) or after it (reversed forms), per transform.
    static let stems: [(TokenTransform, [UInt8])] = rules.flatMap { r -> [(TokenTransform, [UInt8])] in
        let stem = Array(r.prefix.dropLast())  // "ghp"
        return [(.rot13, stem.map(TokenTransform.rot13)), (.reversed, stem.reversed()), (.reversedRot13, stem.reversed().map(TokenTransform.rot13))]
    }

    static func scan(_ t: Text, into out: inout [Candidate]) {
        let b = t.b
        let n = b.count
        var i = 3
        while i + 3 < n {
            guard b[i] == 0x5F else {
                i += 1
                continue
            }
            for (transform, stem) in stems {
                let at = transform == .rot13 ? i - stem.count : i + 1
                guard t.matches(stem, at: at) else { continue }
                let ws = t.runStart(before: i, in: .alnumU)
                let we = t.runEnd(from: i, in: .alnumU, limit: 200)
                if let c = verified(t.b[ws..<we], transform) {
                    let (s, e) = transform == .rot13 ? (ws + c.start, ws + c.end) : (we - c.end, we - c.start)
                    out.append(Candidate(start: s, end: e, ruleID: transform.name + ":" + c.ruleID, family: c.family, confidence: 0.95, tier: 3))
                    i = max(i, e)
                    break
                }
            }
            i += 1
        }
    }

    /// The checksum-verified token in the window after undoing `transform`, in window offsets.
    static func verified(_ window: ArraySlice<UInt8>, _ transform: TokenTransform) -> Candidate? {
        guard window.count >= 40 else { return nil }
        let plain = Text(bytes: transform.apply(window))
        var found: [Candidate] = []
        PrefixRules.scan(plain, into: &found)
        return found.first { c in c.confidence >= 1.0 && rules.contains { $0.id == c.ruleID } }
    }
}
