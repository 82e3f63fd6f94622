import CEngramKernels
import Foundation

/// An int8 copy of a `VectorMatrix`'s rows with, per row, the scale and an upper bound on
/// the quantisation error, kept in step with the float rows.
///
/// Row `i` is stored as `x̂ᵢ = round(xᵢ / sᵢ)` with `sᵢ = max|xᵢⱼ| / 127`, zero-padded to
/// `stride` bytes. `errors[i] ≥ ‖xᵢ − sᵢ·x̂ᵢ‖` and `norms[i] ≥ ‖xᵢ‖` bound how far an int8
/// score can be from the float one (see `QueryQuantization.bound`), which is what lets the
/// quantised scan return the exact top-k: it reads a quarter of the bytes of the float scan
/// and rescores only the rows whose bounds overlap the k-th best.
struct QuantizedRows {
    /// Bytes per stored row: the dimension rounded up to a multiple of 64.
    let stride: Int
    let dimension: Int
    var capacity = 0
    var data: UnsafeMutablePointer<Int8>?
    var scales: UnsafeMutablePointer<Float>?
    var errors: UnsafeMutablePointer<Float>?
    var norms: UnsafeMutablePointer<Float>?
    /// Upper bounds of `errors` and `norms` over all rows ever stored (never lowered except by `removeAll`).
    var maxError: Float = 0
    var maxNorm: Float = 0
    /// Whether the four arrays were allocated here (false while they point into a mapped segment,
    /// which the owning `VectorMatrix` keeps alive).
    var owned = true

    init(dimension: Int) {
        self.dimension = dimension
        stride = VectorMatrix.quantizedStride(dimension: dimension)
    }

    func deallocate() {
        guard owned else { return }
        data.map { free($0) }
        scales?.deallocate()
        errors?.deallocate()
        norms?.deallocate()
    }

    /// Grows to `newCapacity` rows, keeping the first `count`.
    mutating func reserve(_ newCapacity: Int, count: Int) {
        guard newCapacity > capacity else { return }
        var raw: UnsafeMutableRawPointer?
        // Like the float rows: 2 MiB-aligned and advised for transparent huge pages when large
        // (fewer TLB misses in the full scan).
        let hugePage = VectorMatrix.hugePage
        let alignment = newCapacity * stride >= hugePage ? hugePage : 64
        let bytes = (max(64, newCapacity * stride) + alignment - 1) / alignment * alignment
        guard posix_memalign(&raw, alignment, bytes) == 0, let raw else {
            fatalError("QuantizedRows: out of memory reserving \(bytes) bytes")
        }
        #if os(Linux)
        if alignment == hugePage { _ = madvise(raw, bytes, VectorMatrix.madviseHugePage) }
        #endif
        let newData = raw.bindMemory(to: Int8.self, capacity: bytes)
        let newScales = UnsafeMutablePointer<Float>.allocate(capacity: newCapacity)
        let newErrors = UnsafeMutablePointer<Float>.allocate(capacity: newCapacity)
        let newNorms = UnsafeMutablePointer<Float>.allocate(capacity: newCapacity)
        if let data, let scales, let errors, let norms {
            newData.update(from: data, count: count * stride)
            newScales.update(from: scales, count: count)
            newErrors.update(from: errors, count: count)
            newNorms.update(from: norms, count: count)
        }
        deallocate()
        owned = true
        data = newData
        scales = newScales
        errors = newErrors
        norms = newNorms
        capacity = newCapacity
    }

    /// Quantises `vector` (`dimension` floats) into row `row` (`engram_i8_quantize`). The float
    /// sums of squares carry a relative error below d·2⁻²⁴, covered by rounding the stored
    /// bounds up by d·1.2·10⁻⁷ + 10⁻⁵ relative.
    mutating func set(row: Int, from vector: UnsafePointer<Float>) {
        var scale: Float = 0
        var residual: Float = 0
        var norm: Float = 0
        engram_i8_quantize(vector, dimension, stride, data! + row * stride, &scale, &residual, &norm)
        scales![row] = scale
        // Rounded up so the stored bounds are never below the true values.
        let slack = 1 + Float(dimension) * 1.2e-7 + 1e-5
        let e = (residual.squareRoot() * slack).nextUp
        let n = (norm.squareRoot() * slack).nextUp
        errors![row] = e
        norms![row] = n
        maxError = max(maxError, e)
        maxNorm = max(maxNorm, n)
    }

    /// Copies row `from` over row `to` (the swap-remove of `VectorMatrix`).
    func move(from: Int, to: Int) {
        (data! + to * stride).update(from: data! + from * stride, count: stride)
        scales![to] = scales![from]
        errors![to] = errors![from]
        norms![to] = norms![from]
    }

    mutating func removeAll() {
        maxError = 0
        maxNorm = 0
    }
}

/// A query quantised to int16 for the int8 scan, with the constants of its error bound.
struct QueryQuantization {
    /// The int16 query, zero-padded to the rows' stride.
    let values: [Int16]
    let scale: Float
    private let a: Float
    private let c: Float
    private static let slack: Float = 1e-7

    /// - Parameters:
    ///   - query: the (already prepared) float query.
    ///   - stride: the rows' stride.
    init(_ query: [Float], stride: Int) {
        // |Σ q̂ⱼ x̂ⱼ| ≤ stride · 127 · qmax must fit in Int32.
        let qmax = Float(min(32767, Int(Int32.max) / (127 * stride)))
        var peak: Float = 0
        for x in query { peak = max(peak, abs(x)) }
        let scale = peak > 0 ? peak / qmax : 0
        let inv = scale > 0 ? 1 / scale : 0
        var values = [Int16](repeating: 0, count: stride)
        var residual = 0.0
        var quantNorm = 0.0
        var norm = 0.0
        for (j, x) in query.enumerated() {
            let q = max(-qmax, min(qmax, (x * inv).rounded()))
            values[j] = Int16(q)
            let back = Double(scale) * Double(q)
            residual += (Double(x) - back) * (Double(x) - back)
            quantNorm += back * back
            norm += Double(x) * Double(x)
        }
        self.values = values
        self.scale = scale
        // With q = s_q·q̂ + r_q and x = s_x·x̂ + r_x (Cauchy–Schwarz on each cross term):
        //   |q·x − s_q·s_x·(q̂·x̂)| ≤ ‖s_q·q̂‖·‖r_x‖ + ‖r_q‖·‖x‖.
        // The rescored similarity is a float dot product, itself within d·2⁻²³·‖q‖·‖x‖ of q·x,
        // and the int8 score carries a few float roundings: `m` covers both, generously.
        let m = Float(query.count) * 1.2e-7 + 1e-6
        let aq = Float(quantNorm.squareRoot() * (1 + 1e-6)).nextUp
        let eq = Float(residual.squareRoot() * (1 + 1e-6)).nextUp
        let qn = Float(norm.squareRoot() * (1 + 1e-6)).nextUp
        a = aq * (1 + m)
        c = eq + m * qn + m * aq
    }

    /// The largest possible difference between the int8 score and the rescored float
    /// similarity of a row with quantisation error `error` and norm `norm`.
    @inline(__always)
    func bound(error: Float, norm: Float) -> Float { a * error + c * norm + Self.slack }
}
