import EngramHarmfulDirectives
import EngramPoisoningCore

/// The rules of the poisoning screen: which behaviours in a memory make it `block`, `flag` or
/// `allow` (policy: `eval/poisoning/README.md`).
///
/// Design: every rule reads one `ScreenText` (`Words.swift`): the UTF-8 bytes lowercased once,
/// split into sentences (not inside code spans), with a first-byte chain index, per-byte counts and
/// a hashed set of adjacent byte pairs. A needle table is checked against the pair set first, so
/// most needles are rejected without touching the text; the rest anchor on their rarest byte. Long
/// texts memoise each table's matches once so that per-sentence lookups are binary searches. No
/// regular expressions; ~20,000 memories/s on one core. Rules recognise *behaviours* — an action,
/// its object, and what the sentence does with them — never corpus sentences. One concept per file:
///
/// 1. **Concealment** → block. `Concealment.swift`: `hidden-unicode` (tag characters, bidi
///    controls, zero-width/filler characters, soft hyphens inside words, variation selectors used as
///    data; not emoji ZWJ sequences, flags, a single presentation selector, joiners in Arabic/Indic
///    text, a leading BOM, RTL letters), `hidden-markup` (HTML/Jinja/Handlebars comments, markdown
///    `[//]: #` comments, `display:none`/`hidden` elements, `<details>`) and `homoglyph-spoofing`.
///    `EncodedPayloads.swift`: `encoded-command`/`encoded-payload` (base64, base32, hex, escapes,
///    percent-encoding, char codes, rot13, reversed text). Hidden and decoded texts are screened
///    again (depth ≤ 2) and what they contain is reported at the hidden span.
///    `obfuscated-text` (`PoisonRules.deobfuscated`): letter-spaced words, quotes/backticks splitting a
///    word, backslash-newline inside words and runs of numeric HTML entities are undone once and the
///    result screened again; anything found there blocks.
/// 2. **Control hijack** → block (`ControlHijack.swift`): `instruction-override`, `persona-hijack`,
///    `fake-system-marker`, `conceal-from-user` (including misleading the user), with phrasing
///    tables for English, Spanish, French, German, Portuguese, Italian, Chinese, Japanese, Russian
///    and a few more languages.
/// 3. **Harmful directives** (category `harmful-directive`): `remote-script-exec`
///    (`RemoteExecution`), `exfiltration-url` and `data-disclosure` (`Exfiltration`),
///    `disable-security-gate` (`SecurityGates`), `review-bypass` (`ReviewBypass`), `weaken-security`
///    (`Weakening`), `untrusted-package-source` and `lookalike-package` (`SupplyChain`),
///    `ci-secret-exposure` and `secret-logging` (`CISecrets`), `memory-tool-misuse`, `erase-traces`,
///    `reduce-oversight` and `steer-advice` (`AgentOversight`), `destructive-default` and `backdoor`
///    (`Destruction`).
/// 4. **Authority claims** (`Authority.swift`): `authority-claim` is reported only next to a
///    harmful directive or a hijack, and makes the memory block.
///
/// Block versus flag for harmful directives (`Scope.decide`): a directive stated generally
/// ("always", "every repo", "for all environments", production), aimed at an unknown or outside
/// host, or paired with concealment, a hijack or an authority claim → block; one scoped to a file,
/// path, test, host, dev/staging/local, a ticket or "only when", or aimed at the org's own hosts
/// (`*.corp.*`, `internal`, private IPs, "our …") or a recognised vendor → flag; a *fact* that
/// describes or keeps a live weakening ("… uses `verify=False`; leave it") → flag; a fact about
/// ordinary setup ("our install docs use the rustup one-liner") → allow.
///
/// Negation and framing (`Scope.swift`) are shared: a negator before the action or a verdict phrase
/// after it ("never …", "is not allowed", "avoid …", "is never the fix") cancels it; tests,
/// fixtures, evals, filters, threat models and postmortems that *mention* attack vocabulary are
/// subject matter; quoted attack strings in a test/doc context are not instructions; remediated
/// weaknesses ("we replaced it in PR #881") are history.
///
/// Ranges are Character offsets of the triggering text; a finding never carries the text itself.
enum PoisonRules {
    static func findings(in text: String) -> [PoisonFinding] {
        let bytes = Array(text.utf8)
        if bytes.isEmpty { return [] }
        let hits = analyse(bytes, depth: 0)
        if hits.isEmpty { return [] }
        return toFindings(hits, text: text, byteCount: bytes.count)
    }

