import ArgumentParser
import EngramAuth
import EngramBenchKit
import EngramDatabase
import EngramEmbedding
import EngramKernels
import EngramMemory
import EngramMemoryModel
import EngramMetadata
import EngramStore
import EngramStoreModel
import Foundation
import Logging

/// Synthetic memory text: sentences over a Zipf-distributed vocabulary, so
/// lexical posting lists have realistic lengths.
struct SyntheticCorpus {
    var rng: XorShift
    let vocabulary: [String]
    let cumulative: [Double]

    init(seed: UInt64, vocabularySize: Int = 8000) {
        rng = XorShift(seed: seed)
        let syllables = ["ka", "ri", "to", "men", "sel", "dra", "po", "lin", "vu", "es", "tor", "qua", "bi", "ne", "xo", "ul"]
        var words: [String] = []
        var local = XorShift(seed: seed ^ 0xABCDEF)
        for i in 0..<vocabularySize {
            let n = 2 + Int(local.next() % 3)
            words.append((0..<n).map { _ in syllables[Int(local.next() % UInt64(syllables.count))] }.joined() + (i % 7 == 0 ? "er" : ""))
        }
        vocabulary = words
        var acc = 0.0
        cumulative = (1...vocabularySize).map { r in
            acc += 1 / Double(r)
            return acc
        }
    }

    mutating func word() -> String {
        let x = Double(rng.next() % 1_000_000) / 1_000_000 * cumulative.last!
        var lo = 0
        var hi = cumulative.count - 1
        while lo < hi {
            let mid = (lo + hi) / 2
            if cumulative[mid] < x { lo = mid + 1 } else { hi = mid }
        }
        return vocabulary[lo]
    }

    mutating func sentence(words: Int) -> String { (0..<words).map { _ in word() }.joined(separator: " ") }
}

