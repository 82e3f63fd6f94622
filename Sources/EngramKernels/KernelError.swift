/// Errors raised by the vector kernels for invalid input.
public enum KernelError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A vector's length differs from the matrix dimension.
    case dimensionMismatch(expected: Int, got: Int)
    /// A vector holds NaN or infinity, or is all zeros where a direction is needed.
    case invalidVector(String)
    /// `k` must be at least 1.
    case invalidK(Int)

    public var description: String {
        switch self {
        case let .dimensionMismatch(expected, got):
            return "vector dimension error: expected dim: \(expected), got \(got)"
        case let .invalidVector(why):
            return "invalid vector: \(why)"
        case let .invalidK(k):
            return "invalid limit \(k): must be at least 1"
        }
    }
}
