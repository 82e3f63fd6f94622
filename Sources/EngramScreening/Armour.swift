/// ASCII armour as in PEM, PGP and SSH2 files: `-----BEGIN LABEL-----` … `-----END LABEL-----`,
/// matched with 2+ dashes, any spacing and any case. A value is one armour line: its label and
/// where it ends.
public struct Armour: Sendable {
    /// Upper-cased label with single spaces.
    public var label: [UInt8]
    /// Index just past the closing dashes.
    public var end: Int

    /// Matches an armour line opening with `word` (lower case: "begin"/"end") at `i`.
    public static func line(_ t: Text, at i: Int, word: [UInt8]) -> Armour? {
        let b = t.b
        let n = b.count
        var j = i
        while j < n && b[j] == 0x2D { j += 1 }
        guard j - i >= 2 else { return nil }
        while j < n && b[j] == 0x20 { j += 1 }
        guard t.matchesCI(word, at: j), j + word.count < n, b[j + word.count] == 0x20 else { return nil }
        j += word.count
        while j < n && b[j] == 0x20 { j += 1 }
        let labelStart = j
        while j < n && j - labelStart < 60 && b[j] != 0x2D && b[j] != 0x0A { j += 1 }
        var close = j
        while close < n && b[close] == 0x2D { close += 1 }
        guard close - j >= 2 else { return nil }
        var label: [UInt8] = []
        for c in b[labelStart..<j] {
            if c == 0x20 || c == 0x09 { if let l = label.last, l != 0x20 { label.append(0x20) } } else { label.append(isLower(c) ? c - 0x20 : c) }
        }
        while label.last == 0x20 { label.removeLast() }
        guard !label.isEmpty else { return nil }
        return Armour(label: label, end: close)
    }

    /// The header is armour, not a quotation: alone on its line (after an optional `> `/`- `
    /// prefix) and followed by nothing but whitespace — the first piece of a key saved in parts.
    /// A header inside a sentence or in quotes/backticks is prose naming the format.
    public static func standsAlone(_ t: Text, _ start: Int, _ end: Int) -> Bool {
        var k = t.lineStart(start)
        while k < start {
            let c = t.b[k]
            guard isHSpace(c) || c == 0x3E || c == 0x23 || c == 0x7C || ((c == 0x2D || c == 0x2A || c == 0x2B) && isHSpace(t.at(k + 1))) else {
                return false
            }
            k += 1
        }
        var j = end
        while j < t.n && isSpace(t.b[j]) { j += 1 }
        return j == t.n
    }

    /// The closing word, lower case.
    public static let endWord = bytes("end")

    /// Start of the closing armour line (`-----END …`, any dash count/spacing/case) after `from`.
    public static func findEnd(_ t: Text, from: Int) -> Int? {
        var i = from
        let b = t.b
        while i + 6 <= b.count {
            if b[i] == 0x2D && b[i + 1] == 0x2D {
                var j = i
                while j < b.count && b[j] == 0x2D { j += 1 }
                while j < b.count && b[j] == 0x20 { j += 1 }
                if t.matchesCI(endWord, at: j) && j + 3 < b.count && b[j + 3] == 0x20 { return i }
                i = j
                continue
            }
            i += 1
        }
        return nil
    }

    /// Index just past `-----END … -----`.
    public static func closingEnd(_ t: Text, _ endIdx: Int) -> Int {
        if let a = line(t, at: endIdx, word: endWord) { return a.end }
        var j = endIdx
        let b = t.b
        while j < b.count && b[j] == 0x2D { j += 1 }
        while j < b.count && b[j] != 0x2D && b[j] != 0x0A && j - endIdx < 80 { j += 1 }
        while j < b.count && b[j] == 0x2D { j += 1 }
        return j
    }
}
