import Foundation

/// TOTP backup codes: ten codes of ten characters (`k7m2p-x9qrt`) from an alphabet without look-alike
/// characters (about 49 bits each), shown once at enrolment and stored as SHA-256 hashes of their
/// normalised form; each works once.
public enum BackupCodes {
    /// How many codes a set has.
    public static let count = 10
    static let alphabet = Array("abcdefghjkmnpqrstuvwxyz23456789")

    /// A new set of codes, as shown to the person.
    public static func generate() -> [String] {
        var rng = SystemRandomNumberGenerator()
        return (0..<count).map { _ in
            let chars = (0..<10).map { _ in alphabet[Int(rng.next(upperBound: UInt32(alphabet.count)))] }
            return String(chars[0..<5]) + "-" + String(chars[5..<10])
        }
    }

    /// The normalised code (lowercase, without spaces or dashes), or nil when `text` cannot be a code.
    public static func normalise(_ text: String) -> String? {
        let core = text.lowercased().filter { $0 != "-" && $0 != " " }
        guard core.count == 10, core.allSatisfy({ alphabet.contains($0) }) else { return nil }
        return core
    }

    /// The stored form of a code.
    public static func hash(_ code: String) -> String? {
        normalise(code).map(OneTimeSecret.hash)
    }
}
