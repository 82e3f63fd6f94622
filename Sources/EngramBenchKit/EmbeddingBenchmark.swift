public import EngramEmbedding
import EngramKernels
public import Foundation

/// Micro-benchmark of `MiniLMEmbedder` (release builds only; debug builds are ~50× slower).
///
/// Reports ms per text at 8, 32, 128 and 256 tokens (one OpenBLAS thread, median of repeats),
/// and texts/s for one batch of 32 short texts versus 32 single calls. When the numpy reference
/// (`eval/embedding/reference_numpy.py`) is found, it times the same token ids in the same run
/// and the report adds numpy/Swift ratios and the cosine between the two implementations.
public enum EmbeddingBenchmark {
    /// Token counts (including `[CLS]`/`[SEP]`) of the per-text timings.
    public static let lengths = [8, 32, 128, 256]

    /// 32 short memory-like texts (about 8–16 tokens each).
    public static let shortTexts: [String] = [
        "Run swift build -c release before benchmarking.",
        "The CI job fails when the cache is cold.",
        "Prefer structs over classes for value semantics.",
        "Use exponential backoff for HTTP 429 responses.",
        "The database URL comes from the environment.",
        "Tests in NetworkTests are flaky on CI.",
        "Always pin dependency versions in Package.resolved.",
        "Logs go to stderr in JSON format.",
        "The admin page lives under /admin.",
        "Use snake_case for JSON keys in the REST API.",
        "Migrations run automatically at start-up.",
        "Never commit secrets; use the vault instead.",
        "The embedding model is all-MiniLM-L6-v2.",
        "Search combines BM25 with dense vectors.",
        "Reviewers approve org memories before publishing.",
        "The server listens on port 8080 by default.",
        "Memory content is limited to eight kilobytes.",
        "Timeouts default to thirty seconds.",
        "Use UUIDs for all primary identifiers.",
        "Drafts become published when the task finishes.",
        "The linter runs as a pre-commit hook.",
        "Benchmarks must use release builds only.",
        "Each tenant has its own vector shard.",
        "JWT tokens expire after thirty days.",
        "Avoid force unwrapping in production code.",
        "The Makefile target test runs all suites.",
        "Qdrant compatibility is tested with the official client.",
        "Use async let for independent network calls.",
        "Cache invalidation happens on every deploy.",
        "Prefer guard statements for early exits.",
        "The team uses trunk-based development.",
        "Document every public type with a comment.",
    ]

    static let paragraph = """
        Memory systems for coding agents store short observations about a code base: which build flags \
        are required, which tests are flaky, how errors are reported, and which patterns the maintainers \
        prefer. Retrieval has to work when the wording of the query differs from the wording of the stored \
        note, which is why dense embeddings are used instead of exact keyword matching.
        """

    /// `[CLS]` + the first `length - 2` WordPiece ids of a long English text + `[SEP]`.
    public static func sequence(of length: Int, tokenizer: WordPieceTokenizer) -> [Int32] {
        var body: [Int32] = []
        while body.count < length - 2 { body.append(contentsOf: tokenizer.tokenize(paragraph)) }
        return [tokenizer.clsID] + body.prefix(length - 2) + [tokenizer.sepID]
    }

    /// Runs the benchmark; looks for the numpy reference at `$ENGRAM_NUMPY_REFERENCE` or
    /// `./eval/embedding/reference_numpy.py`.
    public static func run(embedder: MiniLMEmbedder) async throws -> String {
        let env = ProcessInfo.processInfo.environment
        var script: URL? = env["ENGRAM_NUMPY_REFERENCE"].map { URL(fileURLWithPath: $0) }
        if script == nil {
            let local = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
                .appendingPathComponent("eval/embedding/reference_numpy.py")
            if FileManager.default.fileExists(atPath: local.path) { script = local }
        }
        return try await run(embedder: embedder, numpyReference: script)
    }

