/// Readers for length-prefixed binary formats found in decoded text: ASN.1 DER lengths and
/// INTEGER runs, SSH wire-format (big-endian 32-bit length) strings.
public enum BinaryReaders {
    /// DER length at `p`: (length, index of the content). Rejects non-minimal long forms.
    @inlinable public static func derLength(_ d: [UInt8], _ p: Int) -> (Int, Int)? {
        guard p < d.count else { return nil }
        let c = d[p]
        if c < 0x80 { return (Int(c), p + 1) }
        if c == 0x81 && p + 1 < d.count && d[p + 1] >= 0x80 { return (Int(d[p + 1]), p + 2) }
        if c == 0x82 && p + 2 < d.count && d[p + 1] != 0 { return (Int(d[p + 1]) << 8 | Int(d[p + 2]), p + 3) }
        return nil
    }

    /// Big-endian 32-bit integer at `p` (the caller checks that four bytes are there).
    @inlinable @inline(__always) public static func be32(_ d: [UInt8], _ p: Int) -> Int {
        Int(d[p]) << 24 | Int(d[p + 1]) << 16 | Int(d[p + 2]) << 8 | Int(d[p + 3])
    }

    /// Number of back-to-back DER INTEGERs of 48–1100 bytes (positive, minimal) starting at `p`.
    @inlinable public static func derIntegerChain(_ d: [UInt8], _ p: Int) -> Int {
        var count = 0
        var q = p
        while q + 1 < d.count && d[q] == 0x02, let (len, r) = derLength(d, q + 1), (48...1100).contains(len), r + len <= d.count {
            if d[r] == 0 && d[r + 1] < 0x80 { break }
            count += 1
            q = r + len
        }
        return count
    }

    /// Number of back-to-back SSH strings/mpints of 48–1100 bytes starting at `p`.
    @inlinable public static func sshNumberChain(_ d: [UInt8], _ p: Int) -> Int {
        var count = 0
        var q = p
        while q + 4 <= d.count {
            let len = be32(d, q)
            guard (48...1100).contains(len), q + 4 + len <= d.count else { break }
            count += 1
            q += 4 + len
        }
        return count
    }
}
