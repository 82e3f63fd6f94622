import Foundation
import XCTest

@testable import EngramSecrets

/// Issue 13 item 2: private key material is caught by its structure (DER PKCS#1/PKCS#8/SEC1,
/// `openssh-key-v1`), not only when the PEM armour is intact. One test per attack form, then the
/// public material and prose that must stay allowed.
final class PrivateKeyMaterialTests: XCTestCase {
    var fx = Fixtures(seed: 0x13_02)
    let scanner = SecretScanner()
    let rsaLabel = "RSA " + Fixtures.privateLabel
    let sshLabel = "OPENSSH " + Fixtures.privateLabel

    func assertKey(_ text: String, file: StaticString = #filePath, line: UInt = #line) {
        let f = scanner.scan(text)
        XCTAssertTrue(
            f.contains { $0.family == "private-key" },
            "expected a private-key finding, got \(f.map(\.ruleID)) in: \(text.prefix(100))",
            file: file,
            line: line
        )
    }

    func assertClean(_ text: String, file: StaticString = #filePath, line: UInt = #line) {
        let f = scanner.scan(text)
        XCTAssertTrue(f.isEmpty, "unexpected \(f.map(\.ruleID)) in: \(text.prefix(160))", file: file, line: line)
    }

    /// The four DER/OpenSSH layouts, wrapped as their tools wrap them.
    func bodies() -> [[String]] {
        [
            Fixtures.wrapped(fx.rsaPKCS1()), Fixtures.wrapped(fx.rsaPKCS8()), Fixtures.wrapped(fx.sec1()),
            Fixtures.wrapped(fx.ecPKCS8()), Fixtures.wrapped(fx.opensshEd25519(), width: 70),
        ]
    }

    func testBodyWithoutArmour() {
        for lines in bodies() { assertKey(lines.joined(separator: "\n")) }
        let f = scanner.scan(Fixtures.wrapped(fx.rsaPKCS1()).joined(separator: "\n"))
        XCTAssertEqual(f.first?.ruleID, "private-key-material")
    }

    func testFirstHalfAlone() {
        let rsa = Fixtures.wrapped(fx.rsaPKCS1())
        assertKey(rsa[..<(rsa.count / 2)].joined(separator: "\n"))
        let ssh = Fixtures.wrapped(fx.opensshEd25519(), width: 70)
        assertKey(ssh[..<(ssh.count / 2)].joined(separator: "\n"))
        // Split in the middle of the base64, not at a line break.
        let flat = Fixtures.wrapped(fx.rsaPKCS8()).joined()
        assertKey("part 1/2: " + String(flat.prefix(flat.count / 2)))
    }

    func testSecondHalfAlone() {
        let rsa = Fixtures.wrapped(fx.rsaPKCS1())
        assertKey(rsa[(rsa.count / 2)...].joined(separator: "\n"))
        let ssh = Fixtures.wrapped(fx.opensshEd25519(), width: 70)
        assertKey(ssh[(ssh.count / 2)...].joined(separator: "\n"))
        // Mid-line splits at every base64 alignment.
        for cut in 0..<4 {
            let flat = Fixtures.wrapped(fx.rsaPKCS1()).joined()
            assertKey("part 2/2: " + String(flat.dropFirst(flat.count / 2 + cut)))
            let sshFlat = Fixtures.wrapped(fx.opensshEd25519(), width: 70).joined()
            assertKey(String(sshFlat.dropFirst(sshFlat.count / 2 + cut)))
        }
    }

    func testBodyOnOneLine() {
        for lines in bodies() { assertKey("key=" + lines.joined()) }
    }

    func testBodyJoinedWithSpaces() {
        for lines in bodies() { assertKey("the deploy key: " + lines.joined(separator: " ")) }
    }

    /// Armour with random (non-DER) bodies, so only the armour rule can fire.
    func randomBody(_ lines: Int = 8) -> String {
        (0..<lines).map { _ in String(fx.base64Key(bytes: 48).prefix(64)) }.joined(separator: "\n")
    }

    func testArmourWithExtraSpaces() {
        let text = Fixtures.armour("BEGIN", rsaLabel, inner: " ") + "\n" + randomBody() + "\n" + Fixtures.armour("END", rsaLabel, inner: " ")
        assertKey(text)
        assertKey(Fixtures.armour("BEGIN", "RSA  PRIVATE   KEY", inner: "  ") + "\n" + randomBody())
    }

    func testArmourWithFourDashes() {
        assertKey(Fixtures.armour("BEGIN", rsaLabel, dashes: 4) + "\n" + randomBody() + "\n" + Fixtures.armour("END", rsaLabel, dashes: 4))
    }

