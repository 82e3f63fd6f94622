import Foundation
import Testing

@testable import EngramAuth

/// Password hashing parameters, the password policy, TOTP against RFC 6238's test vectors, backup
/// codes, one-time secrets and the AES-GCM secret box.
@Suite struct CredentialTests {
    @Test func bcryptHashesWithTheStatedCostAndVerifies() async throws {
        #expect(PasswordHasher.cost == 12)
        let hash = await PasswordHasher.hash("correct battery horse 42")
        #expect(hash.hasPrefix("$2b$12$"))
        #expect(PasswordHasher.cost(of: hash) == 12)
        #expect(hash.count == 60)
        #expect(await PasswordHasher.verify("correct battery horse 42", hash: hash))
        #expect(!(await PasswordHasher.verify("correct battery horse 43", hash: hash)))
        // Two hashes of one password differ (random salt).
        #expect(await PasswordHasher.hash("correct battery horse 42") != hash)
    }

    @Test func anUnknownUserIsCheckedAgainstADummyHashOfTheSameCost() async throws {
        #expect(PasswordHasher.cost(of: PasswordHasher.dummyHash) == PasswordHasher.cost)
        #expect(!(await PasswordHasher.verify("anything at all", hash: nil)))
    }

    @Test func passwordPolicy() {
        #expect(PasswordPolicy.problem("short1!", userId: "ada") != nil)
        #expect(PasswordPolicy.problem("aaaaaaaaaaaaaaaa", userId: "ada") != nil)
        #expect(PasswordPolicy.problem("Password123!!", userId: "ada") != nil)
        #expect(PasswordPolicy.problem("lovelace-ada-2026", userId: "lovelace") != nil)
        #expect(PasswordPolicy.problem("x123456789abcdefg", userId: "ada") != nil)
        #expect(PasswordPolicy.problem(String(repeating: "é", count: 40), userId: "ada") != nil)  // 80 bytes > 72
        #expect(PasswordPolicy.problem("tidal-marmot-quarry-57", userId: "ada") == nil)
        // The message never repeats the password.
        #expect(PasswordPolicy.problem("Password123!!", userId: "ada")?.contains("Password123") == false)
    }

    /// RFC 6238 appendix B, SHA-1, 8 digits, secret "12345678901234567890".
    @Test(arguments: [
        (59.0, "94287082"), (1_111_111_109.0, "07081804"), (1_111_111_111.0, "14050471"), (1_234_567_890.0, "89005924"),
        (2_000_000_000.0, "69279037"), (20_000_000_000.0, "65353130"),
    ])
    func totpMatchesRFC6238Vectors(time: Double, code: String) {
        let totp = TOTPCodes(secret: "12345678901234567890", digits: 8)
        let step = TOTPCodes.step(at: Date(timeIntervalSince1970: time))
        #expect(totp.code(step: step) == code)
        #expect(totp.matchingStep(code, at: Date(timeIntervalSince1970: time), after: 0) == step)
    }

    @Test func totpAcceptsOneStepOfDriftAndRefusesReplays() {
        let totp = TOTPCodes(secret: TOTPCodes.newSecret())
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let step = TOTPCodes.step(at: now)
        #expect(totp.matchingStep(totp.code(step: step - 1), at: now, after: 0) == step - 1)
        #expect(totp.matchingStep(totp.code(step: step + 1), at: now, after: 0) == step + 1)
        #expect(totp.matchingStep(totp.code(step: step - 2), at: now, after: 0) == nil)
        // A code of a step already accepted (or earlier) is a replay.
        #expect(totp.matchingStep(totp.code(step: step), at: now, after: step) == nil)
        #expect(totp.matchingStep(totp.code(step: step), at: now, after: step - 1) == step)
        #expect(totp.matchingStep("12345", at: now, after: 0) == nil)
        #expect(totp.matchingStep("abcdef", at: now, after: 0) == nil)
    }

    @Test func totpURIAndBase32Secret() {
        let totp = TOTPCodes(secret: "12345678901234567890")
        #expect(totp.base32Secret == "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ")
        let uri = totp.uri(account: "ada")
        #expect(uri.hasPrefix("otpauth://totp/Engram:ada?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"))
        #expect(uri.contains("issuer=Engram"))
        #expect(TOTPCodes.newSecret().count == 32)
        #expect(TOTPCodes.newSecret() != TOTPCodes.newSecret())
    }

    @Test func backupCodes() {
        let codes = BackupCodes.generate()
        #expect(codes.count == 10)
        #expect(Set(codes).count == 10)
        for code in codes {
            #expect(code.count == 11 && code.dropFirst(5).first == "-")
            let hash = BackupCodes.hash(code)
            #expect(hash?.count == 64)
            #expect(BackupCodes.hash(code.uppercased()) == hash)
            #expect(BackupCodes.hash(code.replacingOccurrences(of: "-", with: "")) == hash)
            #expect(hash != code)
        }
        #expect(BackupCodes.hash("123456") == nil)
        #expect(BackupCodes.hash("abcde-fgh1!") == nil)
    }

    @Test func oneTimeSecrets() {
        let a = OneTimeSecret.generate()
        #expect(a.value.count == 43)
        #expect(a != OneTimeSecret.generate())
        #expect(a.hash == OneTimeSecret.hash(a.value) && a.hash.count == 64 && a.hash != a.value)
        #expect(OneTimeSecret.constantTimeEquals("abc", "abc"))
        #expect(!OneTimeSecret.constantTimeEquals("abc", "abd"))
        #expect(!OneTimeSecret.constantTimeEquals("abc", "abcd"))
    }

    @Test func secretBoxSealsPerOwnerAndKey() throws {
        let box = SecretBox(masterKey: "k" + OneTimeSecret.generate().value, purpose: "totp")
        let sealed = try box.seal(Data("s3cret".utf8), owner: "ada")
        #expect(sealed.range(of: Data("s3cret".utf8)) == nil)
        #expect(String(decoding: try box.open(sealed, owner: "ada"), as: UTF8.self) == "s3cret")
        #expect(throws: (any Error).self) { try box.open(sealed, owner: "bob") }
        let other = SecretBox(masterKey: "k" + OneTimeSecret.generate().value, purpose: "totp")
        #expect(throws: (any Error).self) { try other.open(sealed, owner: "ada") }
        var tampered = sealed
        tampered[tampered.count - 1] ^= 1
        #expect(throws: (any Error).self) { try box.open(tampered, owner: "ada") }
        // Two seals of one secret differ (random nonce).
        #expect(try box.seal(Data("s3cret".utf8), owner: "ada") != sealed)
    }
}
