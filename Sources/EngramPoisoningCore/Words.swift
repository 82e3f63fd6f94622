/// The text every rule reads: the memory's UTF-8 bytes lowercased once, split into sentences, with
/// a first-byte position index so that a needle lookup touches only the places where it can start.
///
/// Why bytes and needles: the screen runs on every write, and Swift's `Regex` is far too slow on
/// Linux for that. Rules are phrased as small needle tables ("an action", "its object", "a
/// negator") checked inside one sentence, so each lookup walks a short chain of candidate
/// positions instead of the whole text.
///
/// Needle syntax: a needle is lowercase UTF-8; a space in a needle matches any single byte that is
/// not an ASCII letter or digit (so `" rm -rf "` also matches `"\`rm -rf\`"`, and a leading or
/// trailing space is a word boundary — the buffer is padded with a space at both ends).
///
/// Speed: a needle table (`Needles`) carries, per needle, up to six hashed byte pairs; the text's
/// pair set rejects most needles before any search, and the rest anchor on their rarest byte (a byte
/// absent from the text rejects at once). Texts with many sentences memoise each table's matches
/// over the whole text once (`MatchCache`, keyed by the table's identity — so tables must be
/// long-lived `static`/global constants, never temporaries built per call), and `all` returns at most
/// `maxMatches` matches so that a phrase repeated thousands of times stays linear.
///
/// Lowercasing is length-preserving: ASCII, Latin-1 capitals (`É` → `é`) and Cyrillic capitals
/// (`И` → `и`), so that byte offsets in `b` are byte offsets in the original text plus one.
package struct ScreenText {
    /// Lowercased bytes, padded with one space at each end.
    package let b: [UInt8]
    /// Length of the original text in bytes.
    package let n: Int
    /// Sentence spans in `b` coordinates (split at `.!?` before whitespace, `;`, newlines).
    package private(set) var sentences: [Range<Int>] = []
    /// First-byte chains: `head[c]` is the first position of byte `c`, `next[i]` the next one.
    private var head: [Int32]
    private var next: [Int32]
    /// How often each byte value occurs: a needle containing an absent byte is rejected at once,
    /// and the rarest byte of a needle anchors its search.
    private var counts: [Int32]
    /// True when the text has any byte ≥ 0x80.
    package let hasNonASCII: Bool
    /// For long texts: every table's matches over the whole text, computed once per table, so that
    /// per-sentence lookups are a binary search instead of a rescan.
    private let cache: MatchCache?
    /// Hashed set of the text's adjacent byte pairs (1024 bits): a needle whose pairs are not all
    /// present cannot occur, which rejects most needles of a table without touching the text.
    private var pairs: [UInt64]

    package init<C: Collection>(_ utf8: C) where C.Element == UInt8 {
        var out = [UInt8]()
        out.reserveCapacity(utf8.count + 2)
        out.append(0x20)
        var nonASCII = false
        var prev: UInt8 = 0
        for c in utf8 {
            var x = c
            if c >= 0x41 && c <= 0x5A {
                x = c | 0x20
            } else if c >= 0x80 {
                nonASCII = true
                if prev == 0xC3 && c >= 0x80 && c <= 0x9E && c != 0x97 {
                    x = c + 0x20  // Latin-1 capitals
                } else if prev == 0xD0 && c >= 0x90 && c <= 0x9F {
                    x = c + 0x20  // А–П → а–п
                } else if prev == 0xD0 && c >= 0xA0 && c <= 0xAF {
                    // Р–Я → р–я lives under lead byte D1: rewrite both bytes.
                    out[out.count - 1] = 0xD1
                    x = c - 0x20
                }
            }
            out.append(x)
            prev = c
        }
        out.append(0x20)
        b = out
        n = out.count - 2
        hasNonASCII = nonASCII
        var head = [Int32](repeating: -1, count: 256)
        var next = [Int32](repeating: -1, count: out.count)
        var counts = [Int32](repeating: 0, count: 256)
        out.withUnsafeBufferPointer { p in
            var i = p.count - 1
            while i >= 0 {
                let c = Int(p[i])
                next[i] = head[c]
                head[c] = Int32(i)
                counts[c] &+= 1
                i -= 1
            }
        }
        self.head = head
        self.next = next
        self.counts = counts
        var pairs = [UInt64](repeating: 0, count: 16)
        out.withUnsafeBufferPointer { p in
            var i = 0
            while i + 1 < p.count {
                let h = Needles.pairHash(p[i], p[i + 1])
                pairs[h >> 6] |= 1 << UInt64(h & 63)
                i += 1
            }
        }
        self.pairs = pairs
        sentences = Self.splitSentences(b)
        cache = (sentences.count > 6 || n > 2_000) ? MatchCache() : nil
    }

    /// Matches of every needle of `n` over the whole text, sorted by position (long texts only).
    private func positions(_ n: Needles, _ cache: MatchCache) -> [(Int, Int)] {
        let key = ObjectIdentifier(n)
        if let hit = cache.map[key] { return hit }
        var out: [(Int, Int)] = []
        for k in n.list.indices where mayContain(n, k) {
            let x = n.list[k]
            matchesOf(x) { out.append(($0, x.count)) }
        }
        out.sort { $0.0 < $1.0 }
        cache.map[key] = out
        return out
    }

    /// Index of the first cached match at or after `lo`.
    private func lowerBound(_ ps: [(Int, Int)], _ lo: Int) -> Int {
        var a = 0
        var z = ps.count
        while a < z {
            let m = (a + z) / 2
            if ps[m].0 < lo { a = m + 1 } else { z = m }
        }
        return a
    }

    @inline(__always) package static func isAlnum(_ c: UInt8) -> Bool {
        (c >= 0x61 && c <= 0x7A) || (c >= 0x30 && c <= 0x39)
    }

    @inline(__always) package static func isSpace(_ c: UInt8) -> Bool {
        c == 0x20 || c == 0x0A || c == 0x09 || c == 0x0D
    }

    private static func splitSentences(_ b: [UInt8]) -> [Range<Int>] {
        var out: [Range<Int>] = []
        var start = 0
        var i = 0
        let n = b.count
        var inCode = false
        while i < n {
            let c = b[i]
            var cut = false
            if c == 0x60 { inCode.toggle() }
            if c == 0x0A {
                cut = true
                if i + 1 < n && b[i + 1] == 0x0A { inCode = false }
            } else if inCode {
                cut = false
            } else if c == 0x3B {
                cut = true
            }  // ';'
            else if (c == 0x2E || c == 0x21 || c == 0x3F) && i + 1 < n && isSpace(b[i + 1]) {
                // '.', '!', '?' before whitespace; not "e.g. " / "i.e. "
                if c == 0x2E && i >= 3 && b[i - 2] == 0x2E { cut = false } else { cut = true }
            } else if c == 0xE3 && i + 2 < n && b[i + 1] == 0x80 && b[i + 2] == 0x82 {
                cut = true  // 。
            } else if c == 0xEF && i + 2 < n && b[i + 1] == 0xBC && (b[i + 2] == 0x81 || b[i + 2] == 0x9F || b[i + 2] == 0x9B) {
                cut = true  // ！？；
            }
            if cut {
                if i + 1 > start { out.append(start..<(i + 1)) }
                start = i + 1
            }
            i += 1
        }
        if start < n { out.append(start..<n) }
        return out
    }

    /// The sentence containing byte position `p` (in `b` coordinates).
    package func sentence(at p: Int) -> Range<Int> {
        var lo = 0
        var hi = sentences.count - 1
        while lo <= hi {
            let mid = (lo + hi) / 2
            let s = sentences[mid]
            if p < s.lowerBound { hi = mid - 1 } else if p >= s.upperBound { lo = mid + 1 } else { return s }
        }
        return 0..<b.count
    }

    /// Whether `needle` matches at position `i` (space = any non-alphanumeric byte).
    @inline(__always) package func matches(_ needle: [UInt8], at i: Int) -> Bool {
        if i + needle.count > b.count { return false }
        return b.withUnsafeBufferPointer { p in
            var k = 0
            while k < needle.count {
                let x = needle[k]
                let c = p[i + k]
                if x == 0x20 {
                    if Self.isAlnum(c) { return false }
                } else if x != c {
                    return false
                }
                k += 1
            }
            return true
        }
    }

    /// First position ≥ `lo` where `needle` starts and ends before `hi`, or nil.
    package func find(_ needle: [UInt8], _ lo: Int = 0, _ hi: Int = Int.max) -> Int? {
        let hi = min(hi, b.count)
        if needle.count > hi - lo { return nil }
        // Anchor on the needle's rarest byte in this text; an absent byte means no match.
        var anchor = -1
        var best = Int32.max
        needle.withUnsafeBufferPointer { nb in
            counts.withUnsafeBufferPointer { cb in
                for k in 0..<nb.count where nb[k] != 0x20 {
                    let c = cb[Int(nb[k])]
                    if c < best {
                        best = c
                        anchor = k
                        if c == 0 { return }
                    }
                }
            }
        }
        if anchor < 0 || best == 0 { return nil }
        if lo > 0 && Int(best) > (hi - lo) / 8 {
            // A short range late in the text: scanning it beats walking the chain from the start.
            let a = needle[anchor]
            return b.withUnsafeBufferPointer { p in
                var i = lo + anchor
                let last = hi - needle.count + anchor
                while i <= last {
                    if p[i] == a && matches(needle, at: i - anchor) { return i - anchor }
                    i += 1
                }
                return nil
            }
        }
        return head.withUnsafeBufferPointer { hb in
            next.withUnsafeBufferPointer { nx in
                var p = Int(hb[Int(needle[anchor])])
                while p >= 0 {
                    let s = p - anchor
                    if s + needle.count > hi { return nil }
                    if s >= lo && matches(needle, at: s) { return s }
                    p = Int(nx[p])
                }
                return nil
            }
        }
    }

    /// Every match of `needle` inside `lo..<hi`, in order, found in one walk (no rescans from the start).
    package func matchesOf(_ needle: [UInt8], _ lo: Int = 0, _ hi: Int = Int.max, _ body: (Int) -> Void) {
        let hi = min(hi, b.count)
        if needle.count > hi - lo { return }
        var anchor = -1
        var best = Int32.max
        for k in 0..<needle.count where needle[k] != 0x20 {
            let c = counts[Int(needle[k])]
            if c < best {
                best = c
                anchor = k
                if c == 0 { return }
            }
        }
        if anchor < 0 { return }
        if lo > 0 && Int(best) > (hi - lo) / 8 {
            let a = needle[anchor]
            var i = lo + anchor
            let last = hi - needle.count + anchor
            while i <= last {
                if b[i] == a && matches(needle, at: i - anchor) { body(i - anchor) }
                i += 1
            }
            return
        }
        var p = Int(head[Int(needle[anchor])])
        while p >= 0 {
            let s = p - anchor
            if s + needle.count > hi { return }
            if s >= lo && matches(needle, at: s) { body(s) }
            p = Int(next[p])
        }
    }

    /// Whether `needle` occurs inside `r`.
    @inline(__always) package func has(_ needle: [UInt8], in r: Range<Int>) -> Bool {
        find(needle, r.lowerBound, r.upperBound) != nil
    }

    /// Whether every sampled byte pair of needle `k` occurs somewhere in the text.
    @inline(__always) package func mayContain(_ n: Needles, _ k: Int) -> Bool {
        var sig = n.sigs[k]
        while sig != 0 {
            let h = Int(sig & 0x3FF)
            if pairs[h >> 6] & (1 << UInt64(h & 63)) == 0 { return false }
            sig >>= 10
        }
        return true
    }

    /// The leftmost position in `r` of any needle in `needles`, with that needle's length.
    package func first(_ needles: Needles, in r: Range<Int>) -> (Int, Int)? {
        if let cache {
            let ps = positions(needles, cache)
            var i = lowerBound(ps, r.lowerBound)
            while i < ps.count && ps[i].0 < r.upperBound {
                if ps[i].0 + ps[i].1 <= r.upperBound { return ps[i] }
                i += 1
            }
            return nil
        }
        var best: (Int, Int)? = nil
        for k in needles.list.indices where mayContain(needles, k) {
            let x = needles.list[k]
            if let p = find(x, r.lowerBound, best.map { min(r.upperBound, $0.0 + x.count) } ?? r.upperBound), best == nil || p < best!.0 {
                best = (p, x.count)
            }
        }
        return best
    }

    /// Whether any needle occurs inside `r`.
    package func any(_ needles: Needles, in r: Range<Int>) -> Bool {
        if cache != nil { return first(needles, in: r) != nil }
        for k in needles.list.indices where mayContain(needles, k) {
            if find(needles.list[k], r.lowerBound, r.upperBound) != nil { return true }
        }
        return false
    }

    /// At most this many matches are returned by `all`: each match is then judged with sentence-level
    /// work, and a text repeating a phrase thousands of times must not make that quadratic.
    package static let maxMatches = 128

    /// Every position (with length) of any needle inside `r`, unordered (at most `maxMatches`).
    package func all(_ needles: Needles, in r: Range<Int>) -> [(Int, Int)] {
        var out: [(Int, Int)] = []
        if let cache {
            let ps = positions(needles, cache)
            var i = lowerBound(ps, r.lowerBound)
            while i < ps.count && ps[i].0 < r.upperBound && out.count < Self.maxMatches {
                if ps[i].0 + ps[i].1 <= r.upperBound { out.append(ps[i]) }
                i += 1
            }
            return out
        }
        for k in needles.list.indices where mayContain(needles, k) {
            let x = needles.list[k]
            matchesOf(x, r.lowerBound, r.upperBound) { if out.count < Self.maxMatches { out.append(($0, x.count)) } }
        }
        return out
    }

    /// Whether the text anywhere contains the needle.
    @inline(__always) package func contains(_ needle: [UInt8]) -> Bool { find(needle) != nil }

    /// The whole-text span.
    package var whole: Range<Int> { 0..<b.count }

    /// Start of the word that begins at or before `p` (scans back over `[a-z0-9_-]`).
    package func wordStart(_ p: Int) -> Int {
        var i = p
        while i > 0 && Self.isWordByte(b[i - 1]) { i -= 1 }
        return i
    }

    /// End of the word that starts at `p`.
    package func wordEnd(_ p: Int) -> Int {
        var i = p
        while i < b.count && Self.isWordByte(b[i]) { i += 1 }
        return i
    }

    @inline(__always) package static func isWordByte(_ c: UInt8) -> Bool {
        isAlnum(c) || c == 0x5F || c == 0x2D || c == 0x2E || c >= 0x80
    }

    /// The `k`-th word (alphanumeric run) at or after `p`, as a range; nil past `hi`.
    package func word(after p: Int, hi: Int) -> Range<Int>? {
        var i = p
        while i < hi && !(Self.isAlnum(b[i]) || b[i] >= 0x80) { i += 1 }
        if i >= hi { return nil }
        var j = i
        while j < hi && (Self.isAlnum(b[j]) || b[j] >= 0x80) { j += 1 }
        return i..<j
    }

    /// Compares the bytes of `r` with a lowercase literal.
    package func equals(_ r: Range<Int>, _ word: [UInt8]) -> Bool {
        if r.count != word.count { return false }
        var k = 0
        for i in r {
            if b[i] != word[k] { return false }
            k += 1
        }
        return true
    }
}

