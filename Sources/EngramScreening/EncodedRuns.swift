/// Encoded runs inside a text: base64 / base64url, hex and percent-encoded runs, decoded. A screen
/// that cares about what a text hides (secrets in `base64("ghp_…")`, `%67%68%70%5F…`) rescans the
/// decodings it is handed.
///
/// Precision: only decodings that are text are handed over as text (digests, UUIDs, public keys,
/// images and other binary decode to non-text); hex that decodes to binary is handed over marked
/// as binary, for callers that recognise binary structures.
///
/// Bounds: runs of at most `maxRun` bytes and at most `maxRuns` decoded runs per text; every
/// decoding is shorter than its encoding, so the work stays linear in the input.
public enum EncodedRuns {
    /// Shortest base64 and hex runs decoded, shortest percent-decoded text kept.
    public static let minBase64 = 24
    public static let minHex = 32
    public static let minDecoded = 16
    /// Longest run decoded.
    public static let maxRun = 65536
    /// Most runs decoded per text.
    public static let maxRuns = 64

    /// base64 and base64url alphabets together (padding handled separately).
    public static let runChars = ByteSet("+/-_", alnum: true)
    /// Characters of a percent-encoded run.
    public static let pctChars = ByteSet("%-._~+", alnum: true)

    /// One decoded run: the encoding (`base64`, `hex` or `url`), the span of the run in the scanned
    /// text, the decoded bytes, and whether they read as text.
    public struct Run: Sendable {
        /// `base64`, `hex` or `url`.
        public let encoding: String
        /// Where the run sits in the scanned text (bytes).
        public let span: Range<Int>
        /// The decoded bytes.
        public let decoded: [UInt8]
        /// Whether the decoded bytes read as text.
        public let isText: Bool

        /// A decoded run.
        @inlinable public init(encoding: String, span: Range<Int>, decoded: [UInt8], isText: Bool) {
            self.encoding = encoding
            self.span = span
            self.decoded = decoded
            self.isText = isText
        }
    }

    /// Calls `visit` for every decoded run of `t`, in order: base64 and hex runs that decode to text
    /// (and hex runs that decode to binary, with `isText` false), then percent-encoded runs.
    @inlinable public static func forEach(in t: Text, _ visit: (Run) -> Void) {
        let b = t.b
        let n = b.count
        let set = runChars
        var decoded = 0
        var i = 0
        while i < n && decoded < maxRuns {
            guard set.contains(b[i]), i == 0 || !set.contains(b[i - 1]) else {
                i += 1
                continue
            }
            let e = t.runEnd(from: i, in: set)
            var pe = e
            while pe < n && b[pe] == 0x3D && pe - e < 2 { pe += 1 }
            if pe < n && isAlnum(b[pe]) { pe = e }  // `key=value`, not padding
            let len = e - i
            if len >= minBase64 && len <= maxRun && b[i] != 0x2D && b[i] != 0x5F {
                let run = b[i..<e]
                if len >= minHex && len % 2 == 0 && run.allSatisfy(isHexDigit) {
                    if let d = decodeHex(run) {
                        decoded += 1
                        visit(Run(encoding: "hex", span: i..<e, decoded: d, isText: isText(d)))
                    }
                } else if len % 4 != 1, mayBeBase64(run), textHead(run), let d = decodeBase64(run), isText(d) {
                    decoded += 1
                    visit(Run(encoding: "base64", span: i..<pe, decoded: d, isText: true))
                }
            }
            i = max(pe, i + 1)
        }
        if b.contains(0x25) { forEachPercent(in: t, visit) }
    }

    /// Runs of URL characters holding `%XX` escapes (a whole value percent-encoded, or only some
    /// of its characters).
    @inlinable public static func forEachPercent(in t: Text, _ visit: (Run) -> Void) {
        let b = t.b
        let n = b.count
        var i = 0
        var runs = 0
        while i + 2 < n && runs < maxRuns {
            guard b[i] == 0x25, isHexDigit(b[i + 1]), isHexDigit(b[i + 2]) else {
                i += 1
                continue
            }
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
                visit(Run(encoding: "url", span: s..<e, decoded: d, isText: true))
            }
            i = max(e, i + 1)
        }
    }

    /// base64 has both letter cases or digits mixed with letters; a run of one lower-case word
    /// joined by `-`/`_` (an identifier) is not worth decoding.
    @inlinable public static func mayBeBase64(_ v: ArraySlice<UInt8>) -> Bool {
        var upper = false
        var lower = false
        var digit = false
        for c in v {
            if isUpper(c) { upper = true } else if isLower(c) { lower = true } else if isDigit(c) { digit = true }
            if upper && (lower || digit) { return true }
        }
        return false
    }

    /// The first six decoded bytes are printable: decoding the rest of a binary run is skipped.
    @inlinable public static func textHead(_ run: ArraySlice<UInt8>) -> Bool {
        guard let head = decodeBase64(run.prefix(8)) else { return false }
        return head.allSatisfy { ($0 >= 0x20 && $0 < 0x7F) || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }
    }

    /// Decoded bytes that read as text: at least 90 % printable ASCII or whitespace, some letters.
    @inlinable public static func isText(_ d: [UInt8]) -> Bool {
        guard d.count >= 12 else { return false }
        // Binary fails within the first bytes almost always.
        for c in d.prefix(6) where !(c >= 0x20 && c < 0x7F) && c != 0x0A && c != 0x0D && c != 0x09 { return false }
        var printable = 0
        var letters = 0
        for c in d {
            if (c >= 0x20 && c < 0x7F) || c == 0x0A || c == 0x0D || c == 0x09 { printable += 1 }
            if isAlpha(c) { letters += 1 }
        }
        return printable * 10 >= d.count * 9 && letters * 4 >= d.count
    }

    /// Value of one hex digit.
    @inlinable @inline(__always) public static func hexValue(_ c: UInt8) -> UInt8 { isDigit(c) ? c - 0x30 : (c | 0x20) - 0x61 + 10 }

    @inlinable public static func decodeHex(_ v: ArraySlice<UInt8>) -> [UInt8]? {
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
