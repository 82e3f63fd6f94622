/// Splits text into normalised terms for lexical (BM25) search.
///
/// Lower-cased runs of letters and digits; identifiers are also split at
/// camelCase boundaries (`retryPolicy` → `retrypolicy`, `retry`, `policy`);
/// words joined by `-`, `_`, `/`, `.`, `:` or `@` without spaces also give the whole
/// compound as one unstemmed term (`juniper-media`, `src/api.swift`, `max_retries`), so
/// an exact service, path or symbol name in a query outweighs the common words it shares
/// with other names (a rare compound has a high inverse document frequency);
/// common English stop words are dropped and the Snowball English (Porter2)
/// stemmer folds inflections and derivations (`retries`/`retried`/`retrying` →
/// `retri`, `configuration`/`configured` → `configur`).
/// Hand-written: no maintained Swift text-analysis library runs on Linux.
public struct TextTokenizer: Sendable {
    public init() {}

    /// The terms of `text`, in order (duplicates kept: term frequency matters).
    public func terms(_ text: String) -> [String] {
        var text = text
        if let ascii = text.withUTF8({ bytes in bytes.allSatisfy { $0 < 0x80 } ? asciiTerms(bytes) : nil }) {
            return ascii
        }
        return unicodeTerms(text)
    }

    /// The general path: Unicode letters and numbers, by grapheme cluster.
    func unicodeTerms(_ text: String) -> [String] {
        var out: [String] = []
        var word: [Character] = []
        // The compound being read: its characters and how many words it joins so far.
        var compound: [Character] = []
        var compoundWords = 0
        let characters = Array(text)
        for (i, ch) in characters.enumerated() {
            if ch.isLetter || ch.isNumber {
                word.append(ch)
                compound.append(ch)
                continue
            }
            guard !word.isEmpty else {
                compound.removeAll(keepingCapacity: true)
                compoundWords = 0
                continue
            }
            emit(word, into: &out)
            word.removeAll(keepingCapacity: true)
            compoundWords += 1
            if Self.isConnector(ch), i + 1 < characters.count, characters[i + 1].isLetter || characters[i + 1].isNumber {
                compound.append(ch)
                continue
            }
            emitCompound(compound, words: compoundWords, into: &out)
            compound.removeAll(keepingCapacity: true)
            compoundWords = 0
        }
        if !word.isEmpty {
            emit(word, into: &out)
            emitCompound(compound, words: compoundWords + 1, into: &out)
        }
        return out
    }

    /// Characters that join words into one name (`juniper-media`, `a/b.swift`, `user@host`).
    static func isConnector(_ ch: Character) -> Bool {
        ch == "-" || ch == "_" || ch == "/" || ch == "." || ch == ":" || ch == "@"
    }

    /// Whether `term` (one of `terms`) is a compound name: only compounds hold a connector.
    public static func isCompound(_ term: String) -> Bool {
        term.utf8.contains { $0 == 0x2D || $0 == 0x5F || $0 == 0x2F || $0 == 0x2E || $0 == 0x3A || $0 == 0x40 }
    }

    /// The longest compound kept as a term; longer runs (URLs, long paths) keep their parts only.
    static let maxCompoundLength = 64

    private func emitCompound(_ compound: [Character], words: Int, into out: inout [String]) {
        guard words >= 2, compound.count <= Self.maxCompoundLength else { return }
        out.append(String(compound).lowercased())
    }

    private func emit(_ word: [Character], into out: inout [String]) {
        let whole = String(word).lowercased()
        if let t = normalise(whole) { out.append(t) }
        // camelCase / PascalCase parts, when there is more than one.
        var parts: [String] = []
        var current: [Character] = []
        for (i, ch) in word.enumerated() {
            if i > 0, ch.isUppercase, let prev = current.last, prev.isLowercase || prev.isNumber {
                parts.append(String(current))
                current.removeAll()
            }
            current.append(ch)
        }
        if !current.isEmpty { parts.append(String(current)) }
        if parts.count > 1 {
            for p in parts { if let t = normalise(p.lowercased()) { out.append(t) } }
        }
    }

