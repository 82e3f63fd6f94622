/// The memory-bandwidth bound for a full scan: a plain sequential read of the
/// same bytes a search touches, summed with wide SIMD so the loop is limited by
/// memory, not arithmetic. Benchmarks divide search time by this.
public enum MemoryBandwidth {
    /// Reads `count` floats from `pointer` sequentially and returns their sum
    /// (returned so the compiler cannot elide the reads).
    @inline(never)
    public static func sequentialRead(_ pointer: UnsafePointer<Float>, count: Int) -> Float {
        var acc0 = SIMD8<Float>()
        var acc1 = SIMD8<Float>()
        var acc2 = SIMD8<Float>()
        var acc3 = SIMD8<Float>()
        var acc4 = SIMD8<Float>()
        var acc5 = SIMD8<Float>()
        var acc6 = SIMD8<Float>()
        var acc7 = SIMD8<Float>()
        let wide = count / 64 * 64
        var i = 0
        UnsafeRawPointer(pointer).withMemoryRebound(to: Float.self, capacity: count) { p in
            let raw = UnsafeRawPointer(p)
            while i < wide {
                // Eight independent accumulators keep the adds off the critical path.
                acc0 += raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
                acc1 += raw.loadUnaligned(fromByteOffset: (i + 8) * 4, as: SIMD8<Float>.self)
                acc2 += raw.loadUnaligned(fromByteOffset: (i + 16) * 4, as: SIMD8<Float>.self)
                acc3 += raw.loadUnaligned(fromByteOffset: (i + 24) * 4, as: SIMD8<Float>.self)
                acc4 += raw.loadUnaligned(fromByteOffset: (i + 32) * 4, as: SIMD8<Float>.self)
                acc5 += raw.loadUnaligned(fromByteOffset: (i + 40) * 4, as: SIMD8<Float>.self)
                acc6 += raw.loadUnaligned(fromByteOffset: (i + 48) * 4, as: SIMD8<Float>.self)
                acc7 += raw.loadUnaligned(fromByteOffset: (i + 56) * 4, as: SIMD8<Float>.self)
                i += 64
            }
        }
        var total = (acc0 + acc1 + acc2 + acc3 + acc4 + acc5 + acc6 + acc7).sum()
        while i < count {
            total += pointer[i]
            i += 1
        }
        return total
    }
}
