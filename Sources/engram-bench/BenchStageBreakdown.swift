import CEngramKernels
import EngramBenchKit
import EngramCore
import EngramEmbedding
import Foundation

/// Where an MCP search request's time goes (`engram-bench mcp`), from `StageClock`'s sums, and the
/// two stages that have a physical bound measured against it in the same run:
/// - **scan**: the int8 rows of every memory (N × dimension bytes) read once at the memory bandwidth
///   of a sequential SIMD read of as many bytes (`MemoryBandwidth`);
/// - **embed**: the forward pass's floating-point operations for the query's tokens at the peak of
///   the embedder's own single-thread sgemm kernel (`engram_sgemm_packed` on a large product).
struct StageBreakdown {
    /// Seconds per stage per request, and the client's round trip, for one run.
    struct Run {
        let clients: Int
        let requests: Int
        let roundTrip: Double
        let stages: [RequestStage: (seconds: Double, count: Int)]

        func perRequest(_ stage: RequestStage) -> Double { (stages[stage]?.seconds ?? 0) / Double(max(1, requests)) }
    }

    /// The bound of the scan in seconds per query.
    let scanBound: Double
    /// The bound of the embedding in seconds per query (mean over the run's queries).
    let embedBound: Double
    let bandwidth: Double
    let sgemmPeak: Double
    let meanTokens: Double

    /// Measures both bounds: `memories` int8 rows of `dimension` bytes, and the forward pass of `queries`.
    init(memories: Int, dimension: Int, queries: [String], tokenizer: WordPieceTokenizer, config: BertConfiguration = BertConfiguration()) {
        // Memory bandwidth: the median of 15 sequential reads of the scan's bytes.
        let floats = max(64, memories * dimension / MemoryLayout<Float>.stride)
        let buffer = UnsafeMutablePointer<Float>.allocate(capacity: floats)
        defer { buffer.deallocate() }
        for i in 0..<floats { buffer[i] = Float(i & 1023) }
        var sink: Float = 0
        var reads: [Double] = []
        for _ in 0..<15 {
            let t0 = now()
            sink += MemoryBandwidth.sequentialRead(buffer, count: floats)
            reads.append(now() - t0)
        }
        let read = Stats.percentile(reads, 50)
        bandwidth = Double(floats * MemoryLayout<Float>.stride) / read
        scanBound = read
        // The sgemm peak: the embedder's kernel on a 256 × 384 · 384 × 1536 product (the shape of the
        // feed-forward layer on a batch), best of 10.
        let (m, k, n) = (256, config.hidden, config.intermediate)
        let a = [Float](repeating: 0.5, count: m * k)
        let b = [Float](repeating: 0.25, count: k * n)
        let packedCount = engram_sgemm_packed_count(Int32(k), Int32(n))
        let packed = UnsafeMutablePointer<Float>.allocate(capacity: packedCount)
        defer { packed.deallocate() }
        b.withUnsafeBufferPointer { engram_sgemm_pack(Int32(k), Int32(n), $0.baseAddress, Int32(n), packed) }
        var c = [Float](repeating: 0, count: m * n)
        var best = Double.infinity
        for _ in 0..<10 {
            let t0 = now()
            a.withUnsafeBufferPointer { a in
                c.withUnsafeMutableBufferPointer { c in
                    engram_sgemm_packed(Int32(m), Int32(n), Int32(k), a.baseAddress, Int32(k), packed, 0, c.baseAddress, Int32(n))
                }
            }
            best = min(best, now() - t0)
        }
        sink += c[0]
        sgemmPeak = 2 * Double(m * n * k) / best
        // Forward-pass operations per query: per layer the Q, K, V and output projections (4 h²), the
        // feed-forward pair (2 h·f) per token, and the attention products (2 n² h); two per multiply-add.
        let lengths = queries.map { Double(min(tokenizer.maxLength, tokenizer.tokenize($0).count + 2)) }
        meanTokens = lengths.reduce(0, +) / Double(max(1, lengths.count))
        let h = Double(config.hidden)
        let f = Double(config.intermediate)
        let operations = lengths.map { t in Double(config.layers) * 2 * (t * (4 * h * h + 2 * h * f) + 2 * t * t * h) }
        embedBound = operations.reduce(0, +) / Double(max(1, operations.count)) / sgemmPeak
        weightStream = Double(config.layers) * (4 * h * h + 2 * h * f) * Double(MemoryLayout<Float>.stride) / bandwidth
        if sink.isNaN { print("") }
    }

    /// Seconds to stream the encoder layers' weights once at `bandwidth`: what every forward pass
    /// pays on top of its arithmetic when the weights do not fit in the cache, shared by a batch's texts.
    let weightStream: Double

    /// The table: each stage's milliseconds per request in each run, and the bound ratios.
    func report(_ runs: [Run]) -> String {
        func ms(_ s: Double) -> String { String(format: "%8.2f", s * 1000) }
        var lines = [
            String(
                format:
                    "stage breakdown (ms per request; bounds: scan %.2f ms = int8 rows at %.1f GB/s, embed %.2f ms = %.1f tokens at an sgemm peak of %.1f GFLOP/s)",
                scanBound * 1000,
                bandwidth / 1e9,
                embedBound * 1000,
                meanTokens,
                sgemmPeak / 1e9
            ),
            "stage      | " + runs.map { String(format: "%2d client%@", $0.clients, $0.clients == 1 ? " " : "s") }.joined(separator: " | ")
                + " | " + runs.map { "/bound (\($0.clients))".leftPadded(to: 12) }.joined(separator: " | "),
        ]
        func row(_ name: String, _ values: [Double], bound: Double?) -> String {
            let ratios = values.map { v in bound.map { String(format: "%11.2fx", v / $0) } ?? String(repeating: " ", count: 12) }
            return name.padding(toLength: 10, withPad: " ", startingAt: 0) + " | " + values.map { ms($0) + "  " }.joined(separator: " | ")
                + " | " + ratios.joined(separator: " | ")
        }
        lines.append(row("round trip", runs.map(\.roundTrip), bound: nil))
        lines.append(row("http", runs.map { max(0, $0.roundTrip - $0.perRequest(.server)) }, bound: nil))
        for stage in RequestStage.allCases {
            let bound: Double? =
                switch stage {
                case .scan: scanBound
                case .embed: embedBound
                default: nil
                }
            lines.append(row(stage.name, runs.map { $0.perRequest(stage) }, bound: bound))
        }
        let named: [RequestStage] = [.auth, .json, .embed, .scan, .fusion, .serialise]
        lines.append(row("other", runs.map { run in max(0, run.perRequest(.server) - named.reduce(0) { $0 + run.perRequest($1) }) }, bound: nil))
        lines.append(
            String(
                format: "(each forward pass also streams the encoder's weights, %.1f ms at that bandwidth, shared by the texts of its batch.)",
                weightStream * 1000
            )
        )
        lines.append(
            "(http = round trip − server: socket, HTTP parsing and writing, event loop. lexical runs while the query is embedded, "
                + "so it is left out of other = server − the named stages. With more clients than cores, each stage includes its wait for a core.)"
        )
        return lines.joined(separator: "\n")
    }
}

extension String {
    /// Right-aligned in `width` columns.
    func leftPadded(to width: Int) -> String { String(repeating: " ", count: max(0, width - count)) + self }
}
