import CEngramKernels

/// Checksums of segment files at memory speed: CRC-32C striped over four lanes (`engram_checksum`,
/// with the reasons it is hand-written), the same value on the SSE 4.2 and the portable path.
public enum Checksum {
    /// The checksum of `bytes`; `portable` forces the table-driven path (tests compare the two).
    public static func of(_ bytes: UnsafeRawBufferPointer, portable: Bool = false) -> UInt32 {
        engram_checksum(bytes.baseAddress, bytes.count, 0, portable ? 1 : 0)
    }

    /// The checksum of `count` bytes at `start`.
    public static func of(_ start: UnsafeRawPointer, count: Int) -> UInt32 {
        engram_checksum(start, count, 0, 0)
    }
}
