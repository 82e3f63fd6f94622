import Foundation
import Synchronization
import XCTest

@testable import EngramCore

final class BatchCoalescerTests: XCTestCase {
    struct Bad: Error {}

    /// Records batch sizes; squares inputs; fails any batch holding a negative input.
    final class Squarer: Sendable {
        let batches = Mutex<[Int]>([])
        func run(_ xs: [Int]) async throws -> [Int] {
            batches.withLock { $0.append(xs.count) }
            try await Task.sleep(for: .milliseconds(10))
            if xs.contains(where: { $0 < 0 }) { throw Bad() }
            return xs.map { $0 * $0 }
        }
    }

    func testConcurrentCallsShareBatchesAndGetTheirOwnOutputs() async throws {
        let squarer = Squarer()
        let c = BatchCoalescer<Int, Int>(maxBatch: 8) { try await squarer.run($0) }
        let results = try await withThrowingTaskGroup(of: (Int, [Int]).self) { group in
            for i in 0..<40 { group.addTask { (i, try await c.submit([i, i + 1000])) } }
            var out: [Int: [Int]] = [:]
            for try await (i, r) in group { out[i] = r }
            return out
        }
        for i in 0..<40 { XCTAssertEqual(results[i], [i * i, (i + 1000) * (i + 1000)]) }
        let batches = squarer.batches.withLock { $0 }
        XCTAssertLessThan(batches.count, 40, "concurrent calls were not batched")
        XCTAssertTrue(batches.allSatisfy { $0 <= 8 }, "batch over maxBatch: \(batches)")
        XCTAssertEqual(batches.reduce(0, +), 80)
        let empty = try await c.submit([])
        XCTAssertEqual(empty, [])
    }

    /// One caller's bad input fails that caller only: the batch is retried caller by caller.
    func testAFailingCallerDoesNotFailTheOthers() async throws {
        let squarer = Squarer()
        let c = BatchCoalescer<Int, Int>(maxBatch: 64) { try await squarer.run($0) }
        let outcomes = await withTaskGroup(of: (Int, Result<[Int], any Error>).self) { group in
            for i in 0..<12 {
                group.addTask {
                    do { return (i, .success(try await c.submit([i == 5 ? -1 : i]))) } catch { return (i, .failure(error)) }
                }
            }
            var out: [Int: Result<[Int], any Error>] = [:]
            for await (i, r) in group { out[i] = r }
            return out
        }
        for i in 0..<12 {
            switch outcomes[i]! {
            case let .success(v):
                XCTAssertNotEqual(i, 5, "the bad input succeeded")
                XCTAssertEqual(v, [i * i])
            case let .failure(e):
                XCTAssertEqual(i, 5, "caller \(i) failed with \(e)")
                XCTAssertTrue(e is Bad)
            }
        }
    }

    /// With `concurrentBatches: 2`, a second batch starts while the first still runs: here the first
    /// waits for the second to start, which one batch at a time never does (the wait then gives up
    /// after a minute and the test fails; a guard against a hang, not a timing assertion).
    func testTwoBatchesRunAtOnce() async throws {
        let firstRunning = DispatchSemaphore(value: 0)
        let secondRunning = DispatchSemaphore(value: 0)
        let c = BatchCoalescer<Int, Int>(maxBatch: 1, concurrentBatches: 2) { xs in
            guard xs == [1] else {
                secondRunning.signal()
                return xs
            }
            firstRunning.signal()
            let met = await Self.offPool { secondRunning.wait(timeout: .now() + 60) == .success }
            return met ? xs : [-1]
        }
        async let first = c.submit([1])
        await Self.offPool { firstRunning.wait() }
        async let second = c.submit([2])
        let (a, b) = try await (first, second)
        XCTAssertEqual(a, [1], "the first batch ran alone: no second batch started while it ran")
        XCTAssertEqual(b, [2])
    }

    /// Runs a blocking wait on a GCD thread, not one of the cooperative pool's.
    static func offPool<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { k in DispatchQueue.global().async { k.resume(returning: body()) } }
    }
}
