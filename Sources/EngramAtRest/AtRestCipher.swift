import Crypto
public import EngramMetadata
public import Foundation
import Synchronization

/// Encryption at rest: AES-256-GCM under per-tenant keys derived with HKDF-SHA256 from one master
/// key that lives only in the environment (`ENGRAM_ENCRYPTION_KEY`).
///
/// Every value is sealed with a fresh random 96-bit nonce and the record's identity as additional
/// authenticated data (`memory_version:<id>:<version>`, `point:<key>`, `org:<id>:webhook_secret`…),
/// so a ciphertext copied to another row, another tenant or another column does not open. Each
/// tenant (`org:<id>`, `user:<id>`) has its own derived key.
///
/// The sealed form (an *envelope*) is
/// `magic(4) | key id(8) | nonce(12) | ciphertext | tag(16)`. The key id (the first 8 bytes of
/// HMAC-SHA256 of the master key over a constant) names the master key without revealing it, so a
/// value sealed under another key is reported as such instead of as a forgery, and rotation can tell
/// which values still carry the previous key. Text columns hold `e1:` followed by the envelope in
/// base64. A value without the magic is a legacy plaintext value (written before encryption was
/// on): `open` returns it as it is, and `engram keys rotate` seals it.
public final class AtRestCipher: RecordSealing {
    /// One master key: 32 bytes and its public id.
    public struct MasterKey: Sendable {
        fileprivate let key: SymmetricKey
        /// Hex of the first 8 bytes of HMAC-SHA256(key, "engram-key-id").
        public let id: String
        fileprivate let idBytes: Data

        /// A key from its 32 bytes.
        public init(bytes: Data) {
            key = SymmetricKey(data: bytes)
            let mac = HMAC<SHA256>.authenticationCode(for: Data("engram-key-id".utf8), using: key)
            idBytes = Data(mac.prefix(8))
            id = idBytes.map { String(format: "%02x", $0) }.joined()
        }

        /// The key written in `ENGRAM_ENCRYPTION_KEY`: the base64 of 32 random bytes
        /// (`openssl rand -base64 32`). A longer random string (≥ 32 bytes, as earlier releases
        /// accepted for TOTP sealing) is taken through SHA-256; the caller checks its entropy.
        public init(setting: String) throws {
            let trimmed = setting.trimmingCharacters(in: .whitespacesAndNewlines)
            if let bytes = Data(base64Encoded: trimmed), bytes.count == 32 {
                self.init(bytes: bytes)
            } else if trimmed.utf8.count >= 32 {
                self.init(bytes: Data(SHA256.hash(data: Data(trimmed.utf8))))
            } else {
                throw AtRestCipherError.badKey("must be 32 random bytes in base64 (openssl rand -base64 32)")
            }
        }
    }

    /// Magic bytes of an envelope: no JSON text, UTF-8 string or earlier TOTP box starts with NUL + "EA".
    public static let magic = Data([0x00, 0x45, 0x41, 0x01])
    /// Prefix of a sealed value in a text column.
    public static let textPrefix = "e1:"
    static let headerLength = 4 + 8 + 12

    /// The key new values are sealed under.
    public let current: MasterKey
    /// The key being rotated away from (`ENGRAM_ENCRYPTION_KEY_PREVIOUS`): values sealed under it still open.
    public let previous: MasterKey?
    private let derived = Mutex<[String: SymmetricKey]>([:])

    public init(current: MasterKey, previous: MasterKey? = nil) {
        self.current = current
        self.previous = previous?.id == current.id ? nil : previous
    }

    // MARK: Binary values

    /// `plaintext` sealed for the record `identity` of `tenant` under the current key.
    public func seal(_ plaintext: Data, tenant: String, identity: String) throws -> Data {
        let key = tenantKey(current, tenant)
        let box = try AES.GCM.seal(plaintext, using: key, nonce: AES.GCM.Nonce(), authenticating: Self.aad(tenant, identity))
        var out = Self.magic
        out.reserveCapacity(Self.headerLength + plaintext.count + 16)
        out.append(current.idBytes)
        box.nonce.withUnsafeBytes { out.append(contentsOf: $0) }
        out.append(box.ciphertext)
        out.append(box.tag)
        return out
    }

    /// The plaintext of `stored`: opened when it is an envelope, returned as it is otherwise (a
    /// legacy plaintext value). Throws `AtRestCipherError` when the envelope was altered, moved to
    /// another record or sealed under a key this cipher does not hold.
    public func open(_ stored: Data, tenant: String, identity: String) throws -> Data {
        guard Self.isSealed(stored) else { return stored }
        return try openEnvelope(stored, tenant: tenant, identity: identity)
    }

