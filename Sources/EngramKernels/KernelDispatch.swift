import CEngramKernels

/// The SIMD paths of the C kernels: each kernel picks the best path the CPU runs (2 = AVX-512,
/// 1 = AVX2 with FMA, 0 = portable C) unless capped here.
public enum KernelDispatch {
    /// Caps the int8 scan and the MiniLM projections at a path level (0, 1 or 2), so one machine can
    /// run and compare every path. Call it at start-up, before the first scan or model load.
    ///
    /// - Parameters:
    ///   - int8Scan: the cap for the int8 scan, or nil to leave it at the CPU's best.
    ///   - projections: the cap for the pre-packed sgemm of the MiniLM projections, or nil.
    public static func cap(int8Scan: Int?, projections: Int?) {
        if let int8Scan { engram_i8_cap_isa(Int32(clamping: int8Scan)) }
        if let projections { engram_sgemm_cap_isa(Int32(clamping: projections)) }
    }
}
