/// The Snowball English ("Porter2") stemmer, as published by the Snowball project
/// (english.sbl, Snowball 3.x: including the `past`/`univers`/… prefixes and the
/// `-ogist` rule), hand-ported to Swift over ASCII bytes.
///
/// Words that are not made only of ASCII letters `a`–`z` (after lower-casing) are
/// returned unchanged, as are words of one or two letters. The port is checked
/// against the reference implementation's output in `EnglishStemmerTests`.
public enum EnglishStemmer {
    /// The stem of a lower-case word.
    public static func stem(_ word: String) -> String {
        var w = Array(word.utf8)
        guard w.count > 2, w.allSatisfy({ $0 >= a && $0 <= z || $0 == apostrophe }) else { return word }
        if let e = exception1(w) { return e }
        stem(&w)
        return String(decoding: w, as: UTF8.self)
    }

    // MARK: - Characters

    private static let a = UInt8(ascii: "a"), z = UInt8(ascii: "z"), apostrophe = UInt8(ascii: "'")
    private static let e = UInt8(ascii: "e"), i = UInt8(ascii: "i"), l = UInt8(ascii: "l"), s = UInt8(ascii: "s")
    private static let t = UInt8(ascii: "t"), y = UInt8(ascii: "y"), Y = UInt8(ascii: "Y")

    /// a e i o u y (`Y` is a consonant).
    @inline(__always) private static func isVowel(_ c: UInt8) -> Bool {
        switch c {
        case UInt8(ascii: "a"), UInt8(ascii: "e"), UInt8(ascii: "i"), UInt8(ascii: "o"), UInt8(ascii: "u"), UInt8(ascii: "y"): return true
        default: return false
        }
    }

    /// Vowels plus w, x and Y.
    @inline(__always) private static func isVowelWXY(_ c: UInt8) -> Bool {
        isVowel(c) || c == UInt8(ascii: "w") || c == UInt8(ascii: "x") || c == Y
    }

    /// Letters that may precede a deleted `-li`.
    @inline(__always) private static func isValidLI(_ c: UInt8) -> Bool {
        "cdeghkmnrt".utf8.contains(c)
    }

    // MARK: - Special words

    private static let exceptions: [String: String] = [
        "skis": "ski", "skies": "sky", "idly": "idl", "gently": "gentl", "ugly": "ugli", "early": "earli",
        "only": "onli", "singly": "singl",
        "sky": "sky", "news": "news", "howe": "howe", "atlas": "atlas", "cosmos": "cosmos", "bias": "bias", "andes": "andes",
    ]

    private static func exception1(_ w: [UInt8]) -> String? {
        exceptions[String(decoding: w, as: UTF8.self)]
    }

    /// Prefixes after which R1 starts (instead of the usual vowel–consonant rule).
    private static let r1Prefixes: [[UInt8]] = ["gener", "commun", "arsen", "past", "univers", "later", "emerg", "organ", "inter"]
        .map { Array($0.utf8) }

    // MARK: - Helpers on the word

    @inline(__always) private static func ends(_ w: [UInt8], _ suffix: [UInt8]) -> Bool {
        w.count >= suffix.count && w[(w.count - suffix.count)...].elementsEqual(suffix)
    }

    /// The longest of `suffixes` that `w` ends with.
    private static func longestSuffix(_ w: [UInt8], _ suffixes: [[UInt8]]) -> [UInt8]? {
        var best: [UInt8]?
        for suffix in suffixes where ends(w, suffix) && suffix.count > (best?.count ?? -1) { best = suffix }
        return best
    }

    /// Whether `w[0..<end]` contains a vowel.
    private static func hasVowel(_ w: [UInt8], before end: Int) -> Bool {
        var k = 0
        while k < end {
            if isVowel(w[k]) { return true }
            k += 1
        }
        return false
    }

    /// A short syllable ends at `end` (exclusive): non-vowel (not w, x, Y), vowel, non-vowel;
    /// or vowel, non-vowel at the start of the word; or the text before `end` is `past`.
    private static func shortSyllable(_ w: [UInt8], end: Int) -> Bool {
        if end >= 3, !isVowelWXY(w[end - 1]), isVowel(w[end - 2]), !isVowel(w[end - 3]) { return true }
        if end == 2, !isVowel(w[1]), isVowel(w[0]) { return true }
        if end >= 4, w[(end - 4)..<end].elementsEqual("past".utf8) { return true }
        return false
    }

