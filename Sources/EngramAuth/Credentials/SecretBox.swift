import Crypto
public import Foundation

/// Seals small secrets at rest (TOTP secrets) with AES-256-GCM under a key derived by HKDF-SHA256 from
/// a master key that lives only in the environment (`ENGRAM_ENCRYPTION_KEY`). Each purpose gets its own
/// derived key, and each box is bound to its owner (the user id as additional data), so a box copied to
/// another row does not open.
public struct SecretBox: SecretSealing {
    private let key: SymmetricKey

    /// A box for `purpose` (e.g. `"totp"`) under `masterKey`.
    public init(masterKey: String, purpose: String) {
        key = HKDF<SHA256>.deriveKey(
            inputKeyMaterial: SymmetricKey(data: Data(masterKey.utf8)),
            salt: Data("engram-secret-box-v1".utf8),
            info: Data(purpose.utf8),
            outputByteCount: 32
        )
    }

    /// `plaintext` sealed for `owner`: nonce, ciphertext and tag.
    public func seal(_ plaintext: Data, owner: String) throws -> Data {
        let box = try AES.GCM.seal(plaintext, using: key, authenticating: Data(owner.utf8))
        guard let combined = box.combined else { throw CryptoKitError.incorrectParameterSize }
        return combined
    }

    /// The plaintext of a box sealed for `owner`; throws when it was altered, sealed under another key
    /// or for another owner.
    public func open(_ sealed: Data, owner: String) throws -> Data {
        try AES.GCM.open(AES.GCM.SealedBox(combined: sealed), using: key, authenticating: Data(owner.utf8))
    }
}

/// Seals a small secret for its owner (TOTP secrets): `SecretBox`, or the at-rest cipher with the
/// boxes earlier releases wrote still readable.
public protocol SecretSealing: Sendable {
    /// `plaintext` sealed for `owner`.
    func seal(_ plaintext: Data, owner: String) throws -> Data
    /// The plaintext of a value sealed for `owner`; throws when it was altered or is not `owner`'s.
    func open(_ sealed: Data, owner: String) throws -> Data
}
