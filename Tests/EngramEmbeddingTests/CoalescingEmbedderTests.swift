import EngramEmbedding
import Foundation
import XCTest

/// A deterministic embedder that records the batch sizes it was called with.
final class RecordingEmbedder: Embedder, @unchecked Sendable {
    let dimensions = 4
    let modelID = "recording"
    private let lock = NSLock()
    private(set) var batches: [Int] = []
    var fail = false

    func embed(_ texts: [String]) async throws -> [[Float]] {
        lock.withLock { batches.append(texts.count) }
        if fail { throw CocoaError(.featureUnsupported) }
        try await Task.sleep(for: .milliseconds(20))
        return texts.map { t in [Float(t.count), Float(t.utf8.first ?? 0), 1, 0] }
    }
}

final class CoalescingEmbedderTests: XCTestCase {
    func testConcurrentCallsShareBatchesAndGetTheirOwnVectors() async throws {
        let base = RecordingEmbedder()
        let e = CoalescingEmbedder(base, maxBatch: 64)
        let texts = (0..<40).map { "text number \($0)" + String(repeating: "x", count: $0) }
        let results = try await withThrowingTaskGroup(of: (Int, [[Float]]).self) { group in
            for (i, t) in texts.enumerated() { group.addTask { (i, try await e.embed([t])) } }
            var out: [Int: [[Float]]] = [:]
            for try await (i, v) in group { out[i] = v }
            return out
        }
        for (i, t) in texts.enumerated() {
            XCTAssertEqual(results[i]!, [[Float(t.count), Float(t.utf8.first!), 1, 0]], "text \(i) got another text's vector")
        }
        XCTAssertLessThan(base.batches.count, texts.count, "concurrent calls were not batched")
        XCTAssertEqual(base.batches.reduce(0, +), texts.count)
        XCTAssertTrue(base.batches.allSatisfy { $0 <= 64 })
    }

    func testErrorsReachEveryWaiter() async {
        let base = RecordingEmbedder()
        base.fail = true
        let e = CoalescingEmbedder(base)
        do {
            _ = try await e.embed(["a"])
            XCTFail("error swallowed")
        } catch {}
        let empty = try? await e.embed([])
        XCTAssertEqual(empty?.count, 0)
    }
}
