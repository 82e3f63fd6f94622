import XCTest
@testable import EngramSecrets

final class SmokeTests: XCTestCase {
    func testEmptyIsClean() { XCTAssertTrue(SecretScanner().scan("").isEmpty) }
}
