import EngramKernels
import Foundation
import XCTest

@testable import EngramStore
@testable import EngramStoreModel

/// Kills a writer process with SIGKILL at random moments and checks that every
/// acknowledged point survived with its exact vector and payload, that batches
/// are all-or-nothing, and that the store always reopens.
final class CrashTests: XCTestCase {
    /// The `engram-bench` binary (it carries the crash writer) built beside the test bundle (or `ENGRAM_BENCH_BIN`).
    static func engramBinary() throws -> URL {
        var candidates: [URL] = []
        if let env = ProcessInfo.processInfo.environment["ENGRAM_BENCH_BIN"] { candidates.append(URL(fileURLWithPath: env)) }
        candidates.append(Bundle.main.bundleURL.appendingPathComponent("engram-bench"))
        candidates.append(URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("engram-bench"))
        for c in candidates where FileManager.default.isExecutableFile(atPath: c.path) { return c }
        struct Missing: Error, CustomStringConvertible { let description: String }
        throw Missing(description: "engram-bench not found (tried \(candidates.map(\.path))); run `swift build` first or set ENGRAM_BENCH_BIN")
    }

    /// Mirrors `CrashFixture.point` in the `engram-bench debug crash-writer` command.
    static func point(_ id: UInt64, dimension: Int) -> PointStruct {
        var state = id &* 0x9E37_79B9_7F4A_7C15 &+ 1
        let vector = (0..<dimension).map { _ -> Float in
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return Float(state % 2001) / 1000 - 1
        }
        return PointStruct(
            id: .number(id),
            vector: vector,
            payload: ["tenant": .string("t\(id % 3)"), "n": .int(Int64(id)), "text": .string("point \(id)")]
        )
    }

    func testKillNineLosesNoAcknowledgedWrite() async throws {
        try await killRounds(persistEvery: 0)
    }

    /// The writer also writes the segment files after every batch, so kills land in segment writes
    /// too: the reopened store (from a segment when one matches, else rebuilt) holds every
    /// acknowledged point and finds each by its vector.
    func testKillNineDuringSegmentWritesLosesNothing() async throws {
        try await killRounds(persistEvery: 1)
    }

    func killRounds(persistEvery: Int) async throws {
        let binary = try Self.engramBinary()
        let dir = temporaryDirectory("crash")
        defer { try? FileManager.default.removeItem(at: dir) }
        let rounds = Int(ProcessInfo.processInfo.environment["ENGRAM_CRASH_ROUNDS"] ?? "6") ?? 6
        let batch = 8
        let dimension = 16
        var acknowledged: [UInt64] = []
        var generator = SystemRandomNumberGenerator()
        for round in 0..<rounds {
            let start = UInt64(round) * 1_000_000
            let process = Process()
            process.executableURL = binary
            process.arguments = [
                "debug", "crash-writer", "--data-dir", dir.path, "--start", "\(start)",
                "--batch", "\(batch)", "--dimension", "\(dimension)", "--persist-every", "\(persistEvery)",
            ]
            let out = Pipe()
            process.standardOutput = out
            process.standardError = FileHandle.nullDevice
            try process.run()
            usleep(UInt32.random(in: 150_000...600_000, using: &generator))
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            XCTAssertEqual(process.terminationReason, .uncaughtSignal, "writer must die by SIGKILL, not exit on its own")
            let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            // Only complete lines count as acknowledgements.
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
            var roundAcks = 0
            for line in lines {
                let parts = line.split(separator: " ")
                guard parts.count == 4, parts[0] == "ACK", let first = UInt64(parts[2]), let n = UInt64(parts[3]) else {
                    XCTFail("unexpected writer output line")
                    continue
                }
                acknowledged += (first..<(first + n))
                roundAcks += 1
            }
            // Reopen and check everything acknowledged so far.
            let store = try EmbeddedStore(directory: dir)
            // A writer killed before it created the collection (a slow start) acknowledged nothing.
            if acknowledged.isEmpty, try await !store.listCollections().contains(where: { $0.name == "crash" }) { continue }
            let info = try await store.collectionInfo("crash")
            let records = try await store.retrieve("crash", ids: acknowledged.map { .number($0) }, withPayload: true, withVector: true)
            XCTAssertEqual(records.count, acknowledged.count, "round \(round): acknowledged points missing")
            let probe = VectorMatrix(dimension: dimension)
            for r in records {
                guard case let .number(id) = r.id else { continue }
                let want = Self.point(id, dimension: dimension)
                XCTAssertEqual(r.payload, want.payload, "payload of \(id)")
                XCTAssertEqual(r.vector, try probe.prepare(want.vector), "vector of \(id)")
            }
            // Batches are atomic: past the acknowledged ones, each batch is wholly present or absent.
            let tail = try await store.scroll(
                "crash",
                ScrollRequest(
                    filter: Filter(must: [.field(FieldCondition(key: "n", range: RangeCondition(gte: .number(Double(start)))))]),
                    limit: 1_000_000,
                    withPayload: false
                )
            )
            var perBatch: [UInt64: Int] = [:]
            for r in tail.points { if case let .number(id) = r.id { perBatch[(id - start) / UInt64(batch), default: 0] += 1 } }
            for (b, n) in perBatch { XCTAssertEqual(n, batch, "round \(round) batch \(b) is torn") }
            XCTAssertGreaterThanOrEqual(info.pointsCount, acknowledged.count)
            // The shards hold exactly the database's points, and search finds acknowledged points by their vectors.
            let all = try await store.scroll("crash", ScrollRequest(limit: 10_000_000, withPayload: false))
            XCTAssertEqual(info.pointsCount, all.points.count, "round \(round): shards and database disagree")
            for id in acknowledged.suffix(20) + acknowledged.prefix(5) {
                let hits = try await store.search("crash", SearchRequest(vector: Self.point(id, dimension: dimension).vector, limit: 1))
                XCTAssertEqual(hits.first?.score ?? 0, 1, accuracy: 1e-5)
                XCTAssertEqual(hits.first?.id, .number(id), "round \(round): point \(id) not found by its vector")
            }
            await store.segmentsVerified()
            let mapped = store.lock.read { store.collections["crash"]?.shards.values.contains { $0.isMapped } ?? false }
            print("crash round \(round): \(roundAcks) batches acknowledged, \(acknowledged.count) points verified, from a segment: \(mapped)")
        }
        XCTAssertGreaterThan(acknowledged.count, 0, "the writer never acknowledged anything")
    }
}
