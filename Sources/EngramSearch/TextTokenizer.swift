/// Splits text into normalised terms for lexical (BM25) search.
///
/// Lower-cased runs of letters and digits; identifiers are also split at
/// camelCase boundaries (`retryPolicy` → `retrypolicy`, `retry`, `policy`);
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
        func flush() {
            guard !word.isEmpty else { return }
            emit(word, into: &out)
            word.removeAll(keepingCapacity: true)
        }
        for ch in text {
            if ch.isLetter || ch.isNumber { word.append(ch) } else { flush() }
        }
        flush()
        return out
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
        var start = -1
        for i in 0..<bytes.count {
            let c = bytes[i]
            if isUpper(c) || isLower(c) || isDigit(c) {
                if start < 0 { start = i }
            } else if start >= 0 {
                emit(start..<i)
                start = -1
            }
        }
        if start >= 0 { emit(start..<bytes.count) }
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