    private static func replaceSuffix(_ w: inout [UInt8], _ count: Int, with replacement: String) {
        w.removeLast(count)
        w.append(contentsOf: replacement.utf8)
    }

    private static func u(_ s: String) -> [UInt8] { Array(s.utf8) }

    // MARK: - The algorithm

    private static func stem(_ w: inout [UInt8]) {
        // Prelude: drop a leading apostrophe; y at the start or after a vowel is a consonant (Y).
        if w.first == apostrophe { w.removeFirst() }
        var foundY = false
        for k in w.indices where w[k] == y && (k == 0 || isVowel(w[k - 1])) {
            w[k] = Y
            foundY = true
        }
        // Regions.
        var p1 = w.count
        var p2 = w.count
        var start: Int?
        if let prefix = r1Prefixes.filter({ w.starts(with: $0) }).max(by: { $0.count < $1.count }) {
            start = prefix.count
        } else {
            start = afterVowelConsonant(w, from: 0)
        }
        if let s1 = start {
            p1 = s1
            if let s2 = afterVowelConsonant(w, from: s1) { p2 = s2 }
        }

        step0(&w)
        step1a(&w)
        step1b(&w, p1: p1)
        step1c(&w)
        step2(&w, p1: p1)
        step3(&w, p1: p1, p2: p2)
        step4(&w, p2: p2)
        step5(&w, p1: p1, p2: p2)

        if foundY { for k in w.indices where w[k] == Y { w[k] = y } }
    }

    /// The position after the first non-vowel that follows a vowel, at or after `from`.
    private static func afterVowelConsonant(_ w: [UInt8], from: Int) -> Int? {
        var k = from
        while k < w.count, !isVowel(w[k]) { k += 1 }
        guard k < w.count else { return nil }
        k += 1
        while k < w.count, isVowel(w[k]) { k += 1 }
        guard k < w.count else { return nil }
        return k + 1
    }

    private static let step0Suffixes = ["'s'", "'s", "'"].map(u)

    private static func step0(_ w: inout [UInt8]) {
        if let suffix = longestSuffix(w, step0Suffixes) { w.removeLast(suffix.count) }
    }

    private static let step1aSuffixes = ["sses", "ied", "ies", "s", "ss", "us"].map(u)

    private static func step1a(_ w: inout [UInt8]) {
        guard let suffix = longestSuffix(w, step1aSuffixes) else { return }
        switch String(decoding: suffix, as: UTF8.self) {
        case "sses":
            w.removeLast(2)
        case "ied", "ies":
            replaceSuffix(&w, 3, with: w.count - 3 >= 2 ? "i" : "ie")
        case "s":
            // Delete if the part before the letter preceding the s contains a vowel.
            if w.count >= 2, hasVowel(w, before: w.count - 2) { w.removeLast() }
        default:
            break  // ss, us
        }
    }

    private static let step1bSuffixes = ["eed", "eedly", "ed", "edly", "ing", "ingly"].map(u)

    private static func step1b(_ w: inout [UInt8], p1: Int) {
        guard let suffix = longestSuffix(w, step1bSuffixes) else { return }
        let name = String(decoding: suffix, as: UTF8.self)
        let stemEnd = w.count - suffix.count
        if name == "eed" || name == "eedly" {
            guard stemEnd >= p1 else { return }
            let head = String(decoding: w[..<stemEnd], as: UTF8.self)
            if head == "succ" || head == "proc" || head == "exc" { return }
            replaceSuffix(&w, suffix.count, with: "ee")
            return
        }
        if name == "ing" {
            let head = String(decoding: w[..<stemEnd], as: UTF8.self)
            // dying → die, lying → lie, tying → tie (consonant + y + ing).
            if stemEnd == 2, w[1] == y, !isVowel(w[0]) {
                replaceSuffix(&w, 4, with: "ie")
                return
            }
            if ["inn", "out", "cann", "herr", "earr", "even"].contains(head) { return }
        }
        guard hasVowel(w, before: stemEnd) else { return }
        w.removeLast(suffix.count)
        if ends(w, u("at")) || ends(w, u("bl")) || ends(w, u("iz")) {
            w.append(e)
            return
        }
        if w.count >= 2, w[w.count - 1] == w[w.count - 2], "bdfgmnprt".utf8.contains(w[w.count - 1]) {
            // Undouble, except aed/eed/oed-like short words (add, egg, odd).
            if w.count == 3, "aeo".utf8.contains(w[0]) { return }
            w.removeLast()
            return
        }
        if w.count == p1, shortSyllable(w, end: w.count) {
            // A short word (R1 empty) ending in a short syllable: hop(ing) → hope.
            w.append(e)
        }
    }

