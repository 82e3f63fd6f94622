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

/// The tenants and identities the metadata stores seal lifecycle values under, shared by every engine
/// so that a value sealed by one opens in another (an engine migration copies sealed bytes as they are).
public enum SealedIdentity {
    /// The key scope of a memory version: its organisation (versions of memories outside any org share one).
    public static func versionTenant(_ orgId: String?) -> String { orgId.map { "org:" + $0 } ?? "" }

    /// A version snapshot's identity: a snapshot moved to another version or memory does not open.
    public static func versionIdentity(_ memoryId: String, _ version: Int) -> String { "memory_version:\(memoryId):\(version)" }

    /// The key scope of an organisation's webhook secret.
    public static func webhookTenant(_ orgId: String) -> String { "org:" + orgId }

    /// An organisation's webhook secret's identity.
    public static func webhookIdentity(_ orgId: String) -> String { "org:\(orgId):webhook_secret" }

    /// The first bytes of every sealed binary value (`AtRestCipher.magic`).
    public static let magic: [UInt8] = [0x00, 0x45, 0x41, 0x01]

    /// The prefix of a sealed text value, before the base64 envelope (`AtRestCipher.textPrefix`).
    public static let textPrefix = "e1:"

    /// Whether `stored` has the sealed-value header (whoever's key sealed it).
    public static func looksSealed(_ stored: Data) -> Bool { stored.starts(with: magic) }
}

extension RecordSealing {
    /// A text value sealed for a text column: `e1:` and the base64 envelope (`AtRestCipher.sealText`).
    public func sealText(_ plaintext: String, tenant: String, identity: String) throws -> String {
        SealedIdentity.textPrefix + (try seal(Data(plaintext.utf8), tenant: tenant, identity: identity)).base64EncodedString()
    }

    /// The plaintext of a text column's value; a plaintext value is returned as it is (`AtRestCipher.openText`).
    public func openText(_ stored: String, tenant: String, identity: String) throws -> String {
        guard stored.hasPrefix(SealedIdentity.textPrefix) else { return stored }
        guard let data = Data(base64Encoded: String(stored.dropFirst(SealedIdentity.textPrefix.count))), isSealed(data),
            let text = String(data: try open(data, tenant: tenant, identity: identity), encoding: .utf8)
        else { throw SealedValueUnreadable(identity: identity) }
        return text
    }
}
