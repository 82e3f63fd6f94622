import EngramScreening
import Foundation
import XCTest

@testable import EngramSecrets

/// Public API behaviour: messages never contain the secret (the `engram scan` output is checked by
/// the integration tests), offsets are Character offsets, findings round-trip through Codable,
/// checksum helpers match known vectors.
final class APITests: XCTestCase {
    var fx = Fixtures(seed: 7)

    func testCRC32AndBase62KnownVectors() {
        XCTAssertEqual(CRC32.checksum(Array("123456789".utf8)), 0xCBF4_3926)
        XCTAssertEqual(CRC32.checksum([UInt8]()), 0)
        XCTAssertEqual(String(decoding: CRC32.base62(61), as: UTF8.self), "00000z")
        XCTAssertEqual(String(decoding: CRC32.base62(62), as: UTF8.self), "000010")
        XCTAssertEqual(String(decoding: CRC32.base62(UInt32.max), as: UTF8.self), "4gfFC3")
    }

    func testRejectionMessageNamesRulesAndSpansNeverTheSecret() {
        let pat = fx.ghp()
        let key = fx.awsKeyID()
        let text = "deploy uses \(key) and \(pat) today"
        let findings = SecretScanner().scan(text)
        XCTAssertEqual(findings.map(\.ruleID), ["aws-access-key-id", "github-pat"])
        let msg = SecretScanner.rejectionMessage(findings)
        XCTAssertFalse(msg.contains(pat))
        XCTAssertFalse(msg.contains(key))
        XCTAssertTrue(msg.hasPrefix("rejected: content contains secrets (aws-access-key-id at characters 12\u{2013}32; github-pat at "), msg)
        XCTAssertTrue(msg.hasSuffix("Remove the credential and save the memory without it."))
    }

    func testRangesAreCharacterOffsets() {
        let pat = fx.ghp()
        let text = "Schlüssel 🔑 é\r\n: \(pat)"
        let f = SecretScanner().scan(text)
        XCTAssertEqual(f.count, 1)
        let start = text.index(text.startIndex, offsetBy: f[0].range.lowerBound)
        let end = text.index(text.startIndex, offsetBy: f[0].range.upperBound)
        XCTAssertEqual(String(text[start..<end]), pat)
    }

    func testFindingCodableRoundTrip() throws {
        let f = Finding(ruleID: "jwt", family: "jwt", range: 3..<40, confidence: 0.9)
        let back = try JSONDecoder().decode(Finding.self, from: JSONEncoder().encode(f))
        XCTAssertEqual(back, f)
    }

    func testOverlappingRulesReportOnce() {
        let pat = fx.ghp()
        let f = SecretScanner().scan("GITHUB_TOKEN=\(pat)")
        XCTAssertEqual(f.count, 1)
        XCTAssertEqual(f.first?.ruleID, "github-pat")
    }

    func testEmptyAndPlainTextAreClean() {
        XCTAssertTrue(SecretScanner().scan("").isEmpty)
        XCTAssertFalse(SecretScanner().containsSecret("Dates are stored as UTC epoch milliseconds, never as strings."))
    }
}
