public import Foundation

extension UUID {
    /// The canonical lower-case hyphenated text (`uuidString.lowercased()`), built from a table:
    /// Foundation's `uuidString` formats through `vsnprintf`, which `perf` showed at several
    /// percent of a search request's CPU (ids are written for every hit).
    public var lowercasedText: String {
        withUnsafeBytes(of: uuid) { bytes in
            String(unsafeUninitializedCapacity: 36) { out in
                var o = 0
                for (i, b) in bytes.enumerated() {
                    if i == 4 || i == 6 || i == 8 || i == 10 {
                        out[o] = UInt8(ascii: "-")
                        o += 1
                    }
                    out[o] = Hex.digits[Int(b >> 4)]
                    out[o + 1] = Hex.digits[Int(b & 0x0F)]
                    o += 2
                }
                return o
            }
        }
    }
}
