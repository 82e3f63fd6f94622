import EngramHarmfulDirectives
import EngramPoisoningCore

/// Concealment: content a human reviewer cannot see but an assistant reads (policy rule 1 → block).
///
/// - `hidden-unicode`: code points that render as nothing yet carry, split or reorder text —
///   Unicode tag characters (U+E0000–E007F, "ASCII smuggling"), bidi embeddings/overrides/isolates
///   (U+202A–202E, U+2066–2069, Trojan Source), zero-width and joiner characters (U+200B–200D,
///   U+2060–2064, U+FEFF), fillers (U+115F, U+1160, U+3164, U+FFA0, U+180E), soft hyphens and
///   U+034F inside words, deprecated format characters, and variation selectors used as data (runs,
///   or after ordinary letters; U+E0100–E01EF outside an ideographic variation sequence).
///   Exceptions follow the policy: an emoji ZWJ sequence, a subdivision flag's tag sequence, a
///   single presentation selector after an emoji or keycap base, joiners inside Arabic/Indic
///   scripts, a leading BOM, and right-to-left *letters* (only the controls count).
///   The text is screened again with the invisible characters removed, with the tag characters
///   decoded to ASCII, with variation-selector data decoded to bytes and with overridden spans
///   reversed; whatever those screens find is reported at the hidden span.
/// - `homoglyph-spoofing`: words that mix ASCII letters with Cyrillic/Greek/fullwidth lookalikes;
///   when the text read with the lookalikes folded to ASCII triggers a rule, the spelling was
///   chosen to hide it.
/// - `hidden-markup`: directives inside markup that does not render — HTML comments, Jinja
///   `{# #}` and Handlebars `{{!-- --}}` comments, markdown reference-link comments
///   (`[//]: # (…)`), elements styled `display:none`/`visibility:hidden`/`font-size:0` or marked
///   `hidden`/`aria-hidden`, and collapsed `<details>` blocks. The hidden content is screened; it
///   counts when it triggers a rule or addresses an assistant ("note for Claude", "SYSTEM:",
///   "AI agents:"). Markup mentioned inside code spans, and ordinary tooling comments
///   (`<!-- TODO: screenshot -->`, `<!-- markdownlint-disable -->`), are left alone.
enum Concealment {
    // MARK: hidden unicode

    struct Scalar {
        var v: UInt32
        var lo: Int  // byte offset in the original
        var hi: Int
    }

    static func decodeScalars(_ bytes: [UInt8]) -> [Scalar] {
        var out: [Scalar] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        let n = bytes.count
        while i < n {
            let c = bytes[i]
            var v: UInt32 = 0xFFFD
            var len = 1
            if c < 0x80 {
                v = UInt32(c)
            } else if c >= 0xC2 && c < 0xE0 && i + 1 < n {
                v = (UInt32(c & 0x1F) << 6) | UInt32(bytes[i + 1] & 0x3F)
                len = 2
            } else if c >= 0xE0 && c < 0xF0 && i + 2 < n {
                v = (UInt32(c & 0x0F) << 12) | (UInt32(bytes[i + 1] & 0x3F) << 6) | UInt32(bytes[i + 2] & 0x3F)
                len = 3
            } else if c >= 0xF0 && c < 0xF5 && i + 3 < n {
                v = (UInt32(c & 0x07) << 18) | (UInt32(bytes[i + 1] & 0x3F) << 12) | (UInt32(bytes[i + 2] & 0x3F) << 6) | UInt32(bytes[i + 3] & 0x3F)
                len = 4
            }
            out.append(Scalar(v: v, lo: i, hi: i + len))
            i += len
        }
        return out
    }

    @inline(__always) static func isEmojiish(_ v: UInt32) -> Bool {
        (v >= 0x1F000 && v <= 0x1FAFF) || (v >= 0x2600 && v <= 0x27BF) || v == 0xFE0F || (v >= 0x2190 && v <= 0x21FF)
            || (v >= 0x2300 && v <= 0x23FF) || (v >= 0x2B00 && v <= 0x2BFF) || v == 0x20E3 || v == 0x00A9 || v == 0x00AE
            || (v >= 0x3030 && v <= 0x303D) || (v >= 0x1F1E6 && v <= 0x1F1FF)
    }

