import ArgumentParser
import EngramBenchKit
import EngramCore
import EngramDatabase
import EngramEmbedding
import EngramKernels
import EngramPoisoning
import EngramPoisoningCore
import EngramSecrets
import EngramStore
import EngramStoreModel
import Foundation

/// `engram-bench kernels`: exact top-k latency against the memory-bandwidth bound.
struct BenchKernels: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "kernels", abstract: "Exact cosine top-k vs a sequential read of the same bytes.")

    @Option(help: "Comma-separated row counts.") var sizes: String = "10000,100000,1000000"
    @Option(help: "Vector dimension.") var dimension: Int = 384
    @Option(help: "Queries per size.") var queries: Int = 200
    @Option(help: "Results per query.") var k: Int = 10

    func run() async throws {
        BLASRuntime.configureSingleThreaded()
        print("BLAS: \(BLASRuntime.details); int8 kernel: \(VectorMatrix.quantizedKernel)")
        print("dimension \(dimension), top-\(k), \(queries) queries per size, one thread unless split\n")
        // Ratios compare like with like in the same run: the float scan against a one-thread read
        // of the same bytes (how close it is to the memory bound), and the int8 scan (exact top-k,
        // bounded rescoring) against the float scan. The split column is the float scan split
        // across the cores (what small float-only shards would do on an idle machine).
        let threads = VectorMatrix.scanThreads
        print(
            "rows      | float MB | float p50 ms | read p50 ms | float/read | int8 p50 ms | int8 p99 ms | float/int8 | same top-k | \(threads)-thread float p50 | float batch-32 ms/query | int8 batch-8 ms/query"
        )
        print(
            "----------|----------|--------------|-------------|------------|-------------|-------------|------------|------------|---------------------|------------------------|-----------------------"
        )
        var rng = XorShift(seed: 42)
        defer {
            VectorMatrix.scanThreads = threads
            VectorMatrix.quantizedScan = true
        }
        for n in sizes.split(separator: ",").compactMap({ Int($0) }) {
            let m = VectorMatrix(dimension: dimension, initialCapacity: n)
            for i in 0..<n { try m.upsert(id: Int64(i), vector: rng.vector(dimension)) }
            let qs = (0..<queries).map { _ in rng.vector(dimension) }
            var sink: Float = 0
            func timed(quantized: Bool, threads t: Int) throws -> ([Double], [[ScoredID]]) {
                VectorMatrix.quantizedScan = quantized
                VectorMatrix.scanThreads = t
                _ = try m.search(qs[0], k: k)  // warm-up
                var times: [Double] = []
                var results: [[ScoredID]] = []
                for q in qs {
                    let t0 = now()
                    let r = try m.search(q, k: k)
                    times.append(now() - t0)
                    results.append(r)
                }
                return (times, results)
            }
            let (floatTimes, floatResults) = try timed(quantized: false, threads: 1)
            let (int8Times, int8Results) = try timed(quantized: true, threads: 1)
            let (splitTimes, _) = try timed(quantized: false, threads: threads)
            var readTimes: [Double] = []
            for _ in qs {
                let t0 = now()
                m.withUnsafeRows { rows in sink += MemoryBandwidth.sequentialRead(rows.baseAddress!, count: rows.count) }
                readTimes.append(now() - t0)
            }
            let same = zip(floatResults, int8Results).filter { $0.map(\.id) == $1.map(\.id) }.count
            VectorMatrix.quantizedScan = false
            let batches = max(1, queries / 32)
            let tb0 = now()
            for b in 0..<batches {
                let slice = Array(qs[(b * 32) % qs.count..<min(qs.count, (b * 32) % qs.count + 32)])
                let r = try m.search(batch: slice, k: k)
                sink += r.first?.first?.score ?? 0
            }
            let perQuery = (now() - tb0) / Double(batches * 32)
            // The int8 kernel's shared pass: 8 queries per pass over the rows.
            VectorMatrix.quantizedScan = true
            let ti0 = now()
            for b in 0..<(qs.count / 8) {
                let r = try m.search(batch: Array(qs[(b * 8)..<(b * 8 + 8)]), k: k)
                sink += r.first?.first?.score ?? 0
            }
            let int8PerQuery = (now() - ti0) / Double(qs.count / 8 * 8)
            let f50 = Stats.percentile(floatTimes, 50)
            let read50 = Stats.percentile(readTimes, 50)
            let i50 = Stats.percentile(int8Times, 50)
            let i99 = Stats.percentile(int8Times, 99)
            func pad(_ s: String, _ w: Int) -> String { String(repeating: " ", count: max(0, w - s.count)) + s }
            let quantizedUsed = n >= VectorMatrix.quantizedScanThreshold
            print(
                [
                    pad(String(n), 9), pad(String(format: "%.0f", Double(m.dataBytes) / 1e6), 8), pad(Stats.ms(f50), 12),
                    pad(Stats.ms(read50), 11), pad(String(format: "%.2fx", f50 / read50), 10),
                    pad(quantizedUsed ? Stats.ms(i50) : "(float)", 11), pad(quantizedUsed ? Stats.ms(i99) : "", 11),
                    pad(quantizedUsed ? String(format: "%.2fx", f50 / i50) : "", 10), pad("\(same)/\(qs.count)", 10),
                    pad(n >= VectorMatrix.parallelScanThreshold ? Stats.ms(Stats.percentile(splitTimes, 50)) : "(not split)", 19),
                    pad(Stats.ms(perQuery), 22), pad(quantizedUsed ? Stats.ms(int8PerQuery) : "(float)", 21),
                ].joined(separator: " | ")
            )
            if sink.isNaN { print("") }
        }
    }
}

