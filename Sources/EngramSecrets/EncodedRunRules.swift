import EngramScreening

/// Secrets inside an encoding: base64 / base64url, hex and percent-encoded runs are decoded and
/// the decoded text (`EncodedRuns`) is scanned again (`SecretScanner.candidates` at the next depth), so
/// `base64("ghp_…")`, `hex("ghp_…")`, `%67%68%70%5F…` or base64 of an AWS credentials file are
/// caught by the same rules as the plain token.
///
/// Precision: only decodings that are text are rescanned (digests, UUIDs, public keys, images
/// and other binary decode to non-text and are skipped; hex that decodes to a DER private key is
/// the one binary case kept), and the rescan uses only the specific rules — prefix rules with
/// checksums and structure, private keys, structured formats, the AWS pair — while keyword rules
/// count only where the decoded text assigns a value (`password=…`, `"token": "…"`).
///
/// Bounds: two levels of decoding (`maxDepth`); `EncodedRuns` bounds the runs of one level.
///
/// Findings cover the whole encoded run in the scanned text and carry the encoding in the rule id:
/// `base64:github-pat`, `hex:aws-access-key-id`, `url:github-pat`, `base64:hex:…` when nested.
enum EncodedRunRules {
    static let maxDepth = 2

    static func scan(_ t: Text, depth: Int, into out: inout [Candidate]) {
        EncodedRuns.forEach(in: t) { run in
            if run.isText {
                rescan(run.decoded, as: run.encoding, span: run.span, depth: depth, into: &out)
            } else if KeyMaterial.derPrivateKeyStart(run.decoded) || KeyMaterial.opensshStart(run.decoded) {
                out.append(
                    Candidate(
                        start: run.span.lowerBound,
                        end: run.span.upperBound,
                        ruleID: "hex:" + KeyMaterial.ruleID,
                        family: "private-key",
                        confidence: 0.9,
                        tier: 3
                    )
                )
            }
        }
    }

    /// Scans decoded text with the rules of the next depth; every finding becomes one covering `span`.
    static func rescan(_ d: [UInt8], as encoding: String, span: Range<Int>, depth: Int, into out: inout [Candidate]) {
        let inner = Text(bytes: d)
        var suppressed: [Range<Int>] = []
        let found = SecretScanner.candidates(inner, depth: depth + 1, suppressed: &suppressed)
        guard !found.isEmpty else { return }
        for c in Candidate.resolve(found, suppressed: suppressed, minimum: 0.5) {
            out.append(
                Candidate(
                    start: span.lowerBound,
                    end: span.upperBound,
                    ruleID: encoding + ":" + c.ruleID,
                    family: c.family,
                    confidence: c.confidence * 0.9,
                    tier: c.tier
                )
            )
        }
    }
}