    @inline(__always) static func isJoiningScript(_ v: UInt32) -> Bool {
        (v >= 0x0590 && v <= 0x08FF) || (v >= 0x0900 && v <= 0x0DFF) || (v >= 0xFB1D && v <= 0xFDFF)
            || (v >= 0xFE70 && v <= 0xFEFC) || (v >= 0x1800 && v <= 0x18AF) || (v >= 0x0E00 && v <= 0x0FFF)
            || (v >= 0x1000 && v <= 0x109F) || (v >= 0xA980 && v <= 0xA9DF) || (v >= 0x1780 && v <= 0x17FF)
    }

    @inline(__always) static func isLetterish(_ v: UInt32) -> Bool {
        (v >= 0x41 && v <= 0x5A) || (v >= 0x61 && v <= 0x7A) || (v >= 0x30 && v <= 0x39) || (v >= 0xC0 && v <= 0x24F)
            || (v >= 0x370 && v <= 0x52F)
    }

    @inline(__always) static func isIdeograph(_ v: UInt32) -> Bool {
        (v >= 0x4E00 && v <= 0x9FFF) || (v >= 0x3400 && v <= 0x4DBF) || (v >= 0x20000 && v <= 0x2FFFF) || (v >= 0xF900 && v <= 0xFAFF)
    }

    @inline(__always) static func isVS(_ v: UInt32) -> Bool { (v >= 0xFE00 && v <= 0xFE0F) || (v >= 0xE0100 && v <= 0xE01EF) }

    /// Whether scalar `k` is an invisible character that is not part of normal rendering.
    static func isHidden(_ s: [Scalar], _ k: Int) -> Bool {
        let v = s[k].v
        let prev: UInt32 = k > 0 ? s[k - 1].v : 0
        let next: UInt32 = k + 1 < s.count ? s[k + 1].v : 0
        switch v {
        case 0xE0000...0xE007F:
            // Subdivision flag: U+1F3F4 + tag letters + U+E007F cancel tag.
            var j = k
            while j > 0 && s[j - 1].v >= 0xE0020 && s[j - 1].v <= 0xE007F { j -= 1 }
            if j > 0 && s[j - 1].v == 0x1F3F4 {
                var e = k
                while e + 1 < s.count && s[e + 1].v >= 0xE0020 && s[e + 1].v <= 0xE007F { e += 1 }
                if s[e].v == 0xE007F && e - j + 1 <= 8 { return false }
            }
            return true
        case 0x202A...0x202E, 0x2066...0x2069:
            return true
        case 0x200D:
            if (isEmojiish(prev) || (prev >= 0x1F3FB && prev <= 0x1F3FF)) && isEmojiish(next) { return false }
            if isJoiningScript(prev) || isJoiningScript(next) { return false }
            return true
        case 0x200C:
            if isJoiningScript(prev) || isJoiningScript(next) { return false }
            return true
        case 0x200B, 0x2060...0x2064, 0x180E, 0x115F, 0x3164, 0xFFA0, 0x206A...0x206F, 0xFFF9...0xFFFB, 0x1D173...0x1D17A, 0x17B4, 0x17B5, 0x2800:
            if v == 0x2800 { return isLetterish(prev) && isLetterish(next) }
            return true
        case 0x1160:
            return !(prev >= 0x1100 && prev <= 0x11FF)
        case 0xFEFF:
            return k != 0
        case 0x00AD, 0x034F:
            return isLetterish(prev) && isLetterish(next)
        case 0x200E, 0x200F:
            return isLetterish(prev) && isLetterish(next) && prev < 0x80 && next < 0x80
        case 0xFE00...0xFE0F:
            if isVS(prev) || isVS(next) { return true }  // runs of selectors carry data
            if v == 0xFE0F || v == 0xFE0E {
                return !(isEmojiish(prev) || prev == 0x23 || prev == 0x2A || (prev >= 0x30 && prev <= 0x39) || prev >= 0x2000)
            }
            return !(isIdeograph(prev) || (prev >= 0x2000 && prev <= 0x2BFF) || prev >= 0x1F000)
        case 0xE0100...0xE01EF:
            if isVS(prev) || isVS(next) { return true }
            return !isIdeograph(prev)
        default:
            return false
        }
    }

