public import Foundation

// Why hand-written: no Swift tokenizer library runs on Linux without pulling in a large dependency
// graph (swift-transformers needs Apple frameworks / Jinja; the Rust `tokenizers` crate has no
// Swift binding here). The BERT uncased pipeline is small and fully specified, so it is ported here
// rule by rule from HuggingFace's fast tokenizer (`tokenizers` crate: BertNormalizer,
// BertPreTokenizer, WordPiece, TemplateProcessing), which is what sentence-transformers uses to
// produce the reference ids in Tests/EngramEmbeddingTests/Fixtures/reference_minilm.jsonl.

/// A failure while loading the WordPiece vocabulary.
public enum TokenizerError: Error, Equatable, CustomStringConvertible {
    /// `vocab.txt` could not be read.
    case cannotRead(path: String, reason: String)
    /// The vocabulary lacks one of `[PAD]`, `[UNK]`, `[CLS]`, `[SEP]`, `[MASK]`.
    case missingSpecialToken(String)

    public var description: String {
        switch self {
        case let .cannotRead(path, reason): return "tokenizer: cannot read vocabulary \(path): \(reason)"
        case let .missingSpecialToken(t): return "tokenizer: vocabulary has no \(t) token"
        }
    }
}

/// The BERT uncased WordPiece tokenizer of all-MiniLM-L6-v2, identical to HuggingFace's fast
/// `BertTokenizer` with `do_lower_case`.
///
/// Pipeline, in the reference's order:
/// 1. Literal special tokens `[PAD]`, `[UNK]`, `[CLS]`, `[SEP]`, `[MASK]` are cut out of the raw text
///    first (case-sensitive, even inside a word: `x[MASK]y` → `x`, `[MASK]`, `y`) and never split.
/// 2. Normaliser on the remaining text: drop U+0000, U+FFFD and control/format/private-use scalars
///    (zero-width space, soft hyphen, BOM, …) except `\t \n \r`; map every White_Space
///    scalar to a space; put spaces around CJK ideographs; NFD and drop nonspacing marks (Mn);
///    lowercase scalar by scalar (full mapping, no context rules such as Greek final sigma).
/// 3. Pre-tokeniser: split on whitespace; every punctuation scalar (ASCII punctuation or a Unicode
///    P* category) becomes its own word.
/// 4. WordPiece: greedy longest-match-first, continuation pieces prefixed `##`; a word longer than
///    100 scalars, or with any piece missing from the vocabulary, becomes one `[UNK]`.
/// 5. `[CLS] … [SEP]`, with the body truncated so the total is at most `maxLength` (256).
///
/// Vocabulary keys are compared as UTF-8 bytes, never as Swift `String`s: Swift's canonical
/// equivalence would otherwise make a decomposed Hangul jamo sequence equal a precomposed syllable.
public struct WordPieceTokenizer: Sendable {
    /// Id → token string, in `vocab.txt` order.
    public let vocabulary: [String]
    /// Maximum number of ids returned by `encode`, including `[CLS]` and `[SEP]`.
    public let maxLength: Int
    /// Words longer than this many Unicode scalars become `[UNK]`.
    public let maxInputCharsPerWord = 100
    public let padID: Int32, unkID: Int32, clsID: Int32, sepID: Int32, maskID: Int32

    private let wordStart: [[UInt8]: Int32]
    private let continuation: [[UInt8]: Int32]  // keyed by the bytes after "##"
    private let maxPieceScalars: Int
    private let specials: [(scalars: [Unicode.Scalar], id: Int32)]

