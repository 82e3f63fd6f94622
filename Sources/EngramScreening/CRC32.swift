/// CRC-32 (IEEE 802.3, the zlib polynomial) and the base62 encoding GitHub and npm use for
/// the checksum suffix of their tokens (`ghp_` + 30 random base62 chars + 6-char base62 CRC32).
public enum CRC32 {
    /// The byte-wise lookup table of the reflected polynomial 0xEDB88320.
    public static let table: [UInt32] = (0..<256).map { i -> UInt32 in
        var c = UInt32(i)
        for _ in 0..<8 { c = (c & 1) != 0 ? (0xEDB8_8320 ^ (c >> 1)) : (c >> 1) }
        return c
    }

    /// CRC-32 of `data`.
    @inlinable public static func checksum<C: Collection>(_ data: C) -> UInt32 where C.Element == UInt8 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in data { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        return crc ^ 0xFFFF_FFFF
    }

    /// Digits, upper case, lower case: the base62 alphabet GitHub and npm use.
    public static let base62Alphabet: [UInt8] = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)

    /// Base62 of `value`, left-padded with "0" to `width` characters.
    @inlinable public static func base62(_ value: UInt32, width: Int = 6) -> [UInt8] {
        var v = value
        var out: [UInt8] = []
        while v > 0 {
            out.append(base62Alphabet[Int(v % 62)])
            v /= 62
        }
        while out.count < width { out.append(0x30) }
        return out.reversed()
    }

    /// Verifies a GitHub/npm style token body: the last 6 characters are the base62 CRC32 of the rest.
    @inlinable public static func verifyTrailingBase62<C: Collection>(_ body: C) -> Bool where C.Element == UInt8, C.Index == Int {
        guard body.count > 6 else { return false }
        let split = body.endIndex - 6
        let expected = base62(checksum(body[body.startIndex..<split]))
        return Array(body[split..<body.endIndex]) == expected
    }
}
