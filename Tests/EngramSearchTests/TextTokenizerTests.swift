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
        // snake_case and paths split at punctuation, and keep the whole name as one unstemmed term.
        XCTAssertEqual(
            tokenizer.terms("max_retries src/api.swift"),
            ["max", "retri", "max_retries", "src", "api", "swift", "src/api.swift"]
        )
        XCTAssertEqual(tokenizer.terms("HTTPServer"), ["httpserver"])
    }

    func testCompoundNames() {
        // Service, host and version names: the parts, then the compound.
        XCTAssertEqual(tokenizer.terms("juniper-media"), ["junip", "media", "juniper-media"])
        XCTAssertEqual(tokenizer.terms("deploy@prod-2 v1.2.3"), ["deploy", "prod", "2", "deploy@prod-2", "v1", "2", "3", "v1.2.3"])
        // Connectors at the edges, doubled or before a space join nothing.
        XCTAssertEqual(tokenizer.terms("-media- a--b end. next"), ["media", "b", "end", "next"])
        // Too long to be a name: parts only.
        let long = Array(repeating: "segment", count: 12).joined(separator: "/")
        XCTAssertFalse(tokenizer.terms(long).contains { $0.contains("/") })
        // Unicode words join the same way.
        XCTAssertEqual(tokenizer.terms("café-größe"), ["café", "größe", "café-größe"])
    }

    func testUnicodeWordsSurvive() {
        XCTAssertEqual(tokenizer.terms("Größe café"), ["größe", "café"])
        XCTAssertEqual(tokenizer.terms("   "), [])
        XCTAssertEqual(tokenizer.terms("the of and"), [])
    }
}

final class TextTokenizerPathTests: XCTestCase {
    /// The ASCII fast path and the Unicode path give the same terms.
    func testASCIIPathMatchesUnicodePath() {
        let tokenizer = TextTokenizer()
        var rng = SplitMix(seed: 5)
        let pieces = [
            "retry", "Policy", "HTTP", "Server", "v2", "2024", "the", "Running", "tests", "db_migrate",
            "x", "camelCaseWord", "API", "a1B2", " ", "  ", ".", "/", "-", "\r\n", "\t", "'s", "JSONDecoder",
            "_", ":", "@", "a-b", "x.y", "@@",
        ]
        for _ in 0..<500 {
            let text = (0..<Int(rng.next() % 12)).map { _ in pieces[Int(rng.next() % UInt64(pieces.count))] }.joined()
            var copy = text
            let fast = copy.withUTF8 { tokenizer.asciiTerms($0) }
            XCTAssertEqual(fast, tokenizer.unicodeTerms(text), text)
            XCTAssertEqual(tokenizer.terms(text), fast, text)
        }
    }
}