    /// Loads `vocab.txt` (one token per line; the line number is the id).
    public init(vocabularyURL: URL, maxLength: Int = 256) throws {
        let data: Data
        do {
            data = try Data(contentsOf: vocabularyURL)
        } catch {
            throw TokenizerError.cannotRead(path: vocabularyURL.path, reason: "\(error.localizedDescription)")
        }
        var lines: [String] = []
        lines.reserveCapacity(32_000)
        data.withUnsafeBytes { (buf: UnsafeRawBufferPointer) in
            let bytes = buf.bindMemory(to: UInt8.self)
            var start = 0
            var i = 0
            while i <= bytes.count {
                if i == bytes.count || bytes[i] == 0x0A {
                    var end = i
                    if end > start, bytes[end - 1] == 0x0D { end -= 1 }
                    if !(i == bytes.count && start == i) {
                        lines.append(String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self))
                    }
                    start = i + 1
                }
                i += 1
            }
        }
        try self.init(vocabulary: lines, maxLength: maxLength)
    }

    /// Builds a tokenizer from an in-memory vocabulary (index = id).
    public init(vocabulary: [String], maxLength: Int = 256) throws {
        precondition(maxLength >= 2, "maxLength must leave room for [CLS] and [SEP]")
        self.vocabulary = vocabulary
        self.maxLength = maxLength
        var ws: [[UInt8]: Int32] = [:]
        var cont: [[UInt8]: Int32] = [:]
        ws.reserveCapacity(vocabulary.count)
        var maxPiece = 1
        for (i, token) in vocabulary.enumerated() {
            let bytes = Array(token.utf8)
            // Later duplicates win, as in the reference loaders.
            ws[bytes] = Int32(i)
            if bytes.count > 2, bytes[0] == UInt8(ascii: "#"), bytes[1] == UInt8(ascii: "#") {
                cont[Array(bytes[2...])] = Int32(i)
                maxPiece = max(maxPiece, token.unicodeScalars.count - 2)
            } else {
                maxPiece = max(maxPiece, token.unicodeScalars.count)
            }
        }
        func id(_ t: String) throws -> Int32 {
            guard let v = ws[Array(t.utf8)] else { throw TokenizerError.missingSpecialToken(t) }
            return v
        }
        padID = try id("[PAD]")
        unkID = try id("[UNK]")
        clsID = try id("[CLS]")
        sepID = try id("[SEP]")
        maskID = try id("[MASK]")
        specials = [("[PAD]", padID), ("[UNK]", unkID), ("[CLS]", clsID), ("[SEP]", sepID), ("[MASK]", maskID)]
            .map { (Array($0.0.unicodeScalars), $0.1) }
        wordStart = ws
        continuation = cont
        maxPieceScalars = maxPiece
    }

    /// `[CLS]` + WordPiece ids of `text` (truncated) + `[SEP]`; at most `maxLength` ids.
    public func encode(_ text: String) -> [Int32] {
        var body = tokenize(text)
        if body.count > maxLength - 2 { body.removeLast(body.count - (maxLength - 2)) }
        var out: [Int32] = [clsID]
        out.reserveCapacity(body.count + 2)
        out.append(contentsOf: body)
        out.append(sepID)
        return out
    }

    /// Token strings for `encode(text)` (for debugging and tests).
    public func encodeToTokens(_ text: String) -> [String] {
        encode(text).map { vocabulary[Int($0)] }
    }

    /// WordPiece ids of `text` without `[CLS]`/`[SEP]` and without truncation.
    public func tokenize(_ text: String) -> [Int32] {
        var ids: [Int32] = []
        ids.reserveCapacity(text.utf8.count / 3 + 4)
        let scalars = Array(text.unicodeScalars)
        var segmentStart = 0
        var i = 0
        while i < scalars.count {
            if scalars[i] == "[", let (len, id) = matchSpecial(scalars, at: i) {
                if segmentStart < i { tokenizePlain(scalars[segmentStart..<i], into: &ids) }
                ids.append(id)
                i += len
                segmentStart = i
            } else {
                i += 1
            }
        }
        if segmentStart < scalars.count { tokenizePlain(scalars[segmentStart...], into: &ids) }
        return ids
    }

    private func matchSpecial(_ s: [Unicode.Scalar], at i: Int) -> (Int, Int32)? {
        for special in specials where i + special.scalars.count <= s.count {
            var ok = true
            for (k, c) in special.scalars.enumerated() where s[i + k] != c {
                ok = false
                break
            }
            if ok { return (special.scalars.count, special.id) }
        }
        return nil
    }

    // MARK: normaliser + pre-tokeniser

    private func tokenizePlain(_ segment: ArraySlice<Unicode.Scalar>, into ids: inout [Int32]) {
        // 1. clean text + 2. pad CJK ideographs with spaces.
        var cleaned = String.UnicodeScalarView()
        var asciiOnly = true
        for c in segment {
            let v = c.value
            if v == 0 || v == 0xFFFD || Self.isControl(c) { continue }
            if Self.isWhitespace(c) {
                cleaned.append(" ")
            } else if Self.isChineseChar(v) {
                cleaned.append(" ")
                cleaned.append(c)
                cleaned.append(" ")
                asciiOnly = false
            } else {
                if v >= 0x80 { asciiOnly = false }
                cleaned.append(c)
            }
        }
        // 3. NFD + drop Mn (skipped for ASCII, which NFD leaves unchanged).
        let decomposed: String.UnicodeScalarView =
            asciiOnly ? cleaned : String(cleaned).decomposedStringWithCanonicalMapping.unicodeScalars
        // 4. per-scalar lowercase, then split on whitespace and punctuation.
        var word: [Unicode.Scalar] = []
        word.reserveCapacity(32)
        for c in decomposed {
            if c.value >= 0x80, c.properties.generalCategory == .nonspacingMark, Self.isReferenceAssigned(c) { continue }
            let lowered: [Unicode.Scalar]
            if c.value < 0x80 {
                lowered = [(c.value >= 65 && c.value <= 90) ? Unicode.Scalar(c.value + 32)! : c]
            } else {
                lowered = Array(c.properties.lowercaseMapping.unicodeScalars)
            }
            for l in lowered {
                if Self.isWhitespace(l) {
                    if !word.isEmpty {
                        wordPiece(word, into: &ids)
                        word.removeAll(keepingCapacity: true)
                    }
                } else if Self.isPunctuation(l) {
                    if !word.isEmpty {
                        wordPiece(word, into: &ids)
                        word.removeAll(keepingCapacity: true)
                    }
                    wordPiece([l], into: &ids)
                } else {
                    word.append(l)
                }
            }
        }
        if !word.isEmpty { wordPiece(word, into: &ids) }
    }

    /// `\t`, `\n`, `\r` or any White_Space scalar (Rust `char::is_whitespace`).
    static func isWhitespace(_ c: Unicode.Scalar) -> Bool {
        switch c.value {
        case 0x20, 0x09, 0x0A, 0x0D: return true
        case 0..<0x80: return c.value == 0x0B || c.value == 0x0C
        default: return c.properties.isWhitespace
        }
    }

    /// Control-like scalars dropped by the cleaner: categories Cc, Cf, Co (and Cs), except `\t \n \r`.
    /// Unassigned scalars (Cn) are kept, as the reference does (checked against `tokenizers` on fuzzed text).
    static func isControl(_ c: Unicode.Scalar) -> Bool {
        let v = c.value
        if v == 0x09 || v == 0x0A || v == 0x0D { return false }
        if v < 0x20 || v == 0x7F { return true }
        if v < 0x80 { return false }
        guard isReferenceAssigned(c) else { return false }
        switch c.properties.generalCategory {
        case .control, .format, .privateUse, .surrogate: return true
        default: return false
        }
    }

    /// ASCII punctuation (all of ``!"#$%&'()*+,-./:;<=>?@[\]^_`{|}~``) or a Unicode P* category.
    static func isPunctuation(_ c: Unicode.Scalar) -> Bool {
        let v = c.value
        if v < 0x80 {
            return (v >= 33 && v <= 47) || (v >= 58 && v <= 64) || (v >= 91 && v <= 96) || (v >= 123 && v <= 126)
        }
        guard isReferenceAssigned(c) else { return false }
        switch c.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
            .initialPunctuation, .finalPunctuation, .otherPunctuation:
            return true
        default:
            return false
        }
    }

    /// The reference classifies scalars (Mn, P*, Cc/Cf/Co) with the tables of the Rust crate
    /// `unicode_categories`, which stop at an old Unicode version; scalars assigned later count as
    /// unassigned there (kept as letters: not stripped, not split, not dropped). Swift's tables are
    /// newer, so such scalars are recognised by their Unicode age.
    /// Unicode 8.0: the version that reproduces the reference on 6,000 fuzzed strings from
    /// 50 blocks (every other version tried, 6.0–17.0, mismatches).
    static let referenceUnicodeVersion: (major: Int, minor: Int) = (8, 0)

    @inline(__always)
    static func isReferenceAssigned(_ c: Unicode.Scalar) -> Bool {
        guard let age = c.properties.age else { return false }
        let ref = referenceUnicodeVersion
        return age.major < ref.major || (age.major == ref.major && age.minor <= ref.minor)
    }

    /// CJK Unified Ideographs blocks, as in the reference's `is_chinese_char` (Rust `tokenizers`).
    static func isChineseChar(_ v: UInt32) -> Bool {
        (0x4E00...0x9FFF).contains(v) || (0x3400...0x4DBF).contains(v) || (0x20000...0x2A6DF).contains(v)
            || (0x2A700...0x2B73F).contains(v) || (0x2B740...0x2B81F).contains(v) || (0x2B920...0x2CEAF).contains(v)
            || (0xF900...0xFAFF).contains(v) || (0x2F800...0x2FA1F).contains(v)
    }

    // MARK: WordPiece

    private func wordPiece(_ word: [Unicode.Scalar], into ids: inout [Int32]) {
        let n = word.count
        if n > maxInputCharsPerWord {
            ids.append(unkID)
            return
        }
        // UTF-8 bytes of the word and the byte offset of each scalar boundary.
        var bytes: [UInt8] = []
        bytes.reserveCapacity(n * 2)
        var bounds: [Int] = [0]
        bounds.reserveCapacity(n + 1)
        for c in word {
            UTF8.encode(c) { bytes.append($0) }
            bounds.append(bytes.count)
        }
        let mark = ids.count
        var start = 0
        while start < n {
            var end = min(n, start + maxPieceScalars)
            var found: Int32? = nil
            let table = start == 0 ? wordStart : continuation
            while start < end {
                if let id = table[Array(bytes[bounds[start]..<bounds[end]])] {
                    found = id
                    break
                }
                end -= 1
            }
            guard let id = found else {
                ids.removeLast(ids.count - mark)
                ids.append(unkID)
                return
            }
            ids.append(id)
            start = end
        }
    }
}