    static func hiddenUnicode(_ bytes: [UInt8], _ t: ScreenText, _ out: inout Hits, depth: Int) {
        let s = decodeScalars(bytes)
        var hidden = [Bool](repeating: false, count: s.count)
        var any = false
        var mixedWord = false
        for k in s.indices where s[k].v >= 0xA0 {
            if isHidden(s, k) {
                hidden[k] = true
                any = true
            }
            if !mixedWord && Homoglyphs.fold(s[k].v) != nil { mixedWord = true }
        }
        if any {
            // One finding per cluster of hidden characters (gaps under 16 bytes merge).
            var spanLo = -1
            var spanHi = -1
            var first = Int.max
            var last = 0
            for k in s.indices where hidden[k] {
                first = min(first, s[k].lo)
                last = max(last, s[k].hi)
                if spanLo >= 0 && s[k].lo - spanHi < 16 {
                    spanHi = s[k].hi
                    continue
                }
                if spanLo >= 0 { out.add("hidden-unicode", .concealment, .block, spanLo + 1, spanHi + 1) }
                spanLo = s[k].lo
                spanHi = s[k].hi
            }
            if spanLo >= 0 { out.add("hidden-unicode", .concealment, .block, spanLo + 1, spanHi + 1) }
            if depth < 2 {
                // What the hidden characters carry, or what they split.
                var cleaned: [UInt8] = []
                var tags: [UInt8] = []
                var vsData: [UInt8] = []
                cleaned.reserveCapacity(bytes.count)
                var reversedSpans: [[UInt8]] = []
                var overrideStart = -1
                for k in s.indices {
                    let v = s[k].v
                    if v >= 0xE0020 && v <= 0xE007E {
                        tags.append(UInt8(v - 0xE0000))
                    } else if hidden[k] && v >= 0xFE00 && v <= 0xFE0F {
                        vsData.append(UInt8(v - 0xFE00))
                    } else if hidden[k] && v >= 0xE0100 && v <= 0xE01EF {
                        vsData.append(UInt8(v - 0xE0100 + 16))
                    }
                    if v == 0x202E || v == 0x202B || v == 0x2067 { overrideStart = k + 1 }
                    if (v == 0x202C || v == 0x2069) && overrideStart >= 0 {
                        var r: [UInt8] = []
                        var j = k - 1
                        while j >= overrideStart {
                            if !hidden[j] { r.append(contentsOf: bytes[s[j].lo..<s[j].hi]) }
                            j -= 1
                        }
                        reversedSpans.append(r)
                        overrideStart = -1
                    }
                    if !hidden[k] { cleaned.append(contentsOf: bytes[s[k].lo..<s[k].hi]) }
                }
                if overrideStart >= 0 {
                    var r: [UInt8] = []
                    var j = s.count - 1
                    while j >= overrideStart {
                        if !hidden[j] { r.append(contentsOf: bytes[s[j].lo..<s[j].hi]) }
                        j -= 1
                    }
                    reversedSpans.append(r)
                }
                var derived: [[UInt8]] = [cleaned]
                if tags.count >= 4 { derived.append(tags) }
                if vsData.count >= 4 { derived.append(vsData) }
                derived.append(contentsOf: reversedSpans)
                for d in derived {
                    for h in PoisonRules.analyse(d, depth: depth + 1) where h.id != "hidden-unicode" {
                        out.add(h.id, h.category, .block, first + 1, last + 1)
                    }
                }
            }
        }
        if mixedWord && depth < 2 { Homoglyphs.check(s, bytes, t, &out, depth: depth) }
    }

    // MARK: hidden markup

    static let commentOpeners: [([UInt8], [UInt8])] = [
        (needle("<!--"), needle("-->")), (needle("{#"), needle("#}")), (needle("{{!--"), needle("--}}")),
        (needle("{{/*"), needle("*/}}")), (needle("[//]: #"), needle("\n")), (needle("[//]: <>"), needle("\n")),
        (needle("[comment]: #"), needle("\n")), (needle("[comment]: <>"), needle("\n")), (needle("[_]: #"), needle("\n")),
        (needle("[//]:#"), needle("\n")), (needle("[hidden]: #"), needle("\n")),
    ]
    static let hiddenStyles = needles([
        "display:none", "display: none", "visibility:hidden", "visibility: hidden", "font-size:0", "font-size: 0",
        "opacity:0", "opacity: 0", "color:transparent", "color: transparent", " hidden>", " hidden ", " hidden=",
        "aria-hidden=\"true\"", "height:0", "height: 0", "max-height:0", "left:-9999", "left: -9999", "clip:rect(0",
        "class=\"sr-only\"", "class=\"hidden\"", "class='hidden'", "text-indent:-9999", "width:0", "<noscript",
        "<template",
    ])
    static let addressees = needles([
        "assistant", " ai ", " ai:", "ai agent", " agent", "claude", "copilot", "cursor", " llm", " gpt", "gemini",
        " model", "system", "instruction", " prompt", "note to", "note for", "memory", "memories", "the user",
        "don't tell", "do not tell", "codex", "chatgpt", " bots", " bot:", "reviewer",
    ])

