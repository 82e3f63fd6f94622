import EngramEmbedding
import Foundation
import XCTest

final class TokenizerTests: XCTestCase {
    func testReferenceTokenIDsAreIdentical() throws {
        let tokenizer = try TestModel.tokenizer()
        let cases = try ReferenceCase.load()
        XCTAssertEqual(cases.count, 54)
        var mismatches: [String] = []
        for c in cases {
            let ids = tokenizer.encode(c.text)
            if ids != c.token_ids {
                mismatches.append(
                    "#\(c.id) [\(c.kind)] \(c.text.debugDescription.prefix(80))\n  got  \(tokenizer.encodeToTokens(c.text))\n  want \(c.tokens)"
                )
            }
        }
        XCTAssertTrue(mismatches.isEmpty, "token id mismatches (\(mismatches.count)/\(cases.count)):\n" + mismatches.joined(separator: "\n"))
    }

    /// 1,000 fuzzed multi-script strings (controls, private-use, unassigned and post-Unicode-8 scalars,
    /// specials glued to text) tokenised by HuggingFace `tokenizers`; regenerate with
    /// eval/embedding/make_tokenizer_fuzz.py.
    func testFuzzedTextMatchesHuggingFace() throws {
        struct Case: Decodable {
            let text: String
            let ids: [Int32]
        }
        let tokenizer = try TestModel.tokenizer()
        let url = try XCTUnwrap(Bundle.module.url(forResource: "tokenizer_fuzz", withExtension: "jsonl", subdirectory: "Fixtures"))
        let cases = try String(contentsOf: url, encoding: .utf8).split(separator: "\n")
            .map { try JSONDecoder().decode(Case.self, from: Data($0.utf8)) }
        XCTAssertEqual(cases.count, 1000)
        var mismatches: [String] = []
        for c in cases where tokenizer.encode(c.text) != c.ids {
            mismatches.append(
                "\(c.text.unicodeScalars.map { String($0.value, radix: 16) })\n  got  \(tokenizer.encodeToTokens(c.text))\n  want \(c.ids.map { tokenizer.vocabulary[Int($0)] })"
            )
        }
        XCTAssertTrue(mismatches.isEmpty, "\(mismatches.count) fuzz mismatches:\n" + mismatches.prefix(5).joined(separator: "\n"))
    }

    func testSpecialCases() throws {
        let t = try TestModel.tokenizer()
        XCTAssertEqual(t.encodeToTokens(""), ["[CLS]", "[SEP]"])
        XCTAssertEqual(t.encodeToTokens(" \n\t "), ["[CLS]", "[SEP]"])
        // Literal specials are kept, even inside a word; lowercase look-alikes are plain text.
        XCTAssertEqual(
            t.encodeToTokens("x[MASK]y [sep] [PAD][UNK]"),
            ["[CLS]", "x", "[MASK]", "y", "[", "sep", "]", "[PAD]", "[UNK]", "[SEP]"]
        )
        // Accents stripped after NFD, zero-width / control characters dropped.
        XCTAssertEqual(t.encodeToTokens("Cafe\u{0301}\u{200B}s"), t.encodeToTokens("cafés"))
        XCTAssertEqual(t.encodeToTokens("café"), ["[CLS]", "cafe", "[SEP]"])
        // Greek: per-scalar lowercasing (no final-sigma rule).
        XCTAssertEqual(t.encodeToTokens("ΣΑΣ"), ["[CLS]", "σ", "##α", "##σ", "[SEP]"])
        // Words over 100 scalars become one [UNK].
        XCTAssertEqual(t.encodeToTokens(String(repeating: "a", count: 101)), ["[CLS]", "[UNK]", "[SEP]"])
        // Every ASCII punctuation character is its own token.
        XCTAssertEqual(t.encodeToTokens("a.b"), ["[CLS]", "a", ".", "b", "[SEP]"])
    }

    func testTruncationTo256() throws {
        let t = try TestModel.tokenizer()
        let ids = t.encode(String(repeating: "hello world ", count: 400))
        XCTAssertEqual(ids.count, 256)
        XCTAssertEqual(ids.first, t.clsID)
        XCTAssertEqual(ids.last, t.sepID)
    }

    func testMissingVocabularyIsATypedError() {
        XCTAssertThrowsError(try WordPieceTokenizer(vocabularyURL: URL(fileURLWithPath: "/nonexistent/vocab.txt"))) { error in
            guard case TokenizerError.cannotRead = error else { return XCTFail("unexpected \(error)") }
        }
        XCTAssertThrowsError(try WordPieceTokenizer(vocabulary: ["a", "b"])) { error in
            XCTAssertEqual(error as? TokenizerError, .missingSpecialToken("[PAD]"))
        }
    }
}
