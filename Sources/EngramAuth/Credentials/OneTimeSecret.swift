import Crypto
import Foundation

/// A random secret shown once (a session cookie, an invitation or reset link, an API key) and stored
/// only as its SHA-256, so that a copy of the database cannot be replayed.
public struct OneTimeSecret: Sendable, Hashable {
    /// 32 random bytes, base64url without padding (43 characters).
    public let value: String

    /// A new secret from the system's cryptographic generator.
    public static func generate(bytes: Int = 32) -> OneTimeSecret {
        OneTimeSecret(value: base64URL(SymmetricKey(size: SymmetricKeySize(bitCount: bytes * 8)).withUnsafeBytes { Data($0) }))
    }

    /// The stored form of `value`: lowercase hex SHA-256.
    public var hash: String { Self.hash(value) }

    /// The lowercase hex SHA-256 of `text`.
    public static func hash(_ text: String) -> String {
        SHA256.hash(data: Data(text.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// base64url without padding of the SHA-256 of `text` (PKCE's S256 challenge, RFC 7636).
    public static func sha256Base64URL(_ text: String) -> String {
        base64URL(Data(SHA256.hash(data: Data(text.utf8))))
    }

    /// base64url without padding (RFC 4648 §5).
    static func base64URL(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// Compares two strings in time that depends on their lengths only.
    public static func constantTimeEquals(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8)
        let y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var diff: UInt8 = 0
        for i in 0..<x.count { diff |= x[i] ^ y[i] }
        return diff == 0
    }
}