    /// Whether `stored` is an envelope.
    public static func isSealed(_ stored: Data) -> Bool {
        stored.count >= headerLength + 16 && stored.prefix(4).elementsEqual(magic)
    }

    /// The key id an envelope was sealed under (nil for a plaintext value).
    public static func keyID(of stored: Data) -> String? {
        guard isSealed(stored) else { return nil }
        let start = stored.startIndex + 4
        return stored[start..<start + 8].map { String(format: "%02x", $0) }.joined()
    }

    /// Whether `stored` is an envelope (`RecordSealing`).
    public func isSealed(_ stored: Data) -> Bool { Self.isSealed(stored) }

    /// Whether `stored` is sealed under the current key (rotation leaves it alone).
    public func isCurrent(_ stored: Data) -> Bool { Self.keyID(of: stored) == current.id }

    // MARK: Text values

    /// A text value sealed for a text column: `e1:` and the base64 envelope.
    public func sealText(_ plaintext: String, tenant: String, identity: String) throws -> String {
        Self.textPrefix + (try seal(Data(plaintext.utf8), tenant: tenant, identity: identity)).base64EncodedString()
    }

    /// The plaintext of a text column's value (a legacy plaintext value is returned as it is).
    public func openText(_ stored: String, tenant: String, identity: String) throws -> String {
        guard stored.hasPrefix(Self.textPrefix) else { return stored }
        guard let data = Data(base64Encoded: String(stored.dropFirst(Self.textPrefix.count))), Self.isSealed(data) else {
            throw AtRestCipherError.corrupt(identity)
        }
        guard let text = String(data: try openEnvelope(data, tenant: tenant, identity: identity), encoding: .utf8) else {
            throw AtRestCipherError.corrupt(identity)
        }
        return text
    }

    /// The key id of a text column's sealed value (nil for plaintext).
    public static func keyID(ofText stored: String) -> String? {
        guard stored.hasPrefix(textPrefix), let data = Data(base64Encoded: String(stored.dropFirst(textPrefix.count))) else { return nil }
        return keyID(of: data)
    }

    /// Whether a text value is sealed under the current key.
    public func isCurrent(text stored: String) -> Bool { Self.keyID(ofText: stored) == current.id }

    // MARK: Internals

    private func openEnvelope(_ stored: Data, tenant: String, identity: String) throws -> Data {
        let base = stored.startIndex
        let id = stored[base + 4..<base + 12]
        let master: MasterKey
        if id.elementsEqual(current.idBytes) {
            master = current
        } else if let previous, id.elementsEqual(previous.idBytes) {
            master = previous
        } else {
            throw AtRestCipherError.unknownKey(id.map { String(format: "%02x", $0) }.joined())
        }
        do {
            let nonce = try AES.GCM.Nonce(data: stored[base + 12..<base + Self.headerLength])
            let box = try AES.GCM.SealedBox(
                nonce: nonce,
                ciphertext: stored[(base + Self.headerLength)..<(stored.endIndex - 16)],
                tag: stored[(stored.endIndex - 16)...]
            )
            return try AES.GCM.open(box, using: tenantKey(master, tenant), authenticating: Self.aad(tenant, identity))
        } catch {
            throw AtRestCipherError.corrupt(identity)
        }
    }

    private func tenantKey(_ master: MasterKey, _ tenant: String) -> SymmetricKey {
        let cacheKey = master.id + "|" + tenant
        if let key = derived.withLock({ $0[cacheKey] }) { return key }
        let key = HKDF<SHA256>.deriveKey(
            inputKeyMaterial: master.key,
            salt: Data("engram-at-rest-v1".utf8),
            info: Data("tenant=\(tenant)".utf8),
            outputByteCount: 32
        )
        derived.withLock { cache in
            if cache.count > 4096 { cache.removeAll() }
            cache[cacheKey] = key
        }
        return key
    }

    private static func aad(_ tenant: String, _ identity: String) -> Data { Data("\(tenant)\u{0}\(identity)".utf8) }
}

/// Why a sealed value could not be used. Messages name the record and key ids, never a value.
public enum AtRestCipherError: Error, Equatable, CustomStringConvertible {
    /// The key setting is malformed.
    case badKey(String)
    /// Sealed under a master key this server does not hold (its id).
    case unknownKey(String)
    /// Altered, truncated, or moved from another record (the record's identity).
    case corrupt(String)

    public var description: String {
        switch self {
        case .badKey(let why): return "ENGRAM_ENCRYPTION_KEY \(why)"
        case .unknownKey(let id): return "a value is sealed under key id \(id), which this server does not hold"
        case .corrupt(let identity): return "the sealed value of \(identity) does not open (altered or moved)"
        }
    }
}
