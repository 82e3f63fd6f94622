import Dispatch
import Foundation
import HummingbirdBcrypt

/// Password hashing with bcrypt (hummingbird-auth's `HummingbirdBcrypt`, OpenBSD's C implementation).
///
/// Parameters: cost 12 (2¹² rounds of the Blowfish key schedule, about 0.25 s per hash on one core of
/// the machines this runs on), a 16-byte random salt per hash, the `$2b$` format. Verification compares
/// in constant time (`bcrypt_checkpass` uses `timingsafe_bcmp`). bcrypt reads at most 72 bytes, so
/// `PasswordPolicy` refuses longer passwords instead of silently ignoring their tail.
///
/// Hashing is slow by design, so it runs on a private dispatch queue, not on Swift's cooperative pool
/// (two threads here): a sign-in never stalls the other requests.
public enum PasswordHasher {
    /// The bcrypt cost (log₂ of the rounds).
    public static let cost: UInt8 = 12

    private static let queue = DispatchQueue(label: "engram.password-hashing", attributes: .concurrent)

    /// A fresh bcrypt hash of `password`.
    public static func hash(_ password: String, cost: UInt8 = cost) async -> String {
        await withCheckedContinuation { continuation in
            queue.async { continuation.resume(returning: Bcrypt.hash(password, cost: cost)) }
        }
    }

    /// Whether `password` matches `hash`. With `hash` nil (an unknown user, or one without a password)
    /// it checks against a dummy hash of the same cost and answers false, so that both failures cost
    /// the same time.
    public static func verify(_ password: String, hash: String?) async -> Bool {
        let target = hash ?? dummyHash
        let matched = await withCheckedContinuation { continuation in
            queue.async { continuation.resume(returning: Bcrypt.verify(password, hash: target)) }
        }
        return matched && hash != nil
    }

    /// The cost a stored hash was made with (`$2b$12$…` → 12), or nil when it is not bcrypt.
    public static func cost(of hash: String) -> UInt8? {
        let parts = hash.split(separator: "$", omittingEmptySubsequences: true)
        guard parts.count == 3, parts[0].hasPrefix("2") else { return nil }
        return UInt8(parts[1])
    }

    /// A hash of a random password, made once: what unknown users are checked against.
    static let dummyHash: String = Bcrypt.hash(OneTimeSecret.generate().value, cost: cost)
}