/// `engram-bench search`: the memory domain at scale: `search` latency at N memories
/// in one tenant (with and without embedding the query), and sustained `add` throughput.
struct BenchSearch: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "search", abstract: "MemoryService search latency and add throughput.")

    @Option(help: "Memories in the searched tenant.") var memories: Int = 100_000
    @Option(help: "Queries to time.") var queries: Int = 200
    @Option(help: "Memories added through the full add path for the throughput figure.") var adds: Int = 600
    @Option(help: "Concurrent adders.") var concurrency: Int = 4
    @Option(help: "Write the search latencies as JSON here (for eval/plots.py latency).") var samplesOut: String?
    @OptionGroup var metadataOptions: BenchMetadataOptions

    /// Loads `count` synthetic personal memories of `userId`, with random unit vectors
    /// (scan cost does not depend on where vectors come from), through the import path.
    /// Writes the served log every second, as the server's lifecycle timer does (searches only buffer it).
    static func flushServedLog(_ service: MemoryService) -> Task<Void, Never> {
        Task {
            while !Task.isCancelled {
                do { try await Task.sleep(for: .seconds(1)) } catch { return }
                _ = try? await service.usage.flush()
            }
        }
    }

    static func populate(
        _ service: MemoryService,
        embedder: any Embedder,
        userId: String,
        count: Int,
        corpus: inout SyntheticCorpus
    ) async throws {
        var rng = XorShift(seed: 3)
        var texts = MemoryTextGenerator(seed: 17)
        var batch: [MemoryService.ImportItem] = []
        for i in 0..<count {
            // Realistic memory sentences (real words, so BM25 posting lists are as long as in practice),
            // with a few rarer words mixed in.
            let m = Memory(
                userId: userId,
                orgId: nil,
                scope: .personal,
                state: .published,
                content: texts.next() + " " + corpus.sentence(words: 2 + i % 4),
                tags: [corpus.word()],
                createdAt: Date(timeIntervalSince1970: 1_700_000_000 + Double(i)),
                embeddingModel: embedder.modelID
            )
            batch.append(.init(memory: m, vector: rng.vector(embedder.dimensions)))
            if batch.count == 5000 {
                try await service.importMemories(batch)
                batch.removeAll()
            }
        }
        if !batch.isEmpty { try await service.importMemories(batch) }
    }

    /// One engine's headline figures.
    struct Figures {
        var searchP50: Double
        var searchAloneP50: Double
        var addsPerSecond: Double
    }

    func run() async throws {
        BLASRuntime.configureSingleThreaded()
        let modelDir = URL(fileURLWithPath: ProcessInfo.processInfo.environment["ENGRAM_MODEL_DIR"] ?? "models/all-MiniLM-L6-v2")
        let embedder = try MiniLMEmbedder(modelDirectory: modelDir)
        var results: [(engine: String, figures: Figures)] = []
        for engine in try metadataOptions.engines() {
            print("== metadata store: \(engine.name)")
            results.append((engine.name, try await measure(engine: engine, embedder: embedder)))
        }
        BenchComparison.print("search p50 incl. embedding", results.map { ($0.engine, $0.figures.searchP50 * 1000) }, unit: "ms")
        BenchComparison.print("search p50 alone", results.map { ($0.engine, $0.figures.searchAloneP50 * 1000) }, unit: "ms")
        BenchComparison.print("add throughput", results.map { ($0.engine, $0.figures.addsPerSecond) }, unit: "/s", higherIsBetter: true)
    }

    /// Loads, searches and adds on a fresh embedded store whose metadata lives in `engine`.
    func measure(engine: BenchMetadataEngine, embedder: MiniLMEmbedder) async throws -> Figures {
        let dir = URL(fileURLWithPath: NSTemporaryDirectory() + "engram-bench-search-\(getpid())-\(engine.name)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try EmbeddedStore(directory: dir)
        var logger = Logger(label: "engram.bench")
        logger.logLevel = .warning
        return try await engine.withStore(database: store.database, logger: logger) { metadata in
            try await measure(store: store, metadata: metadata, embedder: embedder, samplesOut: engine.samplesPath(samplesOut))
        }
    }

    func measure(store: EmbeddedStore, metadata: any MetadataStore, embedder: MiniLMEmbedder, samplesOut: String?) async throws -> Figures {
        // With the service database: versions, usage and the served log are recorded as in `engram serve`.
        let service = try await MemoryService(store: store, embedder: CoalescingEmbedder(embedder), metadata: metadata)
        let flusher = Self.flushServedLog(service)
        defer { flusher.cancel() }
        let user = Principal(userId: "bench", orgId: "bench-org", role: .member)

        var corpus = SyntheticCorpus(seed: 11)
        let t0 = now()
        try await Self.populate(service, embedder: embedder, userId: user.userId, count: memories, corpus: &corpus)
        print(String(format: "loaded %d memories in one tenant in %.1f s", memories, now() - t0))

        var questions = MemoryTextGenerator(seed: 99)
        let texts = (0..<queries).map { _ in questions.question() }
        let queryTokens = texts.map { embedder.tokenizer.encode($0).count }
        print(String(format: "queries: short questions, %.1f tokens on average", Double(queryTokens.reduce(0, +)) / Double(queryTokens.count)))
        var full: [Double] = []
        var alone: [Double] = []
        var embedOnly: [Double] = []
        for text in texts {
            let a = now()
            let vector = try await embedder.embed([text])[0]
            let b = now()
            _ = try await service.search(user, MemorySearchQuery(query: text, limit: 10, queryVector: vector))
            let c = now()
            _ = try await service.search(user, MemorySearchQuery(query: text, limit: 10))
            let d = now()
            embedOnly.append(b - a)
            alone.append(c - b)
            full.append(d - c)
        }
        func row(_ name: String, _ xs: [Double]) -> String {
            String(format: "%-34@ p50 %7.2f ms   p99 %7.2f ms", name as NSString, Stats.percentile(xs, 50) * 1000, Stats.percentile(xs, 99) * 1000)
        }
        print(row("search incl. query embedding", full))
        print(row("search alone (precomputed vector)", alone))
        print(row("query embedding alone", embedOnly))
        try LatencySamples.write(
            samplesOut,
            bench: "search, \(memories) memories",
            series: [("search incl. query embedding", full), ("search alone (precomputed vector)", alone), ("query embedding alone", embedOnly)]
        )

        // Sustained add through the full path (validate, scan, hash, dedup, embed, near-dup, fsync),
        // with realistic coding-memory sentences (their token count is what embedding costs).
        var memoryTexts = MemoryTextGenerator(seed: 5)
        let addTexts = (0..<adds).map { _ in memoryTexts.next() }
        let tokens = addTexts.map { embedder.tokenizer.encode($0).count }
        print(
            String(
                format: "add texts: %.1f tokens on average (min %d, max %d)",
                Double(tokens.reduce(0, +)) / Double(tokens.count),
                tokens.min() ?? 0,
                tokens.max() ?? 0
            )
        )
        let writer = Principal(userId: "writer", orgId: nil, role: .member)
        let start = now()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for w in 0..<concurrency {
                group.addTask {
                    for i in stride(from: w, to: addTexts.count, by: concurrency) {
                        _ = try await service.add(writer, NewMemory(content: addTexts[i]))
                    }
                }
            }
            try await group.waitForAll()
        }
        let elapsed = now() - start
        print(
            String(
                format: "add: %d memories in %.2f s with %d concurrent adders: %.0f memories/s",
                adds,
                elapsed,
                concurrency,
                Double(adds) / elapsed
            )
        )
        return Figures(
            searchP50: Stats.percentile(full, 50),
            searchAloneP50: Stats.percentile(alone, 50),
            addsPerSecond: Double(adds) / elapsed
        )
    }
}