/// A needle table: the needles' bytes and, per needle, up to six hashed byte pairs (10 bits each)
/// sampled from it, checked against the text's pair set before any search.
package final class Needles: @unchecked Sendable {
    package let list: [[UInt8]]
    package let sigs: [UInt64]

    package init(_ xs: [[UInt8]]) {
        list = xs
        sigs = xs.map { x in
            var sig: UInt64 = 0
            var taken = 0
            var i = 0
            while i + 1 < x.count && taken < 6 {
                // a space in a needle matches any non-alphanumeric byte: pairs with one are not exact
                if x[i] != 0x20 && x[i + 1] != 0x20 {
                    sig |= UInt64(Needles.pairHash(x[i], x[i + 1])) << UInt64(10 * taken)
                    taken += 1
                    i += 2
                } else {
                    i += 1
                }
            }
            return sig
        }
    }

    @inline(__always) package static func pairHash(_ a: UInt8, _ b: UInt8) -> Int {
        // never 0, so that an all-zero signature means "no pairs to check"
        ((Int(a) &* 31 &+ Int(b) &* 7) % 1023) + 1
    }
}

/// Needle tables are written as string literals and converted to bytes once.
@inline(__always) package func needles(_ xs: [String]) -> Needles { Needles(xs.map { Array($0.utf8) }) }
@inline(__always) package func needle(_ x: String) -> [UInt8] { Array(x.utf8) }

extension Needles: Sequence {
    package func makeIterator() -> IndexingIterator<[[UInt8]]> { list.makeIterator() }
}

/// Per-text memo of table matches (a reference so that `ScreenText` stays a value).
package final class MatchCache {
    package var map: [ObjectIdentifier: [(Int, Int)]] = [:]
}
