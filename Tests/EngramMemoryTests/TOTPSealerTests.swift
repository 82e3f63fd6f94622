import Crypto
import EngramAccounts
import EngramAtRest
import EngramAuth
import EngramDatabase
import EngramMetadata
import Foundation
import Testing

@testable import EngramMemory

/// TOTP secrets under the at-rest cipher: new ones are envelopes bound to their owner, and the boxes
/// earlier releases sealed with `SecretBox` (keyed by the same setting) still open.
@Suite struct TOTPSealerTests {
    static let setting = Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()

    static func sealer(previous: AtRestCipher.MasterKey? = nil) throws -> TOTPSealer {
        TOTPSealer(
            cipher: AtRestCipher(current: try AtRestCipher.MasterKey(setting: setting), previous: previous),
            legacy: [SecretBox(masterKey: setting, purpose: "totp")]
        )
    }

    @Test func newSecretsAreEnvelopesBoundToTheirOwner() throws {
        let sealer = try Self.sealer()
        let secret = Data("JBSWY3DPEHPK3PXP".utf8)
        let sealed = try sealer.seal(secret, owner: "ada")
        #expect(AtRestCipher.isSealed(sealed) && sealer.isCurrent(sealed))
        #expect(try sealer.open(sealed, owner: "ada") == secret)
        #expect(throws: SealedValueUnreadable.self) { try sealer.open(sealed, owner: "bob") }
        var altered = sealed
        altered[altered.endIndex - 1] ^= 0x80
        #expect(throws: SealedValueUnreadable.self) { try sealer.open(altered, owner: "ada") }
    }

    @Test func boxesOfEarlierReleasesStillOpenAndAreNotCurrent() throws {
        let sealer = try Self.sealer()
        let legacy = try SecretBox(masterKey: Self.setting, purpose: "totp").seal(Data("OLDSECRET".utf8), owner: "ada")
        #expect(try sealer.open(legacy, owner: "ada") == Data("OLDSECRET".utf8))
        #expect(!sealer.isCurrent(legacy), "rotation reseals it")
        #expect(throws: SealedValueUnreadable.self) { try sealer.open(legacy, owner: "bob") }
        let stranger = try SecretBox(masterKey: OneTimeSecret.generate().value + "x", purpose: "totp").seal(Data("X".utf8), owner: "ada")
        #expect(throws: SealedValueUnreadable.self) { try sealer.open(stranger, owner: "ada") }
    }

    @Test func aRotationKeepsTheOldSecretsReadable() throws {
        let old = AtRestCipher.MasterKey(bytes: Data((0..<32).map { _ in UInt8.random(in: 0...255) }))
        let before = try TOTPSealer(cipher: AtRestCipher(current: old)).seal(Data("S".utf8), owner: "ada")
        let rotating = try Self.sealer(previous: old)
        #expect(try rotating.open(before, owner: "ada") == Data("S".utf8))
        #expect(!rotating.isCurrent(before))
        #expect(throws: SealedValueUnreadable.self) { try Self.sealer().open(before, owner: "ada") }
    }
}