/// `engram-bench store`: time to open a store of N points and serve the first search.
struct BenchStore: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store",
        abstract: "Store open + first search time: rebuilt from SQLite and from segment files."
    )

    @Option(help: "Points to load.") var points: Int = 1_000_000
    @Option(help: "Vector dimension.") var dimension: Int = 384
    @Option(help: "Tenants the points are spread over.") var tenants: Int = 100
    @Option(help: "Directory for the store (default: a temporary one, removed after).") var dir: String?
    @Flag(help: "Also measure after dropping the page cache (Linux, as root).") var dropCaches = false

    func run() async throws {
        BLASRuntime.configureSingleThreaded()
        let directory = URL(fileURLWithPath: dir ?? NSTemporaryDirectory() + "engram-bench-\(getpid())")
        defer { if dir == nil { try? FileManager.default.removeItem(at: directory) } }
        var rng = XorShift(seed: 7)
        do {
            let store = try EmbeddedStore(directory: directory)
            let existing = (try? await store.collectionInfo("bench"))?.pointsCount ?? -1
            if existing != points {
                if existing >= 0 { try await store.deleteCollection("bench") }
                try await store.createCollection(CollectionConfig(name: "bench", vectorSize: dimension, tenantKey: "tenant"))
                let t0 = now()
                var written = 0
                while written < points {
                    let n = min(10_000, points - written)
                    let batch = (0..<n).map { i -> PointStruct in
                        let id = written + i
                        return PointStruct(
                            id: .number(UInt64(id)),
                            vector: rng.vector(dimension),
                            payload: ["tenant": .string("t\(id % tenants)"), "n": .int(Int64(id))]
                        )
                    }
                    try await store.upsert("bench", points: batch)
                    written += n
                }
                print(
                    String(
                        format: "wrote %d points in %.1f s (%.0f points/s, batches of 10k)",
                        points,
                        now() - t0,
                        Double(points) / (now() - t0)
                    )
                )
            }
        }
        // The segment files the server writes when it stops (timed: what a clean stop costs).
        do {
            let store = try EmbeddedStore(directory: directory)
            let t0 = now()
            let files = try await store.persistSegments()
            if files > 0 { print(String(format: "wrote the segment files in %.2f s", now() - t0)) }
        }
        var results: [String: Double] = [:]
        passes: for cold in dropCaches ? [false, true] : [false] {
            for segments in [false, true] {
                if cold && !Self.dropPageCache() {
                    print("the page cache could not be dropped here (needs root and a writable /proc/sys/vm): warm runs only")
                    break passes
                }
                let anonymous = ResidentMemory.bytes("RssAnon") ?? 0
                let fileBacked = ResidentMemory.bytes("RssFile") ?? 0
                let t0 = now()
                let database = try EngramDatabase(directory: directory)
                let store = try EmbeddedStore(database: database, segments: segments)
                let t1 = now()
                let hits = try await store.search("bench", SearchRequest(vector: rng.vector(dimension), limit: 10))
                let t2 = now()
                let tenantHits = try await store.search(
                    "bench",
                    SearchRequest(
                        vector: rng.vector(dimension),
                        filter: Filter(must: [.field(FieldCondition(key: "tenant", match: .value("t1")))]),
                        limit: 10
                    )
                )
                let t3 = now()
                // Float rows and row counts of files opened are verified in the background after open.
                await store.segmentsVerified()
                let t4 = now()
                precondition(hits.count == 10 && tenantHits.count == 10)
                // What the open added to resident memory: the process's own (rows copied from SQLite) and
                // mapped file pages (the segment's rows, the page cache's copy).
                let addedAnonymous = Double((ResidentMemory.bytes("RssAnon") ?? 0) - anonymous) / 1e6
                let addedFile = Double((ResidentMemory.bytes("RssFile") ?? 0) - fileBacked) / 1e6
                let label = segments ? "from segment files" : "rebuilt from SQLite"
                print(
                    String(
                        format:
                            "%@ %@, %d points: open %.2f s; first search (all shards) %.1f ms; one-tenant search %.2f ms; open + first search %.2f s; verified %.2f s after open; resident +%.0f MB own, +%.0f MB mapped file",
                        cold ? "cold (page cache dropped)" : "warm",
                        label,
                        points,
                        t1 - t0,
                        (t2 - t1) * 1000,
                        (t3 - t2) * 1000,
                        t2 - t0,
                        t4 - t1,
                        addedAnonymous,
                        addedFile
                    )
                )
                results["\(cold) \(segments)"] = t2 - t0
            }
            if let rebuilt = results["\(cold) false"], let mapped = results["\(cold) true"] {
                print(String(format: "%@: open + first search from segments / rebuilt = %.3f×", cold ? "cold" : "warm", mapped / rebuilt))
            }
        }
    }

    /// Drops the kernel's page cache (Linux, as root), so the next open reads from the disk.
    static func dropPageCache() -> Bool {
        sync()
        guard let handle = FileHandle(forWritingAtPath: "/proc/sys/vm/drop_caches") else { return false }
        defer { try? handle.close() }
        return (try? handle.write(contentsOf: Data("3\n".utf8))) != nil
    }
}