    func testArmourInLowerCase() {
        let label = sshLabel.lowercased()
        assertKey(Fixtures.armour("begin", label) + "\n" + randomBody() + "\n" + Fixtures.armour("end", label))
    }

    func testQuotedLines() {
        let pem = [Fixtures.armour("BEGIN", rsaLabel)] + Fixtures.wrapped(fx.rsaPKCS1()) + [Fixtures.armour("END", rsaLabel)]
        assertKey("As pasted in the ticket:\n" + pem.map { "> " + $0 }.joined(separator: "\n"))
        let ssh = Fixtures.wrapped(fx.opensshEd25519(), width: 70)
        assertKey(ssh.map { "> " + $0 }.joined(separator: "\n"))
    }

    func testListPrefixedLines() {
        let pem = [Fixtures.armour("BEGIN", rsaLabel)] + Fixtures.wrapped(fx.rsaPKCS8()) + [Fixtures.armour("END", rsaLabel)]
        assertKey("Steps:\n" + pem.map { "- " + $0 }.joined(separator: "\n"))
        assertKey(Fixtures.wrapped(fx.sec1()).map { "- " + $0 }.joined(separator: "\n"))
    }

    func testProseThenBody() {
        assertKey("Here is the deploy key for the legacy box, keep it safe: " + Fixtures.wrapped(fx.rsaPKCS1()).joined(separator: "\n"))
        assertKey("The CI key is\n" + Fixtures.wrapped(fx.opensshEd25519(), width: 70).joined(separator: "\n") + "\nRotate yearly.")
    }

    func testBeginLineOnItsOwn() {
        assertKey(Fixtures.armour("BEGIN", rsaLabel))
        assertKey(Fixtures.armour("BEGIN", sshLabel) + "\n")
        assertKey("Part 1 of the key:\n" + Fixtures.armour("BEGIN", Fixtures.privateLabel))
    }

    func testJSONEscapedBodyWithoutArmour() {
        assertKey(#"{"key": ""# + Fixtures.wrapped(fx.rsaPKCS8()).joined(separator: "\\n") + #""}"#)
    }

    // MARK: must stay allowed

    func testHeaderNamedInProseStaysAllowed() {
        let ssh = Fixtures.armour("BEGIN", sshLabel)
        assertClean(
            "Deploy keys are generated with `ssh-keygen -t ed25519`; the private file starts with `\(ssh)` and must stay in ~/.ssh with mode 600."
        )
        assertClean("the private file starts with \(ssh)")
        assertClean("If the file begins with \"\(Fixtures.armour("BEGIN", rsaLabel))\" it is PKCS#1; convert with openssl pkcs8 -topk8.")
        assertClean("Look for " + Fixtures.armour("begin", rsaLabel.lowercased(), dashes: 4) + " in the logs; that means a key leaked.")
    }

    func testPublicKeysAndCertificatesStayAllowed() {
        let spki = Fixtures.wrapped(fx.rsaSPKI())
        assertClean(
            "JWT verification uses this public key:\n"
                + ([Fixtures.armour("BEGIN", "PUBLIC KEY")] + spki + [Fixtures.armour("END", "PUBLIC KEY")]).joined(separator: "\n")
        )
        assertClean("public key body:\n" + spki.joined(separator: "\n"))
        assertClean("public key on one line: " + spki.joined())
        let cert = Fixtures.wrapped(fx.certificate())
        assertClean(([Fixtures.armour("BEGIN", "CERTIFICATE")] + cert + [Fixtures.armour("END", "CERTIFICATE")]).joined(separator: "\n"))
        assertClean("the CA certificate body is\n" + cert.joined(separator: "\n"))
        assertClean(cert[..<(cert.count / 2)].joined(separator: "\n"))
        assertClean(cert[(cert.count / 2)...].joined(separator: "\n"))
        assertClean("Add the PUBLIC half to the repo: " + fx.sshEd25519Public())
        assertClean("> " + fx.sshEd25519Public())
    }

    func testConstantOpenSSHFirstLineStaysAllowed() {
        // Every unencrypted Ed25519 key starts with the same 70 characters (magic, cipher, key type).
        let first = Fixtures.wrapped(fx.opensshEd25519(), width: 70)[0]
        assertClean("A valid key file's body starts with \(first) — that part is the same for every key.")
    }

    func testOtherBase64BlobsStayAllowed() {
        // Random binary (an image, ciphertext) wrapped like PEM has no key structure.
        let blob = Fixtures.wrapped(fx.bytes(900))
        assertClean("the fixture image, base64:\n" + blob.joined(separator: "\n"))
        assertClean("SBOM signature: " + fx.base64Key(bytes: 512))
    }
}
