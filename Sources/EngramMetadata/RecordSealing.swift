public import Foundation

/// Encryption at rest as the domain sees it: a value sealed for one record of one tenant, so that a
/// ciphertext moved to another record or tenant does not open. EngramDatabase's `AtRestCipher`
/// implements it; the domain seals what it stores outside the metadata tables (TOTP secrets).
public protocol RecordSealing: Sendable {
    /// `plaintext` sealed for the record `identity` of `tenant`.
    func seal(_ plaintext: Data, tenant: String, identity: String) throws -> Data
    /// The plaintext of a sealed value; a value that is not sealed is returned as it is.
    func open(_ stored: Data, tenant: String, identity: String) throws -> Data
    /// Whether `stored` is a sealed value (not a plaintext one).
    func isSealed(_ stored: Data) -> Bool
    /// Whether `stored` is sealed under the current key.
    func isCurrent(_ stored: Data) -> Bool
}

/// A sealed value did not open: altered, moved from another record, or under a key not held.
/// The message names the record, never the value.
public struct SealedValueUnreadable: Error, CustomStringConvertible {
    public let identity: String
    public init(identity: String) { self.identity = identity }
    public var description: String { "the sealed value of \(identity) does not open (altered or moved)" }
}