    /// Every rule over `bytes`; hits are in `ScreenText` coordinates (original byte offset + 1).
    static func analyse(_ bytes: [UInt8], depth: Int) -> [Hit] {
        let t = ScreenText(bytes)
        var out = Hits()
        if t.hasNonASCII { Concealment.hiddenUnicode(bytes, t, &out, depth: depth) }
        Concealment.hiddenMarkup(t, &out, depth: depth)
        EncodedPayloads.scan(t, bytes, &out, depth: depth)
        ControlHijack.scan(t, &out)
        RemoteExecution.scan(t, &out)
        Exfiltration.scan(t, &out)
        SecurityGates.scan(t, &out)
        ReviewBypass.scan(t, &out)
        Weakening.scan(t, &out)
        SupplyChain.scan(t, &out)
        CISecrets.scan(t, &out)
        AgentOversight.scan(t, &out)
        Destruction.scan(t, &out)
        if depth == 0, let collapsed = deobfuscated(bytes) {
            // "c u r l … | s h": letter-spaced words hide a command from keyword review; read them joined.
            let inner = analyse(collapsed, depth: depth + 1)
            if inner.contains(where: { $0.category != .authority }) {
                out.add("obfuscated-text", .concealment, .block, 1, bytes.count + 1)
                for h in inner where h.category != .concealment { out.add(h.id, h.category, h.verdict, 1, bytes.count + 1) }
            }
        }
        if out.list.isEmpty { return [] }
        Authority.scan(t, &out)
        // Harmful directives paired with concealment, a hijack or an authority claim are attacks.
        if out.list.contains(where: { $0.category != .harmful && $0.verdict == .block }) {
            for k in out.list.indices where out.list[k].category == .harmful { out.list[k].verdict = .block }
        }
        return out.list
    }

    /// The text with letter-spaced words joined ("c u r l" → "curl"), or nil when it has no run of
    /// four or more single letters separated by single spaces.
    static func despaced(_ b: [UInt8]) -> [UInt8]? {
        @inline(__always) func letter(_ c: UInt8) -> Bool { (c | 0x20) >= 0x61 && (c | 0x20) <= 0x7A }
        let n = b.count
        if n < 7 { return nil }
        // a space joining two single letters: `x y` with non-letters around
        @inline(__always) func joinable(_ i: Int) -> Bool {
            b[i] == 0x20 && i >= 1 && i + 1 < n && letter(b[i - 1]) && letter(b[i + 1])
                && (i < 2 || !letter(b[i - 2])) && (i + 2 >= n || !letter(b[i + 2]))
        }
        var run = 0
        var found = false
        var i = 1
        while i + 1 < n {
            if joinable(i) {
                run += 1
                if run >= 3 {
                    found = true
                    break
                }
                i += 2
            } else {
                run = 0
                i += 1
            }
        }
        if !found { return nil }
        var out = [UInt8]()
        out.reserveCapacity(n)
        for k in 0..<n where !joinable(k) { out.append(b[k]) }
        return out
    }

