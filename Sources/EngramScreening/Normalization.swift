import Foundation

/// The UTF-8 bytes every rule family scans, after Unicode normalisation, plus the way back from
/// those bytes to offsets in the original text.
///
/// Secrets hidden with invisible or look-alike characters (`AKIA` + U+200B + …, a full-width `＠`
/// in a Git URL, 𝐠𝐡𝐩_ in mathematical letters) are made visible to the byte rules by:
/// - dropping zero-width, bidi-control, tag and variation-selector characters and soft hyphens;
/// - NFKC compatibility mapping where it changes something (full-width and half-width forms,
///   ideographic and other special spaces, ligatures, super/subscripts, enclosed and
///   mathematical alphanumerics, small forms);
/// - folding Latin diacritics (`contraseña` → `contrasena`, `Schlüssel` → `Schlussel`) so the
///   keyword rules match other languages with ASCII vocabularies.
///
/// Fast path: text that is pure ASCII is scanned as is, without a copy or an offset map.
public struct NormalizedText: Sendable {
    /// Bytes the rules scan.
    public let bytes: [UInt8]
    /// For the copied path, per Unicode scalar of the original: where its output starts in
    /// `bytes` and where it starts in the original UTF-8. Empty on the ASCII fast path, where
    /// offsets are the same.
    private let normStarts: [Int32]
    private let origStarts: [Int32]
    private let origCount: Int

    public init(_ text: String) {
        let raw = Array(text.utf8)
        origCount = raw.count
        if !raw.contains(where: { $0 >= 0x80 }) {
            bytes = raw
            normStarts = []
            origStarts = []
            return
        }
        var out: [UInt8] = []
        out.reserveCapacity(raw.count)
        var ns: [Int32] = []
        var os: [Int32] = []
        ns.reserveCapacity(raw.count)
        os.reserveCapacity(raw.count)
        var orig = 0
        for s in text.unicodeScalars {
            ns.append(Int32(out.count))
            os.append(Int32(orig))
            orig += UTF8.width(s)
            Normalization.append(s, to: &out)
        }
        bytes = out
        normStarts = ns
        origStarts = os
    }

    /// Whether offsets in `bytes` differ from offsets in the original UTF-8.
    public var isCopy: Bool { !normStarts.isEmpty }

    /// Original UTF-8 offset of the scalar whose output contains normalised byte `b` (range
    /// starts). When dropped (empty) scalars share that start, the visible one after them.
    public func originalFloor(_ b: Int) -> Int {
        guard isCopy else { return b }
        if b >= bytes.count { return origCount }
        var lo = 0
        var hi = normStarts.count - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if Int(normStarts[mid]) <= b { lo = mid } else { hi = mid - 1 }
        }
        return Int(origStarts[lo])
    }

    /// Original UTF-8 offset just past the scalar containing normalised byte `b - 1` (range ends).
    public func originalCeil(_ b: Int) -> Int {
        guard isCopy else { return b }
        // First scalar whose output starts at or after `b`.
        var lo = 0
        var hi = normStarts.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if Int(normStarts[mid]) >= b { hi = mid } else { lo = mid + 1 }
        }
        return lo == normStarts.count ? origCount : Int(origStarts[lo])
    }

    /// Character offsets in `text` (the string this was made from) of ranges of `bytes`, each
    /// widened to whole characters: the way back from what the rules matched to what the writer sees.
    public func characterRanges(_ ranges: [Range<Int>], in text: String) -> [Range<Int>] {
        var mapped = ranges
        if isCopy {
            for k in mapped.indices {
                let start = originalFloor(mapped[k].lowerBound)
                mapped[k] = start..<max(start, originalCeil(mapped[k].upperBound))
            }
        }
        if !isCopy && !bytes.contains(where: { $0 == 0x0D }) { return mapped }
        // floor(b): characters that end at or before b; ceil(b): characters that start before b.
        var targets = Set<Int>()
        for r in mapped {
            targets.insert(r.lowerBound)
            targets.insert(r.upperBound)
        }
        var floorMap: [Int: Int] = [:]
        var ceilMap: [Int: Int] = [:]
        var byte = 0
        var chars = 0
        let sorted = targets.sorted()
        var ti = 0
        for ch in text {
            let len = ch.utf8.count
            while ti < sorted.count && sorted[ti] <= byte {
                floorMap[sorted[ti]] = chars
                ceilMap[sorted[ti]] = chars
                ti += 1
            }
            while ti < sorted.count && sorted[ti] < byte + len {
                floorMap[sorted[ti]] = chars
                ceilMap[sorted[ti]] = chars + 1
                ti += 1
            }
            byte += len
            chars += 1
        }
        while ti < sorted.count {
            floorMap[sorted[ti]] = chars
            ceilMap[sorted[ti]] = chars
            ti += 1
        }
        return mapped.map { r in
            let start = floorMap[r.lowerBound] ?? 0
            return start..<max(start, ceilMap[r.upperBound] ?? chars)
        }
    }
}