/// Realistic coding-memory sentences from templates over real words (build, test, deploy,
/// conventions, gotchas), so benchmark texts have the token counts of real memories.
struct MemoryTextGenerator {
    var rng: XorShift
    init(seed: UInt64) { rng = XorShift(seed: seed) }

    static let services = ["billing", "auth", "search", "gateway", "notifications", "ingest", "reporting", "payments", "profile", "scheduler"]
    static let tools = ["pytest", "swift test", "cargo nextest", "go test", "jest", "vitest", "make check", "tox", "gradle test", "bazel test"]
    static let stores = ["Postgres", "Redis", "SQLite", "Kafka", "S3", "DynamoDB", "Elasticsearch", "RabbitMQ", "MySQL", "Qdrant"]
    static let habits = [
        "small pull requests", "feature flags for risky changes", "table-driven tests", "structured logging",
        "explicit error types", "dependency injection through initialisers", "snake_case JSON", "UTC timestamps",
    ]
    static let gotchas = [
        "the staging cache is shared", "migrations lock the orders table", "the CI runner has only 2 cores",
        "timeouts default to 30 seconds", "the SDK retries non-idempotent calls", "clock skew breaks token checks",
    ]

    mutating func pick(_ xs: [String]) -> String { xs[Int(rng.next() % UInt64(xs.count))] }
    mutating func number(_ n: Int) -> Int { Int(rng.next() % UInt64(n)) + 1 }

    /// A short question an assistant would ask at the start of a task.
    mutating func question() -> String {
        switch rng.next() % 5 {
        case 0: return "how do we run the \(pick(Self.services)) tests"
        case 1: return "retry policy of the \(pick(Self.services)) client"
        case 2: return "\(pick(Self.stores)) gotchas in \(pick(Self.services))"
        case 3: return "how are \(pick(Self.services)) deploys done"
        default: return "why did we move off \(pick(Self.stores))"
        }
    }

    mutating func next() -> String {
        switch rng.next() % 6 {
        case 0:
            return
                "The \(pick(Self.services)) service runs its tests with \(pick(Self.tools)) and needs a local \(pick(Self.stores)) on port \(5000 + number(999))."
        case 1:
            return "The \(pick(Self.services)) client retries \(number(5)) times with exponential backoff when \(pick(Self.stores)) is unavailable."
        case 2: return "In the \(pick(Self.services)) repository the team prefers \(pick(Self.habits)) over ad-hoc alternatives."
        case 3: return "Gotcha in \(pick(Self.services)): \(pick(Self.gotchas)), so check it before changing \(pick(Self.stores)) settings."
        case 4:
            return
                "We decided to move \(pick(Self.services)) events from \(pick(Self.stores)) to \(pick(Self.stores)) because of throughput limits seen in release \(number(40))."
        default: return "Deploys of \(pick(Self.services)) go out after \(pick(Self.tools)) passes and a canary runs for \(number(60)) minutes."
        }
    }
}