    private static func step1c(_ w: inout [UInt8]) {
        guard let last = w.last, last == y || last == Y, w.count >= 3, !isVowel(w[w.count - 2]) else { return }
        w[w.count - 1] = i
    }

    private static let step2Rules: [(String, String)] = [
        ("tional", "tion"), ("enci", "ence"), ("anci", "ance"), ("abli", "able"), ("entli", "ent"),
        ("izer", "ize"), ("ization", "ize"), ("ational", "ate"), ("ation", "ate"), ("ator", "ate"),
        ("alism", "al"), ("aliti", "al"), ("alli", "al"), ("fulness", "ful"), ("ousli", "ous"), ("ousness", "ous"),
        ("iveness", "ive"), ("iviti", "ive"), ("biliti", "ble"), ("bli", "ble"), ("ogist", "og"), ("ogi", "og"),
        ("fulli", "ful"), ("lessli", "less"), ("li", ""),
    ]
    private static let step2Suffixes = step2Rules.map { u($0.0) }

    private static func step2(_ w: inout [UInt8], p1: Int) {
        guard let suffix = longestSuffix(w, step2Suffixes) else { return }
        let stemEnd = w.count - suffix.count
        guard stemEnd >= p1 else { return }
        let name = String(decoding: suffix, as: UTF8.self)
        switch name {
        case "ogi":
            guard stemEnd >= 1, w[stemEnd - 1] == l else { return }
            replaceSuffix(&w, 3, with: "og")
        case "li":
            guard stemEnd >= 1, isValidLI(w[stemEnd - 1]) else { return }
            w.removeLast(2)
        default:
            let replacement = step2Rules.first { $0.0 == name }!.1
            replaceSuffix(&w, suffix.count, with: replacement)
        }
    }

    private static let step3Rules: [(String, String)] = [
        ("tional", "tion"), ("ational", "ate"), ("alize", "al"), ("icate", "ic"), ("iciti", "ic"), ("ical", "ic"),
        ("ful", ""), ("ness", ""), ("ative", ""),
    ]
    private static let step3Suffixes = step3Rules.map { u($0.0) }

    private static func step3(_ w: inout [UInt8], p1: Int, p2: Int) {
        guard let suffix = longestSuffix(w, step3Suffixes) else { return }
        let stemEnd = w.count - suffix.count
        guard stemEnd >= p1 else { return }
        let name = String(decoding: suffix, as: UTF8.self)
        if name == "ative" {
            guard stemEnd >= p2 else { return }
        }
        replaceSuffix(&w, suffix.count, with: step3Rules.first { $0.0 == name }!.1)
    }

    private static let step4Suffixes = [
        "al", "ance", "ence", "er", "ic", "able", "ible", "ant", "ement", "ment", "ent",
        "ism", "ate", "iti", "ous", "ive", "ize", "ion",
    ].map(u)

    private static func step4(_ w: inout [UInt8], p2: Int) {
        guard let suffix = longestSuffix(w, step4Suffixes) else { return }
        let stemEnd = w.count - suffix.count
        guard stemEnd >= p2 else { return }
        if suffix == u("ion") {
            guard stemEnd >= 1, w[stemEnd - 1] == s || w[stemEnd - 1] == t else { return }
        }
        w.removeLast(suffix.count)
    }

    private static func step5(_ w: inout [UInt8], p1: Int, p2: Int) {
        guard let last = w.last else { return }
        let stemEnd = w.count - 1
        if last == e {
            if stemEnd >= p2 || (stemEnd >= p1 && !shortSyllable(w, end: stemEnd)) { w.removeLast() }
        } else if last == l {
            if stemEnd >= p2, stemEnd >= 1, w[stemEnd - 1] == l { w.removeLast() }
        }
    }
}