    /// Whether hidden content is a directive: it triggers a rule or speaks to the assistant.
    static func screenHidden(_ t: ScreenText, _ r: Range<Int>, _ out: inout Hits, depth: Int, _ lo: Int, _ hi: Int) -> Bool {
        if r.isEmpty { return false }
        let content = Array(t.b[r])
        var fired = false
        if depth < 2 {
            for h in PoisonRules.analyse(content, depth: depth + 1) {
                out.add(h.id, h.category, .block, lo, hi)
                fired = true
            }
        }
        if !fired {
            let c = ScreenText(content)
            var words = 0
            var i = 0
            while let w = c.word(after: i, hi: c.b.count) {
                words += 1
                i = w.upperBound
            }
            if words >= 3 && c.any(addressees, in: c.whole) { fired = true }
        }
        if fired { out.add("hidden-markup", .concealment, .block, lo, hi) }
        return fired
    }

    static func hiddenMarkup(_ t: ScreenText, _ out: inout Hits, depth: Int) {
        let b = t.b
        for (open, close) in commentOpeners {
            var from = 0
            while let p = t.find(open, from) {
                let cs = p + open.count
                let ce = t.find(close, cs) ?? (b.count - 1)
                let end = min(b.count, ce + close.count)
                if !inCodeSpan(t, p) { _ = screenHidden(t, cs..<ce, &out, depth: depth, p, end) }
                from = end
            }
        }
        // Elements hidden by style or attribute: screen the element's text.
        for st in hiddenStyles {
            var from = 0
            while let p = t.find(st, from) {
                from = p + st.count
                // the style must sit inside a tag: a '<' before it with no '>' in between
                var j = p
                var inTag = false
                while j > max(0, p - 200) {
                    if b[j] == 0x3E && j != p + st.count - 1 { break }
                    if b[j] == 0x3C {
                        inTag = true
                        break
                    }
                    j -= 1
                }
                if !inTag || inCodeSpan(t, j) { continue }
                guard let gt = t.find(symToken, p) else { continue }
                var e = gt + 1
                var depthTags = 0
                // content until the matching close tag (or 600 bytes)
                while e < min(b.count, gt + 600) {
                    if b[e] == 0x3C {
                        if e + 1 < b.count && b[e + 1] == 0x2F {
                            if depthTags == 0 { break }
                            depthTags -= 1
                        } else {
                            depthTags += 1
                        }
                    }
                    e += 1
                }
                _ = screenHidden(t, (gt + 1)..<e, &out, depth: depth, j, min(b.count, e + 1))
                from = e
            }
        }
        // <details> blocks: collapsed by default.
        var from = 0
        while let p = t.find(detailsToken, from) {
            let e = t.find(detailsToken2, p) ?? (b.count - 1)
            var cs = (t.find(symToken, p) ?? p) + 1
            if let se = t.find(summaryToken, cs, e) { cs = se + 10 }
            if !inCodeSpan(t, p) && cs < e { _ = screenHidden(t, cs..<e, &out, depth: depth, p, min(b.count, e + 10)) }
            from = e + 1
        }
    }

    /// Whether `p` is inside a backtick code span (odd number of backticks before it on its line or paragraph).
    static func inCodeSpan(_ t: ScreenText, _ p: Int) -> Bool {
        var n = 0
        var i = p - 1
        while i >= 0 {
            let c = t.b[i]
            if c == 0x60 { n += 1 }
            if c == 0x0A && i > 0 && t.b[i - 1] == 0x0A { break }
            i -= 1
        }
        return n % 2 == 1
    }
}

