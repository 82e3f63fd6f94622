import ArgumentParser
import EngramCore
import EngramStore
import EngramStoreModel
import Foundation

/// Hidden commands used by the test suites.
struct Debug: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Test helpers.",
        shouldDisplay: false,
        subcommands: [CrashWriter.self]
    )
}

/// Writes batches of random points forever, printing `ACK <batch> <first> <count>`
/// after each upsert returns (that is, after it is durable). The crash test kills
/// this process with SIGKILL and checks every acknowledged point.
struct CrashWriter: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "crash-writer")

    @Option(help: "Data directory of the store to write.") var dataDir: String
    @Option var start: UInt64 = 0
    @Option var batch: Int = 8
    @Option var dimension: Int = 16
    @Option(help: "Write the segment files after every this many batches (0: never).") var persistEvery: Int = 0

    func run() async throws {
        let s = try EmbeddedStore(directory: URL(fileURLWithPath: dataDir))
        if (try? await s.collectionInfo("crash")) == nil {
            try await s.createCollection(CollectionConfig(name: "crash", vectorSize: dimension, tenantKey: "tenant"))
        }
        var next = start
        var batchNumber = 0
        while true {
            var points: [PointStruct] = []
            for _ in 0..<batch {
                points.append(CrashFixture.point(next, dimension: dimension))
                next += 1
            }
            try await s.upsert("crash", points: points)
            // Unbuffered write: the line is out before the next batch starts.
            FileHandle.standardOutput.write(Data("ACK \(batchNumber) \(next - UInt64(batch)) \(batch)\n".utf8))
            batchNumber += 1
            if persistEvery > 0, batchNumber % persistEvery == 0 { try await s.persistSegments() }
        }
    }
}

/// Deterministic points derived from their id, so a checker can recompute them.
enum CrashFixture {
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
}
