/// The value after a key in `key = value`, `key: "value"`, `<key>value</key>` or prose: where it
/// starts and ends, whether it was quoted, and the word before a position.
public enum ValueLexing {
    /// The lower-cased word just before `s` (separated by one space), if any.
    @inlinable public static func previousWord(_ t: Text, before s: Int) -> String? {
        var k = s - 1
        guard k > 0, t.b[k] == 0x20 else { return nil }
        k -= 1
        let ws = t.runStart(before: k + 1, in: .alnum)
        guard ws <= k else { return nil }
        return String(decoding: t.b[ws...k].map(lowerByte), as: UTF8.self)
    }

    /// Bytes that end a bare value: whitespace, quotes, `;`, `,`, closing brackets, `<`, `>`, `&`, `|`.
    @inlinable public static func isValueTerminator(_ c: UInt8) -> Bool {
        isSpace(c) || c == 0x22 || c == 0x27 || c == 0x60 || c == 0x3B || c == 0x2C || c == 0x29 || c == 0x5D
            || c == 0x7D || c == 0x3C || c == 0x3E || c == 0x26 || c == 0x7C
    }

    /// Value starting at `j`: quoted (same line) or a bare token. Returns (start, end, quoted).
    @inlinable public static func extractValue(_ t: Text, at j: Int, xml: Bool) -> (Int, Int, Bool)? {
        let b = t.b
        let n = b.count
        guard j < n else { return nil }
        let c = b[j]
        if c == 0x0A || c == 0x0D { return nil }
        if xml {
            var k = j
            while k < n && b[k] != 0x3C && b[k] != 0x0A { k += 1 }
            return (j, k, true)
        }
        if isQuote(c) {
            var k = j + 1
            while k < n && b[k] != c && b[k] != 0x0A {
                if b[k] == 0x5C && k + 1 < n && b[k + 1] == c {
                    k += 2
                    continue
                }
                k += 1
            }
            if k < n && b[k] == c { return (j + 1, k, true) }
            // Unterminated quote: fall through to a bare token after the quote.
            var e = j + 1
            while e < n && !isValueTerminator(b[e]) { e += 1 }
            return (j + 1, e, false)
        }
        var k = j
        var parens = 0
        while k < n {
            let d = b[k]
            if d == 0x28 { parens += 1 }
            if d == 0x29 {
                if parens > 0 {
                    parens -= 1
                    k += 1
                    continue
                }
            }
            if isValueTerminator(d) { break }
            k += 1
        }
        // Trailing sentence punctuation.
        while k > j && (b[k - 1] == 0x2E || b[k - 1] == 0x3A || b[k - 1] == 0x2C) { k -= 1 }
        return (j, k, false)
    }

    /// Connectors between a key and its value in prose (longest first), in the supported languages.
    public static let isWords: [[UInt8]] = [
        "is:", "is", "was", "are", "=", "is set to", "is now", "set to", "of", "is still", "became", "now",
        // German, Spanish, French, Portuguese, Italian, Dutch (accents folded: é/è → e)
        "ist", "lautet", "war", "ist jetzt", "lautet jetzt", "es", "era", "fue", "es ahora", "est", "etait", "est maintenant",
        "e", "foi", "e agora", "sono", "e ora", "is nu", "blijft",
    ].map(bytes).sorted { $0.count > $1.count }

    /// Copulas that may end "password for the staging box is" (`matchForIs`).
    public static let copulas: Set<String> = ["is", "ist", "lautet", "war", "es", "era", "est", "e", "foi", "fue", "sono"]

    /// Words that open the "for the staging box" part, in the supported languages.
    public static let forWords: [[UInt8]] = [
        "for", "fur", "von", "vom", "der", "zum", "zur", "de", "del", "des", "du", "da", "do", "della", "dello", "di", "pour", "para", "per", "van",
        "voor",
    ].map(bytes)

    /// One of `words` followed by a space.
    @inlinable public static func matchWord(_ t: Text, at j: Int, _ words: [String]) -> Int? {
        for w in words {
            let wb = bytes(w)
            if t.matchesCI(wb, at: j) && isHSpace(t.at(j + wb.count)) { return j + wb.count }
        }
        return nil
    }

    /// Prose connectors: "is", "was", "are", "is set to", "is now".
    @inlinable public static func matchIsWord(_ t: Text, at j: Int) -> Int? {
        for w in isWords where t.matchesCI(w, at: j) {
            let k = j + w.count
            if k < t.n && (isHSpace(t.b[k]) || t.b[k] == 0x3A) {
                var m = k
                if t.b[m] == 0x3A { m += 1 }
                return m
            }
        }
        return nil
    }

    /// "for the staging box is" → index after "is" (≤ 5 words, same line, no punctuation).
    @inlinable public static func matchForIs(_ t: Text, at j: Int) -> Int? {
        guard let opener = forWords.first(where: { t.matchesCI($0, at: j) && isHSpace(t.at(j + $0.count)) }) else { return nil }
        var k = j + opener.count
        var words = 0
        while k < t.n && words < 6 {
            while k < t.n && isHSpace(t.b[k]) { k += 1 }
            let we = t.runEnd(from: k, in: .keyChars)
            if we == k { return nil }
            if we - k <= 6 && copulas.contains(String(decoding: t.b[k..<we].map(lowerByte), as: UTF8.self)) {
                return we < t.n && isHSpace(t.b[we]) ? we : nil
            }
            if we < t.n && t.b[we] == 0x3A && we + 1 < t.n && isHSpace(t.b[we + 1]) { return we + 1 }
            words += 1
            k = we
        }
        return nil
    }

    /// `" value="` after a quoted key (XML appSettings style).
    @inlinable public static func matchValueAttr(_ t: Text, at j: Int) -> Int? {
        var k = j
        while k < t.n && isHSpace(t.b[k]) { k += 1 }
        if t.matchesCI(bytes("value="), at: k) { return k + 6 }
        return nil
    }
}
