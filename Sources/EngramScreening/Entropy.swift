import Foundation

/// Shape statistics of a candidate value: Shannon entropy, character classes and how often the
/// class changes between neighbours. Random tokens change class often (≈ 0.5–0.6 for base62);
/// identifiers, words and passphrases rarely do.
public struct Shape: Sendable {
    /// Number of bytes.
    public var length = 0
    /// Bytes per class: lower-case and upper-case letters, digits, anything else.
    public var lower = 0, upper = 0, digits = 0, other = 0
    /// Shannon entropy in bits per byte.
    public var entropy = 0.0
    /// Share of neighbouring pairs whose class differs.
    public var transitions = 0.0
    /// Number of distinct bytes.
    public var distinct = 0

    /// The shape of `v`.
    @inlinable public init<C: Collection>(_ v: C) where C.Element == UInt8 {
        length = v.count
        guard length > 0 else { return }
        var counts = [Int](repeating: 0, count: 256)
        var prevClass = -1
        var changes = 0
        for c in v {
            counts[Int(c)] += 1
            let cls: Int
            if isLower(c) {
                lower += 1
                cls = 0
            } else if isUpper(c) {
                upper += 1
                cls = 1
            } else if isDigit(c) {
                digits += 1
                cls = 2
            } else {
                other += 1
                cls = 3
            }
            if prevClass >= 0 && cls != prevClass { changes += 1 }
            prevClass = cls
        }
        (entropy, distinct) = Self.entropy(counts: counts, length: length)
        transitions = length > 1 ? Double(changes) / Double(length - 1) : 0
    }

    /// Shannon entropy (bits per byte) and the number of distinct bytes, from per-byte counts.
    @usableFromInline static func entropy(counts: [Int], length: Int) -> (Double, Int) {
        let n = Double(length)
        var h = 0.0
        var distinct = 0
        for k in counts where k > 0 {
            distinct += 1
            let p = Double(k) / n
            h -= p * log2(p)
        }
        return (h, distinct)
    }

    /// Number of classes present (0…4).
    @inlinable public var classes: Int { (lower > 0 ? 1 : 0) + (upper > 0 ? 1 : 0) + (digits > 0 ? 1 : 0) + (other > 0 ? 1 : 0) }
    @inlinable public var letters: Int { lower + upper }
}

/// Whether a value looks randomly generated, and the shapes that say it does not.
public enum Entropy {
    /// Shannon entropy in bits per byte.
    @inlinable public static func shannon<C: Collection>(_ v: C) -> Double where C.Element == UInt8 { Shape(v).entropy }

    /// Per-length entropy floor for a value to count as randomly generated. Short random strings
    /// cannot reach high entropy (log2(len) bounds it), so the floor grows with length.
    @inlinable public static func floor(forLength len: Int) -> Double {
        if len < 12 { return 2.6 }
        if len < 16 { return 2.9 }
        if len < 24 { return 3.1 }
        return 3.3
    }

    /// `^[a-z]+([-_.][a-z]+)*$` possibly followed by a short numeric tail: words joined by separators.
    @inlinable public static func isWordJoined<C: Collection>(_ v: C) -> Bool where C.Element == UInt8 {
        var letters = 0
        var digitsRun = 0
        for c in v {
            if isLower(c) {
                if digitsRun > 0 { return false }
                letters += 1
            } else if c == 0x2D || c == 0x5F || c == 0x2E {
                if digitsRun > 0 { return false }
            } else if isDigit(c) {
                digitsRun += 1
            } else {
                return false
            }
        }
        return letters > 0 && digitsRun <= 4
    }

    /// CamelCase / PascalCase identifier made of dictionary-like chunks (each capital followed by
    /// ≥ 2 lower-case letters), no digits: `searchResultRerankingPipelineConfigurationKey`.
    @inlinable public static func isCamelIdentifier<C: Collection>(_ v: C) -> Bool where C.Element == UInt8 {
        var lowerRun = 0
        var sawUpper = false
        var first = true
        for c in v {
            if isUpper(c) {
                if !first && lowerRun < 2 { return false }
                sawUpper = true
                lowerRun = 0
            } else if isLower(c) {
                lowerRun += 1
            } else {
                return false
            }
            first = false
        }
        return sawUpper && lowerRun >= 2
    }

    /// `^[A-Z][A-Z0-9_]*$` containing an underscore, or all caps letters: an environment variable name.
    @inlinable public static func isEnvName<C: Collection>(_ v: C) -> Bool where C.Element == UInt8 {
        var underscore = false
        var digits = 0
        var first = true
        for c in v {
            if first && !isUpper(c) { return false }
            first = false
            if c == 0x5F { underscore = true } else if isDigit(c) { digits += 1 } else if !isUpper(c) { return false }
        }
        return underscore || digits == 0
    }

    /// Non-empty and only hex digits.
    @inlinable public static func isPureHex<C: Collection>(_ v: C) -> Bool where C.Element == UInt8 {
        !v.isEmpty && v.allSatisfy(isHexDigit)
    }

    /// 8-4-4-4-12 hex UUID.
    @inlinable public static func isUUID<C: Collection>(_ v: C) -> Bool where C.Element == UInt8 {
        guard v.count == 36 else { return false }
        for (i, c) in v.enumerated() {
            if i == 8 || i == 13 || i == 18 || i == 23 { if c != 0x2D { return false } } else if !isHexDigit(c) { return false }
        }
        return true
    }

    /// Heuristic: does the value look machine-generated (a key/token) rather than a word,
    /// identifier, version or path? Used by keyword-proximity rules only.
    @inlinable public static func looksRandom<C: Collection>(_ v: C) -> Bool where C.Element == UInt8 {
        let s = Shape(v)
        if s.length < 8 { return false }
        if isUUID(v) { return true }
        if isWordJoined(v) || isCamelIdentifier(v) || isEnvName(v) { return false }
        if isPureHex(v) {
            // 16-symbol alphabet: lower entropy ceiling than base62.
            return s.length >= 16 && s.digits > 0 && s.letters > 0 && s.entropy >= 3.0 && s.distinct >= min(10, s.length / 3)
        }
        if s.entropy < floor(forLength: s.length) { return false }
        if s.distinct * 3 < min(s.length, 36) { return false }
        if s.digits > 0 && s.letters > 0 {
            // Letters and digits mixed: require actual mixing, not "release2024" style tails.
            return s.transitions >= 0.12 || s.length >= 24
        }
        if s.upper > 0 && s.lower > 0 { return s.transitions >= 0.3 }
        if s.other > 0 && s.letters > 0 { return s.transitions >= 0.3 }
        return false
    }
}