/// `engram-bench embed`: MiniLM latency per text length, batch vs single calls, and
/// the numpy reference forward pass in the same run when Python and numpy are present.
struct BenchEmbed: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "embed", abstract: "Embedding latency and batch throughput.")

    func run() async throws {
        BLASRuntime.configureSingleThreaded()
        let dir = URL(fileURLWithPath: ProcessInfo.processInfo.environment["ENGRAM_MODEL_DIR"] ?? "models/all-MiniLM-L6-v2")
        let embedder = try MiniLMEmbedder(modelDirectory: dir)
        let script = URL(fileURLWithPath: "eval/embedding/reference_numpy.py")
        let numpy = FileManager.default.fileExists(atPath: script.path) ? script : nil
        print(try await EmbeddingBenchmark.run(embedder: embedder, numpyReference: numpy))
    }
}

/// `engram-bench scan`: write-gate throughput on the corpus texts, one core: the secret filter and the
/// poisoning screen, each alone, then both as every write runs them.
struct BenchScan: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scan",
        abstract: "Secret filter and poisoning screen memories/s and MB/s on one core."
    )

    @Option(help: "JSONL corpus with a `text` field per line (.gz is read through gzip -dc), e.g. the team's secret-filter corpus.")
    var corpus: String
    @Option(help: "Passes over the corpus per timed run.") var passes: Int = 20
    @Option(help: "Timed runs (the best is reported).") var runs: Int = 5

    func run() async throws {
        let texts: [String] = try JSONLines.read(corpus).compactMap { line in
            (try? JSONSerialization.jsonObject(with: line) as? [String: Any])?["text"] as? String
        }
        guard !texts.isEmpty else { throw ValidationError("no texts in \(corpus)") }
        let bytes = texts.reduce(0) { $0 + $1.utf8.count }
        let scanner = SecretScanner()
        let screen = PoisoningScreen()
        print("\(texts.count) texts (\(bytes / texts.count) bytes avg), \(passes) passes, best of \(runs), one core")
        let gates: [(String, (String) -> Bool)] = [
            ("secret filter", { !scanner.scan($0).isEmpty }),
            ("poisoning screen", { screen.screen($0).verdict != .allow }),
            ("both (a write)", { !scanner.scan($0).isEmpty || screen.screen($0).verdict != .allow }),
        ]
        for (name, gate) in gates {
            var best = Double.infinity
            var flagged = 0
            for _ in 0..<runs {
                let t0 = now()
                flagged = 0
                for _ in 0..<passes { for t in texts where gate(t) { flagged += 1 } }
                best = min(best, now() - t0)
            }
            let n = Double(texts.count * passes)
            print(
                "  " + name.padding(toLength: 18, withPad: " ", startingAt: 0)
                    + String(
                        format: "%.0f memories/s, %.2f MB/s, %.1f µs/memory (%d hits per pass)",
                        n / best,
                        Double(bytes * passes) / best / 1e6,
                        best / n * 1e6,
                        flagged / passes
                    )
            )
        }
    }
}