    /// Runs the benchmark, comparing with the numpy reference script when `numpyReference` is given.
    public static func run(embedder: MiniLMEmbedder, numpyReference: URL?) async throws -> String {
        BLASRuntime.configureSingleThreaded()
        var lines: [String] = []
        lines.append("BLAS: \(BLASRuntime.details)")
        lines.append("model: \(embedder.modelID) (\(embedder.dimensions)-d), one BLAS thread, median of repeats")

        // Per-text latency.
        var swiftMs: [Int: Double] = [:]
        var swiftVectors: [Int: [Float]] = [:]
        let sequences = lengths.map { sequence(of: $0, tokenizer: embedder.tokenizer) }
        for (n, ids) in zip(lengths, sequences) {
            _ = embedder.embed(tokenIDs: [ids])
            let repeats = n <= 32 ? 41 : (n <= 128 ? 15 : 9)
            let ms = median((0..<repeats).map { _ in time { _ = embedder.embed(tokenIDs: [ids]) } })
            swiftMs[n] = ms
            swiftVectors[n] = embedder.embed(tokenIDs: [ids])[0]
        }

        // Batch of 32 short texts vs 32 single calls (tokenisation included).
        let texts = shortTexts
        let shortIDs = texts.map(embedder.tokenizer.encode)
        let meanTokens = Double(shortIDs.map(\.count).reduce(0, +)) / Double(shortIDs.count)
        _ = embedder.embedSync(texts)
        let batchMs = median((0..<7).map { _ in time { _ = embedder.embedSync(texts) } })
        let singleMs = median((0..<7).map { _ in time { for t in texts { _ = embedder.embedSync([t]) } } })
        let batchRate = Double(texts.count) / (batchMs / 1000)
        let singleRate = Double(texts.count) / (singleMs / 1000)

        lines.append("ms per text (single call):")
        for n in lengths {
            lines.append("  \(pad(String(n), 3)) tokens: \(fmt(swiftMs[n]!)) ms")
        }
        lines.append(String(format: "batch of 32 short texts (%.1f tokens avg): %.1f ms = %.0f texts/s", meanTokens, batchMs, batchRate))
        lines.append(String(format: "32 single calls:                          %.1f ms = %.0f texts/s", singleMs, singleRate))
        lines.append(String(format: "batch / single throughput ratio: %.2fx", batchRate / singleRate))

        if let script = numpyReference {
            do {
                let result = try runNumpy(
                    script: script,
                    modelDirectory: embedder.modelDirectory,
                    sequences: Dictionary(uniqueKeysWithValues: zip(lengths, sequences)),
                    shortIDs: shortIDs
                )
                lines.append("numpy reference (\(script.lastPathComponent), same token ids, OPENBLAS_NUM_THREADS=1):")
                for n in lengths {
                    if let npMs = result.ms[n], let sw = swiftMs[n] {
                        var line =
                            "  \(pad(String(n), 3)) tokens: numpy \(fmt(npMs)) ms, Swift \(fmt(sw)) ms, numpy/Swift \(String(format: "%.2f", npMs / sw))x"
                        if let a = result.vectors[n], let b = swiftVectors[n] {
                            line += String(format: ", cosine %.7f", VectorMath.cosine(a, b))
                        }
                        lines.append(line)
                    }
                }
                if let b = result.batchMs, let s = result.singleMs {
                    lines.append(
                        String(
                            format: "  numpy batch of 32: %.1f ms (Swift %.1f, numpy/Swift %.2fx); 32 singles: %.1f ms (Swift %.1f, %.2fx)",
                            b,
                            batchMs,
                            b / batchMs,
                            s,
                            singleMs,
                            s / singleMs
                        )
                    )
                }
            } catch {
                lines.append("numpy reference failed: \(error)")
            }
        } else {
            lines.append("numpy reference: not run (set ENGRAM_NUMPY_REFERENCE or run from the repository root)")
        }
        return lines.joined(separator: "\n")
    }

    // MARK: helpers

    struct NumpyResult {
        var ms: [Int: Double] = [:]
        var vectors: [Int: [Float]] = [:]
        var batchMs: Double?
        var singleMs: Double?
    }

    static func runNumpy(script: URL, modelDirectory: URL, sequences: [Int: [Int32]], shortIDs: [[Int32]]) throws -> NumpyResult {
        let input: [String: Any] = [
            "lengths": Dictionary(uniqueKeysWithValues: sequences.map { (String($0.key), $0.value.map(Int.init)) }),
            "short": shortIDs.map { $0.map(Int.init) },
        ]
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("engram-bench-\(UUID().uuidString).json")
        try JSONSerialization.data(withJSONObject: input).write(to: tmp)
        defer { try? FileManager.default.removeItem(at: tmp) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", script.path, "--model-dir", modelDirectory.path, "--bench-input", tmp.path]
        var env = ProcessInfo.processInfo.environment
        env["OPENBLAS_NUM_THREADS"] = "1"
        env["OMP_NUM_THREADS"] = "1"
        env["MKL_NUM_THREADS"] = "1"
        p.environment = env
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0,
            let obj = try JSONSerialization.jsonObject(with: data) as? [String: Any]
        else {
            throw NSError(
                domain: "EmbeddingBenchmark",
                code: Int(p.terminationStatus),
                userInfo: [NSLocalizedDescriptionKey: "python3 \(script.path) exited \(p.terminationStatus)"]
            )
        }
        var r = NumpyResult()
        for (k, v) in obj["ms"] as? [String: Any] ?? [:] {
            if let n = Int(k), let ms = (v as? NSNumber)?.doubleValue { r.ms[n] = ms }
        }
        for (k, v) in obj["vectors"] as? [String: Any] ?? [:] {
            if let n = Int(k), let a = v as? [NSNumber] { r.vectors[n] = a.map(\.floatValue) }
        }
        r.batchMs = (obj["batch32_ms"] as? NSNumber)?.doubleValue
        r.singleMs = (obj["single32_ms"] as? NSNumber)?.doubleValue
        return r
    }

    static func time(_ body: () -> Void) -> Double {
        let t0 = DispatchTime.now().uptimeNanoseconds
        body()
        return Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6
    }

    static func median(_ xs: [Double]) -> Double {
        let s = xs.sorted()
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }

    static func fmt(_ ms: Double) -> String { String(format: ms < 10 ? "%.2f" : "%.1f", ms) }

    static func pad(_ s: String, _ n: Int) -> String { String(repeating: " ", count: max(0, n - s.count)) + s }
}
