/// Reversible disguises of a token: ROT13, reversal, or both (`tuc_…`, `…_phg`, `…_cut` for `ghp_…`).
public enum TokenTransform: CaseIterable, Sendable {
    case rot13, reversed, reversedRot13

    /// The name used in rule ids (`rot13:github-pat`).
    @inlinable public var name: String {
        switch self {
        case .rot13: "rot13"
        case .reversed: "reversed"
        case .reversedRot13: "reversed-rot13"
        }
    }

    /// `v` with the transform applied (each is its own inverse up to reversal order).
    @inlinable public func apply(_ v: ArraySlice<UInt8>) -> [UInt8] {
        switch self {
        case .rot13: v.map(TokenTransform.rot13)
        case .reversed: v.reversed()
        case .reversedRot13: v.reversed().map(TokenTransform.rot13)
        }
    }

    /// ROT13 of one ASCII letter (other bytes unchanged).
    @inlinable @inline(__always) public static func rot13(_ c: UInt8) -> UInt8 {
        if isUpper(c) { return (c - 0x41 + 13) % 26 + 0x41 }
        if isLower(c) { return (c - 0x61 + 13) % 26 + 0x61 }
        return c
    }
}
