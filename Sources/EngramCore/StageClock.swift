import Dispatch
import Synchronization

/// A step of serving a request, as `engram-bench mcp` reports it.
public enum RequestStage: Int, CaseIterable, Sendable {
    /// Everything inside the router: from the first middleware to the response (the rest of a
    /// client's round trip is HTTP: the socket, parsing and writing, the event loop).
    case server
    /// Bearer token verification and the caller's principal (the metadata lookups).
    case auth
    /// Reading the body, parsing the JSON-RPC envelope and validating the tool arguments.
    case json
    /// The query embedding, including its wait for a batch (`CoalescingEmbedder`).
    case embed
    /// BM25 over the visible tenants (runs while the query is embedded).
    case lexical
    /// The exact vector top-k over the visible tenants' shards.
    case scan
    /// Rank fusion, the similarities of lexical-only hits, the freshness prior.
    case fusion
    /// The tool result's text and JSON, and the response body.
    case serialise

    public var name: String { String(describing: self) }
}

/// Wall-clock time summed per `RequestStage` across requests, for the benchmark's stage breakdown.
///
/// Off by default: `start()` is then one relaxed atomic load and `stop` does nothing, so the
/// service pays nothing measurable. `engram-bench mcp` turns the shared clock on around its runs.
/// Stages overlap (lexical runs while the query is embedded) and, under concurrency, include each
/// stage's wait for a core. Written here because swift-metrics timers keep distributions per
/// label for `/metrics`, not a resettable sum the benchmark can read back.
public final class StageClock: Sendable {
    /// The clock the service's stages are timed on (`StageClock.start()` and `stop`).
    public static let shared = StageClock()

    let enabled = Atomic<Bool>(false)

    struct Sums {
        var nanoseconds = [UInt64](repeating: 0, count: RequestStage.allCases.count)
        var counts = [Int](repeating: 0, count: RequestStage.allCases.count)
    }

    let sums = Mutex(Sums())

    /// A clock of its own (tests); the service uses `shared`.
    public init() {}

    /// Whether stages are being timed.
    public var isEnabled: Bool { enabled.load(ordering: .relaxed) }

    /// Starts (or stops) timing stages.
    public func enable(_ on: Bool) { enabled.store(on, ordering: .relaxed) }

    /// Forgets every sum.
    public func reset() { sums.withLock { $0 = Sums() } }

    /// A stage's start time, or 0 when timing is off.
    @inline(__always)
    public func start() -> UInt64 {
        enabled.load(ordering: .relaxed) ? DispatchTime.now().uptimeNanoseconds : 0
    }

    /// Adds the time since `started` (a value of `start()`) to `stage`.
    @inline(__always)
    public func stop(_ stage: RequestStage, _ started: UInt64) {
        guard started != 0 else { return }
        let elapsed = DispatchTime.now().uptimeNanoseconds &- started
        sums.withLock { sums in
            sums.nanoseconds[stage.rawValue] &+= elapsed
            sums.counts[stage.rawValue] += 1
        }
    }

    /// Times `body` as `stage`.
    public func measure<T>(_ stage: RequestStage, _ body: () async throws -> T) async rethrows -> T {
        let started = start()
        defer { stop(stage, started) }
        return try await body()
    }

    /// Each stage's summed seconds and how many times it was timed.
    public func snapshot() -> [RequestStage: (seconds: Double, count: Int)] {
        let sums = sums.withLock { $0 }
        var out: [RequestStage: (seconds: Double, count: Int)] = [:]
        for stage in RequestStage.allCases {
            out[stage] = (Double(sums.nanoseconds[stage.rawValue]) / 1e9, sums.counts[stage.rawValue])
        }
        return out
    }

    /// `shared.start()`.
    @inline(__always)
    public static func start() -> UInt64 { shared.start() }

    /// `shared.stop(stage, started)`.
    @inline(__always)
    public static func stop(_ stage: RequestStage, _ started: UInt64) { shared.stop(stage, started) }

    /// `shared.measure(stage, body)`.
    public static func measure<T>(_ stage: RequestStage, _ body: () async throws -> T) async rethrows -> T {
        try await shared.measure(stage, body)
    }
}
