// Byte-level helpers shared by all rules. Everything in the scanner works on the UTF-8 bytes of the
// text: every trigger (prefixes, keywords, delimiters) is ASCII, so no decoding is needed.

/// ASCII character classes of one byte (bytes ≥ 0x80 are in none of them).
@inlinable @inline(__always) public func isLower(_ c: UInt8) -> Bool { c &- 0x61 < 26 }
@inlinable @inline(__always) public func isUpper(_ c: UInt8) -> Bool { c &- 0x41 < 26 }
@inlinable @inline(__always) public func isDigit(_ c: UInt8) -> Bool { c &- 0x30 < 10 }
@inlinable @inline(__always) public func isAlpha(_ c: UInt8) -> Bool { isLower(c) || isUpper(c) }
@inlinable @inline(__always) public func isAlnum(_ c: UInt8) -> Bool { isAlpha(c) || isDigit(c) }
@inlinable @inline(__always) public func isHexDigit(_ c: UInt8) -> Bool { isDigit(c) || (c | 0x20) &- 0x61 < 6 }
@inlinable @inline(__always) public func isLowerHex(_ c: UInt8) -> Bool { isDigit(c) || c &- 0x61 < 6 }
@inlinable @inline(__always) public func isHSpace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 }
@inlinable @inline(__always) public func isSpace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D }
@inlinable @inline(__always) public func isQuote(_ c: UInt8) -> Bool { c == 0x22 || c == 0x27 || c == 0x60 }
@inlinable @inline(__always) public func lowerByte(_ c: UInt8) -> UInt8 { isUpper(c) ? c | 0x20 : c }

/// A set of bytes (256-bit bitmap), used as the character class of token bodies.
public struct ByteSet: Sendable {
    @usableFromInline var w0: UInt64 = 0, w1: UInt64 = 0, w2: UInt64 = 0, w3: UInt64 = 0

    @inlinable public init() {}

    @inlinable public init(
        _ chars: String,
        alnum: Bool = false,
        lowerHex: Bool = false,
        hex: Bool = false,
        upper: Bool = false,
        lower: Bool = false,
        digits: Bool = false
    ) {
        for c in chars.utf8 { insert(c) }
        for c in UInt8(0)...UInt8(127) {
            if (alnum && isAlnum(c)) || (lowerHex && isLowerHex(c)) || (hex && isHexDigit(c))
                || (upper && isUpper(c)) || (lower && isLower(c)) || (digits && isDigit(c))
            {
                insert(c)
            }
        }
    }

    /// Adds byte `c`.
    @inlinable public mutating func insert(_ c: UInt8) {
        let bit = UInt64(1) << UInt64(c & 63)
        switch c >> 6 {
        case 0: w0 |= bit
        case 1: w1 |= bit
        case 2: w2 |= bit
        default: w3 |= bit
        }
    }

    /// Whether byte `c` is in the set.
    @inlinable @inline(__always) public func contains(_ c: UInt8) -> Bool {
        let bit = UInt64(1) << UInt64(c & 63)
        switch c >> 6 {
        case 0: return w0 & bit != 0
        case 1: return w1 & bit != 0
        case 2: return w2 & bit != 0
        default: return w3 & bit != 0
        }
    }

    /// The set plus the bytes of `other`.
    @inlinable public func union(_ other: String) -> ByteSet {
        var s = self
        for c in other.utf8 { s.insert(c) }
        return s
    }

    /// The set of the ASCII classes named.
    @inlinable public init(
        alnum: Bool = false,
        lowerHex: Bool = false,
        hex: Bool = false,
        upper: Bool = false,
        lower: Bool = false,
        digits: Bool = false
    ) {
        self.init("", alnum: alnum, lowerHex: lowerHex, hex: hex, upper: upper, lower: lower, digits: digits)
    }

    /// Common classes: letters and digits, plus `_`, the base64 and base64url alphabets, hex, …
    public static let alnum = ByteSet(alnum: true)
    public static let alnumU = ByteSet("_", alnum: true)
    public static let b64url = ByteSet("_-", alnum: true)
    public static let b64urlDot = ByteSet("_-.", alnum: true)
    public static let b64 = ByteSet("+/=", alnum: true)
    public static let b64NoPad = ByteSet("+/", alnum: true)
    public static let lowerHex = ByteSet(lowerHex: true)
    public static let hex = ByteSet(hex: true)
    public static let upperNum = ByteSet(upper: true, digits: true)
    public static let alnumDash = ByteSet("-", alnum: true)
    /// Characters that may appear inside an identifier used as a key name.
    public static let keyChars = ByteSet("_.-", alnum: true)
    /// Characters of any token-ish value (used for boundaries of the generic AWS/Azure shapes).
    public static let tokenish = ByteSet("+/=_-", alnum: true)
}

/// Lower-case needles grouped by first byte (see `Text.containsAnyCI(_:from:to:)`).
public struct NeedleSet: Sendable {
    /// First bytes of the needles.
    public let firsts: ByteSet
    /// Needles by first byte (256 groups).
    public let byFirst: [[[UInt8]]]

    /// Groups `needles` (lower case) by first byte.
    @inlinable public init(_ needles: [String]) {
        var f = ByteSet()
        var groups = [[[UInt8]]](repeating: [], count: 256)
        for nd in needles.map(bytes) where !nd.isEmpty {
            f.insert(nd[0])
            groups[Int(nd[0])].append(nd)
        }
        firsts = f
        byFirst = groups
    }
}

