import Foundation
import Synchronization

/// Token buckets keyed by client (token digest or IP): `rate` tokens per second
/// refill up to `burst`. Thread-safe; idle buckets are pruned.
///
/// `take` and `wouldAllow` use this process's buckets. With `shared` buckets (replicas over one
/// PostgreSQL database), `acquire` and `check` use those instead, so the limit holds across replicas;
/// when the shared store fails they fall back to this process's buckets (a limit per replica, never
/// none), and the shared implementation reports the outage.
public final class RateLimiter: Sendable {
    private struct Bucket {
        var tokens: Double
        var updated: Double
    }
    private let buckets = Mutex<[String: Bucket]>([:])
    public let rate: Double
    public let burst: Double
    /// The limiter's name, which prefixes its keys in the shared buckets (limiters differ in rate and burst).
    public let name: String
    /// Buckets shared with other replicas (nil: this process's only).
    public let shared: (any SharedRateBuckets)?

    public init(rate: Double, burst: Double, name: String = "", shared: (any SharedRateBuckets)? = nil) {
        self.rate = rate
        self.burst = burst
        self.name = name
        self.shared = shared
    }

    private static func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

    /// Takes one token; returns nil when allowed, else the seconds until one is available.
    public func take(_ key: String) -> Double? {
        guard rate > 0 else { return nil }
        let t = Self.now()
        return buckets.withLock { all in
            if all.count > 100_000 { all = all.filter { t - $0.value.updated < 600 } }
            var b = all[key] ?? Bucket(tokens: burst, updated: t)
            b.tokens = min(burst, b.tokens + (t - b.updated) * rate)
            b.updated = t
            defer { all[key] = b }
            if b.tokens >= 1 {
                b.tokens -= 1
                return nil
            }
            return (1 - b.tokens) / rate
        }
    }

    /// Whether `key` has a token left, without taking it.
    public func wouldAllow(_ key: String) -> Double? {
        guard rate > 0 else { return nil }
        let t = Self.now()
        return buckets.withLock { all in
            guard let b = all[key] else { return nil }
            let tokens = min(burst, b.tokens + (t - b.updated) * rate)
            return tokens >= 1 ? nil : (1 - tokens) / rate
        }
    }

    /// Takes one token from the shared buckets when there are some, else (or when they fail) from this
    /// process's: nil when allowed, else the seconds until a token is available.
    public func acquire(_ key: String) async -> Double? {
        guard rate > 0 else { return nil }
        if let shared {
            do { return try await shared.take(key: name + "|" + key, rate: rate, burst: burst) } catch {}
        }
        return take(key)
    }

    /// Whether `key` has a token left, without taking it: in the shared buckets when there are some,
    /// else (or when they fail) in this process's.
    public func check(_ key: String) async -> Double? {
        guard rate > 0 else { return nil }
        if let shared {
            do { return try await shared.peek(key: name + "|" + key, rate: rate, burst: burst) } catch {}
        }
        return wouldAllow(key)
    }
}
