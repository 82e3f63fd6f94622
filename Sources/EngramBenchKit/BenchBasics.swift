import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Small, fast, deterministic generator for benchmark data.
package struct XorShift {
    package var state: UInt64
    package init(seed: UInt64) { state = seed &+ 0x9E37_79B9_7F4A_7C15 }
    package mutating func next() -> UInt64 {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return state
    }
    package mutating func nextFloat() -> Float { Float(next() >> 40) / Float(1 << 24) * 2 - 1 }
    package mutating func vector(_ d: Int) -> [Float] { (0..<d).map { _ in nextFloat() } }
}

package enum Stats {
    package static func percentile(_ xs: [Double], _ p: Double) -> Double {
        let s = xs.sorted()
        guard !s.isEmpty else { return .nan }
        let i = min(s.count - 1, max(0, Int((p / 100 * Double(s.count - 1)).rounded())))
        return s[i]
    }
    package static func ms(_ seconds: Double) -> String { String(format: "%.3f", seconds * 1000) }
}

@inline(__always) package func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}
