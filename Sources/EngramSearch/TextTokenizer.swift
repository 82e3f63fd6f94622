/// Splits text into normalised terms for lexical (BM25) search.
///
/// Lower-cased runs of letters and digits; identifiers are also split at
/// camelCase boundaries (`retryPolicy` → `retrypolicy`, `retry`, `policy`);
/// common English stop words are dropped and a light suffix stemmer folds
/// plurals and verb forms (`retries`/`retried`/`retrying` → `retri`).
/// Hand-written: no maintained Swift text-analysis library runs on Linux.
public struct TextTokenizer: Sendable {
    public init() {}

    /// The terms of `text`, in order (duplicates kept: term frequency matters).
    public func terms(_ text: String) -> [String] {
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
                parts.append(String(current)); current.removeAll()
            }
            current.append(ch)
        }
        if !current.isEmpty { parts.append(String(current)) }
        if parts.count > 1 {
            for p in parts { if let t = normalise(p.lowercased()) { out.append(t) } }
        }
    }

    private func normalise(_ w: String) -> String? {
        if Self.stopWords.contains(w) { return nil }
        return Self.stem(w)
    }

    /// A light English stemmer (suffix folding, not full Porter): enough to
    /// merge plurals and common verb forms without over-conflating terms.
    public static func stem(_ w: String) -> String {
        guard w.count > 3, w.unicodeScalars.allSatisfy({ $0.isASCII }) else { return w }
        var s = w
        func strip(_ suffix: String, _ replacement: String = "", minStem: Int = 3) -> Bool {
            guard s.hasSuffix(suffix), s.count - suffix.count >= minStem else { return false }
            s = String(s.dropLast(suffix.count)) + replacement
            return true
        }
        if strip("ies", "i") || strip("sses", "ss") {
        } else if s.hasSuffix("s"), !s.hasSuffix("ss"), !s.hasSuffix("us"), !s.hasSuffix("is") {
            _ = strip("s", minStem: 3)
        }
        if strip("ied", "i") || strip("ing", minStem: 3) || strip("ed", minStem: 3) {
            // Undouble a final consonant (running → run), restore a dropped e is skipped.
            if let last = s.last, s.count >= 4, s.dropLast().last == last, !"lsz".contains(last) { s.removeLast() }
        }
        if s.hasSuffix("y"), s.count > 3 { s = String(s.dropLast()) + "i" }
        return s
    }

    static let stopWords: Set<String> = [
        "a", "an", "and", "are", "as", "at", "be", "been", "but", "by", "can", "did", "do", "does", "for", "from",
        "had", "has", "have", "he", "her", "him", "his", "how", "i", "if", "in", "into", "is", "it", "its", "me",
        "my", "of", "on", "or", "our", "she", "so", "than", "that", "the", "their", "them", "then", "there",
        "these", "they", "this", "to", "was", "we", "were", "what", "when", "where", "which", "who", "whom",
        "why", "will", "with", "would", "you", "your", "yours", "about", "also", "just", "any", "all", "some",
        "am", "being", "both", "each", "more", "most", "other", "such", "only", "own", "same", "too", "very",
        "s", "t", "don", "should", "now", "up", "out", "over", "under", "again", "further", "once", "here",
        "those", "through", "during", "before", "after", "above", "below", "off", "while", "because", "until",
        "against", "between", "could", "ours", "hers", "theirs", "itself", "myself", "yourself", "themselves",
    ]
}
