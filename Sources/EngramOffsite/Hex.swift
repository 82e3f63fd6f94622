/// Hexadecimal text of digests.
enum Hex {
    static let upper = Array("0123456789ABCDEF")
    static let lower = Array("0123456789abcdef")

    static func lowercase<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        var out = ""
        for byte in bytes {
            out.append(lower[Int(byte >> 4)])
            out.append(lower[Int(byte & 0x0F)])
        }
        return out
    }
}