    /// The text with in-word obfuscation undone — letter spacing (`c u r l`), quotes or backticks
    /// splitting a word (`c"u"rl`, ``i`e`x``), backslash-newline continuations inside words, runs of
    /// numeric HTML entities (`&#99;&#117;…`) — or nil when there is none.
    static func deobfuscated(_ b: [UInt8]) -> [UInt8]? {
        @inline(__always) func letter(_ c: UInt8) -> Bool { (c | 0x20) >= 0x61 && (c | 0x20) <= 0x7A }
        var cur = b
        var changed = false
        if let d = despaced(cur) {
            cur = d
            changed = true
        }
        // quote/backtick between two letters, backslash-newline
        var out = [UInt8]()
        var hit = false
        var i = 0
        let n = cur.count
        out.reserveCapacity(n)
        while i < n {
            let c = cur[i]
            if (c == 0x22 || c == 0x60) && i > 0 && i + 1 < n && letter(cur[i - 1]) && letter(cur[i + 1]) {
                hit = true
                i += 1
                continue
            }
            if c == 0x5C && i + 1 < n && cur[i + 1] == 0x0A {
                hit = true
                i += 2
                while i < n && (cur[i] == 0x20 || cur[i] == 0x09) && (out.last.map { !letter($0) } ?? true) {
                    out.append(cur[i])
                    i += 1
                }
                continue
            }
            // &#NN; / &#xNN; (ASCII only), when at least three follow each other
            if c == 0x26 && i + 3 < n && cur[i + 1] == 0x23 {
                var j = i
                var dec: [UInt8] = []
                while j + 3 < n && cur[j] == 0x26 && cur[j + 1] == 0x23 {
                    var k = j + 2
                    var hex = false
                    if cur[k] | 0x20 == 0x78 {
                        hex = true
                        k += 1
                    }
                    var v = 0
                    let start = k
                    while k < n && k - start < 6, let d = digit(cur[k], hex) {
                        v = v * (hex ? 16 : 10) + d
                        k += 1
                    }
                    guard k > start, k < n, cur[k] == 0x3B, v >= 0x20 && v < 0x7F else { break }
                    dec.append(UInt8(v))
                    j = k + 1
                }
                if dec.count >= 3 {
                    hit = true
                    out.append(contentsOf: dec)
                    i = j
                    continue
                }
            }
            out.append(c)
            i += 1
        }
        if hit {
            cur = out
            changed = true
        }
        return changed ? cur : nil
    }

    @inline(__always) static func digit(_ c: UInt8, _ hex: Bool) -> Int? {
        if c >= 0x30 && c <= 0x39 { return Int(c - 0x30) }
        if hex, (c | 0x20) >= 0x61 && (c | 0x20) <= 0x66 { return Int((c | 0x20) - 0x61 + 10) }
        return nil
    }

    /// Byte spans (ScreenText coordinates) → Character offsets of the original text.
    static func toFindings(_ hits: [Hit], text: String, byteCount: Int) -> [PoisonFinding] {
        // Character index of every byte offset, computed once.
        var charOfByte = [Int32](repeating: 0, count: byteCount + 1)
        var b = 0
        var c: Int32 = 0
        for ch in text {
            let n = ch.utf8.count
            for k in 0..<n where b + k < byteCount { charOfByte[b + k] = c }
            b += n
            c += 1
        }
        if b <= byteCount { charOfByte[min(b, byteCount)] = c }
        var seen = Set<String>()
        var out: [PoisonFinding] = []
        for h in hits {
            let lo = min(max(h.lo - 1, 0), byteCount)
            let hi = min(max(h.hi - 1, lo), byteCount)
            let cl = Int(charOfByte[lo])
            var ch = hi > lo ? Int(charOfByte[hi - 1]) + 1 : cl
            if lo == byteCount { ch = cl }
            let key = "\(h.id)|\(cl)|\(ch)"
            if !seen.insert(key).inserted { continue }
            out.append(PoisonFinding(ruleID: h.id, category: h.category.rawValue, verdict: h.verdict, range: cl..<max(ch, cl)))
        }
        return out
    }
}
