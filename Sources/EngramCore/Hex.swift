/// Lower-case hexadecimal text of bytes, built from a table.
///
/// Why not `String(format: "%02x")`: it parses a format string per byte through `vsnprintf`,
/// which `perf` showed on per-request paths (token digests, content hashes, ids).
public enum Hex {
    /// `0`–`9`, `a`–`f` as ASCII bytes.
    static let digits: [UInt8] = Array("0123456789abcdef".utf8)

    /// Two lower-case hex digits per byte.
    public static func lowercase<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.underestimatedCount * 2)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