    /// The same rules on ASCII bytes (most memories): no grapheme or Unicode property look-ups.
    func asciiTerms(_ bytes: UnsafeBufferPointer<UInt8>) -> [String] {
        @inline(__always) func isUpper(_ c: UInt8) -> Bool { c >= 0x41 && c <= 0x5A }
        @inline(__always) func isLower(_ c: UInt8) -> Bool { c >= 0x61 && c <= 0x7A }
        @inline(__always) func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }
        func lowered(_ range: Range<Int>) -> String {
            String(decoding: bytes[range].lazy.map { isUpper($0) ? $0 | 0x20 : $0 }, as: UTF8.self)
        }
        var out: [String] = []
        func emit(_ range: Range<Int>) {
            if let t = normalise(lowered(range)) { out.append(t) }
            // camelCase / PascalCase parts, when there is more than one.
            var parts: [Range<Int>] = []
            var partStart = range.lowerBound
            for i in range where i > range.lowerBound && isUpper(bytes[i]) && (isLower(bytes[i - 1]) || isDigit(bytes[i - 1])) {
                parts.append(partStart..<i)
                partStart = i
            }
            guard !parts.isEmpty else { return }
            parts.append(partStart..<range.upperBound)
            for p in parts { if let t = normalise(lowered(p)) { out.append(t) } }
        }
        @inline(__always) func isWordByte(_ c: UInt8) -> Bool { isUpper(c) || isLower(c) || isDigit(c) }
        @inline(__always) func isConnector(_ c: UInt8) -> Bool {
            // - _ / . : @
            c == 0x2D || c == 0x5F || c == 0x2F || c == 0x2E || c == 0x3A || c == 0x40
        }
        func emitCompound(_ range: Range<Int>, words: Int) {
            guard words >= 2, range.count <= Self.maxCompoundLength else { return }
            out.append(lowered(range))
        }
        var start = -1
        // Where the compound being read starts, and how many words it joins so far.
        var compoundStart = -1
        var compoundWords = 0
        for i in 0..<bytes.count {
            let c = bytes[i]
            if isWordByte(c) {
                if start < 0 { start = i }
                if compoundStart < 0 { compoundStart = i }
                continue
            }
            guard start >= 0 else {
                compoundStart = -1
                compoundWords = 0
                continue
            }
            emit(start..<i)
            start = -1
            compoundWords += 1
            if isConnector(c), i + 1 < bytes.count, isWordByte(bytes[i + 1]) { continue }
            emitCompound(compoundStart..<i, words: compoundWords)
            compoundStart = -1
            compoundWords = 0
        }
        if start >= 0 {
            emit(start..<bytes.count)
            emitCompound(compoundStart..<bytes.count, words: compoundWords + 1)
        }
        return out
    }

    private func normalise(_ w: String) -> String? {
        if Self.stopWords.contains(w) { return nil }
        return Self.stem(w)
    }

    /// The English (Snowball "Porter2") stem of a lower-case word; see `EnglishStemmer`.
    public static func stem(_ w: String) -> String {
        EnglishStemmer.stem(w)
    }

    /// Dropped before stemming. Deliberately without negations (`not`, `no`, `nor`) and
    /// `down`, which carry meaning in technical text ("do not retry", "server down").
    public static let stopWords: Set<String> = [
        "a", "an", "and", "are", "as", "at", "be", "been", "but", "by", "can", "did", "do", "does", "for", "from",
        "had", "has", "have", "he", "her", "him", "his", "how", "i", "if", "in", "into", "is", "it", "its", "me",
        "my", "of", "on", "or", "our", "she", "so", "than", "that", "the", "their", "them", "then", "there",
        "these", "they", "this", "to", "was", "we", "were", "what", "when", "where", "which", "who", "whom",
        "why", "will", "with", "would", "you", "your", "yours", "about", "also", "just", "any", "all", "some",
        "am", "being", "both", "each", "more", "most", "other", "such", "only", "own", "same", "too", "very",
        "s", "t", "don", "should", "now", "up", "out", "over", "under", "again", "further", "once", "here",
        "those", "through", "during", "before", "after", "above", "below", "off", "while", "because", "until",
        "against", "between", "could", "ours", "hers", "theirs", "itself", "myself", "yourself", "themselves",
        "doing", "having", "herself", "himself", "ourselves", "yourselves",
    ]
}