/// Per-scalar normalisation used by `NormalizedText`.
enum Normalization {
    /// Invisible format characters an attacker can put inside a token.
    @inline(__always) static func isInvisible(_ v: UInt32) -> Bool {
        switch v {
        case 0x00AD, 0x034F, 0x061C, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x180B...0x180F, 0x200B...0x200F,
            0x202A...0x202E, 0x2060...0x206F, 0x3164, 0xFE00...0xFE0F, 0xFEFF, 0xFFA0, 0xE0000...0xE0FFF:
            return true
        default:
            return false
        }
    }

    /// Combining marks (diacritics after decomposition): dropped, which folds accents.
    @inline(__always) static func isCombining(_ v: UInt32) -> Bool {
        (0x0300...0x036F).contains(v) || (0x1AB0...0x1AFF).contains(v) || (0x1DC0...0x1DFF).contains(v)
            || (0x20D0...0x20FF).contains(v) || (0xFE20...0xFE2F).contains(v)
    }

    /// Blocks where NFKC (or diacritic folding) changes characters that matter to the rules.
    @inline(__always) static func needsMapping(_ v: UInt32) -> Bool {
        (0x00A0...0x02FF).contains(v) || (0x1E00...0x1EFF).contains(v) || (0x2000...0x218F).contains(v)
            || (0x2460...0x24FF).contains(v) || (0x3000...0x303F).contains(v) || (0x3200...0x33FF).contains(v)
            || (0xFB00...0xFB4F).contains(v) || (0xFE10...0xFE6F).contains(v) || (0xFF00...0xFFEF).contains(v)
            || (0x1D400...0x1D7FF).contains(v) || (0x1F100...0x1F1FF).contains(v)
    }

    /// Letters NFKD does not decompose to an ASCII base.
    static let extraFolds: [UInt32: String] = [
        0x00DF: "ss", 0x00E6: "ae", 0x00C6: "AE", 0x00F8: "o", 0x00D8: "O", 0x0153: "oe", 0x0152: "OE", 0x0142: "l",
        0x0141: "L", 0x0111: "d", 0x0110: "D", 0x00F0: "d", 0x00D0: "D", 0x00FE: "th", 0x00DE: "TH", 0x0131: "i", 0x0127: "h",
    ]

    static func append(_ s: Unicode.Scalar, to out: inout [UInt8]) {
        let v = s.value
        if v < 0x80 {
            out.append(UInt8(v))
            return
        }
        if isInvisible(v) || isCombining(v) { return }
        if v >= 0xFF01 && v <= 0xFF5E {
            out.append(UInt8(v - 0xFEE0))
            return
        }  // full-width ASCII
        if v == 0x3000 || v == 0x00A0 || (0x2000...0x200A).contains(v) || v == 0x202F || v == 0x205F {
            out.append(0x20)
            return
        }
        // Latin letters and general punctuation are common in prose: mapped once, then looked up.
        if v >= 0xA0 && v <= 0x02FF {
            out.append(contentsOf: latinTable[Int(v) - 0xA0])
            return
        }
        if v >= 0x2000 && v <= 0x218F {
            out.append(contentsOf: punctuationTable[Int(v) - 0x2000])
            return
        }
        guard needsMapping(v) else {
            appendUTF8(s, to: &out)
            return
        }
        out.append(contentsOf: mapped(s))
    }

    static let latinTable: [[UInt8]] = (0xA0...0x02FF).map { mapped(Unicode.Scalar(UInt32($0))!) }
    static let punctuationTable: [[UInt8]] = (0x2000...0x218F).map { Unicode.Scalar(UInt32($0)).map(mapped) ?? [] }

    /// NFKD (compatibility decomposition) with combining marks and invisibles dropped: NFKC plus
    /// accent folding, for one scalar.
    static func mapped(_ s: Unicode.Scalar) -> [UInt8] {
        if isInvisible(s.value) { return [] }
        if let f = extraFolds[s.value] { return Array(f.utf8) }
        var out: [UInt8] = []
        for d in String(Character(s)).decomposedStringWithCompatibilityMapping.unicodeScalars {
            if isInvisible(d.value) || isCombining(d.value) { continue }
            if d.value < 0x80 {
                out.append(UInt8(d.value))
            } else if let f = extraFolds[d.value] {
                out.append(contentsOf: f.utf8)
            } else {
                appendUTF8(d, to: &out)
            }
        }
        return out
    }

    @inline(__always) static func appendUTF8(_ s: Unicode.Scalar, to out: inout [UInt8]) {
        out.append(contentsOf: UTF8.encode(s)!)
    }
}
