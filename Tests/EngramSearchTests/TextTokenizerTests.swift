import XCTest
@testable import EngramSearch

final class TextTokenizerTests: XCTestCase {
    let tokenizer = TextTokenizer()

    func testLowercasesDropsStopWordsAndStems() {
        XCTAssertEqual(tokenizer.terms("How do I run the Tests?"), ["run", "test"])
        XCTAssertEqual(tokenizer.terms("Retries are retried when retrying"), ["retri", "retri", "retri"])
    }

    func testKeepsNegationsAndNumbers() {
        XCTAssertEqual(tokenizer.terms("do not use port 8080"), ["not", "use", "port", "8080"])
    }

    func testSplitsIdentifiers() {
        // camelCase: the whole identifier plus its parts.
        XCTAssertEqual(tokenizer.terms("retryPolicy"), ["retrypolici", "retri", "polici"])
        // snake_case and paths split at punctuation.
        XCTAssertEqual(tokenizer.terms("max_retries src/api.swift"), ["max", "retri", "src", "api", "swift"])
        XCTAssertEqual(tokenizer.terms("HTTPServer"), ["httpserver"])
    }

    func testUnicodeWordsSurvive() {
        XCTAssertEqual(tokenizer.terms("Größe café"), ["größe", "café"])
        XCTAssertEqual(tokenizer.terms("   "), [])
        XCTAssertEqual(tokenizer.terms("the of and"), [])
    }
}
