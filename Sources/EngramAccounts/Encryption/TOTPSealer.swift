public import EngramAuth
public import EngramMetadata
public import Foundation

/// Seals TOTP secrets with the at-rest cipher (`credential:<user>:totp` as the record's identity,
/// under the user's key), and still opens the boxes earlier releases sealed with `SecretBox`.
public struct TOTPSealer: SecretSealing {
    public let cipher: any RecordSealing
    /// Boxes of earlier releases, keyed by the current and previous key settings.
    let legacy: [SecretBox]

    public init(cipher: any RecordSealing, legacy: [SecretBox] = []) {
        self.cipher = cipher
        self.legacy = legacy
    }

    static func identity(_ owner: String) -> String { "credential:\(owner):totp" }

    public func seal(_ plaintext: Data, owner: String) throws -> Data {
        try cipher.seal(plaintext, tenant: "user:" + owner, identity: Self.identity(owner))
    }

    public func open(_ sealed: Data, owner: String) throws -> Data {
        if cipher.isSealed(sealed), let plain = try? cipher.open(sealed, tenant: "user:" + owner, identity: Self.identity(owner)) {
            return plain
        }
        for box in legacy { if let plain = try? box.open(sealed, owner: owner) { return plain } }
        throw SealedValueUnreadable(identity: Self.identity(owner))
    }

    /// Whether `sealed` is under the cipher's current key (rotation reseals the rest).
    public func isCurrent(_ sealed: Data) -> Bool { cipher.isCurrent(sealed) }
}
