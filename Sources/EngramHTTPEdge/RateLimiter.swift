import Foundation
import Synchronization

/// Token buckets keyed by client (token digest or IP): `rate` tokens per second
/// refill up to `burst`. Thread-safe; idle buckets are pruned.
public final class RateLimiter: Sendable {
    private struct Bucket {
        var tokens: Double
        var updated: Double
    }
    private let buckets = Mutex<[String: Bucket]>([:])
    public let rate: Double
    public let burst: Double

    public init(rate: Double, burst: Double) {
        self.rate = rate
        self.burst = burst
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
}
