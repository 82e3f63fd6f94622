import Foundation
import XCTest

@testable import EngramSecrets

/// Issue 13 item 6: secrets hidden by an encoding (base64, hex, percent-encoding), a transform
/// (ROT13, reversal), invisible or full-width characters, a scheme-less Git URL, or written in
/// prose in another language. One test per attack form, then the look-alikes that must pass.
final class EncodedSecretTests: XCTestCase {
    var fx = Fixtures(seed: 0x13_06)
    let scanner = SecretScanner()

    /// Asserts a finding of `family` whose Character range covers `fragment` in `text`.
    func assertFinds(_ family: String, in text: String, covering fragment: String? = nil, file: StaticString = #filePath, line: UInt = #line) {
        let f = scanner.scan(text)
        XCTAssertTrue(
            f.contains { $0.family == family },
            "expected \(family), got \(f.map(\.ruleID)) in: \(text.prefix(120))",
            file: file,
            line: line
        )
        if let fragment, let r = text.range(of: fragment) {
            let s = text.distance(from: text.startIndex, to: r.lowerBound)
            let e = text.distance(from: text.startIndex, to: r.upperBound)
            XCTAssertTrue(
                f.contains { $0.range.lowerBound <= s && $0.range.upperBound >= e },
                "ranges \(f.map(\.range)) miss \(s)..<\(e)",
                file: file,
                line: line
            )
        }
    }

    func assertClean(_ text: String, file: StaticString = #filePath, line: UInt = #line) {
        let f = scanner.scan(text)
        XCTAssertTrue(f.isEmpty, "unexpected \(f.map(\.ruleID)) in: \(text.prefix(160))", file: file, line: line)
    }

    static func rot13(_ s: String) -> String {
        String(
            String.UnicodeScalarView(
                s.unicodeScalars.map { c -> Unicode.Scalar in
                    switch c.value {
                    case 0x41...0x5A: return Unicode.Scalar((c.value - 0x41 + 13) % 26 + 0x41)!
                    case 0x61...0x7A: return Unicode.Scalar((c.value - 0x61 + 13) % 26 + 0x61)!
                    default: return c
                    }
                }
            )
        )
    }

    static func hex(_ s: String) -> String { s.utf8.map { String(format: "%02x", $0) }.joined() }
    static func percent(_ s: String) -> String { s.utf8.map { String(format: "%%%02X", $0) }.joined() }
    static func b64(_ s: String) -> String { Data(s.utf8).base64EncodedString() }

    // MARK: encodings of a GitHub token

    func testBase64OfGitHubToken() {
        let enc = Self.b64(fx.ghp())
        assertFinds("github", in: "backup of the bot credential: \(enc)", covering: enc)
        let f = scanner.scan("x \(enc)")
        XCTAssertEqual(f.first?.ruleID, "base64:github-pat")
        XCTAssertEqual(f.first?.range, 2..<(2 + enc.count))
    }

    func testHexOfGitHubToken() {
        let enc = Self.hex(fx.ghp())
        assertFinds("github", in: "stored as hex: \(enc)", covering: enc)
    }

    func testURLEncodedGitHubToken() {
        let pat = fx.ghp()
        let enc = Self.percent(pat)
        assertFinds("github", in: "callback?state=\(enc)&x=1", covering: enc)
        // Only the underscore encoded.
        let partial = pat.replacingOccurrences(of: "_", with: "%5F")
        assertFinds("github", in: "https://ci.acme.io/hook?token=\(partial)", covering: partial)
    }

    func testROT13OfGitHubToken() {
        let enc = Self.rot13(fx.ghp())
        assertFinds("github", in: "obfuscated: \(enc) (rot13)", covering: enc)
    }

    func testReversedGitHubToken() {
        let enc = String(fx.ghp().reversed())
        assertFinds("github", in: "reversed so scanners miss it: \(enc)", covering: enc)
    }

    func testBase64OfAWSKeyPair() {
        let id = fx.awsKeyID()
        let secret = fx.awsSecret()
        let enc = Self.b64("\(id):\(secret)")
        assertFinds("aws", in: "creds blob \(enc)", covering: enc)
        let ini = Self.b64("[default]\naws_access_key_id = \(id)\naws_secret_access_key = \(secret)\n")
        assertFinds("aws", in: "credentials file (base64): \(ini)", covering: ini)
    }

    // MARK: invisible and compatibility characters

    func testZeroWidthSpaceInsideAWSKeyID() {
        let id = fx.awsKeyID()
        let split = String(id.prefix(8)) + "\u{200B}" + String(id.dropFirst(8))
        let text = "Schlüssel é: \(split) for backups"
        assertFinds("aws", in: text, covering: split)
        // Bidi controls and word joiners too.
        assertFinds("aws", in: "id " + String(id.prefix(4)) + "\u{202E}\u{2060}" + String(id.dropFirst(4)))
    }

    func testFullWidthCharactersInToken() {
        let id = fx.awsKeyID()
        let wide = String(String.UnicodeScalarView(id.unicodeScalars.map { Unicode.Scalar($0.value - 0x20 + 0xFF00)! }))
        assertFinds("aws", in: "key \(wide) here", covering: wide)
    }