/// Lookalike letters folded to ASCII, for `homoglyph-spoofing`.
enum Homoglyphs {
    /// The ASCII letter a Cyrillic/Greek/fullwidth lookalike stands for, or nil.
    static func fold(_ v: UInt32) -> UInt8? {
        switch v {
        case 0x0430, 0x0410, 0x03B1, 0x0391: return 0x61  // а А α Α
        case 0x0435, 0x0415, 0x03B5, 0x0395: return 0x65  // е Е ε Ε
        case 0x043E, 0x041E, 0x03BF, 0x039F: return 0x6F  // о О ο Ο
        case 0x0440, 0x0420, 0x03C1, 0x03A1: return 0x70  // р Р ρ Ρ
        case 0x0441, 0x0421, 0x03F2: return 0x63  // с С ϲ
        case 0x0443, 0x0423, 0x03C5: return 0x79  // у У υ
        case 0x0445, 0x0425, 0x03C7, 0x03A7: return 0x78  // х Х χ Χ
        case 0x0456, 0x0406, 0x03B9, 0x0399: return 0x69  // і І ι Ι
        case 0x0458, 0x0408: return 0x6A  // ј Ј
        case 0x0455, 0x0405: return 0x73  // ѕ Ѕ
        case 0x0501, 0x0500: return 0x64  // ԁ
        case 0x04BB, 0x04BA: return 0x68  // һ
        case 0x043C, 0x041C, 0x039C: return 0x6D  // м (cap) Μ
        case 0x0442, 0x0422, 0x03C4, 0x03A4: return 0x74  // т Т τ Τ
        case 0x043A, 0x041A, 0x03BA, 0x039A: return 0x6B  // к К κ Κ
        case 0x043D, 0x041D, 0x0397: return 0x6E  // н(H) Η
        case 0x0432, 0x0412, 0x0392: return 0x62  // в(B) Β
        case 0x03BD, 0x039D: return 0x6E  // ν Ν
        case 0x0261: return 0x67  // ɡ
        case 0x0131: return 0x69  // ı
        case 0xFF41...0xFF5A: return UInt8(v - 0xFF41 + 0x61)
        case 0xFF21...0xFF3A: return UInt8(v - 0xFF21 + 0x61)
        case 0xFF10...0xFF19: return UInt8(v - 0xFF10 + 0x30)
        default: return nil
        }
    }

    /// Words mixing ASCII letters with lookalikes (or written in fullwidth): screen the folded text.
    static func check(_ s: [Concealment.Scalar], _ bytes: [UInt8], _ t: ScreenText, _ out: inout Hits, depth: Int) {
        var folded: [UInt8] = []
        folded.reserveCapacity(bytes.count)
        var spoofLo = Int.max
        var spoofHi = 0
        var k = 0
        while k < s.count {
            // word = run of letters (ASCII or lookalike or other non-space)
            var e = k
            var ascii = 0
            var look = 0
            var other = 0
            var fullwidth = 0
            while e < s.count {
                let v = s[e].v
                if v < 0x80 && !((v >= 0x61 && v <= 0x7A) || (v >= 0x41 && v <= 0x5A) || (v >= 0x30 && v <= 0x39)) { break }
                if v < 0x80 {
                    ascii += 1
                } else if let _ = fold(v) {
                    look += 1
                    if v >= 0xFF00 { fullwidth += 1 }
                } else {
                    other += 1
                }
                e += 1
            }
            if e == k {
                folded.append(contentsOf: bytes[s[k].lo..<s[k].hi])
                k += 1
                continue
            }
            let spoof = look > 0 && ((ascii > 0 && other == 0) || (fullwidth == look && fullwidth >= 3))
            for j in k..<e {
                if spoof, let a = fold(s[j].v) { folded.append(a) } else { folded.append(contentsOf: bytes[s[j].lo..<s[j].hi]) }
            }
            if spoof {
                spoofLo = min(spoofLo, s[k].lo)
                spoofHi = max(spoofHi, s[e - 1].hi)
            }
            k = e
        }
        if spoofLo == Int.max { return }
        let hits = PoisonRules.analyse(folded, depth: depth + 1)
        if hits.isEmpty { return }
        out.add("homoglyph-spoofing", .concealment, .block, spoofLo + 1, spoofHi + 1)
        for h in hits { out.add(h.id, h.category, .block, spoofLo + 1, spoofHi + 1) }
    }
}

// Needle tables used inside the rules above, built once.
private let symToken = needle(">")
private let detailsToken = needle("<details")
private let detailsToken2 = needle("</details>")
private let summaryToken = needle("</summary>")
