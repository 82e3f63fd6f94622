import ArgumentParser
import EngramAuth
import EngramBenchKit
import EngramCore
import EngramEmbedding
import EngramKernels
import EngramMemory
import EngramMemoryModel
import EngramSearch
import EngramSecrets
import EngramStore
import EngramStoreModel
import Foundation
import Logging

/// Retrieval evaluation helpers (see eval/retrieval/).
struct Eval: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Retrieval evaluation (hooks for external benchmark harnesses).",
        subcommands: [EvalLocomo.self, EvalEmbed.self, EvalSearchBench.self, EvalLifecycle.self]
    )
}

/// Where `MemoryService.search` spends its time at `--memories` memories in one tenant:
/// hybrid search (precomputed query vector), the store's vector search alone and the
/// BM25 part alone, interleaved per query so outside load hits all three alike. Same
/// synthetic corpus and loading as `engram-bench search` (which gives the headline figures).
struct EvalSearchBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "search-breakdown",
        abstract: "Hybrid search latency split into its vector and BM25 parts."
    )

    @Option var memories = 100_000
    @Option var queries = 300
    @Option var limit = 10

    /// Unit vectors derived from the text's hash: costs nothing (the query vector is precomputed anyway).
    struct InstantEmbedder: Embedder {
        let dimensions = 384
        let modelID = "bench-instant"
        func embed(_ texts: [String]) async throws -> [[Float]] {
            texts.map { t in
                var rng = XorShift(seed: UInt64(truncatingIfNeeded: t.hashValue) | 1)
                var v = rng.vector(384)
                VectorMath.normalize(&v)
                return v
            }
        }
    }

    func run() async throws {
        BLASRuntime.configureSingleThreaded()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("engram-bench-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        var logger = Logger(label: "engram.bench")
        logger.logLevel = .warning
        let store = try EmbeddedStore(directory: directory, logger: logger)
        let embedder = InstantEmbedder()
        let service = try await MemoryService(store: store, embedder: embedder, logger: logger)
        var corpus = SyntheticCorpus(seed: 11)
        let start = Date()
        // Two standalone BM25 indexes for the lexical part: Zipf-word sentences, and the service's own
        // memory texts (as `populate` writes them: content, then the tag, with the same generators).
        var texts: [String] = []
        var memoryTexts: [String] = []
        var copy = corpus
        var sentences = MemoryTextGenerator(seed: 17)
        for i in 0..<memories { texts.append(copy.sentence(words: 12 + i % 20)) }
        var replay = corpus
        for i in 0..<memories {
            let content = sentences.next() + " " + replay.sentence(words: 2 + i % 4)
            memoryTexts.append(content + "\n" + replay.word())
        }
        try await BenchSearch.populate(service, embedder: embedder, userId: "bench", count: memories, corpus: &corpus)
        let bm25 = BM25Index()
        for (i, t) in texts.enumerated() { bm25.upsert(id: Int64(i), text: t) }
        let memoryBM25 = BM25Index()
        for (i, t) in memoryTexts.enumerated() { memoryBM25.upsert(id: Int64(i), text: t) }
        var questions = MemoryTextGenerator(seed: 99)
        var memoryPruned: [Double] = []
        var memoryExhaustive: [Double] = []
        EvalLocomo.say(String(format: "loaded %d memories in %.1f s", memories, Date().timeIntervalSince(start)))

        let principal = Principal(userId: "bench", orgId: nil, role: .member)
        let collection = service.collection
        let filter = Filter(must: [.field(FieldCondition(key: "tenant", match: .value(.string("user:bench"))))])
        var hybrid: [Double] = []
        var vector: [Double] = []
        // BM25 alone at the depth search asks for (50) and at 100: pruned, and exhaustive as the baseline.
        let depths = [50, 100]
        var pruned = depths.map { _ in [Double]() }
        var exhaustive = depths.map { _ in [Double]() }
        var differences = 0
        for n in 0..<(queries + 20) {
            let q = corpus.sentence(words: 6)
            let v = try await embedder.embed([q])[0]
            let t0 = Date()
            _ = try await store.search(collection, SearchRequest(vector: v, filter: filter, limit: max(limit, 30), withPayload: false))
            let t1 = Date()
            var lexical: [(pruned: Double, exhaustive: Double)] = []
            for depth in depths {
                let a = Date()
                let fast = bm25.search(q, limit: depth)
                let b = Date()
                let slow = bm25.exhaustiveSearch(q, limit: depth)
                let c = Date()
                lexical.append((b.timeIntervalSince(a), c.timeIntervalSince(b)))
                if fast.map(\.id) != slow.map(\.id) || fast.map(\.score) != slow.map(\.score) { differences += 1 }
            }
            let question = questions.question()
            let m0 = Date()
            let fast = memoryBM25.search(question, limit: 50)
            let m1 = Date()
            let slow = memoryBM25.exhaustiveSearch(question, limit: 50)
            let m2 = Date()
            if fast.map(\.id) != slow.map(\.id) || fast.map(\.score) != slow.map(\.score) { differences += 1 }
            let t2 = Date()
            _ = try await service.search(principal, MemorySearchQuery(query: q, limit: limit, queryVector: v))
            let t3 = Date()
            guard n >= 20 else { continue }  // warm-up
            vector.append(t1.timeIntervalSince(t0))
            hybrid.append(t3.timeIntervalSince(t2))
            memoryPruned.append(m1.timeIntervalSince(m0))
            memoryExhaustive.append(m2.timeIntervalSince(m1))
            for (k, times) in lexical.enumerated() {
                pruned[k].append(times.pruned)
                exhaustive[k].append(times.exhaustive)
            }
        }
        func line(_ name: String, _ xs: [Double]) -> String {
            String(format: "%@ p50 %.2f ms  p95 %.2f ms", name, Stats.percentile(xs, 50) * 1000, Stats.percentile(xs, 95) * 1000)
        }
        print("MemoryService.search at \(memories) memories in one tenant, limit \(limit), precomputed query vector (\(queries) queries)")
        print(line("  hybrid search           ", hybrid))
        print(line("  vector part (store, k30)", vector))
        for (k, depth) in depths.enumerated() {
            let name = "BM25 part (depth \(depth))".padding(toLength: 24, withPad: " ", startingAt: 0)
            print(
                line("  \(name)", pruned[k])
                    + String(format: "  (%.2fx the exhaustive p50)", Stats.percentile(pruned[k], 50) / Stats.percentile(exhaustive[k], 50))
            )
            print(line("    exhaustive baseline   ", exhaustive[k]))
        }
        print(
            line("  BM25, memory texts (50)  ", memoryPruned)
                + String(format: "  (%.2fx the exhaustive p50)", Stats.percentile(memoryPruned, 50) / Stats.percentile(memoryExhaustive, 50))
        )
        print(line("    exhaustive baseline   ", memoryExhaustive))
        print("  pruned and exhaustive rankings differed in \(differences) of \((queries + 20) * (depths.count + 1)) searches")
    }
}

/// Hidden helper for offline tuning: embeds the `text` of every JSONL line with the
/// in-process MiniLM and writes the vectors as little-endian Float32 rows (n × 384).
struct EvalEmbed: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed",
        abstract: "Embed JSONL texts to raw Float32 rows.",
        shouldDisplay: false
    )

    struct Line: Decodable { var text: String }

    @Option var input: String
    @Option var out: String

    func run() async throws {
        BLASRuntime.configureSingleThreaded()
        let lines = try EvalLocomo.readJSONL(input, as: Line.self)
        let modelDir = ProcessInfo.processInfo.environment["ENGRAM_MODEL_DIR"] ?? "models/all-MiniLM-L6-v2"
        let embedder = try MiniLMEmbedder(modelDirectory: URL(fileURLWithPath: modelDir))
        var data = Data()
        var i = 0
        while i < lines.count {
            let batch = lines[i..<min(i + 64, lines.count)].map(\.text)
            for v in try await embedder.embed(batch) { v.withUnsafeBytes { data.append(contentsOf: $0) } }
            i += 64
        }
        try data.write(to: URL(fileURLWithPath: out))
        EvalLocomo.say("embedded \(lines.count) texts into \(out)")
    }
}
