public import Foundation
import HummingbirdOTP

/// Time-based one-time passwords (RFC 6238) with hummingbird-auth's `HummingbirdOTP`: HMAC-SHA-1,
/// 6 digits, 30-second steps, the common authenticator-app defaults. A code is accepted for the
/// current step and one step either side (clock drift), and only for a step later than the last one
/// accepted, so a code cannot be replayed.
public struct TOTPCodes: Sendable {
    public static let digits = 6
    public static let period = 30
    /// Steps accepted either side of the current one.
    public static let drift: Int64 = 1

    /// The shared secret: ASCII characters whose UTF-8 bytes are the HMAC key (`HummingbirdOTP`'s model).
    public let secret: String
    private let totp: TOTP

    public init(secret: String, digits: Int = Self.digits) {
        self.secret = secret
        totp = TOTP(secret: secret, length: digits, timeStep: Self.period, hashFunction: .sha1)
    }

    /// A new random secret: 32 characters of [A-Za-z0-9] (190 bits), more than RFC 4226's 160-bit advice.
    public static func newSecret() -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
        var rng = SystemRandomNumberGenerator()
        return String((0..<32).map { _ in alphabet[Int(rng.next(upperBound: UInt32(alphabet.count)))] })
    }

    /// The time step of `date`.
    public static func step(at date: Date) -> Int64 { Int64(date.timeIntervalSince1970 / Double(period)) }

    /// The code of `step`, zero-padded.
    public func code(step: Int64) -> String {
        let n = totp.compute(date: Date(timeIntervalSince1970: Double(step * Int64(Self.period))))
        let text = String(n)
        return String(repeating: "0", count: max(0, totp.length - text.count)) + text
    }

    /// The step `code` belongs to, among the steps around `date` later than `after`; nil when none.
    /// Every candidate is compared (in constant time), so the answer's timing does not tell which matched.
    public func matchingStep(_ code: String, at date: Date, after lastStep: Int64) -> Int64? {
        let digitsOnly = code.filter { !$0.isWhitespace }
        guard digitsOnly.count == totp.length, digitsOnly.allSatisfy(\.isASCII), digitsOnly.allSatisfy(\.isNumber) else { return nil }
        let now = Self.step(at: date)
        var found: Int64?
        for step in (now - Self.drift)...(now + Self.drift) where step > lastStep {
            if OneTimeSecret.constantTimeEquals(self.code(step: step), digitsOnly), found == nil { found = step }
        }
        return found
    }

    /// The `otpauth://` URI authenticator apps read (as a QR code or pasted).
    public func uri(account: String, issuer: String = "Engram") -> String {
        totp.createAuthenticatorURL(label: "\(issuer):\(account)", issuer: issuer)
    }

    /// The base32 secret people type into an authenticator app (taken from the URI HummingbirdOTP builds).
    public var base32Secret: String {
        let uri = self.uri(account: "x")
        guard let range = uri.range(of: "secret=") else { return "" }
        return String(uri[range.upperBound...].prefix { $0 != "&" })
    }
}
