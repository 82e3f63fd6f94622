import EngramKernels
import Foundation
import XCTest

@testable import EngramEmbedding

#if canImport(Glibc)
import Glibc
#endif

final class MiniLMEmbedderTests: XCTestCase {
    func testReferenceEmbeddings() async throws {
        let embedder = try TestModel.embedder()
        XCTAssertEqual(embedder.dimensions, 384)
        let cases = try ReferenceCase.load()
        XCTAssertEqual(cases.count, 54)
        let vectors = try await embedder.embed(cases.map(\.text))
        var failures: [String] = []
        var worst = 1.0
        for (c, v) in zip(cases, vectors) {
            XCTAssertEqual(v.count, 384)
            let cos = VectorMath.cosine(v, c.embedding)
            worst = min(worst, cos)
            if !(cos >= 0.99999) { failures.append("#\(c.id) [\(c.kind)] cosine \(cos)") }
        }
        XCTAssertTrue(failures.isEmpty, "cosine < 0.99999:\n" + failures.joined(separator: "\n"))
        print("MiniLM reference: 54 texts, worst cosine \(worst)")
    }

    func testBatchEqualsSingles() async throws {
        let embedder = try TestModel.embedder()
        let cases = try ReferenceCase.load()
        let texts = Array(cases.map(\.text).prefix(30)) + cases.filter { $0.kind == "short" || $0.kind == "code" }.map(\.text).prefix(10)
        let batch = try await embedder.embed(texts)
        XCTAssertEqual(batch.count, texts.count)
        for (i, t) in texts.enumerated() {
            let single = try await embedder.embed([t])[0]
            XCTAssertGreaterThan(VectorMath.cosine(batch[i], single), 0.99999, "text #\(i): \(t.prefix(60))")
        }
        // A batch split over several forward passes gives the same vectors.
        var small = embedder
        small.maxBatchTokens = 64
        let chunked = try await small.embed(texts)
        for i in texts.indices { XCTAssertGreaterThan(VectorMath.cosine(batch[i], chunked[i]), 0.99999) }
        // So does a batch cut into parts run side by side on several cores, in order.
        var one = embedder
        one.threads = 1
        var three = embedder
        three.threads = 3
        let serial = try await one.embed(texts)
        let parallel = try await three.embed(texts)
        XCTAssertEqual(parallel.count, texts.count)
        for i in texts.indices { XCTAssertGreaterThan(VectorMath.cosine(serial[i], parallel[i]), 0.99999, "text #\(i)") }
    }

    /// A batch's parts: contiguous, about equal in tokens, never empty, never more than asked.
    func testBatchPartsBalanceTokens() {
        XCTAssertEqual(MiniLMEmbedder.parts([10, 10, 10, 10], count: 2), [0, 2, 4])
        XCTAssertEqual(MiniLMEmbedder.parts([100, 1], count: 2), [0, 1, 2])
        XCTAssertEqual(MiniLMEmbedder.parts([100, 1, 1, 1], count: 2), [0, 1, 4])
        XCTAssertEqual(MiniLMEmbedder.parts([1, 1, 1, 100], count: 2), [0, 4], "the long text alone is at least half")
        XCTAssertEqual(MiniLMEmbedder.parts([5], count: 4), [0, 1])
        XCTAssertEqual(MiniLMEmbedder.parts([1, 1], count: 3), [0, 1, 2])
        XCTAssertEqual(MiniLMEmbedder.parts([3, 3, 3, 3, 3, 3], count: 3), [0, 2, 4, 6])
        for count in 1...4 {
            let lengths = (0..<17).map { 3 + ($0 * 7) % 11 }
            let bounds = MiniLMEmbedder.parts(lengths, count: count)
            XCTAssertEqual(bounds.first, 0)
            XCTAssertEqual(bounds.last, lengths.count)
            XCTAssertLessThanOrEqual(bounds.count - 1, count)
            XCTAssertTrue(zip(bounds, bounds.dropFirst()).allSatisfy { $0 < $1 })
        }
    }

    func testEmptyInputsAndNormalisation() async throws {
        let embedder = try TestModel.embedder()
        let none = try await embedder.embed([])
        XCTAssertEqual(none.count, 0)
        let vectors = try await embedder.embed(["", "   ", "hello"])
        XCTAssertEqual(vectors.count, 3)
        for v in vectors {
            XCTAssertEqual(v.count, 384)
            let norm = v.reduce(0) { $0 + Double($1) * Double($1) }.squareRoot()
            XCTAssertEqual(norm, 1, accuracy: 1e-5)
            XCTAssertTrue(v.allSatisfy(\.isFinite))
        }
        XCTAssertGreaterThan(VectorMath.cosine(vectors[0], vectors[1]), 0.99999, "empty and blank both tokenise to [CLS][SEP]")
    }

    func testConcurrentCallsAgree() async throws {
        let embedder = try TestModel.embedder()
        let texts = try ReferenceCase.load().filter { $0.kind == "short" || $0.kind == "code" }.map(\.text)
        let expected = try await embedder.embed(texts)
        try await withThrowingTaskGroup(of: (Int, [Float]).self) { group in
            for i in 0..<16 {
                group.addTask { (i, try await embedder.embed([texts[i % texts.count]])[0]) }
            }
            for try await (i, v) in group {
                XCTAssertGreaterThan(VectorMath.cosine(v, expected[i % texts.count]), 0.99999)
            }
        }
    }

    func testModelIDAndBLAS() throws {
        let embedder = try TestModel.embedder()
        XCTAssertEqual(embedder.modelID, "all-MiniLM-L6-v2")
        XCTAssertFalse(BLASRuntime.details.isEmpty)
    }

    /// The vectorised erf/exp used by GELU and softmax agree with Glibc's erff/expf.
    func testKernelsMatchLibm() {
        var maxErf: Float = 0
        var maxExpRel: Float = 0
        var x: Float = -8
        while x <= 8 {
            maxErf = max(maxErf, abs(EmbeddingKernels.erf(x) - erff(x)))
            x += 0.0003
        }
        x = -87
        while x <= 0 {
            let e = expf(x)
            maxExpRel = max(maxExpRel, abs(EmbeddingKernels.exp(x) - e) / e)
            x += 0.0013
        }
        XCTAssertLessThan(maxErf, 1e-6)
        XCTAssertLessThan(maxExpRel, 1e-6)
    }
}
