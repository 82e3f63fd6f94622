/// What readiness reports about the running service.
public struct ReadinessInfo: Sendable {
    public var store: String
    /// Checks the store's backend; returns a problem description when it is not usable.
    public var probe: (@Sendable () async -> String?)?
    public var embedder: String
    public var blas: String
    /// The hand-written SIMD kernels and the CPU path each runs (e.g. `int8_scan: avx512`).
    public var kernels: [String: String]
    public var mode: String
    /// Encryption at rest: `off`, or `on` with the key id (`on (key 0a1b…)`; the id does not reveal the key).
    public var encryption: String
    /// Where the metadata is kept: `sqlite` or `postgres` (replicas follow each other's writes only on `postgres`).
    public var metadata: String

    public init(
        store: String,
        probe: (@Sendable () async -> String?)? = nil,
        embedder: String,
        blas: String,
        kernels: [String: String] = [:],
        mode: String,
        encryption: String = "off",
        metadata: String = "sqlite"
    ) {
        self.metadata = metadata
        self.encryption = encryption
        self.kernels = kernels
        self.store = store
        self.probe = probe
        self.embedder = embedder
        self.blas = blas
        self.mode = mode
    }
}