/// Read-only view of the text being scanned.
public struct Text: Sendable {
    /// The bytes.
    public let b: [UInt8]
    /// Number of bytes.
    @inlinable public var n: Int { b.count }

    @inlinable public init(_ s: String) { b = Array(s.utf8) }

    @inlinable public init(bytes: [UInt8]) { b = bytes }

    @inlinable @inline(__always) public subscript(_ i: Int) -> UInt8 { b[i] }

    /// Byte at `i`, or 0 when out of range.
    @inlinable @inline(__always) public func at(_ i: Int) -> UInt8 { (i >= 0 && i < b.count) ? b[i] : 0 }

    /// Case-sensitive match of `needle` at position `i`.
    @inlinable public func matches(_ needle: [UInt8], at i: Int) -> Bool {
        if i < 0 || i + needle.count > b.count { return false }
        var k = 0
        while k < needle.count {
            if b[i + k] != needle[k] { return false }
            k += 1
        }
        return true
    }

    /// ASCII case-insensitive match; `needle` must be lower case.
    @inlinable public func matchesCI(_ needle: [UInt8], at i: Int) -> Bool {
        if i < 0 || i + needle.count > b.count { return false }
        var k = 0
        while k < needle.count {
            if lowerByte(b[i + k]) != needle[k] { return false }
            k += 1
        }
        return true
    }

    /// End of the maximal run of bytes in `set` starting at `i`.
    @inlinable @inline(__always) public func runEnd(from i: Int, in set: ByteSet, limit: Int = Int.max) -> Int {
        var j = i
        let stop = limit == Int.max ? b.count : min(b.count, i + limit)
        while j < stop && set.contains(b[j]) { j += 1 }
        return j
    }

    /// Start of the maximal run of bytes in `set` ending just before `i`.
    @inlinable @inline(__always) public func runStart(before i: Int, in set: ByteSet) -> Int {
        var j = i
        while j > 0 && set.contains(b[j - 1]) { j -= 1 }
        return j
    }

    /// Finds `needle` (lower case, compared case-insensitively) in `lo..<hi`.
    @inlinable public func findCI(_ needle: [UInt8], from lo: Int, to hi: Int) -> Int? {
        let hi = min(hi, b.count)
        guard !needle.isEmpty, hi - lo >= needle.count else { return nil }
        var i = max(0, lo)
        let first = needle[0]
        while i + needle.count <= hi {
            if lowerByte(b[i]) == first && matchesCI(needle, at: i) { return i }
            i += 1
        }
        return nil
    }

    /// Whether any of `needles` occurs (case-insensitively) in `lo..<hi`. One pass over the range;
    /// at each byte only needles starting with that (lower-cased) byte are compared.
    @inlinable public func containsAnyCI(_ needles: [[UInt8]], from lo: Int, to hi: Int) -> Bool {
        let hi = min(hi, b.count)
        var i = max(0, lo)
        var firsts = ByteSet()
        for nd in needles where !nd.isEmpty { firsts.insert(nd[0]) }
        while i < hi {
            let c = lowerByte(b[i])
            if firsts.contains(c) {
                for nd in needles where nd.first == c && i + nd.count <= hi && matchesCI(nd, at: i) { return true }
            }
            i += 1
        }
        return false
    }

    /// `containsAnyCI` with the needles grouped by first byte once, for hot paths.
    @inlinable public func containsAnyCI(_ set: NeedleSet, from lo: Int, to hi: Int) -> Bool {
        let hi = min(hi, b.count)
        var i = max(0, lo)
        while i < hi {
            let c = lowerByte(b[i])
            if set.firsts.contains(c) {
                for nd in set.byFirst[Int(c)] where i + nd.count <= hi && matchesCI(nd, at: i) { return true }
            }
            i += 1
        }
        return false
    }

    /// Start of the line containing `i`.
    @inlinable public func lineStart(_ i: Int) -> Int {
        var j = min(i, b.count)
        while j > 0 && b[j - 1] != 0x0A { j -= 1 }
        return j
    }

    /// End (exclusive, at the newline) of the line containing `i`.
    @inlinable public func lineEnd(_ i: Int) -> Int {
        var j = max(0, i)
        while j < b.count && b[j] != 0x0A { j += 1 }
        return j
    }

    /// The bytes in `r`.
    @inlinable public func slice(_ r: Range<Int>) -> ArraySlice<UInt8> { b[r] }

    @inlinable public func string(_ r: Range<Int>) -> String { String(decoding: b[r], as: UTF8.self) }
}

/// The UTF-8 bytes of `s`.
@inlinable @inline(__always) public func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

/// Decodes standard or URL-safe base64 (padding optional). Returns nil on any invalid byte.
@inlinable public func decodeBase64<C: Collection>(_ input: C) -> [UInt8]? where C.Element == UInt8 {
    var out: [UInt8] = []
    out.reserveCapacity(input.count * 3 / 4)
    var acc: UInt32 = 0
    var bits = 0
    for c in input {
        let v: UInt32
        switch c {
        case 0x41...0x5A: v = UInt32(c - 0x41)
        case 0x61...0x7A: v = UInt32(c - 0x61 + 26)
        case 0x30...0x39: v = UInt32(c - 0x30 + 52)
        case 0x2B, 0x2D: v = 62
        case 0x2F, 0x5F: v = 63
        case 0x3D: continue
        default: return nil
        }
        acc = (acc << 6) | v
        bits += 6
        if bits >= 8 {
            bits -= 8
            out.append(UInt8((acc >> UInt32(bits)) & 0xFF))
        }
    }
    return out
}
