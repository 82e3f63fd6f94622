import ArgumentParser
import EngramAccounts
import EngramAuth
import EngramBenchKit
import EngramCore
import EngramDatabase
import EngramEmbedding
import EngramHTTP
import EngramKernels
import EngramMemory
import EngramMetadata
import EngramServer
import EngramStore
import EngramStoreModel
import Foundation
import Hummingbird
import Logging

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `engram-bench mcp`: `tools/call search_memories` over loopback HTTP against an
/// in-process server holding N memories, from C concurrent clients; with `--targets`, against
/// running servers (replicas) instead, with a fraction of `add_memory` writes (BenchMCPTargets.swift).
struct BenchMCP: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "mcp", abstract: "MCP search latency over loopback with concurrent clients.")

    @Option(help: "Memories in the caller's tenant.") var memories: Int = 100_000
    @Option(help: "Concurrent clients.") var clients: Int = 8
    @Option(help: "Requests per client.") var requests: Int = 200
    @Option(help: "Mean think time between a client's requests in ms (0: closed loop, back to back).") var thinkMs: Double = 0
    @Option(help: "Write the request latencies as JSON here (for eval/plots.py latency).") var samplesOut: String?
    @OptionGroup var metadataOptions: BenchMetadataOptions
    @Option(help: "Query batches the embedder runs at once (the service's default: 2).") var embedBatches: Int = 2
    @Option(help: "Drive these running servers instead of an in-process one: http://HOST:PORT,… (clients round robin).")
    var targets: String?
    @Option(help: "With --targets: measure these servers first in the same run, as the baseline of the ratios.")
    var baselineTargets: String?
    @Option(help: "With --targets: a file holding the bearer token of --user (never printed).") var tokenFile: String?
    @Option(help: "With --targets: the user whose MCP endpoint (/mcp/USER) is called.") var user: String = "bench"
    @Option(help: "With --targets: the fraction of requests that are add_memory writes (0…1).") var writeFraction: Double = 0
    @Option(help: "With --targets: add this many memories through add_memory before measuring.") var preload: Int = 0
    @Flag(help: "With --targets: only preload, measure nothing.") var preloadOnly = false

    func validate() throws {
        guard targets != nil || (baselineTargets == nil && tokenFile == nil && writeFraction == 0 && preload == 0 && !preloadOnly) else {
            throw ValidationError("--baseline-targets, --token-file, --write-fraction and --preload go with --targets")
        }
        guard targets == nil || tokenFile != nil else { throw ValidationError("--targets needs --token-file") }
        guard (0...1).contains(writeFraction) else { throw ValidationError("--write-fraction is between 0 and 1") }
        guard clients > 0, requests >= 0, preload >= 0 else { throw ValidationError("--clients, --requests and --preload cannot be negative") }
        guard embedBatches > 0 else { throw ValidationError("--embed-batches is positive") }
        guard user.allSatisfy({ $0.isLetter || $0.isNumber || "-_.@".contains($0) }), !user.isEmpty else {
            throw ValidationError("--user: letters, digits and - _ . @ only")
        }
    }

    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
        }
        guard ok else { throw ValidationError("cannot find a free port") }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    /// One engine's headline figures (seconds).
    struct Figures {
        var pingP50: Double
        var searchP50: Double
        var searchP99: Double
    }

    func run() async throws {
        if targets != nil { return try await runAgainstTargets() }
        BLASRuntime.configureSingleThreaded()
        var logger = Logger(label: "engram.bench")
        logger.logLevel = .warning
        let modelDir = URL(fileURLWithPath: ProcessInfo.processInfo.environment["ENGRAM_MODEL_DIR"] ?? "models/all-MiniLM-L6-v2")
        let embedder = try MiniLMEmbedder(modelDirectory: modelDir)
        var results: [(engine: String, figures: Figures)] = []
        for engine in try metadataOptions.engines() {
            print("== metadata store: \(engine.name)")
            let dir = URL(fileURLWithPath: NSTemporaryDirectory() + "engram-bench-mcp-\(getpid())-\(engine.name)")
            defer { try? FileManager.default.removeItem(at: dir) }
            let store = try EmbeddedStore(directory: dir, logger: logger)
            let figures = try await engine.withStore(database: store.database, logger: logger) { metadata in
                try await measure(store: store, metadata: metadata, embedder: embedder, logger: logger, samplesOut: engine.samplesPath(samplesOut))
            }
            results.append((engine.name, figures))
        }
        BenchComparison.print("mcp search p50", results.map { ($0.engine, $0.figures.searchP50 * 1000) }, unit: "ms")
        BenchComparison.print("mcp search p99", results.map { ($0.engine, $0.figures.searchP99 * 1000) }, unit: "ms")
        BenchComparison.print("mcp ping p50", results.map { ($0.engine, $0.figures.pingP50 * 1000) }, unit: "ms")
    }

    /// Loads the memories, serves them over loopback and times pings and searches.
    func measure(
        store: EmbeddedStore,
        metadata: any MetadataStore,
        embedder: MiniLMEmbedder,
        logger: Logger,
        samplesOut: String?
    ) async throws -> Figures {
        let directory = MemberDirectory(metadata: metadata)
        try await directory.upsertUser("bench")
        // With the service database: versions, usage and the served log are recorded as in `engram serve`.
        let service = try await MemoryService(
            store: store,
            embedder: CoalescingEmbedder(embedder, concurrentBatches: embedBatches),
            metadata: metadata,
            logger: logger
        )
        let flusher = BenchSearch.flushServedLog(service)
        defer { flusher.cancel() }
        var corpus = SyntheticCorpus(seed: 21)
        let t0 = now()
        try await BenchSearch.populate(service, embedder: embedder, userId: "bench", count: memories, corpus: &corpus)
        print(String(format: "loaded %d memories in %.1f s, ", memories, now() - t0) + ResidentMemory.text)
        let tokens = await TokenService(secret: String(repeating: "b", count: 48))
        let (token, _) = try await tokens.issue(for: Principal(userId: "bench", orgId: nil, role: .member))
        let services = try ServerServices(
            memories: service,
            directory: directory,
            tokens: tokens,
            readiness: ReadinessInfo(
                store: "embedded",
                embedder: embedder.modelID,
                blas: BLASRuntime.kind.rawValue,
                kernels: ["int8_scan": VectorMatrix.quantizedKernel, "minilm_sgemm": MiniLMEmbedder.projectionKernel],
                mode: "bench"
            ),
            logger: logger
        )
        let port = try Self.freePort()
        let app = EngramHTTPServer.application(services: services, host: "127.0.0.1", port: port)
        let server = Task { try await app.run() }
        defer { server.cancel() }
        let url = URL(string: "http://127.0.0.1:\(port)/mcp/bench")!
        // Wait for the listener.
        for _ in 0..<100 {
            if (try? await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/healthz")!)) != nil { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        var questions = MemoryTextGenerator(seed: 123)
        let queryTexts = (0..<(clients * requests)).map { _ in questions.question() }
        let bodies: [Data] = queryTexts.enumerated().map { i, q in
            try! JSONSerialization.data(withJSONObject: [
                "jsonrpc": "2.0", "id": i, "method": "tools/call",
                "params": ["name": "search_memories", "arguments": ["query": q, "limit": 10]],
            ])
        }
        // Each client is a thread with its own keep-alive connection (BenchHTTPClient: a blocking
        // socket, so waiting clients use no CPU and the cores go to the server).
        let headers = [
            ("Content-Type", "application/json"), ("Accept", "application/json, text/event-stream"),
            ("Authorization", "Bearer \(token)"),
        ]
        let isError = Array("\"isError\":true".utf8)
        @Sendable func call(_ client: BenchHTTPClient, _ body: Data) -> (Double, Bool) {
            let a = now()
            guard let (status, data) = try? client.post("/mcp/bench", body: Array(body), headers: headers) else { return (now() - a, false) }
            let elapsed = now() - a
            let ok = status == 200 && !data.isEmpty && !BenchHTTPClient.contains(data, isError)
            return (elapsed, ok)
        }
        // Warm-up.
        let warm = try BenchHTTPClient(port: port)
        for b in bodies.prefix(5) { _ = call(warm, b) }
        let clients = self.clients
        let requests = self.requests
        let thinkMs = self.thinkMs
        func closedLoop(_ bodies: [Data], clients: Int = clients) async throws -> (latencies: [Double], errors: Int, rate: Double) {
            let requests = bodies.count / clients
            let connections = try (0..<clients).map { _ in try BenchHTTPClient(port: port) }
            final class Results: @unchecked Sendable {
                let lock = NSLock()
                var all: [(Double, Bool)] = []
            }
            let results = Results()
            let group = DispatchGroup()
            let start = now()
            for c in 0..<clients {
                group.enter()
                let connection = connections[c]
                let thread = Thread {
                    var out: [(Double, Bool)] = []
                    var rng = XorShift(seed: UInt64(c + 1))
                    for r in 0..<requests {
                        if thinkMs > 0 {
                            let u = max(1e-9, Double(rng.next() % 1_000_000) / 1_000_000)
                            usleep(UInt32(-log(u) * thinkMs * 1000))
                        }
                        out.append(call(connection, bodies[c * requests + r]))
                    }
                    results.lock.lock()
                    results.all += out
                    results.lock.unlock()
                    group.leave()
                }
                thread.start()
            }
            // Wait without blocking a thread of the concurrency pool (the server runs on it).
            await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in group.notify(queue: .global()) { done.resume() } }
            let wall = now() - start
            let all = results.all
            return (all.map(\.0), all.filter { !$0.1 }.count, Double(all.count) / wall)
        }
        // Baseline in the same run: `ping` through the same HTTP, auth and JSON-RPC path
        // (the floor every tool call pays), then the searches.
        let pings = (0..<(clients * requests)).map { i in
            try! JSONSerialization.data(withJSONObject: ["jsonrpc": "2.0", "id": i, "method": "ping"])
        }
        let base = try await closedLoop(pings)
        // The searches, timed per stage (StageClock), then a short run of one client for the same
        // breakdown without contention.
        StageClock.shared.reset()
        StageClock.shared.enable(true)
        defer { StageClock.shared.enable(false) }
        let run = try await closedLoop(bodies)
        let loaded = StageClock.shared.snapshot()
        StageClock.shared.reset()
        let single = Array(bodies.suffix(min(bodies.count, 100)))
        let alone = try await closedLoop(single, clients: 1)
        let quiet = StageClock.shared.snapshot()
        StageClock.shared.enable(false)
        print(
            String(
                format: "ping (baseline), %d clients x %d requests, think %.0f ms: p50 %.2f ms, p99 %.2f ms, %.0f req/s, errors %d",
                clients,
                requests,
                thinkMs,
                Stats.percentile(base.latencies, 50) * 1000,
                Stats.percentile(base.latencies, 99) * 1000,
                base.rate,
                base.errors
            )
        )
        print(
            String(
                format:
                    "tools/call search_memories, %d memories, %d clients x %d requests, think %.0f ms: p50 %.2f ms, p99 %.2f ms, %.0f req/s, errors %d",
                memories,
                clients,
                requests,
                thinkMs,
                Stats.percentile(run.latencies, 50) * 1000,
                Stats.percentile(run.latencies, 99) * 1000,
                run.rate,
                run.errors
            )
        )
        print(String(format: "search / ping p50 ratio: %.1fx", Stats.percentile(run.latencies, 50) / max(1e-9, Stats.percentile(base.latencies, 50))))
        // What the searches added to memory: the store caches the payloads it decodes to check filters.
        print("after the searches: \(ResidentMemory.text), \(store.cachedPayloadCount) payloads cached by the store")
        let breakdown = StageBreakdown(memories: memories, dimension: embedder.dimensions, queries: queryTexts, tokenizer: embedder.tokenizer)
        func mean(_ xs: [Double]) -> Double { xs.reduce(0, +) / Double(max(1, xs.count)) }
        print(
            breakdown.report([
                StageBreakdown.Run(clients: 1, requests: alone.latencies.count, roundTrip: mean(alone.latencies), stages: quiet),
                StageBreakdown.Run(clients: clients, requests: run.latencies.count, roundTrip: mean(run.latencies), stages: loaded),
            ])
        )
        try LatencySamples.write(
            samplesOut,
            bench: "mcp, \(memories) memories, \(clients) clients",
            series: [("ping (baseline)", base.latencies), ("tools/call search_memories", run.latencies)]
        )
        return Figures(
            pingP50: Stats.percentile(base.latencies, 50),
            searchP50: Stats.percentile(run.latencies, 50),
            searchP99: Stats.percentile(run.latencies, 99)
        )
    }
}
