/// Text shown to an assistant as data with its hidden characters made visible as `<U+XXXX>`: format
/// characters (zero-width, bidi controls, Unicode tags, the BOM, soft hyphens), controls other than tab
/// and line feed, line and paragraph separators, Hangul fillers and the variation-selector supplement,
/// so hidden text cannot ride along unseen. The MCP results and the session hook show memories this way.
public enum VisibleText {
    /// `text` with every hidden character replaced by `<U+XXXX>`.
    public static func visible(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: isHidden) else { return text }
        var out = ""
        out.unicodeScalars.reserveCapacity(text.unicodeScalars.count)
        for u in text.unicodeScalars {
            if isHidden(u) {
                var hex = String(u.value, radix: 16, uppercase: true)
                while hex.count < 4 { hex = "0" + hex }
                out += "<U+\(hex)>"
            } else {
                out.unicodeScalars.append(u)
            }
        }
        return out
    }

    /// Whether `u` is hidden when displayed.
    public static func isHidden(_ u: Unicode.Scalar) -> Bool {
        let v = u.value
        if v < 0x80 { return (v < 0x20 && v != 0x09 && v != 0x0A) || v == 0x7F }
        switch v {
        case 0x115F, 0x1160, 0x3164, 0xFFA0, 0xE0100...0xE01EF: return true
        default: break
        }
        switch u.properties.generalCategory {
        case .format, .control, .unassigned, .privateUse, .lineSeparator, .paragraphSeparator: return true
        default: return false
        }
    }
}
