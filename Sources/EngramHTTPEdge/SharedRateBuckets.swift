/// Token buckets kept outside the process, so replicas of one service share one limit (PostgreSQL's
/// `engram.rate_buckets` in the `engram` executable). The bucket's time is the store's own clock, so
/// replicas whose clocks drift still agree.
///
/// `key` is already namespaced by the limiter (`RateLimiter.name`) and identifies the client; an
/// implementation must not keep it in clear (a digest), as it holds IPs and token ids.
public protocol SharedRateBuckets: Sendable {
    /// Takes one token from `key`'s bucket (`rate` tokens per second up to `burst`, full when new).
    /// - Returns: nil when a token was taken, else the seconds until one is available.
    func take(key: String, rate: Double, burst: Double) async throws -> Double?

    /// Whether `key`'s bucket holds a token, without taking it (nil: it does, or has no bucket yet).
    /// - Returns: nil when a token is available, else the seconds until one is.
    func peek(key: String, rate: Double, burst: Double) async throws -> Double?
}