    func testSchemelessCredentialedGitURL() {
        let tok = fx.mixed(40)
        let url = "deploy:\(tok)@github.com/acme/app.git"
        assertFinds("basic-auth-url", in: "git remote set-url origin \(url)", covering: tok)
        assertFinds("basic-auth-url", in: "push to ci-bot:\(fx.mixed(24))@gitlab.acme.io:8443/group/app.git")
    }

    func testFullWidthAtInCredentialedGitURL() {
        let tok = fx.mixed(40)
        let url = "https://deploy:\(tok)\u{FF20}github.com/acme/app.git"
        assertFinds("basic-auth-url", in: "remote: \(url)", covering: tok)
        assertFinds("basic-auth-url", in: "deploy:\(tok)\u{FF20}github.com/acme/app.git")
    }

    // MARK: plain-language passwords

    func pw() -> String { "Maple-" + fx.mixed(6) + "-Orbit-42" }

    func testThePassIs() {
        let p = pw()
        assertFinds("password", in: "the pass is \(p)", covering: p)
        // Passphrases of joined words are passwords too when a sentence says so.
        assertFinds("password", in: "the pass is summer-rain-42", covering: "summer-rain-42")
        assertFinds("password", in: "The wifi pass is correct-horse-battery-staple for guests.", covering: "correct-horse-battery-staple")
        assertClean("the password is stored-in-vault")
        assertClean("the password is auto-generated")
    }

    func testGermanPasswordSentence() {
        let p = pw()
        assertFinds("password", in: "das Passwort ist \(p)", covering: p)
        assertFinds("password", in: "Das Kennwort für die Datenbank lautet \(p).", covering: p)
        assertFinds("password", in: "Root-Passwort: \(p)", covering: p)
    }

    func testSpanishPasswordSentence() {
        let p = pw()
        assertFinds("password", in: "la contraseña es \(p)", covering: p)
        assertFinds("password", in: "La contraseña del servidor de staging es \(p)", covering: p)
        assertFinds("password", in: "la clave es \(p)", covering: p)
    }

    func testOtherLanguagesPasswordAndTokenSentences() {
        let p = pw()
        for s in [
            "le mot de passe est \(p)", "a senha é \(p)", "la password è \(p)", "la parola d'ordine è \(p)",
            "het wachtwoord is \(p)", "CONTRASEÑA: \(p)",
        ] {
            assertFinds("password", in: s, covering: p)
        }
        let tok = fx.mixed(40)
        for s in [
            "der API-Schlüssel ist \(tok)", "el token es \(tok)", "la clé API est \(tok)", "o segredo é \(tok)",
            "il token segreto è \(tok)", "de geheime sleutel is \(tok)",
        ] {
            XCTAssertFalse(scanner.scan(s).isEmpty, "no finding in: \(s)")
        }
    }

    func testRejectionMessageForEncodedFinding() {
        let enc = Self.b64(fx.ghp())
        let msg = SecretScanner.rejectionMessage(scanner.scan("token \(enc)"))
        XCTAssertFalse(msg.contains(enc))
        XCTAssertTrue(msg.contains("github-pat (base64-encoded) at characters 6\u{2013}"), msg)
    }

    // MARK: must stay allowed

    func testDigestsUUIDsAndIntegrityStayAllowed() {
        assertClean("release tarball sha256 \(fx.hex(64)), commit \(fx.hex(40)), request \(UUID().uuidString)")
        assertClean("integrity sha512-" + fx.base64Key(bytes: 64))
        assertClean("blob \(fx.hex(128)) and the md5 \(fx.hex(32))")
    }

    func testBase64AndHexOfPlainTextStayAllowed() {
        assertClean("fixture: " + Self.b64("memoryd integration fixture v2, plain text only"))
        assertClean("hex fixture " + Self.hex("hello from the memoryd test-suite"))
        assertClean("payload " + Self.b64(#"{"id": 266, "title": "Buy milk", "tags": ["home", "errand"]}"#))
        assertClean("binary " + fx.base64Key(bytes: 96))
    }

    func testURLEncodedQueryStringsStayAllowed() {
        let q =
            "https://search.acme.io/q?query=" + Self.percent("memoryd secret filter design notes")
            + "&redirect_uri=https%3A%2F%2Fapp.acme.io%2Fcallback%3Fstep%3D2&lang=de"
        assertClean(q)
        assertClean("utm: ?utm_source=newsletter&utm_campaign=spring%20launch%202024&ref=%2Fdocs%2Fsecrets%2Foverview")
    }

    func testTransformsOfOrdinaryTextStayAllowed() {
        assertClean("The ROT13 of 'hello' is 'uryyb'; reversed it is 'olleh'.")
        assertClean("tuc_nfgrevfx_unaqyre and _phg_vehicle_table are snake_case names from the legacy schema")
    }

    func testForeignPasswordProseStaysAllowed() {
        assertClean("Das Passwort muss mindestens 12 Zeichen lang sein.")
        assertClean("la contraseña es obligatoria y el token es opcional")
        assertClean("le mot de passe est stocké dans le coffre")
        assertClean("a senha é definida pelo administrador")
        assertClean("het wachtwoord is verlopen")
        assertClean("Die Clave-Tabelle und der Schlüssel-Index sind neu.")
    }

    func testFullWidthProseStaysAllowed() {
        assertClean("全角の文字：ＡＢＣ　ｄｅｆ　１２３、ユーザー＠例")
        assertClean("zero\u{200B}width joiners in emoji 👩\u{200D}💻 are fine")
    }
}
