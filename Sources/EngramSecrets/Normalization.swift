import Foundation

/// The UTF-8 bytes every rule family scans, after Unicode normalisation, plus the way back from
/// those bytes to Character offsets of the original text.
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
struct NormalizedText {
    /// Bytes the rules scan.
    let bytes: [UInt8]
    /// For the copied path: `charStarts[c]` is the offset in `bytes` where original Character `c`
    /// begins; one extra entry holds `bytes.count`. Nil on the ASCII fast path.
    let charStarts: [Int]?

    init(_ text: String) {
        let raw = Array(text.utf8)
        if !raw.contains(where: { $0 >= 0x80 }) {
            bytes = raw
            charStarts = nil
            return
        }
        var out: [UInt8] = []
        out.reserveCapacity(raw.count)
        var starts: [Int] = []
        starts.reserveCapacity(raw.count)
        for ch in text {
            starts.append(out.count)
            for s in ch.unicodeScalars { Normalization.append(s, to: &out) }
        }
        starts.append(out.count)
        bytes = out
        charStarts = starts
    }

    /// Character offset of the character containing normalised byte `b` (for range starts).
    func characterFloor(_ b: Int) -> Int {
        guard let s = charStarts else { return b }
        // Last character whose output starts at or before `b`: when dropped (empty) characters
        // share that start, this is the visible one after them.
        var lo = 0, hi = s.count - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if s[mid] <= b { lo = mid } else { hi = mid - 1 }
        }
        return lo
    }

    /// Character offset just past the character containing normalised byte `b - 1` (range ends).
    func characterCeil(_ b: Int) -> Int {
        guard let s = charStarts else { return b }
        // First character whose output starts at or after `b`.
        var lo = 0, hi = s.count - 1
        while lo < hi {
            let mid = (lo + hi) / 2
            if s[mid] >= b { hi = mid } else { lo = mid + 1 }
        }
        return lo
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
        if v < 0x80 { out.append(UInt8(v)); return }
        if isInvisible(v) || isCombining(v) { return }
        if v >= 0xFF01 && v <= 0xFF5E { out.append(UInt8(v - 0xFEE0)); return } // full-width ASCII
        if v == 0x3000 || v == 0x00A0 || (0x2000...0x200A).contains(v) || v == 0x202F || v == 0x205F { out.append(0x20); return }
        if let f = extraFolds[v] { out.append(contentsOf: f.utf8); return }
        guard needsMapping(v) else { appendUTF8(s, to: &out); return }
        // NFKD (compatibility decomposition), then combining marks dropped: NFKC plus accent folding.
        for d in String(Character(s)).decomposedStringWithCompatibilityMapping.unicodeScalars {
            if isInvisible(d.value) || isCombining(d.value) { continue }
            if d.value < 0x80 { out.append(UInt8(d.value)) } else if let f = extraFolds[d.value] { out.append(contentsOf: f.utf8) } else { appendUTF8(d, to: &out) }
        }
    }

    @inline(__always) static func appendUTF8(_ s: Unicode.Scalar, to out: inout [UInt8]) {
        out.append(contentsOf: UTF8.encode(s)!)
    }
}
