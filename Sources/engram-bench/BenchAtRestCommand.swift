import ArgumentParser
import EngramAtRest
import EngramBenchKit
import EngramCore
import EngramDatabase
import EngramStore
import EngramStoreModel
import Foundation
import Logging

/// `engram-bench at-rest`: what encryption at rest costs on the store's write and read paths,
/// plaintext and sealed stores measured alternately in one run, printed as ratios.
///
/// Search results come from the in-memory indexes (built from decrypted payloads at start), so a
/// search pays for sealing only where it reads a payload from SQLite: the retrieve path measured here.
struct BenchAtRest: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "at-rest",
        abstract: "Encryption at rest: seal/open per payload, single-point upserts (fsync each) and uncached reads, sealed vs plaintext."
    )

    @Option(help: "Single-point upserts per store and round.") var writes: Int = 300
    @Option(help: "Points read back per store and round (each from SQLite, not the cache).") var reads: Int = 3000
    @Option(help: "Alternating rounds (the median ratio is reported).") var rounds: Int = 3

    /// A payload shaped like a memory's (≈ 700 bytes of JSON).
    static func payload(_ i: Int) -> Payload {
        [
            "tenant": .string("org:acme"), "user_id": .string("ada"), "scope": .string("org"), "state": .string("published"),
            "content": .string(
                "Memory \(i): this repository tests with swift test --parallel; run make deps first and keep the"
                    + " model in models/all-MiniLM-L6-v2, or the embedder falls back to BM25 only. Flaky suites are retried once."
            ),
            "tags": .array([.string("testing"), .string("ci")]), "kind": .string("pattern"),
            "content_hash": .string(String(repeating: "ab", count: 32)), "created_at": .string("2026-12-06T03:00:00Z"),
            "updated_at": .string("2026-12-06T03:00:00Z"), "embedding_model": .string("all-MiniLM-L6-v2"), "version": .int(1),
        ]
    }

    func run() async throws {
        let cipher = AtRestCipher(current: AtRestCipher.MasterKey(bytes: Data((0..<32).map { _ in UInt8.random(in: 0...255) })))
        // The cipher alone, on the JSON of one payload.
        let json = try JSONEncoder().encode(Self.payload(1))
        let n = 20_000
        var t0 = now()
        var sealed: [Data] = []
        sealed.reserveCapacity(n)
        for i in 0..<n { sealed.append(try cipher.seal(json, tenant: "org:acme", identity: "point:\(i)")) }
        let sealSeconds = now() - t0
        t0 = now()
        for i in 0..<n { _ = try cipher.open(sealed[i], tenant: "org:acme", identity: "point:\(i)") }
        let openSeconds = now() - t0
        print(
            String(
                format: "cipher on a %d-byte payload: seal %.2f µs, open %.2f µs (+%d bytes each)",
                json.count,
                sealSeconds / Double(n) * 1e6,
                openSeconds / Double(n) * 1e6,
                sealed[0].count - json.count
            )
        )
        var writeRatios: [Double] = []
        var readRatios: [Double] = []
        for round in 0..<rounds {
            var times: [Bool: (write: Double, read: Double)] = [:]
            for encrypted in round % 2 == 0 ? [false, true] : [true, false] {
                times[encrypted] = try await measure(cipher: encrypted ? cipher : nil)
            }
            let plain = times[false]!
            let enc = times[true]!
            writeRatios.append(enc.write / plain.write)
            readRatios.append(enc.read / plain.read)
            print(
                String(
                    format: "round %d: upsert %.3f ms plain / %.3f ms sealed; read %.1f µs plain / %.1f µs sealed",
                    round + 1,
                    plain.write * 1000,
                    enc.write * 1000,
                    plain.read * 1e6,
                    enc.read * 1e6
                )
            )
        }
        print(
            String(
                format: "sealed / plaintext (median of %d rounds): single-point upsert %.3f×, uncached point read %.3f×",
                rounds,
                writeRatios.sorted()[rounds / 2],
                readRatios.sorted()[rounds / 2]
            )
        )
    }

    /// Mean seconds per single-point upsert and per uncached point read, on a fresh store.
    func measure(cipher: AtRestCipher?) async throws -> (write: Double, read: Double) {
        let dir = URL(fileURLWithPath: NSTemporaryDirectory() + "engram-bench-at-rest-\(getpid())-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        var rng = XorShift(seed: 3)
        var logger = Logger(label: "engram.bench")
        logger.logLevel = .warning
        do {
            let store = try EmbeddedStore(directory: dir, cipher: cipher, logger: logger)
            try await store.createCollection(CollectionConfig(name: "m", vectorSize: 384, tenantKey: "tenant"))
            try await store.upsert(
                "m",
                points: (0..<reads).map { PointStruct(id: .number(UInt64($0)), vector: rng.vector(384), payload: Self.payload($0)) }
            )
        }
        // A reopened store has an empty payload cache: every read decodes (and opens) from SQLite.
        let store = try EmbeddedStore(directory: dir, cipher: cipher, logger: logger)
        var t0 = now()
        for i in 0..<writes {
            try await store.upsert(
                "m",
                points: [PointStruct(id: .number(UInt64(reads + i)), vector: rng.vector(384), payload: Self.payload(i))]
            )
        }
        let write = (now() - t0) / Double(writes)
        t0 = now()
        for start in stride(from: 0, to: reads, by: 100) {
            let ids = (start..<min(reads, start + 100)).map { PointID.number(UInt64($0)) }
            let got = try await store.retrieve("m", ids: ids, withPayload: true)
            precondition(got.count == ids.count)
        }
        let read = (now() - t0) / Double(reads)
        return (write, read)
    }
}
